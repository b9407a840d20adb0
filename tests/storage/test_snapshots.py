"""Daily activity snapshots: one per contact per day, history and latest-before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlite_utils import Database

from storage import (
    Counters,
    prune_snapshots,
    record_snapshot,
    snapshot_history,
    snapshot_on,
)

from .support import NOW

MONDAY = date(2026, 3, 9)
DAY = timedelta(days=1)


def counters(n: int) -> Counters:
    return Counters(
        manual_emails_sent=n,
        manual_emails_opened=n + 1,
        subscription_emails_sent=n + 2,
        subscription_emails_opened=n + 3,
        listings_viewed=n + 4,
        listings_shared=n + 5,
    )


def record(db: Database, day: date, n: int, contact: str = "C1") -> None:
    record_snapshot(db, contact_id=contact, day=day, counters=counters(n), now=NOW)


def test_snapshot_round_trips(db: Database) -> None:
    record(db, MONDAY, 7)
    assert snapshot_on(db, "C1", MONDAY) == counters(7)


def test_no_snapshot_is_none(db: Database) -> None:
    record(db, MONDAY, 7)
    assert snapshot_on(db, "C1", MONDAY + DAY) is None
    assert snapshot_on(db, "C2", MONDAY) is None


def test_a_later_lookup_the_same_day_overwrites(db: Database) -> None:
    record(db, MONDAY, 1)
    record_snapshot(
        db, contact_id="C1", day=MONDAY, counters=counters(5), now=NOW + timedelta(hours=3)
    )
    assert snapshot_on(db, "C1", MONDAY) == counters(5)
    assert db.table("activity_snapshots").count == 1
    row = db.execute("SELECT recorded_at FROM activity_snapshots").fetchone()
    assert datetime.fromisoformat(row[0]) == NOW + timedelta(hours=3)


def test_snapshots_are_per_contact(db: Database) -> None:
    record(db, MONDAY, 1, contact="C1")
    record(db, MONDAY, 2, contact="C2")
    assert snapshot_on(db, "C1", MONDAY) == counters(1)
    assert snapshot_on(db, "C2", MONDAY) == counters(2)


def test_a_datetime_is_refused_as_the_day(db: Database) -> None:
    with pytest.raises(TypeError):
        record_snapshot(
            db, contact_id="C1", day=datetime(2026, 3, 9, tzinfo=UTC), counters=counters(1), now=NOW
        )


def test_counters_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        counters(1).listings_viewed = 3  # type: ignore[misc]


def test_history_is_ascending_and_inclusive(db: Database) -> None:
    for offset in (4, 0, 2, 1, 6):
        record(db, MONDAY + offset * DAY, offset)
    record(db, MONDAY + DAY, 99, contact="other")
    history = snapshot_history(db, "C1", MONDAY + DAY, MONDAY + 4 * DAY)
    assert history == [(MONDAY + n * DAY, counters(n)) for n in (1, 2, 4)]


@pytest.mark.parametrize(
    ("since", "until", "days"),
    [
        (MONDAY, MONDAY, [0]),
        (MONDAY + 5 * DAY, MONDAY + 9 * DAY, []),
        (MONDAY + DAY, MONDAY, []),
        (MONDAY - 9 * DAY, MONDAY + 9 * DAY, [0, 1]),
    ],
)
def test_history_edges(db: Database, since: date, until: date, days: list[int]) -> None:
    record(db, MONDAY, 0)
    record(db, MONDAY + DAY, 1)
    assert [d for d, _ in snapshot_history(db, "C1", since, until)] == [
        MONDAY + n * DAY for n in days
    ]


def test_history_crosses_month_and_year_boundaries_in_order(db: Database) -> None:
    days = [date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 10), date(2026, 2, 1)]
    for n, day in enumerate(reversed(days)):
        record(db, day, n)
    assert [d for d, _ in snapshot_history(db, "C1", date(2025, 1, 1), date(2026, 12, 31))] == days


def test_prune_snapshots(db: Database) -> None:
    for offset in range(5):
        record(db, MONDAY + offset * DAY, offset)
    assert prune_snapshots(db, MONDAY + 3 * DAY) == 3
    assert [d for d, _ in snapshot_history(db, "C1", MONDAY, MONDAY + 9 * DAY)] == [
        MONDAY + 3 * DAY,
        MONDAY + 4 * DAY,
    ]
