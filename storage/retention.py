"""Retention: how long each kind of stored record is kept, and the daily prune that enforces it.

`prune_all(db, now)` runs once a day in the running bot (a background job in `bot.py`) and at the
end of every `python bot.py digest --now`. Periods, and why:

- OAuth `state` values: until they expire (10 minutes after the connect link is made); an
  expired state can never be used, so it is dead weight at once.
- Slack event ids: 1 day. They only catch Slack's retries of one event, which come within
  minutes.
- Contact cache (typed query → contact id): 7 days, the age after which a lookup stops
  trusting an entry (`lookups.DEFAULT_CACHE_AGE`); an older entry is never read again.
- Recent lookups: 90 days. They feed `/activity`, the Home tab and the "recent" digest scope,
  which looks back 30 days; an agent idle for three months starts from an empty list.
- Activity snapshots: 400 days, so the same day last year stays comparable (a year-on-year
  trend) with a month to spare; cards use 31 days today.
- First lookups of the day (counters for "+2 viewed since 9:14"): 2 days; a local day never
  lasts longer, so an older row is never read again.
- Digest deliveries, with the digest entries stored in them for "More": 30 days. The ledger
  only has to cover today for exactly-once posting; a "More" click on an older digest answers
  that the button has expired.
- Alert deliveries ("Active now" DMs): 30 days. Only the last 4 hours matter for updating a DM
  and the newest one for counting from it; the rest is a short audit trail.

Tokens are not on this list: a connection lasts until the agent disconnects (or the operator
runs `python bot.py forget-tokens`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.alerts import prune_alert_deliveries
from storage.digests import prune_deliveries
from storage.events import prune_events
from storage.lookups import DEFAULT_CACHE_AGE, prune_contact_cache, prune_recent_lookups
from storage.readings import FIRST_LOOKUPS_KEPT, prune_first_lookups
from storage.snapshots import prune_snapshots
from storage.tokens import prune_oauth_states

EVENT_IDS_KEPT = timedelta(days=1)
CONTACT_CACHE_KEPT = DEFAULT_CACHE_AGE  # 7 days
RECENT_LOOKUPS_KEPT = timedelta(days=90)
SNAPSHOTS_KEPT = timedelta(days=400)
DELIVERIES_KEPT = timedelta(days=30)
ALERTS_KEPT = timedelta(days=30)
PRUNE_EVERY = timedelta(days=1)


def prune_all(db: Database, now: datetime) -> dict[str, int]:
    """Delete every record past its retention period; how many went, per kind of record."""
    return {
        "oauth_states": prune_oauth_states(db, now),
        "slack_events": prune_events(db, now, EVENT_IDS_KEPT),
        "contact_cache": prune_contact_cache(db, now, CONTACT_CACHE_KEPT),
        "recent_lookups": prune_recent_lookups(db, now, RECENT_LOOKUPS_KEPT),
        "snapshots": prune_snapshots(db, (now - SNAPSHOTS_KEPT).date()),
        "first_lookups": prune_first_lookups(db, now, FIRST_LOOKUPS_KEPT),
        "digest_deliveries": prune_deliveries(db, (now - DELIVERIES_KEPT).date()),
        "alert_deliveries": prune_alert_deliveries(db, now - ALERTS_KEPT),
    }


def pruned_summary(counts: dict[str, int]) -> str:
    """One log line: "pruned 12 records (slack_events 10, oauth_states 2)" or "nothing to prune"."""
    total = sum(counts.values())
    if not total:
        return "nothing to prune"
    parts = ", ".join(f"{name} {count}" for name, count in counts.items() if count)
    return f"pruned {total} record{'s' if total != 1 else ''} ({parts})"
