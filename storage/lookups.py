"""Recent lookups per agent, and the per-agent cache from a typed query to a contact id.

Both are scoped to (Slack team, Slack user): each agent's Spark token sees different contacts,
so one agent's "jane" must never resolve to a contact another agent found.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import from_utc_text, to_utc_text

DEFAULT_CAP = 20
# Every lookup this recent is kept whatever the cap (the "recent" digest covers 30 days; a day
# of margin so a lookup made 30 days ago at this hour is still there), up to MAX_KEPT per agent.
KEEP_WITHIN = timedelta(days=31)
MAX_KEPT = 5000
DEFAULT_CACHE_AGE = timedelta(days=7)

RECENT_LOOKUPS_SHOWN = 10  # `/activity` and the App Home list this many recent lookups


@dataclass(frozen=True)
class RecentLookup:
    team_id: str
    user_id: str
    contact_id: str
    display_name: str
    query: str
    looked_up_at: datetime


def normalise_query(text: str) -> str:
    """Canonical form of a typed query: NFKC, casefolded, trimmed, inner whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def record_lookup(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    contact_id: str,
    display_name: str,
    query: str,
    now: datetime,
    cap: int = DEFAULT_CAP,
    keep_within: timedelta = KEEP_WITHIN,
) -> None:
    """Put `contact_id` at the top of the agent's recent lookups, keeping the newest `cap` and
    every lookup made within `keep_within` of `now` (at most `MAX_KEPT` in all).

    Looking a contact up again moves it to the top and updates its name and query.
    """
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}")
    key = [team_id, user_id, contact_id]
    with db.atomic():
        # Delete + insert (not an in-place update) gives the row a fresh rowid, which orders
        # lookups made within the same microsecond.
        db.execute(
            "DELETE FROM recent_lookups WHERE team_id = ? AND user_id = ? AND contact_id = ?",
            key,
        )
        db.execute(
            """
            INSERT INTO recent_lookups
                (team_id, user_id, contact_id, display_name, query, looked_up_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            [*key, display_name, query, to_utc_text(now)],
        )
        _trim(db, team_id, user_id, cap, now - keep_within)


def _trim(db: Database, team_id: str, user_id: str, cap: int, recent_since: datetime) -> None:
    """Drop the agent's lookups beyond the newest `cap`, except those since `recent_since`;
    never keep more than MAX_KEPT."""
    db.execute(
        """
        DELETE FROM recent_lookups
        WHERE team_id = ? AND user_id = ? AND rowid NOT IN (
            SELECT rowid FROM (
                SELECT rowid, looked_up_at,
                       ROW_NUMBER() OVER (ORDER BY looked_up_at DESC, rowid DESC) AS n
                FROM recent_lookups
                WHERE team_id = ? AND user_id = ?
            )
            WHERE (n <= ? OR looked_up_at >= ?) AND n <= ?
        )
        """,
        [team_id, user_id, team_id, user_id, cap, to_utc_text(recent_since), max(cap, MAX_KEPT)],
    )


def recent_lookups(
    db: Database, team_id: str, user_id: str, limit: int = RECENT_LOOKUPS_SHOWN
) -> list[RecentLookup]:
    """The agent's recent lookups, newest first."""
    rows = db.query(
        """
        SELECT * FROM recent_lookups
        WHERE team_id = ? AND user_id = ?
        ORDER BY looked_up_at DESC, rowid DESC
        LIMIT ?
        """,
        [team_id, user_id, limit],
    )
    return [_lookup(row) for row in rows]


def lookups_since(
    db: Database, team_id: str, user_id: str, since: datetime, limit: int = MAX_KEPT
) -> list[RecentLookup]:
    """Every contact the agent looked up at or after `since`, newest first, at most `limit`
    (the "recent" digest's scope: not capped by the `/activity` list's length)."""
    rows = db.query(
        """
        SELECT * FROM recent_lookups
        WHERE team_id = ? AND user_id = ? AND looked_up_at >= ?
        ORDER BY looked_up_at DESC, rowid DESC
        LIMIT ?
        """,
        [team_id, user_id, to_utc_text(since), limit],
    )
    return [_lookup(row) for row in rows]


def _lookup(row: dict[str, Any]) -> RecentLookup:
    return RecentLookup(
        team_id=row["team_id"],
        user_id=row["user_id"],
        contact_id=row["contact_id"],
        display_name=row["display_name"],
        query=row["query"],
        looked_up_at=from_utc_text(row["looked_up_at"]),
    )


def recent_contact_ids(db: Database, team_id: str, user_id: str, since: datetime) -> list[str]:
    """Contact ids the agent looked up at or after `since`, newest first (digest scope "recent")."""
    rows = db.query(
        """
        SELECT contact_id FROM recent_lookups
        WHERE team_id = ? AND user_id = ? AND looked_up_at >= ?
        ORDER BY looked_up_at DESC, rowid DESC
        """,
        [team_id, user_id, to_utc_text(since)],
    )
    return [row["contact_id"] for row in rows]


def cache_contact_query(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    query: str,
    contact_id: str,
    now: datetime,
) -> None:
    """Remember that `query` (normalised) resolved to `contact_id` for this agent."""
    normalised = normalise_query(query)
    if not normalised:
        raise ValueError("cannot cache an empty query")
    db.table("contact_cache").upsert(
        {
            "team_id": team_id,
            "user_id": user_id,
            "query": normalised,
            "contact_id": contact_id,
            "cached_at": to_utc_text(now),
        },
        pk=("team_id", "user_id", "query"),
    )


def cached_contact_id(
    db: Database,
    team_id: str,
    user_id: str,
    query: str,
    now: datetime,
    max_age: timedelta = DEFAULT_CACHE_AGE,
) -> str | None:
    """The contact id `query` resolved to for this agent, if cached less than `max_age` ago."""
    rows = list(
        db.query(
            """
            SELECT contact_id FROM contact_cache
            WHERE team_id = ? AND user_id = ? AND query = ? AND cached_at > ?
            """,
            [team_id, user_id, normalise_query(query), to_utc_text(now - max_age)],
        )
    )
    return rows[0]["contact_id"] if rows else None


def forget_contact_cache(db: Database, team_id: str, user_id: str) -> int:
    """Drop every cached query of this agent (e.g. on disconnect); returns how many."""
    cursor = db.execute(
        "DELETE FROM contact_cache WHERE team_id = ? AND user_id = ?", [team_id, user_id]
    )
    return cursor.rowcount


def prune_contact_cache(db: Database, now: datetime, max_age: timedelta = DEFAULT_CACHE_AGE) -> int:
    """Drop cache entries of every agent older than `max_age`; returns how many."""
    cursor = db.execute(
        "DELETE FROM contact_cache WHERE cached_at <= ?", [to_utc_text(now - max_age)]
    )
    return cursor.rowcount


def prune_recent_lookups(db: Database, now: datetime, max_age: timedelta) -> int:
    """Drop recent lookups of every agent made more than `max_age` before `now`; returns how many."""
    cursor = db.execute(
        "DELETE FROM recent_lookups WHERE looked_up_at < ?", [to_utc_text(now - max_age)]
    )
    return cursor.rowcount
