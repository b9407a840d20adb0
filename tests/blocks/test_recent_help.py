"""Recent lookups and help."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.models import ConnectionStatus
from blocks import (
    decode_contact_id,
    help_message,
    home_view,
    recent_message,
)
from storage.lookups import RecentLookup
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    NOW,
    assert_no_formatting_from,
    assert_valid_message,
    assert_valid_view,
    block_types,
    buttons,
)

COMMANDS = [
    ("/activity <name | email | phone | contact id>", "look up a contact"),
    ("/activity", "your recent lookups"),
    ("/activity viewed|shared <contact>", "listings the contact viewed or was shared"),
    ("/activity help", "this help"),
]


def lookup(name: str, contact_id: str, minutes: int = 0) -> RecentLookup:
    return RecentLookup(
        team_id="T1",
        user_id="U1",
        contact_id=contact_id,
        display_name=name,
        query=name.lower(),
        looked_up_at=NOW - dt.timedelta(minutes=minutes),
    )


def test_recent_lookups() -> None:
    message = recent_message([lookup("Jane Doe", "C1"), lookup("John Roe", "C2", 5)])
    assert_valid_message(message)
    assert block_types(message) == ["header", "actions"]
    assert message.blocks[0]["text"]["text"] == "Your recent lookups"
    found = buttons(message)
    assert [b["text"]["text"] for b in found] == ["Jane Doe", "John Roe"]
    assert [b["action_id"] for b in found] == ["open_card:1", "open_card:2"]
    assert [decode_contact_id(b["value"]) for b in found] == ["C1", "C2"]
    assert message.text == "Your recent lookups: Jane Doe, John Roe"


def test_at_most_ten_recent_lookups_with_short_labels() -> None:
    items = [lookup(f"Contact with a very long name number {i}", f"C{i}") for i in range(20)]
    message = recent_message(items)
    assert_valid_message(message)
    labels = [b["text"]["text"] for b in buttons(message)]
    assert len(labels) == 10
    assert labels[0] == "Contact with a very long name…"


def test_no_recent_lookups() -> None:
    message = recent_message([])
    assert_valid_message(message)
    assert message.blocks[-1]["text"]["text"] == (
        "You haven't looked anyone up yet. Try `/activity jane doe`."
    )
    assert buttons(message) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_recent_lookups_with_hostile_names(name: str) -> None:
    message = recent_message([lookup(name, "C1"), lookup("x", "bad id")])
    assert_valid_message(message)
    assert_no_formatting_from(name, message)
    assert len(buttons(message)) == 1


def test_help() -> None:
    message = help_message(COMMANDS)
    assert_valid_message(message)
    assert block_types(message) == ["header", "section", "context"]
    assert message.blocks[1]["text"]["text"].splitlines() == [
        "`/activity &lt;name | email | phone | contact id&gt;` — look up a contact",
        "`/activity` — your recent lookups",
        "`/activity viewed|shared &lt;contact&gt;` — listings the contact viewed or was shared",
        "`/activity help` — this help",
    ]
    assert message.blocks[-1]["elements"][0]["text"] == (
        "Replies are visible only to you unless you press Share in channel."
    )
    assert message.text.startswith("How to use /activity: /activity &lt;name")


def test_long_help_is_split_over_sections() -> None:
    commands = [(f"/activity cmd{i}", "d" * 500) for i in range(40)]
    message = help_message(commands)
    assert_valid_message(message)
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert len(sections) > 1
    lines = [line for s in sections for line in s["text"]["text"].splitlines()]
    assert len(lines) == 40


@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_help_with_hostile_text(text: str) -> None:
    # Usages sit inside a code span, where nothing formats; descriptions are escaped.
    assert_valid_message(help_message([(text, "look up")]))
    message = help_message([("/activity x", text)])
    assert_valid_message(message)
    assert_no_formatting_from(text, message)


def test_empty_help_is_still_a_message() -> None:
    assert_valid_message(help_message([]))


def test_home_view_is_a_valid_home_with_recent_lookups_and_help():
    view = home_view(
        [lookup("Jane Doe", "20101230223226074201000000")],
        [("/activity help", "this list")],
        status=ConnectionStatus(),
    )
    assert_valid_view(view, kind="home")  # ≤ 100 blocks, unique block ids, Slack's limits
    text = str(view)
    assert "Jane Doe" in text and "/activity help" in text


def test_home_view_with_no_history_still_renders():
    view = home_view([], [("/activity help", "this list")], status=ConnectionStatus())
    assert_valid_view(view, kind="home")
    assert "haven't looked anyone up" in str(view)
