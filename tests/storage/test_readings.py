"""Readings for the viewer's own day: the newest snapshot before a moment, and first lookups."""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from storage import (
    Counters,
    first_lookup_of_day,
    latest_reading_before,
    prune_all,
    prune_first_lookups,
    record_snapshot,
    snapshot_readings,
)
from tests.storage.support import NOW

HOUR = timedelta(hours=1)


def counters(viewed: int) -> Counters:
    return Counters(0, 0, 0, 0, viewed, 0)


def first(db: Database, viewed: int, *, at=NOW, user="U1", day=date(2026, 3, 14)):
    return first_lookup_of_day(
        db,
        team_id="T1",
        user_id=user,
        contact_id="C1",
        local_day=day,
        counters=counters(viewed),
        now=at,
    )


def test_the_newest_reading_before_a_moment_is_found_by_when_it_was_recorded(db) -> None:
    record_snapshot(db, contact_id="C1", day=date(2026, 3, 13), counters=counters(5),
                    now=NOW - 20 * HOUR)  # fmt: skip
    record_snapshot(db, contact_id="C1", day=date(2026, 3, 14), counters=counters(9), now=NOW)
    assert latest_reading_before(db, "C1", NOW - HOUR) == (NOW - 20 * HOUR, counters(5))
    assert latest_reading_before(db, "C1", NOW + HOUR) == (NOW, counters(9))
    assert latest_reading_before(db, "C1", NOW - 21 * HOUR) is None
    assert latest_reading_before(db, "C2", NOW + HOUR) is None


def test_snapshot_readings_carry_their_recording_time(db) -> None:
    record_snapshot(db, contact_id="C1", day=date(2026, 3, 13), counters=counters(5),
                    now=NOW - 20 * HOUR)  # fmt: skip
    record_snapshot(db, contact_id="C1", day=date(2026, 3, 14), counters=counters(9), now=NOW)
    assert snapshot_readings(db, "C1", date(2026, 3, 1), date(2026, 3, 14)) == [
        (date(2026, 3, 13), NOW - 20 * HOUR, counters(5)),
        (date(2026, 3, 14), NOW, counters(9)),
    ]


def test_the_first_lookup_of_a_day_wins(db) -> None:
    assert first(db, 5) is None  # recorded as the first
    assert first(db, 8, at=NOW + HOUR) == (NOW, counters(5))
    assert first(db, 9, at=NOW + 2 * HOUR) == (NOW, counters(5))  # still the first one
    assert first(db, 9, user="U2") is None  # each agent has their own
    assert first(db, 9, day=date(2026, 3, 15)) is None  # and each local day


def test_first_lookups_are_pruned_after_two_days(db) -> None:
    first(db, 5, at=NOW - 49 * HOUR, day=date(2026, 3, 12))
    first(db, 5, at=NOW - HOUR)
    assert prune_first_lookups(db, NOW) == 1
    assert db.table("first_lookups").count == 1
    assert prune_all(db, NOW + 3 * 24 * HOUR)["first_lookups"] == 1
