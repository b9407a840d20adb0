"""Daily activity snapshots: the contact's counters as last seen on each day.

One row per contact per day; a later lookup on the same day overwrites it. "Since yesterday"
deltas compare today's counters with the newest reading before the viewer's midnight
(`storage.readings.latest_reading_before`), whichever day it was taken.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from storage.db import from_date_text, to_date_text, to_utc_text


@dataclass(frozen=True)
class Counters:
    manual_emails_sent: int
    manual_emails_opened: int
    subscription_emails_sent: int
    subscription_emails_opened: int
    listings_viewed: int
    listings_shared: int


COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counters))
COUNTER_COLUMNS = ", ".join(COUNTER_FIELDS)  # for SELECTs of snapshot rows


def record_snapshot(
    db: Database, *, contact_id: str, day: date, counters: Counters, now: datetime
) -> None:
    """Store `counters` as the contact's snapshot for `day`, replacing any earlier one that day."""
    db.table("activity_snapshots").upsert(
        {
            "contact_id": contact_id,
            "day": to_date_text(day),
            **{name: int(value) for name, value in asdict(counters).items()},
            "recorded_at": to_utc_text(now),
        },
        pk=("contact_id", "day"),
    )


def snapshot_on(db: Database, contact_id: str, day: date) -> Counters | None:
    """The contact's counters recorded on `day`, if any."""
    rows = list(
        db.query(
            f"SELECT {COUNTER_COLUMNS} FROM activity_snapshots WHERE contact_id = ? AND day = ?",
            [contact_id, to_date_text(day)],
        )
    )
    return counters_of(rows[0]) if rows else None


def snapshot_history(
    db: Database, contact_id: str, since: date, until: date
) -> list[tuple[date, Counters]]:
    """Snapshots from `since` to `until` inclusive, oldest first (days without one are absent)."""
    rows = db.query(
        f"""
        SELECT day, {COUNTER_COLUMNS} FROM activity_snapshots
        WHERE contact_id = ? AND day >= ? AND day <= ?
        ORDER BY day
        """,
        [contact_id, to_date_text(since), to_date_text(until)],
    )
    return [(from_date_text(row["day"]), counters_of(row)) for row in rows]


def prune_snapshots(db: Database, before: date) -> int:
    """Delete every snapshot taken before `before` (retention); returns how many."""
    cursor = db.execute("DELETE FROM activity_snapshots WHERE day < ?", [to_date_text(before)])
    return cursor.rowcount


def counters_of(row: dict[str, Any]) -> Counters:
    """The counters of a snapshot row (selected with `COUNTER_COLUMNS`)."""
    return Counters(**{name: row[name] for name in COUNTER_FIELDS})
