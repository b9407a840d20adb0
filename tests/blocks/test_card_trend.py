"""The contact card's trend: engagement band and score, 7/30-day changes, and the sparkline."""

from __future__ import annotations

import pytest

from activity.scoring import Trend
from blocks import card_message
from blocks.card import NO_SCORE_YET
from spark.models import ActivitySummary
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    assert_no_formatting_from,
    assert_valid_message,
    block_types,
    make_card,
    make_contact,
    make_engagement,
    make_trend,
)

DELTA = ActivitySummary(listings_viewed=6, listings_shared=1)


def context_by_role(message) -> dict[str, str]:
    """Context lines keyed by the role part of their block id ("card_trend", …)."""
    return {
        b["block_id"].split(".")[0]: " ".join(e["text"] for e in b["elements"])
        for b in message.blocks
        if b["type"] == "context"
    }


def test_card_with_a_trend_shows_band_changes_and_sparkline() -> None:
    trend = make_trend(recent=ActivitySummary(listings_viewed=12, manual_emails_opened=3))
    message = card_message(make_card(delta=DELTA, trend=trend))
    assert_valid_message(message)
    assert block_types(message) == [
        "header",
        "section",  # band, score, last active; the contact's 7 days
        "context",  # since yesterday
        "context",  # 30 days
        "context",  # sparkline
        "context",  # all-time totals and the privacy note
        "section",  # e-mail · phone
        "actions",
        "context",  # read at
    ]
    lines = context_by_role(message)
    glance = [b for b in message.blocks if b["block_id"].startswith("card_glance.")][0]
    assert glance["text"]["text"] == (
        "*🔥 Hot* · 42 points\n7 days: 12 listings viewed · 3 e-mails opened"
    )
    assert lines["card_trend"] == "30 days: +40 viewed, +5 shared"
    assert lines["card_sparkline"] == "Views, last 5 days: ▁▂▁▅▇"
    assert message.text == "Jane Doe · 🔥 Hot"


def test_trend_lines_are_plain_text() -> None:
    message = card_message(make_card(trend=make_trend()))
    seen = set()
    for block in message.blocks:
        role = block["block_id"].split(".")[0]
        if role in ("card_trend", "card_sparkline", "card_totals"):
            assert {e["type"] for e in block["elements"]} == {"plain_text"}
            seen.add(role)
    assert seen == {"card_trend", "card_sparkline", "card_totals"}


@pytest.mark.parametrize(
    ("band", "score", "start"),
    [
        ("hot", 42.0, "*🔥 Hot* · 42 points"),
        ("warm", 12.0, "*🌤 Warm* · 12 points"),
        ("cold", 2.0, "*🧊 Cold* · 2 points"),
    ],
)
def test_each_band_has_its_marker(band: str, score: float, start: str) -> None:
    trend = make_trend(engagement=make_engagement(band, score))  # type: ignore[arg-type]
    message = card_message(make_card(trend=trend))
    assert_valid_message(message)
    glance = [b for b in message.blocks if b["block_id"].startswith("card_glance.")][0]
    assert glance["text"]["text"].startswith(start)
    assert message.text.startswith(f"Jane Doe · {start.split('*')[1]}")


def test_no_band_without_any_snapshot() -> None:
    trend = Trend(week=None, month=None, sparkline=None, engagement=None)
    message = card_message(make_card(trend=trend))
    assert_valid_message(message)
    lines = context_by_role(message)
    glance = [b for b in message.blocks if b["block_id"].startswith("card_glance.")][0]
    assert glance["text"]["text"] == NO_SCORE_YET
    assert "card_trend" not in lines
    assert "card_sparkline" not in lines
    assert message.text == "Jane Doe · 143 listings viewed"


def test_only_non_zero_counters_and_known_periods_are_listed() -> None:
    month = ActivitySummary(listings_viewed=0, listings_shared=2, manual_emails_opened=1)
    trend = Trend(week=None, month=month, sparkline=None, engagement=make_engagement())
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "30 days: +2 shared, +1 e-mail opened"
    without = Trend(week=month, month=None, sparkline=None, engagement=make_engagement())
    assert "card_trend" not in context_by_role(card_message(make_card(trend=without)))


def test_a_period_without_change_says_so_and_negatives_use_a_minus_sign() -> None:
    trend = make_trend(
        week=ActivitySummary(), month=ActivitySummary(listings_viewed=-2, listings_shared=3)
    )
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "30 days: \u22122 viewed, +3 shared"
    quiet = make_trend(month=ActivitySummary())
    assert context_by_role(card_message(make_card(trend=quiet)))["card_trend"] == (
        "30 days: no change"
    )


def test_agent_sent_e_mails_are_not_counted_as_engagement() -> None:
    month = ActivitySummary(manual_emails_sent=9, subscription_emails_sent=30)
    trend = make_trend(week=ActivitySummary(listings_viewed=1), month=month)
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "30 days: no change"


def test_sparkline_is_cleaned_and_its_length_names_the_days() -> None:
    spark = "▁▂▃▄▅▆▇█▁▂▃▄▅▆"
    lines = context_by_role(card_message(make_card(trend=make_trend(sparkline=spark))))
    assert lines["card_sparkline"] == f"Views, last 14 days: {spark}"
    odd = make_trend(sparkline="▁\u202e▂\x00▇")
    lines = context_by_role(card_message(make_card(trend=odd)))
    assert lines["card_sparkline"] == "Views, last 3 days: ▁▂▇"


def test_shared_copy_keeps_the_trend_and_names_band_and_sharing() -> None:
    message = card_message(make_card(trend=make_trend()), shared_by="U0SHARER")
    assert_valid_message(message)
    assert "card_trend" in context_by_role(message)
    assert any(b["block_id"].startswith("card_glance.") for b in message.blocks)
    assert "actions" not in block_types(message)
    assert message.text == "Jane Doe · 🔥 Hot · shared card"


def test_card_without_a_trend_is_unchanged() -> None:
    without = card_message(make_card(delta=DELTA))
    assert without == card_message(make_card(delta=DELTA, trend=None))
    assert not {"card_trend", "card_sparkline"} & set(context_by_role(without))
    assert without.text == "Jane Doe · 143 listings viewed"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_with_a_trend(name: str) -> None:
    message = card_message(make_card(make_contact(name), delta=DELTA, trend=make_trend()))
    assert_valid_message(message)
    assert_no_formatting_from(name, message)
    assert len(message.blocks) <= 50
