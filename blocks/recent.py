"""`/activity` with no argument: the agent's recent lookups, one button each."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.actions import OPEN_CARD, action_id, button, is_contact_id
from blocks.message import MAX_TEXT, Message, finish
from blocks.text import clean, plain, truncate_mrkdwn, user_mrkdwn
from storage.lookups import RecentLookup

MAX_RECENT = 10
EMPTY = "You haven't looked anyone up yet. Try `/activity jane doe`."


def recent_message(items: Sequence[RecentLookup]) -> Message:
    """A header and up to ten buttons that reopen a contact's card; a tip when there are none."""
    shown = [item for item in items if is_contact_id(item.contact_id)][:MAX_RECENT]
    header = ("recent_header", HeaderBlock(text=plain("Your recent lookups", 150)))
    if not shown:
        body: tuple[str, Block] = (
            "recent_empty",
            SectionBlock(text=MarkdownTextObject(text=EMPTY)),
        )
        return finish("You haven't looked anyone up yet. Try /activity jane doe.", header, body)
    buttons = [
        button(
            item.display_name,
            action_id(OPEN_CARD, i),
            item.contact_id,
            accessibility_label=f"Open the card of {clean(item.display_name)}",
        )
        for i, item in enumerate(shown, start=1)
    ]
    names = ", ".join(user_mrkdwn(item.display_name, 100, fallback="—") for item in shown)
    return finish(
        truncate_mrkdwn(f"Your recent lookups: {names}", MAX_TEXT),
        header,
        ("recent_buttons", ActionsBlock(elements=buttons)),
    )
