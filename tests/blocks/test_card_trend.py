"""The contact card's trend: engagement band and score, 7/30-day changes, and the sparkline."""

from __future__ import annotations

import pytest

from activity.scoring import Trend
from blocks import card_message
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
    message = card_message(make_card(delta=DELTA, trend=make_trend()))
    assert_valid_message(message)
    assert block_types(message) == [
        "header",
        "section",
        "context",  # privacy note
        "context",  # since yesterday
        "context",  # engagement
        "context",  # 7/30 days
        "context",  # sparkline
        "context",  # e-mail · phone
        "actions",
    ]
    lines = context_by_role(message)
    assert lines["card_engagement"] == (
        "🔥 Hot (42 points): 12 listing views, 3 e-mail opens in the last 7 days."
    )
    assert lines["card_trend"] == "7 days: +14 viewed, +2 shared · 30 days: +40 viewed, +5 shared"
    assert lines["card_sparkline"] == "Views, last 5 days: ▁▂▁▅▇"
    assert message.text == (
        "Jane Doe (hot): 143 listings viewed (+6), 12 shared (+1), 8 of 10 e-mails opened"
    )


def test_trend_lines_are_plain_text() -> None:
    message = card_message(make_card(trend=make_trend()))
    seen = set()
    for block in message.blocks:
        role = block["block_id"].split(".")[0]
        if role in ("card_engagement", "card_trend", "card_sparkline"):
            assert [e["type"] for e in block["elements"]] == ["plain_text"]
            seen.add(role)
    assert seen == {"card_engagement", "card_trend", "card_sparkline"}


@pytest.mark.parametrize(
    ("band", "score", "start"),
    [
        ("hot", 42.0, "🔥 Hot (42 points)"),
        ("warm", 12.0, "🌤 Warm (12 points)"),
        ("cold", 2.0, "🧊 Cold (2 points)"),
    ],
)
def test_each_band_has_its_marker(band: str, score: float, start: str) -> None:
    trend = make_trend(engagement=make_engagement(band, score))  # type: ignore[arg-type]
    message = card_message(make_card(trend=trend))
    assert_valid_message(message)
    assert context_by_role(message)["card_engagement"].startswith(start + ": ")
    assert message.text.startswith(f"Jane Doe ({band}): ")


def test_no_score_before_a_second_day_of_history() -> None:
    trend = Trend(week=None, month=None, sparkline=None, engagement=None)
    message = card_message(make_card(trend=trend))
    assert_valid_message(message)
    lines = context_by_role(message)
    assert lines["card_engagement"] == "Engagement score appears after a second day of history."
    assert "card_trend" not in lines
    assert "card_sparkline" not in lines
    assert message.text.startswith("Jane Doe: ")


def test_only_non_zero_counters_and_known_periods_are_listed() -> None:
    week = ActivitySummary(listings_viewed=0, listings_shared=2, manual_emails_opened=1)
    trend = Trend(week=week, month=None, sparkline=None, engagement=make_engagement())
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "7 days: +2 shared, +1 e-mails opened"


def test_a_period_without_change_says_so_and_negatives_use_a_minus_sign() -> None:
    trend = make_trend(
        week=ActivitySummary(), month=ActivitySummary(listings_viewed=-2, listings_shared=3)
    )
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "7 days: no change · 30 days: \u22122 viewed, +3 shared"


def test_agent_sent_e_mails_are_not_counted_as_engagement() -> None:
    month = ActivitySummary(manual_emails_sent=9, subscription_emails_sent=30)
    trend = make_trend(week=ActivitySummary(listings_viewed=1), month=month)
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_trend"] == "7 days: +1 viewed · 30 days: no change"


def test_sparkline_is_cleaned_and_its_length_names_the_days() -> None:
    spark = "▁▂▃▄▅▆▇█▁▂▃▄▅▆"
    lines = context_by_role(card_message(make_card(trend=make_trend(sparkline=spark))))
    assert lines["card_sparkline"] == f"Views, last 14 days: {spark}"
    odd = make_trend(sparkline="▁\u202e▂\x00▇")
    lines = context_by_role(card_message(make_card(trend=odd)))
    assert lines["card_sparkline"] == "Views, last 3 days: ▁▂▇"


def test_a_missing_explanation_still_names_band_and_score() -> None:
    trend = make_trend(engagement=make_engagement("warm", 12.4, explanation="  "))
    lines = context_by_role(card_message(make_card(trend=trend)))
    assert lines["card_engagement"] == "🌤 Warm (12 points)."


def test_shared_copy_keeps_the_trend_and_names_band_and_sharing() -> None:
    message = card_message(make_card(trend=make_trend()), shared_by="U0SHARER")
    assert_valid_message(message)
    assert "card_engagement" in context_by_role(message)
    assert "actions" not in block_types(message)
    assert message.text.startswith("Jane Doe (hot, shared card): ")


def test_card_without_a_trend_is_unchanged() -> None:
    without = card_message(make_card(delta=DELTA))
    assert without == card_message(make_card(delta=DELTA, trend=None))
    assert not {"card_engagement", "card_trend", "card_sparkline"} & set(context_by_role(without))
    assert without.text.startswith("Jane Doe: ")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_with_a_trend(name: str) -> None:
    message = card_message(make_card(make_contact(name), delta=DELTA, trend=make_trend()))
    assert_valid_message(message)
    assert_no_formatting_from(name, message)
    assert len(message.blocks) <= 50
