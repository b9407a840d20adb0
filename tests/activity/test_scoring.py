"""The engagement formula, trends and the sparkline, from snapshot histories."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.scoring import (
    HOT,
    WARM,
    band_for,
    change_since,
    daily_increments,
    engagement,
    sparkline,
    trend,
)
from spark import ActivitySummary

TODAY = dt.date(2026, 3, 20)


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def totals(viewed=0, shared=0, manual_opened=0, sub_opened=0) -> ActivitySummary:
    return ActivitySummary(
        listings_viewed=viewed,
        listings_shared=shared,
        manual_emails_opened=manual_opened,
        subscription_emails_opened=sub_opened,
    )


def test_no_score_without_two_snapshots():
    assert engagement([], TODAY) is None
    assert engagement([(TODAY, totals(viewed=100))], TODAY) is None


def test_todays_views_score_three_points_each():
    result = engagement([(day(1), totals(viewed=100)), (TODAY, totals(viewed=110))], TODAY)
    assert result.score == 30.0
    assert result.band == "hot"
    assert "10 listing views" in result.explanation


def test_listing_activity_outweighs_email_opens():
    views = engagement([(day(1), totals()), (TODAY, totals(viewed=4))], TODAY)
    opens = engagement([(day(1), totals()), (TODAY, totals(manual_opened=4))], TODAY)
    sub_opens = engagement([(day(1), totals()), (TODAY, totals(sub_opened=4))], TODAY)
    shares = engagement([(day(1), totals()), (TODAY, totals(shared=4))], TODAY)
    assert views.score > shares.score > opens.score > sub_opens.score


def test_recent_activity_outweighs_old_activity_with_a_seven_day_half_life():
    recent = engagement([(day(1), totals()), (TODAY, totals(viewed=10))], TODAY)
    old = engagement(
        [(day(8), totals()), (day(7), totals(viewed=10)), (TODAY, totals(viewed=10))], TODAY
    )
    assert old.score == pytest.approx(recent.score / 2, rel=0.01)


def test_counters_that_go_down_count_as_no_activity():
    assert (
        daily_increments([(day(1), totals(viewed=9)), (TODAY, totals(viewed=5))])[0][1] == totals()
    )


def test_a_gap_attributes_growth_to_the_later_day():
    increments = daily_increments([(day(5), totals(viewed=1)), (TODAY, totals(viewed=4))])
    assert increments == [(TODAY, totals(viewed=3))]


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, "cold"), (WARM - 0.1, "cold"), (WARM, "warm"), (HOT - 0.1, "warm"), (HOT, "hot")],
)
def test_bands(score, band):
    assert band_for(score) == band


def test_quiet_week_is_explained():
    result = engagement([(day(20), totals()), (day(10), totals(viewed=2))], TODAY)
    assert result.band == "cold" and "no activity in the last 7 days" in result.explanation


def test_change_since_uses_the_newest_snapshot_at_least_that_old():
    history = [
        (day(40), totals(viewed=1)),
        (day(8), totals(viewed=5)),
        (day(3), totals(viewed=7)),
        (TODAY, totals(viewed=10)),
    ]
    assert change_since(history, TODAY, 7).listings_viewed == 5
    assert change_since(history, TODAY, 30).listings_viewed == 9
    assert change_since(history[1:], TODAY, 30) is None


def test_sparkline_needs_three_days_and_scales_to_the_busiest_day():
    assert (
        sparkline(
            [(day(2), totals()), (day(1), totals(viewed=1)), (TODAY, totals(viewed=2))], TODAY
        )
        is None
    )
    history = [(day(4), totals()), (day(3), totals(viewed=0)), (day(2), totals(viewed=4)),
               (day(1), totals(viewed=6)), (TODAY, totals(viewed=14))]  # fmt: skip
    assert sparkline(history, TODAY) == "▁▅▃█"


def test_sparkline_of_a_quiet_contact_is_flat():
    history = [(day(i), totals(viewed=3)) for i in range(5, -1, -1)]
    assert sparkline(history, TODAY) == "▁▁▁▁▁"


def test_trend_bundles_everything():
    history = [(day(i), totals(viewed=100 - i)) for i in range(35, -1, -1)]
    result = trend(history, TODAY)
    assert result.week.listings_viewed == 7 and result.month.listings_viewed == 30
    assert result.sparkline and len(result.sparkline) == 14
    assert result.engagement.band in ("warm", "hot")
