"""The card's "Share in channel": the confirmation that names the place, and what the copy omits."""

from __future__ import annotations

import dataclasses
import json

import pytest

from activity.scoring import Trend
from blocks import card_message, share_place
from blocks.card import FIRST_LOOKUP, NO_SCORE_YET
from tests.helpers.blocks import all_texts, assert_valid_message, buttons, make_card


@pytest.mark.parametrize(
    ("channel_name", "place"),
    [
        ("general", "#general"),
        ("#sales", "#sales"),
        ("privategroup", "this private channel"),
        ("directmessage", "this conversation"),
        ("mpdm-ann--bob-1", "this group message"),
        ("", "this conversation"),
        ("\u202egeneral\n", "#general"),
    ],
)
def test_share_place_names_what_slack_sent(channel_name, place):
    assert share_place(channel_name) == place


def test_the_share_button_asks_first_and_fits_slacks_limits():
    message = card_message(make_card(), share_to="#" + "x" * 400)
    assert_valid_message(message)
    (share,) = [b for b in buttons(message) if b["action_id"] == "share_card"]
    confirm = share["confirm"]
    assert {confirm[k]["type"] for k in ("title", "text", "confirm", "deny")} == {"plain_text"}
    assert len(confirm["title"]["text"]) <= 100 and len(confirm["text"]["text"]) <= 300
    assert confirm["title"]["text"].startswith("Share in #xxx")


def test_the_shared_copy_has_no_reach_line_and_no_first_day_notes():
    card = make_card(trend=Trend(week=None, month=None, sparkline=None, engagement=None))
    card = dataclasses.replace(card, flexmls_url="https://crm.flexmls.com/c/1")
    private = card_message(card)
    shared = card_message(card, shared_by="U0SHARER")
    assert_valid_message(shared)
    assert "jane@example.org" in json.dumps(private.blocks)
    assert FIRST_LOOKUP in all_texts(private) and NO_SCORE_YET in all_texts(private)
    copy = json.dumps(shared.blocks) + shared.text
    assert "jane@example.org" not in copy and "303-555-0142" not in copy
    assert "mailto:" not in copy and "tel:" not in copy and "flexmls" not in copy
    assert FIRST_LOOKUP not in copy and NO_SCORE_YET not in copy
    assert buttons(shared) == []
