"""`Message`, what every renderer returns, and the Block Kit limits the renderers respect.

Block ids are deterministic: a role name unique within the message (which includes the page
for listing pages) plus a short digest of the block's content, so a message replaced with
different content gets new block ids, as Slack asks, and the same content keeps the same ids.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_TEXT = 3000  # our cap for the top-level fallback text (Slack truncates far later)
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
MOBILE_LABEL = 30  # mobile clients truncate button labels at about 30 characters
CONFIRM_TITLE = 100  # the confirmation dialog: title, text, and its two buttons
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
CARD_TITLE = 150
CARD_SUBTITLE = 150
CARD_BODY = 200
CAROUSEL_CARDS = 10
IMAGE_URL = 3000
ALT_TEXT = 2000

B = TypeVar("B", bound=Block)


@dataclass(frozen=True)
class Message:
    """A Slack message: fallback `text` (notifications, screen readers) and Block Kit `blocks`."""

    text: str
    blocks: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise ValueError("a message needs a non-empty fallback text")
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"fallback text is {len(self.text)} characters, max {MAX_TEXT}")
        if len(self.blocks) > MAX_BLOCKS:
            raise ValueError(f"{len(self.blocks)} blocks, max {MAX_BLOCKS} per message")
        object.__setattr__(self, "blocks", tuple(self.blocks))

    def as_kwargs(self) -> dict[str, Any]:
        """`{"text": ..., "blocks": [...]}` for `respond()`, `say()` or `chat_postMessage()`."""
        return {"text": self.text, "blocks": copy.deepcopy(list(self.blocks))}


def _digest(payload: dict[str, Any]) -> str:
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2s(data.encode("utf-8"), digest_size=4).hexdigest()


def identified(role: str, block: B) -> B:
    """Give `block` the id `<role>.<digest of its content>` and return it (validated)."""
    block.block_id = None
    body = block.to_dict()
    block_id = f"{role}.{_digest(body)}"
    if len(block_id) > BLOCK_ID:
        raise ValueError(f"block id role too long: {role!r}")
    block.block_id = block_id
    return block


def finish(text: str, *blocks: tuple[str, Block]) -> Message:
    """A `Message` from fallback text and (role, block) pairs: ids assigned, blocks validated."""
    roles = [role for role, _ in blocks]
    if len(set(roles)) != len(roles):
        raise ValueError(f"block roles must be unique within a message: {roles}")
    return Message(
        text=text,
        blocks=tuple(identified(role, block).to_dict() for role, block in blocks),
    )
