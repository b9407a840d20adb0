"""The engagement formula, trends and the sparkline, from snapshot histories."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.scoring import (
    HOT,
    WARM,
    WEIGHTS,
    band_for,
    change_since,
    contact_did_words,
    daily_increments,
    engagement,
    last_active,
    points,
    provisional_engagement,
    sparkline,
    trend,
    week_activity,
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
    assert result.explanation == "Hot (30 points): 10 listings viewed in the last 7 days."


def test_listing_activity_outweighs_email_opens():
    views = engagement([(day(1), totals()), (TODAY, totals(viewed=4))], TODAY)
    opens = engagement([(day(1), totals()), (TODAY, totals(manual_opened=4))], TODAY)
    sub_opens = engagement([(day(1), totals()), (TODAY, totals(sub_opened=4))], TODAY)
    assert views.score > opens.score > sub_opens.score > 0


def test_only_what_the_contact_did_earns_points():
    agent = ActivitySummary(listings_shared=40, manual_emails_sent=25, subscription_emails_sent=90)
    result = engagement([(day(1), ActivitySummary()), (TODAY, agent)], TODAY)
    assert result.score == 0.0 and result.band == "cold"
    assert result.explanation == "Cold (0 points): nothing viewed or opened in the last 7 days."
    assert set(WEIGHTS) == {"listings_viewed", "manual_emails_opened", "subscription_emails_opened"}
    assert points(agent) == 0.0
    assert provisional_engagement(agent).score == 0.0


def test_shares_and_sends_do_not_change_a_contacts_score():
    base = [(day(1), totals()), (TODAY, totals(viewed=5, manual_opened=2))]
    noisy = [
        (day(1), totals()),
        (TODAY, ActivitySummary(listings_viewed=5, manual_emails_opened=2, listings_shared=9,
                                manual_emails_sent=7, subscription_emails_sent=30)),
    ]  # fmt: skip
    assert engagement(noisy, TODAY) == engagement(base, TODAY)


@pytest.mark.parametrize(
    ("summary", "words"),
    [
        (totals(viewed=1), "1 listing viewed"),
        (totals(viewed=13, manual_opened=1, sub_opened=1), "13 listings viewed · 2 e-mails opened"),
        (totals(manual_opened=1), "1 e-mail opened"),
        (totals(viewed=1500), "1,500 listings viewed"),
        (totals(shared=3), "nothing viewed or opened"),
    ],
)
def test_what_the_contact_did_in_words(summary, words):
    assert contact_did_words(summary) == words


def test_a_first_band_from_todays_totals_says_so():
    result = provisional_engagement(totals(viewed=172, manual_opened=9))
    assert result.provisional and result.basis == "today"
    assert result.score == pytest.approx((172 * 3 + 9) / 10)
    assert result.band == "hot"
    assert result.explanation == (
        "Hot, from today's totals (172 listings viewed · 9 e-mails opened so far); "
        "the 7-day score starts after a second day."
    )
    assert provisional_engagement(totals(viewed=30)).band == "warm"
    assert provisional_engagement(totals(viewed=2)).band == "cold"


def test_trend_with_one_snapshot_has_a_first_band_and_no_week():
    result = trend([(TODAY, totals(viewed=172))], TODAY)
    assert result.engagement.provisional
    assert result.recent is None and result.recent_since is None
    assert trend([], TODAY).engagement is None
    two = trend([(day(1), totals(viewed=172)), (TODAY, totals(viewed=180))], TODAY)
    assert not two.engagement.provisional
    assert two.recent.listings_viewed == 8 and two.recent_since == day(1)


def test_week_activity_sums_the_last_seven_days_only():
    history = [(day(9), totals()), (day(8), totals(viewed=5)), (day(3), totals(viewed=7)),
               (TODAY, totals(viewed=10, manual_opened=1))]  # fmt: skip
    week = week_activity(history, TODAY)
    assert week.listings_viewed == 5 and week.manual_emails_opened == 1
    assert trend(history, TODAY).recent_since is None


def test_last_active_is_the_newest_reading_with_contact_activity():
    readings = [
        (day(5), totals(viewed=1)),
        (day(4), totals(viewed=3)),  # viewed
        (day(2), totals(viewed=3, shared=4)),  # only the agent shared
        (day(1), ActivitySummary(listings_viewed=3, listings_shared=4, manual_emails_sent=9)),
        (TODAY, ActivitySummary(listings_viewed=3, listings_shared=4, manual_emails_sent=9)),
    ]
    assert last_active(readings) == day(4)
    readings.append((TODAY, ActivitySummary(listings_viewed=3, listings_shared=4,
                                            manual_emails_sent=9, subscription_emails_opened=1)))  # fmt: skip
    assert last_active(readings) == TODAY


@pytest.mark.parametrize(
    "readings",
    [[], [(TODAY, totals(viewed=9))], [(day(1), totals(viewed=9)), (TODAY, totals(viewed=5))]],
)
def test_no_last_active_without_growth(readings):
    assert last_active(readings) is None


def test_last_active_works_on_moments_too():
    at = dt.datetime(2026, 3, 20, 6, 30, tzinfo=dt.UTC)
    earlier = at - dt.timedelta(hours=14)
    assert last_active([(earlier, totals(viewed=1)), (at, totals(viewed=2))]) == at


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
    assert result.band == "cold"
    assert "nothing viewed or opened in the last 7 days" in result.explanation


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
