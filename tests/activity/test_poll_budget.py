"""The alert poller within its share of the key: demand of the watch set, the poller's capacity,
and one stretch factor for every interval when the set does not fit."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pytest

from activity.alerts import check_every, pass_every_s, usual_every
from activity.poll_budget import (
    POLLER_SHARE,
    demand,
    forget,
    plan,
    poll_budget,
    poller_capacity,
    stretch_factor,
    usual_interval_s,
)
from spark.budget import DEFAULT_RESERVE
from storage import open_memory_database
from storage.alerts import (
    AlertSettings,
    Pulse,
    add_watch,
    pause_agent,
    save_alert_settings,
    save_pulse,
    snooze_watch,
    stop_watch,
)
from storage.poll_demand import WORKSPACE_READER, PolledRead, polled_reads

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def test_the_poller_plans_for_half_the_background_share():
    # Spark's 1500 per 5 minutes: 5/s; people keep 30%; the poller half of the other 70%.
    assert DEFAULT_RESERVE == 0.3 and POLLER_SHARE == 0.5
    assert poller_capacity(1500, 300) == pytest.approx(1.75)
    assert poller_capacity(1500, 300) * 300 == pytest.approx(525)
    assert poller_capacity(10, 100, reserve=0.0, share=1.0) == pytest.approx(0.1)


@pytest.mark.parametrize(("limit", "window"), [(0, 300), (10, 0), (10, -1)])
def test_a_rate_limit_without_room_is_refused(limit, window):
    with pytest.raises(ValueError):
        poller_capacity(limit, window)


@pytest.mark.parametrize(("band", "factor"), [("hot", 1), ("warm", 3), ("cold", 12), (None, 12)])
def test_usual_intervals_follow_the_band(band, factor):
    assert usual_interval_s(600, band) == 600 * factor


def test_demand_is_reads_per_second():
    assert demand([]) == 0
    assert demand([600, 600, 1800]) == pytest.approx(2 / 600 + 1 / 1800)


@pytest.mark.parametrize(
    ("asked", "capacity", "factor"), [(0, 1, 1), (1, 1, 1), (0.5, 1, 1), (4, 1, 4), (3, 2, 1.5)]
)
def test_the_factor_is_one_until_demand_passes_capacity(asked, capacity, factor):
    assert stretch_factor(asked, capacity) == pytest.approx(factor)


def test_no_capacity_is_a_programming_error():
    with pytest.raises(ValueError):
        stretch_factor(1, 0)


def test_a_watch_set_that_fits_is_checked_as_usual():
    budget = plan(["hot"] * 1000, min_s=600, rate=(1500, 300))  # 1.67 reads/s of 1.75
    assert budget.factor == 1 and not budget.stretched
    assert budget.reads == 1000 and budget.demand == pytest.approx(1000 / 600)


def test_a_watch_set_that_does_not_fit_stretches_evenly_and_then_fits():
    bands = ["hot"] * 200 + ["warm"] * 300 + ["cold"] * 500 + [None] * 10
    budget = plan(bands, min_s=5, rate=(1500, 300))
    assert budget.stretched
    stretched = demand(usual_interval_s(5, b) * budget.factor for b in bands)
    assert stretched == pytest.approx(budget.capacity)  # exactly the poller's share
    assert budget.factor == pytest.approx(budget.demand / budget.capacity)


def test_an_empty_watch_set_asks_nothing():
    budget = plan([], min_s=600, rate=(1500, 300))
    assert (budget.factor, budget.demand, budget.reads) == (1, 0, 0)


# -- the reads the database asks for ---------------------------------------------------------


def _watch(db, user: str, contact: str, access: str = "own", team: str = "T1") -> None:
    add_watch(db, team_id=team, user_id=user, contact_id=contact, display_name=contact,
              access=access, now=T0)  # fmt: skip


def _band(db, contact: str, band: str) -> None:
    save_pulse(db, contact, Pulse(1, None, 1, T0, T0, band))


def test_reads_are_one_per_token_and_contact():
    db = open_memory_database()
    _watch(db, "U1", "C1", "workspace")
    _watch(db, "U2", "C1", "workspace")  # same token: one read
    _watch(db, "U3", "C1")  # own connection: a read of its own
    _watch(db, "U3", "C2")
    _band(db, "C1", "hot")
    assert polled_reads(db, T0) == [
        PolledRead(WORKSPACE_READER, "C1", "hot"),
        PolledRead("T1:U3", "C1", "hot"),
        PolledRead("T1:U3", "C2", None),
    ]


def test_watches_the_poller_skips_ask_nothing():
    db = open_memory_database()
    for user in ("U1", "U2", "U3", "U4", "U5"):
        _watch(db, user, "C1")
    stop_watch(db, "T1", "U1", "C1")
    snooze_watch(db, "T1", "U2", "C1", T0 + dt.timedelta(days=1))
    save_alert_settings(db, "T1", "U3", AlertSettings(enabled=False), now=T0)
    pause_agent(db, "T1", "U4", token_key="k", reason="InvalidToken", now=T0)
    assert [r.reader for r in polled_reads(db, T0)] == ["T1:U5"]
    # A snooze that ended counts again.
    assert len(polled_reads(db, T0 + dt.timedelta(days=2))) == 2


# -- what the poller and the watch list use ----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def services_for(db, *, min_s: int = 5, rate: tuple[int, float] = (30, 300)):
    settings = SimpleNamespace(alert_poll_min_s=min_s, spark_rate_limit=rate)
    return SimpleNamespace(settings=settings, db=db, clock=Clock())


def test_check_every_is_the_usual_interval_stretched():
    db = open_memory_database()
    services = services_for(db)  # 30/300: the poller plans for 0.035 reads/s
    assert check_every(services, "hot") == usual_every(services, "hot") == dt.timedelta(seconds=5)
    for i in range(10):
        _watch(db, "U1", f"C{i}")
        _band(db, f"C{i}", "hot")
    forget(services)
    factor = (10 / 5) / poller_capacity(30, 300)
    assert math.isclose(poll_budget(services).factor, factor)
    for band in ("hot", "warm", "cold"):
        assert check_every(services, band) == usual_every(services, band) * factor


def test_the_budget_is_kept_for_a_pass_interval_unless_forgotten():
    db = open_memory_database()
    services = services_for(db, min_s=60, rate=(3, 300))  # kept 12 s; 10 cold ones: too many
    assert not poll_budget(services).stretched
    for i in range(10):
        _watch(db, "U1", f"C{i}")
    assert not poll_budget(services).stretched  # kept
    services.clock.now += dt.timedelta(seconds=12)
    assert poll_budget(services).stretched  # computed afresh
    for i in range(10):
        stop_watch(db, "T1", "U1", f"C{i}")
    forget(services)
    assert not poll_budget(services).stretched


def test_a_pass_starts_only_the_reads_its_allowance_holds():
    from activity.poll_budget import reads_allowed, spend_reads

    services = services_for(open_memory_database(), rate=(1500, 300))  # 1.75 reads/s
    assert reads_allowed(services) == 105  # full at start: 60 s of the poller's part
    spend_reads(services, 105)
    assert reads_allowed(services) == 0
    services.clock.now += dt.timedelta(seconds=4)
    assert reads_allowed(services) == 7  # 4 s × 1.75
    services.clock.now += dt.timedelta(hours=1)
    assert reads_allowed(services) == 105  # never more than 60 s of it at once


def test_a_tiny_key_still_allows_one_read_at_a_time():
    from activity.poll_budget import reads_allowed

    services = services_for(open_memory_database(), rate=(30, 3600))
    assert reads_allowed(services) == 1


def test_at_the_default_cadence_a_busy_poller_can_use_the_capacity_it_plans_for():
    from activity.poll_budget import reads_allowed, spend_reads

    services = services_for(open_memory_database(), min_s=600, rate=(1500, 300))  # defaults
    every = pass_every_s(services)  # 120 s between passes in `serve`
    started = 0
    for _ in range(int(3600 / every)):  # one hour of passes with plenty due at each
        allowed = reads_allowed(services)
        spend_reads(services, allowed)
        started += allowed
        services.clock.now += dt.timedelta(seconds=every)
    planned = poller_capacity(1500, 300) * 3600  # 6,300 reads an hour
    assert started >= 0.9 * planned, (started, planned)
