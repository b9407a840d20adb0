"""Reading what the bot posted: the visible text and the buttons of a message body.

Tests, the benchmark and anything else that inspects what reached the stand-in use these, so
"what a user would see" is defined once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def texts(message: dict[str, Any]) -> str:
    """All human-visible text of a message (fallback, blocks, cards, buttons) as one string."""
    parts = [message.get("text") or ""]
    parts += [
        node["text"]
        for node in _nodes(message.get("blocks") or [])
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str)
    ]
    return "\n".join(parts)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a message, in reading order."""
    return [node for node in _nodes(message.get("blocks") or []) if node.get("type") == "button"]
