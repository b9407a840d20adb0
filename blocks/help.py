"""`/activity help`: the command grammar, as (usage, description) pairs the handlers provide."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from blocks.message import MAX_BLOCKS, MAX_TEXT, SECTION_TEXT, Message, finish
from blocks.text import ZWSP, clean, escape_mrkdwn, plain, truncate, truncate_mrkdwn

PRIVACY = "Replies are visible only to you unless you press Share in channel."
TITLE = "How to use /activity"
USAGE_LIMIT = 200
DESCRIPTION_LIMIT = 700


def _line(usage: str, description: str) -> str:
    """ "`usage` — description", with both escaped (no backticks inside the code span)."""
    # Inside a code span nothing formats, so the zero-width spaces are not needed there.
    code = escape_mrkdwn(truncate(clean(usage).replace("`", "'"), USAGE_LIMIT)).replace(ZWSP, "")
    return f"`{code}` — {escape_mrkdwn(clean(description) or '—', DESCRIPTION_LIMIT)}"


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Join lines into texts of at most `limit` characters, never splitting a line."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = line
    if current:
        chunks.append(current)
    return chunks


def help_message(commands: Sequence[tuple[str, str]]) -> Message:
    """The grammar as "`usage` — description" lines, and who can see the replies."""
    lines = [_line(usage, description) for usage, description in commands if clean(usage)]
    blocks: list[tuple[str, Block]] = [("help_header", HeaderBlock(text=plain(TITLE, 150)))]
    sections = _chunks(lines, SECTION_TEXT)[: MAX_BLOCKS - 2]
    blocks += [
        (f"help_{i}", SectionBlock(text=MarkdownTextObject(text=text)))
        for i, text in enumerate(sections, start=1)
    ]
    blocks.append(("help_privacy", ContextBlock(elements=[PlainTextObject(text=PRIVACY)])))
    summary = "; ".join(
        f"{escape_mrkdwn(clean(u))} — {escape_mrkdwn(clean(d))}" for u, d in commands if clean(u)
    )
    text = f"{TITLE}: {summary}" if summary else TITLE
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)
