"""Where watches come from besides `/activity watch <contact>`: the agent's recent lookups
(`source = 'auto'`) and Flexmls tags (`source = 'tag:<Tag>'`).

An auto watch is *live* (listed, polled, counted) while all of these hold: the agent looked the
contact up within `AUTO_WATCH_DAYS` (the `recent_lookups` row, which every lookup refreshes), the
agent has not turned auto-watch off (`alert_settings.auto_watch`), the watch is not stopped, and
it fits in what the agent's other watches leave of `WATCH_CAP`, newest lookups first: auto
watches never push out manual or tag ones. A stopped auto watch keeps its row (`stopped = 1`), so
a later lookup never starts it again; only an explicit `watch` does.

A watch's baseline (`baseline_views`, `baseline_at`) is where its alerts count from: the poller's
first read after the watch began, which alerts nobody (what happened before is not news). Every
lookup starts an auto watch's baseline afresh (the agent has just seen the card), so an auto watch
that had lapsed and comes back never alerts about what happened meanwhile; a lookup costs no
extra request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import to_utc_text

AUTO_WATCH_DAYS = timedelta(days=14)
WATCH_CAP = 50  # watches per agent, whatever their source


def live_clause(alias: str = "w") -> str:
    """SQL that is true for the live watches among `alias`'s rows (stopped ones aside); takes
    `live_params(now)`. The auto watches that fit are ranked once per query (a window over the
    agents' lookups), not once per row."""
    return f"""
    ({alias}.source != 'auto' OR {alias}.rowid IN (
        SELECT r.id FROM (
            SELECT a.rowid AS id, a.team_id, a.user_id,
                   ROW_NUMBER() OVER (PARTITION BY a.team_id, a.user_id
                                      ORDER BY l.looked_up_at DESC, a.contact_id) AS n
            FROM alert_watches AS a JOIN recent_lookups AS l
              ON l.team_id = a.team_id AND l.user_id = a.user_id AND l.contact_id = a.contact_id
            WHERE a.source = 'auto' AND a.stopped = 0 AND l.looked_up_at >= ?
              AND NOT EXISTS (SELECT 1 FROM alert_settings AS s WHERE s.team_id = a.team_id
                              AND s.user_id = a.user_id AND s.auto_watch = 0)
        ) AS r
        WHERE r.n + (SELECT COUNT(*) FROM alert_watches AS m WHERE m.team_id = r.team_id
                     AND m.user_id = r.user_id AND m.stopped = 0 AND m.source != 'auto') <= ?))
    """


def live_params(now: datetime, cap: int = WATCH_CAP) -> list[object]:
    return [to_utc_text(now - AUTO_WATCH_DAYS), cap]


def add_auto_watch(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    contact_id: str,
    display_name: str,
    access: str,
    now: datetime,
) -> None:
    """After a lookup: watch the contact automatically; its next check is its baseline.

    A running auto watch gets the new name and access, and its baseline starts afresh; a manual
    or tag watch is left as it is; a stopped watch (of any source) stays stopped."""
    db.execute(
        """
        INSERT INTO alert_watches
            (team_id, user_id, contact_id, display_name, created_at, access, stopped, source)
        VALUES (?, ?, ?, ?, ?, ?, 0, 'auto')
        ON CONFLICT (team_id, user_id, contact_id) DO UPDATE SET
            display_name = excluded.display_name,
            access = excluded.access,
            baseline_views = NULL,
            baseline_at = NULL
        WHERE alert_watches.source = 'auto' AND alert_watches.stopped = 0
        """,
        [team_id, user_id, contact_id, display_name, to_utc_text(now), access],
    )


def add_tag_watch(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    contact_id: str,
    display_name: str,
    source: str,
    access: str,
    now: datetime,
    fresh: bool,
) -> None:
    """Watch a contact for a tag. `fresh`: the watch starts anew (not watched, stopped, or an
    auto watch that had lapsed): its first check is its baseline. Otherwise (a live auto watch)
    it only becomes the tag's, keeping its baseline and schedule."""
    if not fresh:
        db.execute(
            "UPDATE alert_watches SET source = ?, display_name = ?, access = ?"
            " WHERE team_id = ? AND user_id = ? AND contact_id = ?",
            [source, display_name, access, team_id, user_id, contact_id],
        )
        return
    db.execute(
        """
        INSERT INTO alert_watches
            (team_id, user_id, contact_id, display_name, created_at, access, stopped, source)
        VALUES (?, ?, ?, ?, ?, ?, 0, ?)
        ON CONFLICT (team_id, user_id, contact_id) DO UPDATE SET
            display_name = excluded.display_name,
            created_at = excluded.created_at,
            access = excluded.access,
            source = excluded.source,
            stopped = 0,
            snoozed_until = NULL,
            -- A watch stopped and started again keeps a check still ahead (re-watching in a
            -- loop must not make every contact due at once), unless a snooze is still on (its
            -- check waits for the snooze, which this clears); its next read is its baseline.
            next_check_at = CASE WHEN alert_watches.next_check_at > ?
                                      AND (alert_watches.snoozed_until IS NULL
                                           OR alert_watches.snoozed_until <= ?)
                                 THEN alert_watches.next_check_at END,
            baseline_views = NULL,
            baseline_at = NULL
        """,
        [
            team_id,
            user_id,
            contact_id,
            display_name,
            to_utc_text(now),
            access,
            source,
            to_utc_text(now),
            to_utc_text(now),
        ],  # fmt: skip
    )


def drop_auto_watch(db: Database, team_id: str, user_id: str, contact_id: str) -> bool:
    """Forget a running auto watch (its agent's access can no longer read the contact): not
    listed, not read; a later lookup that can read it starts it again."""
    cursor = db.execute(
        "DELETE FROM alert_watches WHERE team_id = ? AND user_id = ? AND contact_id = ?"
        " AND source = 'auto' AND stopped = 0",
        [team_id, user_id, contact_id],
    )
    return cursor.rowcount == 1


def set_watch_baseline(
    db: Database, team_id: str, user_id: str, contact_id: str, *, views: int, at: datetime
) -> bool:
    """The watch's first read: its alerts count from here (False if it already had a baseline)."""
    cursor = db.execute(
        "UPDATE alert_watches SET baseline_views = ?, baseline_at = ? WHERE team_id = ?"
        " AND user_id = ? AND contact_id = ? AND baseline_at IS NULL",
        [views, to_utc_text(at), team_id, user_id, contact_id],
    )
    return cursor.rowcount == 1


def tag_sources(db: Database, team_id: str, user_id: str) -> list[str]:
    """The `tag:<Tag>` sources of the agent's running watches."""
    rows = db.query(
        "SELECT DISTINCT source FROM alert_watches WHERE team_id = ? AND user_id = ?"
        " AND stopped = 0 AND source LIKE 'tag:%' ORDER BY source",
        [team_id, user_id],
    )
    return [row["source"] for row in rows]


def stop_source(db: Database, team_id: str, user_id: str, source: str) -> int:
    """Stop the agent's running watches that came from `source` (rows kept); how many."""
    cursor = db.execute(
        "UPDATE alert_watches SET stopped = 1 WHERE team_id = ? AND user_id = ? AND stopped = 0"
        " AND source = ?",
        [team_id, user_id, source],
    )
    return cursor.rowcount
