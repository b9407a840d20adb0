"""Slack event ids already processed, so a retried delivery of the same event is ignored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import to_utc_text

DEFAULT_MAX_AGE = timedelta(days=1)


def first_time_seen(db: Database, event_id: str, now: datetime) -> bool:
    """True only for the first caller to report `event_id`, on any connection to the database."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO slack_events (event_id, seen_at) VALUES (?, ?)",
        [event_id, to_utc_text(now)],
    )
    return cursor.rowcount == 1


def prune_events(db: Database, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE) -> int:
    """Forget event ids first seen more than `max_age` before `now`; returns how many."""
    cursor = db.execute("DELETE FROM slack_events WHERE seen_at < ?", [to_utc_text(now - max_age)])
    return cursor.rowcount
