"""Digest subscriptions, and the exactly-once delivery ledger."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import (
    Delivery,
    Subscription,
    add_subscription,
    all_subscriptions,
    claim_delivery,
    complete_delivery,
    delivery,
    list_subscriptions,
    mark_posting,
    open_database,
    pause_subscriptions,
    release_delivery,
    remove_subscription,
    resume_subscriptions,
)

from .support import NOW

TODAY = date(2026, 3, 14)
MINUTE = timedelta(minutes=1)


def subscribe(db: Database, **changes: str) -> Subscription:
    args = {
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": "C100",
        "local_time": "08:30",
        "timezone": "America/Denver",
        "scope": "recent",
    }
    args.update(changes)
    return add_subscription(db, now=NOW, **args)


# --- subscriptions ----------------------------------------------------------------------------


def test_pausing_and_resuming_touch_only_that_users_subscriptions(db: Database) -> None:
    mine = [subscribe(db), subscribe(db, channel_id="C200")]
    other = subscribe(db, user_id="U2")
    other_team = subscribe(db, team_id="T2")
    assert not mine[0].paused
    assert pause_subscriptions(db, "T1", "U1") == 2
    assert pause_subscriptions(db, "T1", "U1") == 0  # already paused
    paused = {s.id: s.paused for s in all_subscriptions(db)}
    assert paused == {mine[0].id: True, mine[1].id: True, other.id: False, other_team.id: False}
    assert resume_subscriptions(db, "T1", "U1") == 2
    assert not any(s.paused for s in all_subscriptions(db))
    assert resume_subscriptions(db, "T1", "U1") == 0


def test_add_subscription_returns_what_was_stored(db: Database) -> None:
    sub = subscribe(db)
    assert sub == Subscription(
        id=sub.id,
        team_id="T1",
        user_id="U1",
        channel_id="C100",
        local_time="08:30",
        timezone="America/Denver",
        scope="recent",
        created_at=NOW,
    )
    assert list_subscriptions(db, "T1") == [sub]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("08:30", "08:30"),
        ("8:30", "08:30"),
        (" 17:05 ", "17:05"),
        ("00:00", "00:00"),
        ("23:59", "23:59"),
    ],
)
def test_local_time_is_normalised_to_hh_mm(db: Database, typed: str, stored: str) -> None:
    assert subscribe(db, local_time=typed).local_time == stored


@pytest.mark.parametrize(
    "typed",
    ["24:00", "12:60", "8", "8am", "08:30:00", "0830", "", "-1:30", "123:00", "٠٨:٣٠", "8:5"],
)
def test_invalid_local_time_is_refused_with_a_friendly_message(db: Database, typed: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        subscribe(db, local_time=typed)
    assert all_subscriptions(db) == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("America/Denver", "America/Denver"),
        ("america/new_york", "America/New_York"),
        (" Europe/London ", "Europe/London"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_timezone_is_validated_and_canonicalised(db: Database, typed: str, stored: str) -> None:
    assert subscribe(db, timezone=typed).timezone == stored


@pytest.mark.parametrize(
    "typed",
    [
        "Mars/Olympus_Mons",
        "America",
        "",
        "  ",
        "../etc/passwd",
        "/etc/localtime",
        "localtime",
        "MST+7",
    ],
)
def test_unknown_timezone_is_refused_with_a_friendly_message(db: Database, typed: str) -> None:
    with pytest.raises(ValueError, match="IANA name such as America/Denver"):
        subscribe(db, timezone=typed)


@pytest.mark.parametrize(("field", "value"), [("channel_id", " "), ("scope", "")])
def test_channel_and_scope_are_required(db: Database, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        subscribe(db, **{field: value})


def test_list_subscriptions_by_team_and_user_in_creation_order(db: Database) -> None:
    a = subscribe(db, user_id="U1")
    b = subscribe(db, user_id="U2", local_time="09:00")
    c = subscribe(db, user_id="U1", channel_id="C200")
    d = subscribe(db, team_id="T2")
    assert list_subscriptions(db, "T1") == [a, b, c]
    assert list_subscriptions(db, "T1", "U1") == [a, c]
    assert list_subscriptions(db, "T1", "U3") == []
    assert list_subscriptions(db, "T2") == [d]
    assert all_subscriptions(db) == [a, b, c, d]


def test_remove_subscription(db: Database) -> None:
    a, b = subscribe(db), subscribe(db)
    assert remove_subscription(db, a.id) is True
    assert remove_subscription(db, a.id) is False
    assert all_subscriptions(db) == [b]


def test_ids_of_removed_subscriptions_are_never_reused(db: Database) -> None:
    first = subscribe(db)
    remove_subscription(db, first.id)
    assert subscribe(db).id > first.id


def test_removing_a_subscription_removes_its_deliveries(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    remove_subscription(db, sub.id)
    assert delivery(db, sub.id, TODAY) is None


# --- deliveries ---------------------------------------------------------------------------------


def test_first_claim_wins_and_records_a_lease(db: Database) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW) is True
    assert delivery(db, sub.id, TODAY) == Delivery(
        subscription_id=sub.id,
        local_date=TODAY,
        state="claimed",
        claimed_at=NOW,
        lease_expires_at=NOW + 10 * MINUTE,
        delivered_at=None,
        message_ts=None,
        late=False,
        failed_contacts=0,
    )


@pytest.mark.parametrize(
    ("after", "lease", "wins"),
    [
        (timedelta(0), 10 * MINUTE, False),
        (10 * MINUTE - timedelta(microseconds=1), 10 * MINUTE, False),
        (10 * MINUTE, 10 * MINUTE, True),
        (2 * MINUTE, MINUTE, True),
        (2 * MINUTE, 5 * MINUTE, False),
    ],
)
def test_a_live_claim_blocks_others_until_its_lease_expires(
    db: Database, after: timedelta, lease: timedelta, wins: bool
) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW, lease=lease)
    assert claim_delivery(db, sub.id, TODAY, NOW + after) is wins


def test_taking_over_a_stale_claim_starts_a_new_lease(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    later = NOW + 15 * MINUTE
    assert claim_delivery(db, sub.id, TODAY, later)
    record = delivery(db, sub.id, TODAY)
    assert record is not None
    assert (record.claimed_at, record.lease_expires_at) == (later, later + 10 * MINUTE)
    assert not claim_delivery(db, sub.id, TODAY, later + MINUTE)


def test_claims_are_per_subscription_and_day(db: Database) -> None:
    a, b = subscribe(db), subscribe(db)
    assert claim_delivery(db, a.id, TODAY, NOW)
    assert claim_delivery(db, b.id, TODAY, NOW)
    assert claim_delivery(db, a.id, TODAY + timedelta(days=1), NOW)


def test_complete_delivery(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    done = NOW + 2 * MINUTE
    complete_delivery(
        db, sub.id, TODAY, done, message_ts="1712345678.000100", late=True, failed_contacts=3
    )
    assert delivery(db, sub.id, TODAY) == Delivery(
        subscription_id=sub.id,
        local_date=TODAY,
        state="delivered",
        claimed_at=NOW,
        lease_expires_at=None,
        delivered_at=done,
        message_ts="1712345678.000100",
        late=True,
        failed_contacts=3,
        outcome="posted",
    )


def test_a_claim_that_started_posting_is_never_taken_over(db: Database) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW)
    assert mark_posting(db, sub.id, TODAY, claimed_at=NOW, now=NOW + MINUTE)
    # The poster died after saying "posting": the lease runs out, but nobody posts again.
    assert claim_delivery(db, sub.id, TODAY, NOW + timedelta(hours=1)) is False


def test_a_lost_claim_cannot_start_posting(db: Database) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW)
    later = NOW + 11 * MINUTE
    assert claim_delivery(db, sub.id, TODAY, later)  # the first claim's lease ran out
    assert mark_posting(db, sub.id, TODAY, claimed_at=NOW, now=later) is False
    assert mark_posting(db, sub.id, TODAY, claimed_at=later, now=later) is True


def test_a_skipped_day_keeps_its_outcome_and_entries(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    complete_delivery(
        db,
        sub.id,
        TODAY,
        NOW,
        message_ts=None,
        late=False,
        failed_contacts=0,
        outcome="skipped",
        entries="[]",
    )
    record = delivery(db, sub.id, TODAY)
    assert (record.outcome, record.entries, record.state) == ("skipped", "[]", "delivered")


@pytest.mark.parametrize("after", [timedelta(0), 11 * MINUTE, timedelta(days=2)])
def test_a_delivered_digest_is_never_claimed_again(db: Database, after: timedelta) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    complete_delivery(db, sub.id, TODAY, NOW, message_ts=None, late=False, failed_contacts=0)
    assert claim_delivery(db, sub.id, TODAY, NOW + after) is False


def test_complete_without_a_claim_still_records_the_delivery(db: Database) -> None:
    sub = subscribe(db)
    complete_delivery(db, sub.id, TODAY, NOW, message_ts="1.2", late=False, failed_contacts=0)
    record = delivery(db, sub.id, TODAY)
    assert record is not None and record.state == "delivered"
    assert not claim_delivery(db, sub.id, TODAY, NOW + timedelta(days=1))


def test_release_lets_a_later_pass_retry(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    release_delivery(db, sub.id, TODAY)
    assert delivery(db, sub.id, TODAY) is None
    assert claim_delivery(db, sub.id, TODAY, NOW + MINUTE) is True


def test_release_never_drops_a_delivered_record(db: Database) -> None:
    sub = subscribe(db)
    claim_delivery(db, sub.id, TODAY, NOW)
    complete_delivery(db, sub.id, TODAY, NOW, message_ts="1.2", late=False, failed_contacts=0)
    release_delivery(db, sub.id, TODAY)
    record = delivery(db, sub.id, TODAY)
    assert record is not None and record.state == "delivered"


def test_claim_for_an_unknown_subscription_is_an_integrity_error(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        claim_delivery(db, 999, TODAY, NOW)


@pytest.mark.parametrize("lease", [timedelta(0), -MINUTE])
def test_lease_must_be_positive(db: Database, lease: timedelta) -> None:
    sub = subscribe(db)
    with pytest.raises(ValueError, match="lease"):
        claim_delivery(db, sub.id, TODAY, NOW, lease=lease)


@pytest.mark.parametrize("contenders", [2, 8])
def test_processes_racing_to_claim_exactly_one_wins(db_path: Path, contenders: int) -> None:
    setup = open_database(db_path)
    subs = [subscribe(setup, channel_id=f"C{n}") for n in range(10)]
    connections = [open_database(db_path) for _ in range(contenders)]
    winners: dict[int, list[int]] = {sub.id: [] for sub in subs}
    lock = threading.Lock()

    def race(who: int, db: Database, barrier: threading.Barrier, sub_id: int) -> None:
        barrier.wait()
        if claim_delivery(db, sub_id, TODAY, NOW):
            with lock:
                winners[sub_id].append(who)

    try:
        for sub in subs:
            barrier = threading.Barrier(contenders)
            threads = [
                threading.Thread(target=race, args=(who, c, barrier, sub.id))
                for who, c in enumerate(connections)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert all(len(w) == 1 for w in winners.values()), winners
    finally:
        for database in [setup, *connections]:
            database.close()


def test_racing_to_take_over_a_stale_claim_exactly_one_wins(db_path: Path) -> None:
    setup = open_database(db_path)
    sub = subscribe(setup)
    claim_delivery(setup, sub.id, TODAY, NOW)
    connections = [open_database(db_path) for _ in range(6)]
    barrier = threading.Barrier(len(connections))
    results: list[bool] = []

    def race(db: Database) -> None:
        barrier.wait()
        results.append(claim_delivery(db, sub.id, TODAY, NOW + 20 * MINUTE))

    threads = [threading.Thread(target=race, args=(c,)) for c in connections]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(True) == 1
    finally:
        for database in [setup, *connections]:
            database.close()


def test_a_claim_held_by_a_dead_process_is_taken_over_at_once(db: Database) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW, owner="host:1:1")
    later = NOW + MINUTE  # the lease is still live
    assert not claim_delivery(
        db, sub.id, TODAY, later, owner="host:2:2", owner_alive=lambda o: True
    )
    assert claim_delivery(
        db, sub.id, TODAY, later, owner="host:2:2", owner_alive=lambda o: o != "host:1:1"
    )
    assert delivery(db, sub.id, TODAY).claimed_by == "host:2:2"


def test_a_dead_process_that_started_posting_is_not_taken_over(db: Database) -> None:
    sub = subscribe(db)
    assert claim_delivery(db, sub.id, TODAY, NOW, owner="host:1:1")
    assert mark_posting(db, sub.id, TODAY, claimed_at=NOW, now=NOW)
    assert not claim_delivery(
        db, sub.id, TODAY, NOW + MINUTE, owner="host:2:2", owner_alive=lambda o: False
    )
