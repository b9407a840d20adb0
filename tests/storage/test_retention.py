"""Retention: `prune_all` removes each kind of record once it is past its period, and no sooner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlite_utils import Database

from storage import (
    Counters,
    add_subscription,
    cache_contact_query,
    complete_delivery,
    first_time_seen,
    prune_all,
    pruned_summary,
    record_lookup,
    record_snapshot,
    save_oauth_state,
)
from storage.retention import (
    CONTACT_CACHE_KEPT,
    DELIVERIES_KEPT,
    EVENT_IDS_KEPT,
    RECENT_LOOKUPS_KEPT,
    SNAPSHOTS_KEPT,
)

from .support import NOW

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
COUNTERS = Counters(1, 1, 1, 1, 1, 1)


def counts(db: Database) -> dict[str, int]:
    tables = ("oauth_states", "slack_events", "contact_cache", "recent_lookups",
              "activity_snapshots", "digest_deliveries")  # fmt: skip
    return {table: db.table(table).count for table in tables}


def test_the_periods_are_the_documented_ones() -> None:
    assert EVENT_IDS_KEPT == DAY
    assert CONTACT_CACHE_KEPT == 7 * DAY
    assert RECENT_LOOKUPS_KEPT == 90 * DAY
    assert SNAPSHOTS_KEPT == 400 * DAY
    assert DELIVERIES_KEPT == 30 * DAY


def test_nothing_stored_nothing_pruned(db: Database) -> None:
    pruned = prune_all(db, NOW)
    assert set(pruned) == {
        "oauth_states",
        "slack_events",
        "contact_cache",
        "recent_lookups",
        "snapshots",
        "first_lookups",
        "digest_deliveries",
        "alert_deliveries",
    }
    assert sum(pruned.values()) == 0
    assert pruned_summary(pruned) == "nothing to prune"


def test_expired_oauth_states_go_live_ones_stay(db: Database) -> None:
    save_oauth_state(db, "expired", "T1", "U1", NOW - SECOND)
    save_oauth_state(db, "live", "T1", "U1", NOW + 10 * 60 * SECOND)
    assert prune_all(db, NOW)["oauth_states"] == 1
    assert [r["state_id"] for r in db.table("oauth_states").rows] == ["live"]


def test_event_ids_are_kept_one_day(db: Database) -> None:
    first_time_seen(db, "old", NOW - EVENT_IDS_KEPT - SECOND)
    first_time_seen(db, "recent", NOW - EVENT_IDS_KEPT + SECOND)
    assert prune_all(db, NOW)["slack_events"] == 1
    assert [r["event_id"] for r in db.table("slack_events").rows] == ["recent"]


def test_the_contact_cache_is_kept_as_long_as_lookups_trust_it(db: Database) -> None:
    for query, age in (
        ("old", CONTACT_CACHE_KEPT + SECOND),
        ("young", CONTACT_CACHE_KEPT - SECOND),
    ):
        cache_contact_query(
            db, team_id="T1", user_id="U1", query=query, contact_id="C1", now=NOW - age
        )
    assert prune_all(db, NOW)["contact_cache"] == 1
    assert [r["query"] for r in db.table("contact_cache").rows] == ["young"]


def test_recent_lookups_are_kept_ninety_days(db: Database) -> None:
    for contact, age in (
        ("old", RECENT_LOOKUPS_KEPT + SECOND),
        ("young", RECENT_LOOKUPS_KEPT - SECOND),
    ):
        record_lookup(
            db,
            team_id="T1",
            user_id="U1",
            contact_id=contact,
            display_name=contact,
            query=contact,
            now=NOW - age,
        )
    assert prune_all(db, NOW)["recent_lookups"] == 1
    assert [r["contact_id"] for r in db.table("recent_lookups").rows] == ["young"]


def test_snapshots_are_kept_long_enough_for_a_year_on_year_trend(db: Database) -> None:
    today = NOW.date()
    for contact, day in (
        ("too-old", (NOW - SNAPSHOTS_KEPT).date() - DAY),
        ("a-year-ago", today - 365 * DAY),
        ("today", today),
    ):
        record_snapshot(db, contact_id=contact, day=day, counters=COUNTERS, now=NOW)
    assert prune_all(db, NOW)["snapshots"] == 1
    assert sorted(r["contact_id"] for r in db.table("activity_snapshots").rows) == [
        "a-year-ago",
        "today",
    ]


def test_digest_deliveries_are_kept_thirty_days(db: Database) -> None:
    sub = add_subscription(
        db,
        team_id="T1",
        user_id="U1",
        channel_id="C1",
        local_time="08:00",
        timezone="UTC",
        scope="recent",
        now=NOW,
    )
    for age in (DELIVERIES_KEPT + DAY, DELIVERIES_KEPT - DAY):
        complete_delivery(
            db,
            sub.id,
            (NOW - age).date(),
            NOW - age,
            message_ts="1.2",
            late=False,
            failed_contacts=0,
            entries="[]",
        )
    assert prune_all(db, NOW)["digest_deliveries"] == 1
    assert [r["local_date"] for r in db.table("digest_deliveries").rows] == [
        (NOW - DELIVERIES_KEPT + DAY).date().isoformat()
    ]
    assert db.table("digest_subscriptions").count == 1  # the subscription itself stays


def test_pruning_twice_removes_nothing_more(db: Database) -> None:
    first_time_seen(db, "old", NOW - 2 * DAY)
    save_oauth_state(db, "expired", "T1", "U1", NOW - SECOND)
    first = prune_all(db, NOW)
    assert pruned_summary(first) == "pruned 2 records (oauth_states 1, slack_events 1)"
    before = counts(db)
    assert sum(prune_all(db, NOW).values()) == 0
    assert counts(db) == before


@pytest.mark.parametrize(
    ("pruned", "line"),
    [
        ({"slack_events": 1}, "pruned 1 record (slack_events 1)"),
        ({"slack_events": 0, "snapshots": 3}, "pruned 3 records (snapshots 3)"),
    ],
)
def test_summary_line(pruned: dict[str, int], line: str) -> None:
    assert pruned_summary(pruned) == line


def test_alert_deliveries_are_kept_thirty_days(db: Database) -> None:
    from storage.alerts import AlertKey, claim_alert
    from storage.retention import ALERTS_KEPT

    assert ALERTS_KEPT == 30 * DAY
    for label, age in (("old", 30 * DAY + SECOND), ("young", 30 * DAY - SECOND)):
        key = AlertKey("T1", "U1", label, NOW - age)
        assert claim_alert(
            db, key, display_name=label, baseline_views=0, shown_views=3, now=NOW - age
        )
    assert prune_all(db, NOW)["alert_deliveries"] == 1
    assert [r["contact_id"] for r in db.table("alert_deliveries").rows] == ["young"]
