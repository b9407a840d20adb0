""" "Active now": the pure parts of the poller. What "quiet" means, when a contact is active, when
a DM is updated instead of posted, and how often each band is checked."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from activity.alerts import (
    ACTIVE_VIEWS,
    QUIET_AFTER,
    UPDATE_WINDOW,
    ActiveNow,
    Post,
    Update,
    decide,
    observe,
    pass_every_s,
    usual_every,
)
from storage.alerts import AlertDelivery, AlertKey, Pulse

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def checks(*readings: tuple[int, int]) -> Pulse:
    """The pulse after checks at (minutes after T0, views) in order."""
    pulse = None
    for minutes, views in readings:
        pulse = observe(pulse, views, T0 + minutes * MIN, "hot")
    assert pulse is not None
    return pulse


def delivered(pulse: Pulse, *, posted_at: dt.datetime, shown: int, baseline: int) -> AlertDelivery:
    return AlertDelivery(
        key=AlertKey("T1", "U1", "C1", pulse.quiet_at),
        display_name="Zoë",
        baseline_views=baseline,
        shown_views=shown,
        state="delivered",
        claimed_at=posted_at,
        posting_at=posted_at,
        resent=False,
        channel="D1",
        ts="1.1",
        posted_at=posted_at,
        updated_at=posted_at,
    )


def test_the_first_check_is_the_quiet_baseline():
    pulse = checks((0, 100))
    assert (pulse.quiet_views, pulse.quiet_at, pulse.last_growth_at) == (100, T0, None)
    assert decide(pulse, None, T0) is None  # lifetime totals are not news


def test_quiet_means_no_new_views_at_this_check_nor_in_the_hour_before():
    pulse = checks((0, 100), (10, 101))  # grew: not quiet
    assert pulse.quiet_views == 100 and pulse.last_growth_at == T0 + 10 * MIN
    pulse = observe(pulse, 101, T0 + 60 * MIN, "hot")  # no growth, but only 50 min since
    assert pulse.quiet_views == 100
    pulse = observe(pulse, 101, T0 + 10 * MIN + QUIET_AFTER, "hot")  # 60 min without growth
    assert pulse.quiet_views == 101 and pulse.quiet_at == T0 + 10 * MIN + QUIET_AFTER


def test_a_counter_that_goes_down_restarts_the_baseline():
    pulse = checks((0, 100), (10, 104), (20, 90))
    assert (pulse.quiet_views, pulse.quiet_at) == (90, T0 + 20 * MIN)


@pytest.mark.parametrize(
    ("views", "alert"), [(ACTIVE_VIEWS - 1, False), (ACTIVE_VIEWS, True), (40, True)]
)
def test_active_now_is_n_views_since_the_last_quiet_check(views, alert):
    pulse = checks((0, 100), (10, 100 + views))
    decision = decide(pulse, None, T0 + 10 * MIN)
    assert (decision == Post(T0, 100, 100 + views)) if alert else decision is None


def test_slow_drips_add_up_while_the_contact_never_goes_quiet():
    pulse = checks((0, 100), (50, 101), (100, 102), (150, 103))  # one view every 50 min
    assert decide(pulse, None, T0 + 150 * MIN) == Post(T0, 100, 103)


def test_more_views_within_four_hours_update_the_same_dm():
    pulse = checks((0, 100), (10, 105))
    last = delivered(pulse, posted_at=T0 + 10 * MIN, shown=105, baseline=100)
    assert decide(checks((0, 100), (10, 105), (20, 105)), last, T0 + 20 * MIN) is None
    later = checks((0, 100), (10, 105), (20, 108))
    assert decide(later, last, T0 + 20 * MIN) == Update(last, 108)
    # quiet in between, then active again within the 4 hours: still the same DM
    again = checks((0, 100), (10, 105), (80, 105), (90, 109))
    assert decide(again, last, T0 + 90 * MIN) == Update(last, 109)


def test_after_four_hours_a_burst_gets_a_new_dm_counting_from_what_the_last_showed():
    pulse = checks((0, 100), (10, 105))
    last = delivered(pulse, posted_at=T0 + 10 * MIN, shown=105, baseline=100)
    at = T0 + 10 * MIN + UPDATE_WINDOW
    steady = [(m, 105 + (m - 10) // 10) for m in range(20, 250, 10)]  # a view every 10 min
    going = observe(checks((0, 100), (10, 105), *steady), 130, at, "hot")
    assert going.quiet_at == T0  # never quiet since
    decision = decide(going, last, at)
    assert isinstance(decision, Post) and decision.baseline_views == 105
    assert decision.window_start == last.updated_at


@pytest.mark.parametrize(("band", "factor"), [("hot", 1), ("warm", 3), ("cold", 12), (None, 12)])
def test_cadence_follows_the_band(band, factor):
    services = SimpleNamespace(settings=SimpleNamespace(alert_poll_min_s=600))
    assert usual_every(services, band) == dt.timedelta(seconds=600 * factor)  # type: ignore[arg-type]
    assert pass_every_s(services) == 120  # type: ignore[arg-type]


def test_the_alert_says_how_long_the_window_ran():
    alert = ActiveNow("U1", "C1", "Zoë", 5, T0, T0 + 40 * MIN)
    assert alert.minutes == 40
    assert ActiveNow("U1", "C1", "Zoë", 5, T0, T0).minutes == 1
