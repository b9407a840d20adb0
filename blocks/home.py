"""The App Home tab: recent lookups and the grammar, as one Home view (≤ 100 blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import DividerBlock
from slack_sdk.models.views import View

from blocks.help import help_message
from blocks.recent import recent_lookups
from storage.lookups import RecentLookup

MAX_HOME_BLOCKS = 100


def home_view(
    recent: Sequence[RecentLookup], commands: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """A Home view: the agent's recent lookups (buttons open the card in a DM), then help."""
    blocks = [
        *recent_lookups(recent).blocks,
        DividerBlock(block_id="home_divider").to_dict(),
        *help_message(commands).blocks,
    ]
    return View(type="home", blocks=blocks[:MAX_HOME_BLOCKS]).to_dict()
