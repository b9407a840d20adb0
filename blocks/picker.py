"""Several contacts match a query (the picker), or none does."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from activity.models import Candidates
from blocks.actions import (
    PICK_CONTACT,
    ContactPick,
    PickIntent,
    button,
    encode_pick,
    is_contact_id,
)
from blocks.message import HEADER_TEXT, MAX_TEXT, Message, finish
from blocks.text import clean, plain_str, truncate, truncate_mrkdwn, user_mrkdwn
from spark.models import Contact

MAX_CHOICES = 25
NAME_LIMIT = 200
HINT_LIMIT = 300


def _quoted_header(prefix: str, query: str, suffix: str = "") -> str:
    """`prefix “query”suffix` within a header's 150 characters (the query is cut first)."""
    room = HEADER_TEXT - len(prefix) - len(suffix) - 2
    quoted = plain_str(query, max(room, 1), fallback="")
    return truncate(f"{prefix}“{quoted}”{suffix}", HEADER_TEXT)


def _hint(contact: Contact) -> str:
    """What tells namesakes apart: e-mail and phone, escaped."""
    parts = [user_mrkdwn(p, HINT_LIMIT) for p in (contact.email, contact.phone) if p and clean(p)]
    return " · ".join(parts) if parts else "_no e-mail or phone on file_"


# What the picker is for, said in its header and on each Choose button (for screen readers).
PURPOSES: dict[str, tuple[str, str]] = {
    "card": ("", "Choose"),
    "viewed": ("pick one to see the listings they viewed", "See the listings viewed by"),
    "shared": ("pick one to see the listings shared with them", "See the listings shared with"),
    "watch": ("pick one to watch", "Watch"),
}


def _choice(contact: Contact, intent: PickIntent) -> SectionBlock:
    name = user_mrkdwn(contact.display_name, NAME_LIMIT, fallback="(no name)")
    text = MarkdownTextObject(text=f"*{name}*\n{_hint(contact)}", verbatim=True)
    if not is_contact_id(contact.id):
        return SectionBlock(text=text)
    return SectionBlock(
        text=text,
        accessory=button(
            "Choose",
            PICK_CONTACT,
            encode_pick(ContactPick(contact.id, intent)),
            accessibility_label=f"{PURPOSES[intent][1]} {clean(contact.display_name)}",
        ),
    )


def contact_picker(candidates: Candidates, *, intent: PickIntent = "card") -> Message:
    """A header, one section per matching contact with a Choose button, and how to narrow.

    `intent` is what the agent asked for: the card (`/activity jane`), or the listings the
    contact viewed or was shared (`/activity viewed jane`); Choose opens that.
    """
    if intent not in PURPOSES:
        raise ValueError(f"unknown picker intent {intent!r}")
    shown = candidates.contacts[:MAX_CHOICES]
    total = max(candidates.total, len(candidates.contacts))
    noun = "contact matches" if total == 1 else "contacts match"
    purpose = PURPOSES[intent][0]
    blocks: list[tuple[str, Block]] = [
        (
            "picker_header",
            HeaderBlock(
                text=PlainTextObject(
                    text=_quoted_header(f"{total:,} {noun} ", candidates.query), emoji=True
                )
            ),
        )
    ]
    if purpose:
        line = ContextBlock(elements=[PlainTextObject(text=purpose.capitalize(), emoji=True)])
        blocks.append(("picker_purpose", line))
    blocks += [(f"pick_{i}", _choice(c, intent)) for i, c in enumerate(shown, start=1)]
    if total > len(shown):
        note = f"Showing {len(shown):,} of {total:,}: add a last name or e-mail to narrow it down"
        blocks.append(
            ("picker_more", ContextBlock(elements=[PlainTextObject(text=note, emoji=True)]))
        )
    names = ", ".join(user_mrkdwn(c.display_name, NAME_LIMIT, fallback="(no name)") for c in shown)
    query = user_mrkdwn(candidates.query, NAME_LIMIT)
    text = f"{total:,} {noun} “{query}”" + (f" ({purpose})" if purpose else "")
    text += f": {names}" if names else ""
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)


MAX_SUGGESTIONS = 3


def _suggestion_buttons(suggestions: Sequence[Contact], intent: PickIntent) -> ActionsBlock | None:
    """One button per close name, opening what was asked for (the card, or a list of listings);
    the value is the pick (contact id and intent), parsed strictly and re-checked on click."""
    chosen = [c for c in suggestions if is_contact_id(c.id)][:MAX_SUGGESTIONS]
    if not chosen:
        return None
    return ActionsBlock(
        elements=[
            button(
                clean(c.display_name) or "(no name)",
                f"{PICK_CONTACT}:{i}",
                encode_pick(ContactPick(c.id, intent)),
                accessibility_label=f"{PURPOSES[intent][1]} {clean(c.display_name)}",
            )
            for i, c in enumerate(chosen, start=1)
        ]
    )


def no_match(
    query: str, suggestions: Sequence[Contact] = (), *, intent: PickIntent = "card"
) -> Message:
    """Nothing matches `query`: say so, offer up to 3 close names ("did you mean"), and tips.

    `intent` is what the agent asked for, as for `contact_picker`: a suggestion opens it.
    """
    shown = user_mrkdwn(query, NAME_LIMIT)
    headline = f"No contact matches “{shown}”."
    tips = (
        "Try part of a name (`/activity jane`), an e-mail (`/activity jane@example.org`), "
        "a phone number (`/activity 303-555-0142` or its last 7 digits), or a contact id."
    )
    blocks: list[tuple[str, Block]] = [
        ("nomatch", SectionBlock(text=MarkdownTextObject(text=headline, verbatim=True))),
    ]
    text = headline
    offered = _suggestion_buttons(suggestions, intent)
    if offered is not None:
        names = [
            user_mrkdwn(c.display_name, NAME_LIMIT) for c in suggestions if is_contact_id(c.id)
        ]
        names = names[:MAX_SUGGESTIONS]
        blocks.append(
            ("nomatch_didyoumean", SectionBlock(text=MarkdownTextObject(text="*Did you mean:*")))
        )
        blocks.append(("nomatch_suggestions", offered))
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        text = f"{headline} Did you mean {listed}?"
    blocks.append(("nomatch_tips", ContextBlock(elements=[MarkdownTextObject(text=tips)])))
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)
