"""Modals in the terminal: show what the bot opened, and submit what the user types.

Slack shows a modal (`views.open`, then `views.update` as the bot answers); the console prints
its title and blocks, asks for each text input on the next line, and sends the signed
`view_submission` Slack would send with those values.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.text import Text

from console.render import Reader, render_message


@dataclass(frozen=True)
class Field:
    """One plain-text input of a modal: where Slack reports its value, and its label."""

    block_id: str
    action_id: str
    label: str


@dataclass(frozen=True)
class OpenModal:
    view_id: str
    view: dict[str, Any]
    fields: tuple[Field, ...]


def _plain(value: object) -> str:
    return str(value.get("text") or "") if isinstance(value, dict) else ""


def input_fields(view: dict[str, Any]) -> tuple[Field, ...]:
    """The modal's text inputs, in order (other input kinds are not typed in the console)."""
    found = []
    for block in view.get("blocks") or ():
        element = block.get("element") if isinstance(block, dict) else None
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        if element.get("type") == "plain_text_input":
            found.append(Field(block.get("block_id", ""), element.get("action_id", ""),
                               _plain(block.get("label")) or "Your answer"))  # fmt: skip
    return tuple(found)


def render_view(view: dict[str, Any], reader: Reader | None = None) -> Group:
    """The modal's title, its blocks, and a prompt for each text input."""
    shown = [
        b for b in view.get("blocks") or () if isinstance(b, dict) and b.get("type") != "input"
    ]
    parts: list[Any] = [Text(f"▣ {_plain(view.get('title')) or 'Modal'}", style="bold")]
    parts += render_message("", shown, reader=reader).renderables
    for field in input_fields(view):
        parts.append(Text(f"✎ {field.label}: type it on the next line (or `cancel`)", style="dim"))
    return Group(*parts)


def submission_body(
    modal: OpenModal, answers: list[str], *, user_id: str, team_id: str, app_id: str
) -> str:
    """The form-encoded `view_submission` Slack posts when the user presses Submit."""
    values = {
        field.block_id: {field.action_id: {"type": "plain_text_input", "value": answer}}
        for field, answer in zip(modal.fields, answers, strict=True)
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": app_id,
        "trigger_id": "console.trigger",
        "view": {
            "id": modal.view_id,
            "type": "modal",
            "team_id": team_id,
            "callback_id": modal.view.get("callback_id", ""),
            "private_metadata": modal.view.get("private_metadata", ""),
            "state": {"values": values},
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
