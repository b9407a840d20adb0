""" "Active now" across a DST change: the 4-hour update window and "in the last 40 min" are
elapsed time, whatever zone the moments carry (America/New_York falls back on 2026-11-01 at
02:00 EDT → 01:00 EST)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from activity.alerts import UPDATE_WINDOW, ActiveNow, Post, Update, decide, elapsed, observe
from blocks.alerts import active_now_message
from storage.alerts import AlertDelivery, AlertKey, Pulse
from tests.helpers.blocks import assert_valid_message

NY = ZoneInfo("America/New_York")
# 01:30 EDT, before the clocks fall back (fold=0: the first 01:30 of the day).
POSTED = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY)
MIN = dt.timedelta(minutes=1)


def dm_at(posted: dt.datetime, shown: int = 8) -> AlertDelivery:
    return AlertDelivery(
        key=AlertKey("T1", "U1", "C1", posted - 40 * MIN),
        display_name="Zoë",
        baseline_views=3,
        shown_views=shown,
        state="delivered",
        claimed_at=posted,
        posting_at=posted,
        resent=False,
        channel="D1",
        ts="1.1",
        posted_at=posted,
        updated_at=posted,
    )


def later(minutes: int) -> dt.datetime:
    """`minutes` of real time after POSTED, as a New York wall clock (what a zone-aware clock
    would give)."""
    return (POSTED.astimezone(dt.UTC) + minutes * MIN).astimezone(NY)


def pulse_with(views: int, quiet_at: dt.datetime) -> Pulse:
    return Pulse(views, quiet_at, 3, quiet_at, quiet_at, "hot")


def test_the_wall_clock_lies_across_the_change():
    assert later(239).strftime("%H:%M %Z") == "04:29 EST"
    assert later(239) - POSTED == dt.timedelta(hours=2, minutes=59)  # same-zone subtraction
    assert elapsed(POSTED, later(239)) == dt.timedelta(hours=3, minutes=59)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(239, Update), (241, Post)],  # +3 h 59: updates; +4 h 01: posts anew
)
def test_the_update_window_is_four_real_hours(minutes, expected):
    now = later(minutes)
    dm = dm_at(POSTED)
    decision = decide(pulse_with(20, POSTED - 40 * MIN), dm, now)
    assert isinstance(decision, expected)
    if isinstance(decision, Post):
        assert decision.baseline_views == dm.shown_views  # counts from what the DM showed
    assert (elapsed(POSTED, now) < UPDATE_WINDOW) is (expected is Update)


def test_quiet_is_an_hour_of_real_time_across_the_change():
    grew = dt.datetime(2026, 11, 1, 1, 20, tzinfo=NY)  # 01:20 EDT
    pulse = observe(observe(None, 10, grew - 5 * MIN, "hot"), 12, grew, "hot")
    # 01:25 EST (fold=1) is 65 real minutes later (the wall clock says 5): quiet.
    after = dt.datetime(2026, 11, 1, 1, 25, fold=1, tzinfo=NY)
    assert elapsed(grew, after) == 65 * MIN
    assert observe(pulse, 12, after, "hot").quiet_at == after


def test_the_dm_says_real_minutes_and_shows_times_for_the_reader_zone():
    since = POSTED  # 01:30 EDT = 05:30 UTC
    now = dt.datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=NY)  # 01:10 EST = 06:10 UTC
    alert = ActiveNow("U0AGENT1", "20150726201640439000015000", "Zoë", 5, since, now)
    assert alert.minutes == 40  # the wall clock says −20
    message = active_now_message(alert)
    assert "in the last 40 min" in message.text
    assert_valid_message(message)
    hint = str(message.blocks[-1])
    start = int(since.timestamp())
    until = int((now.astimezone(dt.UTC) + UPDATE_WINDOW).timestamp())  # not posted yet: now
    assert f"<!date^{start}^{{time}}|5:30 UTC>" in hint
    assert f"<!date^{until}^{{time}}|10:10 UTC>" in hint
    posted = ActiveNow(
        "U0AGENT1", "20150726201640439000015000", "Zoë", 5, since, later(239), posted_at=POSTED
    )
    assert f"<!date^{int(POSTED.timestamp()) + 4 * 3600}^" in str(active_now_message(posted).blocks)
