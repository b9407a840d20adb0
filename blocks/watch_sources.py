"""Replies to `/activity watch tag:<Tag>` and `/activity unwatch tag:<Tag>`.

Tag names come from Flexmls or from what the agent typed: user text, escaped by `problem`.
"""

from __future__ import annotations

from activity.watch_sources import TagUnwatched, TagWatched
from blocks.message import Message
from blocks.problems import problem
from blocks.text import clean

LIST_HINT = (
    "`/activity watch` lists who you watch; `/activity unwatch tag:Buyer` stops a tag's watches."
)


def _contacts(n: int) -> str:
    return f"{n:,} contact{'' if n == 1 else 's'}"


def tag_watch_added(done: TagWatched) -> Message:
    """How many of the tag's contacts are now watched, were already, and did not fit."""
    tag = clean(done.tag)[:100] or "that tag"
    if done.added + done.already + done.not_fit == 0:
        said = f"No contact is tagged “{tag}” in your Flexmls."
        if done.unchecked:
            said += " (Flexmls wouldn't list your tags, so I couldn't check the spelling.)"
        return problem("Nobody to watch", said, "Check the tag's spelling in Flexmls.")
    parts = [f"{_contacts(done.added)} added"]
    if done.already:
        parts.append(f"{done.already:,} already watched")
    if done.not_fit:
        parts.append(
            f"{done.not_fit:,} didn't fit: you can watch 50 (contacts watched only because you"
            " looked them up make room)"
        )
    title = f"Watching {_contacts(done.added)} tagged {tag}" if done.added else "Nothing added"
    return problem(title, f"Tag “{tag}”: " + ", ".join(parts) + ".", LIST_HINT)


def tag_unwatched(done: TagUnwatched) -> Message:
    tag = clean(done.tag)[:100] or "that tag"
    if not done.stopped:
        return problem(
            "You don't watch that tag",
            f"No contact you watch came from the tag “{tag}”.",
            "`/activity watch` lists who you watch, with the tag each came from.",
        )
    return problem(
        f"Stopped watching {_contacts(done.stopped)} tagged {tag}", "No more alerts about them."
    )


def tags_unavailable() -> Message:
    return problem(
        "Flexmls isn't answering right now",
        "I couldn't check your tags, so nothing was added.",
        "Try `/activity watch tag:` and the tag again in a minute.",
    )
