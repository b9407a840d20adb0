""" "Back after a quiet spell" and "Opened your e-mail": the pure parts. What proves a quiet
spell, when a contact is back, when manual opens rose, and what a ledger record says again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from activity.alert_kinds import (
    BACK,
    FRESH,
    OPENED,
    QUIET_SPELL,
    BackAgain,
    EmailOpened,
    Evidence,
    Reading,
    decide_back,
    decide_opened,
    evidence,
    kind_alert,
    observe_kinds,
    quiet_days,
)
from activity.alerts import observe
from spark import ActivitySummary
from storage.alerts import AlertDelivery, AlertKey, Pulse

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)


def check(
    before: Pulse | None, at: dt.datetime, views: int = 0, opens: int = 0, manual: int = 0,
    seed: Evidence | None = None,
) -> Pulse:  # fmt: skip
    """The pulse after one check (as `activity.alerts._record_check` makes it)."""
    reading = Reading(views, opens + manual, manual)
    return observe_kinds(before, observe(before, views, at, "cold"), reading, at, seed)


def summary(views: int = 0, sub_opens: int = 0) -> ActivitySummary:
    return ActivitySummary(listings_viewed=views, subscription_emails_opened=sub_opens)


def test_evidence_is_the_oldest_reading_and_the_last_growth():
    readings = [(T0 - 30 * DAY, summary(1)), (T0 - 20 * DAY, summary(2)), (T0 - DAY, summary(2))]
    assert evidence(readings) == Evidence(T0 - 30 * DAY, T0 - 20 * DAY)
    assert evidence(readings[2:]) == Evidence(T0 - DAY, None)
    assert evidence([(T0 - 9 * DAY, summary()), (T0, summary(sub_opens=1))]) == Evidence(
        T0 - 9 * DAY, T0
    )  # an e-mail open is activity too
    assert evidence([]) is None


def test_the_first_check_seeds_the_proof_and_never_alerts():
    pulse = check(None, T0, views=4, seed=Evidence(T0 - 30 * DAY, None))
    assert pulse.known_since == T0 - 30 * DAY and pulse.active_at is None
    assert decide_back(pulse, T0 - 60 * DAY, T0) is None
    assert decide_opened(pulse, T0 - 60 * DAY, T0) is None
    bare = check(None, T0, views=4, seed=None)
    assert bare.known_since == T0  # nothing stored: our history starts now


def test_back_after_a_proven_spell_counts_views_and_opens_since_it():
    first = check(None, T0, views=4, opens=2, seed=Evidence(T0 - 20 * DAY, T0 - 16 * DAY))
    quiet = check(first, T0 + HOUR, views=4, opens=2)
    back = check(quiet, T0 + 2 * HOUR, views=6, opens=3)
    assert (back.back_from, back.back_until) == (T0 - 16 * DAY, T0 + HOUR)
    decision = decide_back(back, T0, T0 + 2 * HOUR)
    assert decision is not None
    assert (decision.window_start, decision.baseline_views, decision.views, decision.opens) == (
        T0 - 16 * DAY, 4, 6, 1,
    )  # fmt: skip
    # Later checks decide the same (a restart, a second instance): the same ledger key.
    later = check(back, T0 + 3 * HOUR, views=7, opens=3)
    again = decide_back(later, T0, T0 + 3 * HOUR)
    assert again is not None and again.window_start == decision.window_start and again.views == 7


@pytest.mark.parametrize(
    ("last_growth", "known", "back"),
    [
        (None, T0 - 14 * DAY, True),  # exactly 14 days of history, all quiet
        (None, T0 - 14 * DAY + HOUR, False),  # 13 days 23 hours: not proven
        (T0 - 14 * DAY + HOUR, T0 - 40 * DAY, False),  # active within the 14 days
        (T0 - 15 * DAY, T0 - 40 * DAY, True),
    ],
)
def test_only_fourteen_proven_quiet_days_make_a_contact_back(last_growth, known, back):
    first = check(None, T0, views=1, seed=Evidence(known, last_growth))
    returned = check(first, T0 + HOUR, views=2)
    assert (decide_back(returned, T0, T0 + HOUR) is not None) is back


def test_checks_without_growth_carry_the_proof_over():
    first = check(None, T0, views=1, seed=Evidence(T0 - 20 * DAY, None))
    pulse = first
    for hours in range(1, 6):
        pulse = check(pulse, T0 + hours * HOUR, views=1)
    assert pulse.known_since == T0 - 20 * DAY and pulse.active_at is None
    assert decide_back(check(pulse, T0 + 6 * HOUR, views=2), T0, T0 + 6 * HOUR) is not None


def test_a_counter_that_goes_down_breaks_the_proof():
    first = check(None, T0, views=5, opens=3, seed=Evidence(T0 - 30 * DAY, None))
    corrected = check(first, T0 + HOUR, views=5, opens=1)  # Spark corrected its count
    assert corrected.known_since == T0 + HOUR and corrected.back_from is None
    returned = check(corrected, T0 + 2 * HOUR, views=6, opens=1)
    assert decide_back(returned, T0, T0 + 2 * HOUR) is None


def test_a_freshly_watched_contact_with_no_history_is_never_back():
    pulse = check(None, T0, seed=Evidence(T0, None))
    for hours in range(1, 10):
        pulse = check(pulse, T0 + hours * HOUR, views=hours)
        assert decide_back(pulse, T0, T0 + hours * HOUR) is None


def test_a_return_lapses_after_a_day_and_never_predates_the_watch():
    first = check(None, T0, seed=Evidence(T0 - 20 * DAY, None))
    returned = check(first, T0 + HOUR, views=1)
    assert decide_back(returned, T0, T0 + HOUR + FRESH - HOUR) is not None
    assert decide_back(returned, T0, T0 + 2 * HOUR + FRESH) is None  # old news by then
    assert decide_back(returned, T0 + 30 * dt.timedelta(minutes=1), T0 + HOUR) is None
    # A long gap in our checks: the return may be days old.
    gap = check(first, T0 + 3 * DAY, views=1)
    assert decide_back(gap, T0, T0 + 3 * DAY) is None


def test_manual_opens_rising_since_the_last_check():
    first = check(None, T0, manual=2, opens=5, seed=Evidence(T0, None))
    assert decide_opened(check(first, T0 + HOUR, manual=2, opens=9), T0, T0 + HOUR) is None
    rose = check(first, T0 + HOUR, manual=4, opens=5)
    decision = decide_opened(rose, T0, T0 + HOUR)
    assert decision is not None and (decision.window_start, decision.opens) == (T0, 2)
    steady = check(rose, T0 + 2 * HOUR, manual=4, opens=5)
    assert decide_opened(steady, T0, T0 + 2 * HOUR) == decision  # same key until it lapses
    assert decide_opened(steady, T0, T0 + FRESH + HOUR) is None
    assert decide_opened(rose, T0 + HOUR, T0 + HOUR) is None  # watched after that check


def test_rows_from_before_these_kinds_are_seeded_not_trusted():
    old = Pulse(3, None, 3, T0, T0, "cold")  # a pulse stored before m008
    pulse = check(old, T0 + HOUR, views=9, manual=5, seed=Evidence(T0 - 40 * DAY, None))
    assert pulse.known_since == T0 - 40 * DAY and pulse.last_manual_opens == 5
    assert decide_back(pulse, T0, T0 + HOUR) is None
    assert decide_opened(pulse, T0, T0 + HOUR) is None


def delivery(kind: str, **fields: object) -> AlertDelivery:
    base = AlertDelivery(
        key=AlertKey("T1", "U1", "C1", T0 - 23 * DAY, kind),
        display_name="Zoë O'Brien",
        baseline_views=4,
        shown_views=6,
        state="claimed",
        claimed_at=T0,
        posting_at=T0,
        resent=False,
        channel=None,
        ts=None,
        posted_at=None,
        updated_at=None,
        opens=1,
        spell_end=T0 - HOUR,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_a_ledger_record_says_the_same_dm_again():
    assert kind_alert(delivery(BACK), "k") == BackAgain("U1", "C1", "Zoë O'Brien", 2, 1, 22, "k")
    assert kind_alert(delivery(BACK), "k", shown_views=9).views == 5
    assert kind_alert(delivery(OPENED, opens=3), "k") == EmailOpened(
        "U1", "C1", "Zoë O'Brien", 3, "k"
    )


def test_quiet_days_are_rounded_down():
    assert quiet_days(T0, T0 + QUIET_SPELL - HOUR) == 13
    assert quiet_days(T0, T0 + QUIET_SPELL) == 14
    assert quiet_days(T0, None) == 0
