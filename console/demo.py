"""The demo's head start: a month of history and five contacts worth trying.

A real installation learns a contact's history one daily snapshot at a time, so a first lookup
can only show today's totals. The demo brokerage knows every contact's counters on every past
day, so `make demo` writes the last 30 days of snapshots into the demo's own database on its
first run: the band, the trend, the sparkline and "last active" show at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlite_utils import Database

from devtools.sandbox.data import Brokerage
from storage import Counters, record_snapshot

HISTORY_DAYS = 30

# What to type first, and why (shown by `help` in the demo and in the README).
DEMO_CONTACTS = (
    ("janet doe", "one match: the card, its trend and its listings"),
    ("jane doe", "several contacts match: pick one"),
    ("priya patel", "a heavy viewer: pages of listings"),
    ("sean o'brien", "accents and apostrophes don't need to be typed exactly"),
    ("quinn stillwater", "no activity at all"),
)


def has_history(db: Database) -> bool:
    return db["activity_snapshots"].count > 0


def seed_history(
    db: Database, brokerage: Brokerage, account_id: str, today: dt.date, days: int = HISTORY_DAYS
) -> int:
    """Snapshots for each of the account's contacts on the `days` days before `today`, from the
    demo brokerage's own counters; returns how many were written. Does nothing when the
    database already has history (a demo run before this one)."""
    if has_history(db):
        return 0
    written = 0
    with db.conn:
        for contact in brokerage.contacts_for(account_id):
            for back in range(days, 0, -1):
                day = today - dt.timedelta(days=back)
                counters = Counters(**asdict(brokerage.activity(contact.id, day)))
                # As if someone had looked the contact up at noon (UTC) that day.
                noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
                record_snapshot(db, contact_id=contact.id, day=day, counters=counters, now=noon)
                written += 1
    return written


def demo_hint() -> str:
    lines = [f"  /activity {name}  ({why})" for name, why in DEMO_CONTACTS]
    return "Demo contacts worth trying:\n" + "\n".join(lines)
