"""Readings of a contact's counters at a moment, for the viewer's own day.

Snapshots (`storage.snapshots`) keep one row per contact per UTC day, for the digest and the
trends. What a card says in the viewer's time zone needs two more things:

- `latest_reading_before(moment)`: the newest snapshot *recorded* before a moment (the viewer's
  local midnight), for "since yesterday" in their own day rather than UTC's;
- the viewer's first lookup of a contact on their local day (`first_lookups`, one row per
  agent, contact and local day, first one wins), for "+2 viewed since 9:14".
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from storage.db import from_utc_text, to_date_text, to_utc_text
from storage.snapshots import COUNTER_COLUMNS, COUNTER_FIELDS, Counters, counters_of

FIRST_LOOKUPS_KEPT = timedelta(days=2)


def latest_reading_before(
    db: Database, contact_id: str, moment: datetime
) -> tuple[datetime, Counters] | None:
    """The newest snapshot recorded strictly before `moment`, with when it was recorded."""
    rows = list(
        db.query(
            f"""
            SELECT recorded_at, {COUNTER_COLUMNS} FROM activity_snapshots
            WHERE contact_id = ? AND recorded_at < ?
            ORDER BY recorded_at DESC LIMIT 1
            """,
            [contact_id, to_utc_text(moment)],
        )
    )
    return (from_utc_text(rows[0]["recorded_at"]), counters_of(rows[0])) if rows else None


def snapshot_readings(
    db: Database, contact_id: str, since: date, until: date
) -> list[tuple[date, datetime, Counters]]:
    """Snapshots from `since` to `until` inclusive with when each was recorded, oldest first."""
    rows = db.query(
        f"""
        SELECT day, recorded_at, {COUNTER_COLUMNS} FROM activity_snapshots
        WHERE contact_id = ? AND day >= ? AND day <= ?
        ORDER BY day
        """,
        [contact_id, to_date_text(since), to_date_text(until)],
    )
    return [
        (date.fromisoformat(row["day"]), from_utc_text(row["recorded_at"]), counters_of(row))
        for row in rows
    ]


def first_lookup_of_day(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    contact_id: str,
    local_day: date,
    counters: Counters,
    now: datetime,
) -> tuple[datetime, Counters] | None:
    """The agent's earlier first lookup of the contact on `local_day`, if any; else record this
    one as the first (and return None)."""
    key = [team_id, user_id, contact_id, to_date_text(local_day)]
    with db.atomic():
        rows = list(
            db.query(
                f"""
                SELECT seen_at, {COUNTER_COLUMNS} FROM first_lookups
                WHERE team_id = ? AND user_id = ? AND contact_id = ? AND local_day = ?
                """,
                key,
            )
        )
        if rows:
            return from_utc_text(rows[0]["seen_at"]), counters_of(rows[0])
        values = [int(v) for v in asdict(counters).values()]
        db.execute(
            f"""
            INSERT OR IGNORE INTO first_lookups
                (team_id, user_id, contact_id, local_day, seen_at, {COUNTER_COLUMNS})
            VALUES (?, ?, ?, ?, ?, {", ".join("?" for _ in COUNTER_FIELDS)})
            """,
            [*key, to_utc_text(now), *values],
        )
    return None


def prune_first_lookups(
    db: Database, now: datetime, max_age: timedelta = FIRST_LOOKUPS_KEPT
) -> int:
    """Drop first lookups older than `max_age` (no local day lasts that long); returns how many."""
    cursor = db.execute("DELETE FROM first_lookups WHERE seen_at < ?", [to_utc_text(now - max_age)])
    return cursor.rowcount
