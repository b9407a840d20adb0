"""What the alert poller has to read: one row per distinct (reader, contact) it polls.

The poller reads each watched contact once per check for every token that watches it
(`activity.alerts._due_groups`: watches are grouped by token and contact). Tokens are not in the
database in plain text, so a reader here is the closest stored stand-in: `""` for watches made
with the workspace token (one token for everyone), the agent (`team:user`) for watches made with
their own connection. Watches that are stopped, snoozed, of agents who turned alerts off or whose
polling is paused, and auto watches that are not live (`storage.auto_watches`) are not read,
so they ask nothing of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.auto_watches import live_clause, live_params
from storage.db import to_utc_text

WORKSPACE_READER = ""


@dataclass(frozen=True)
class PolledRead:
    reader: str  # WORKSPACE_READER, or "team:user" for an agent's own connection
    contact_id: str
    band: str | None  # from the contact's last check; None before the first one


def polled_reads(db: Database, now: datetime) -> list[PolledRead]:
    """Every distinct (reader, contact) the poller reads at `now`, with the contact's band."""
    rows = db.query(
        f"""
        SELECT DISTINCT
            CASE WHEN w.access = 'workspace' THEN '' ELSE w.team_id || ':' || w.user_id END
                AS reader,
            w.contact_id AS contact_id,
            p.band AS band
        FROM alert_watches AS w
        LEFT JOIN alert_pulses AS p ON p.contact_id = w.contact_id
        WHERE w.stopped = 0
          AND (w.snoozed_until IS NULL OR w.snoozed_until <= ?)
          AND NOT EXISTS (SELECT 1 FROM alert_settings AS s WHERE s.team_id = w.team_id
                          AND s.user_id = w.user_id AND s.enabled = 0)
          AND NOT EXISTS (SELECT 1 FROM alert_pauses AS a WHERE a.team_id = w.team_id
                          AND a.user_id = w.user_id)
          AND {live_clause("w")}
        ORDER BY reader, contact_id
        """,
        [to_utc_text(now), *live_params(now)],
    )
    return [PolledRead(row["reader"], row["contact_id"], row["band"]) for row in rows]
