"""Daily digest subscriptions, and the delivery ledger that makes each digest go out once.

A scheduler pass calls `claim_delivery(subscription, local_date, now)`; only the caller that gets
True posts the digest, then calls `complete_delivery` (or `release_delivery` after a failure, so a
later pass retries). A claim is a lease: if its holder dies, another pass may take over once the
lease has expired. The claim is one SQL statement, so it is atomic across processes.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import (
    from_date_text,
    from_utc_text,
    optional_from_utc_text,
    to_date_text,
    to_utc_text,
)

DEFAULT_LEASE = timedelta(minutes=10)

_TIME = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_REFUSED_ZONES = frozenset({"localtime", "posixrules", "factory"})


@dataclass(frozen=True)
class Subscription:
    id: int
    team_id: str
    user_id: str
    channel_id: str
    local_time: str  # "HH:MM", 24-hour
    timezone: str  # IANA name, e.g. "America/Denver"
    scope: str
    created_at: datetime
    paused: bool = False  # while the subscriber is disconnected: not delivered


@dataclass(frozen=True)
class Delivery:
    subscription_id: int
    local_date: date
    state: str  # "claimed" | "delivered"
    claimed_at: datetime
    lease_expires_at: datetime | None
    delivered_at: datetime | None
    message_ts: str | None
    late: bool
    failed_contacts: int
    posting_at: datetime | None = None
    outcome: str | None = None  # "posted" | "skipped"
    entries: str | None = None  # JSON written by the digest composer
    claimed_by: str | None = None  # the process holding the claim


@dataclass(frozen=True)
class PostedDigest:
    """What a posted digest left for paging: its entries as plain JSON values, and its counts."""

    entries: list[dict[str, Any]]  # in the order posted
    failed_contacts: int
    late: bool


def normalise_local_time(text: str) -> str:
    """ "7:05" or "07:05" -> "07:05"; ValueError with a friendly message otherwise."""
    match = _TIME.fullmatch(text.strip())
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return f"{hours:02d}:{minutes:02d}"
    raise ValueError(
        f"“{text}” is not a time of day: use 24-hour HH:MM, for example 08:30 or 17:00"
    )


def validate_timezone(name: str) -> str:
    """The canonical IANA name for `name` ("america/denver" -> "America/Denver").

    Raises ValueError with a friendly message for unknown zones and for system aliases such as
    "localtime", whose meaning depends on the server the bot runs on.
    """
    cleaned = name.strip()
    if cleaned and cleaned.casefold() not in _REFUSED_ZONES:
        known = zoneinfo.available_timezones()
        if cleaned in known:
            return cleaned
        match = {zone.casefold(): zone for zone in known}.get(cleaned.casefold())
        if match is not None:
            return match
        if _zone_exists(cleaned):  # a zone the listing missed but zoneinfo can load
            return cleaned
    raise ValueError(
        f"“{name}” is not a time zone I know: use an IANA name such as "
        "America/Denver, America/New_York or Europe/London"
    )


def _zone_exists(key: str) -> bool:
    try:
        zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def add_subscription(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    local_time: str,
    timezone: str,
    scope: str,
    now: datetime,
) -> Subscription:
    """Subscribe `channel_id` to a daily digest at `local_time` in `timezone`."""
    local_time = normalise_local_time(local_time)
    timezone = validate_timezone(timezone)
    if not channel_id.strip():
        raise ValueError("a digest needs a channel: type it as #channel")
    scope = scope.strip()
    if not scope:
        raise ValueError("a digest needs a scope, for example “recent”")
    created_at = to_utc_text(now)
    cursor = db.execute(
        """
        INSERT INTO digest_subscriptions
            (team_id, user_id, channel_id, local_time, timezone, scope, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        """,
        [team_id, user_id, channel_id, local_time, timezone, scope, created_at],
    )
    subscription_id = cursor.lastrowid
    assert subscription_id is not None
    return Subscription(
        id=subscription_id,
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        local_time=local_time,
        timezone=timezone,
        scope=scope,
        created_at=from_utc_text(created_at),
    )


def list_subscriptions(
    db: Database, team_id: str, user_id: str | None = None
) -> list[Subscription]:
    """The team's subscriptions (only `user_id`'s when given), in creation order."""
    if user_id is None:
        rows = db.query(
            "SELECT * FROM digest_subscriptions WHERE team_id = ? ORDER BY id", [team_id]
        )
    else:
        rows = db.query(
            "SELECT * FROM digest_subscriptions WHERE team_id = ? AND user_id = ? ORDER BY id",
            [team_id, user_id],
        )
    return [_subscription(row) for row in rows]


def all_subscriptions(db: Database) -> list[Subscription]:
    """Every subscription of every team, in creation order (for the scheduler)."""
    return [
        _subscription(row) for row in db.query("SELECT * FROM digest_subscriptions ORDER BY id")
    ]


def remove_subscription(db: Database, subscription_id: int) -> bool:
    """Delete a subscription and its delivery records; True when it existed."""
    with db.atomic():
        # Explicit, so it holds even on a connection opened without foreign_keys=ON.
        db.execute("DELETE FROM digest_deliveries WHERE subscription_id = ?", [subscription_id])
        cursor = db.execute("DELETE FROM digest_subscriptions WHERE id = ?", [subscription_id])
    return cursor.rowcount == 1


def pause_subscriptions(db: Database, team_id: str, user_id: str) -> int:
    """Pause the user's running subscriptions (on disconnect); returns how many were paused."""
    cursor = db.execute(
        "UPDATE digest_subscriptions SET paused = 1"
        " WHERE team_id = ? AND user_id = ? AND paused = 0",
        [team_id, user_id],
    )
    return cursor.rowcount


def resume_subscriptions(db: Database, team_id: str, user_id: str) -> int:
    """Resume the user's paused subscriptions (on connect); returns how many were resumed."""
    cursor = db.execute(
        "UPDATE digest_subscriptions SET paused = 0"
        " WHERE team_id = ? AND user_id = ? AND paused = 1",
        [team_id, user_id],
    )
    return cursor.rowcount


def claim_delivery(
    db: Database,
    subscription_id: int,
    local_date: date,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    *,
    owner: str | None = None,
    owner_alive: Callable[[str], bool] | None = None,
) -> bool:
    """Try to become the one caller that delivers this digest for `local_date`.

    True when no record existed, or an earlier claim's lease had expired by `now`, or (given
    `owner_alive`) the earlier claim's `owner` is known to be dead and had not started posting.
    False when the digest was already delivered or someone else holds a live claim.
    """
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    now_text, until_text = to_utc_text(now), to_utc_text(now + lease)
    cursor = db.execute(
        """
        INSERT INTO digest_deliveries
            (subscription_id, local_date, state, claimed_at, lease_expires_at, claimed_by)
        VALUES (?, ?, 'claimed', ?, ?, ?)
        ON CONFLICT (subscription_id, local_date) DO UPDATE SET
            claimed_at = excluded.claimed_at,
            lease_expires_at = excluded.lease_expires_at,
            claimed_by = excluded.claimed_by
        WHERE digest_deliveries.state = 'claimed'
          AND digest_deliveries.posting_at IS NULL
          AND digest_deliveries.lease_expires_at <= excluded.claimed_at
        """,
        [subscription_id, to_date_text(local_date), now_text, until_text, owner],
    )
    if cursor.rowcount == 1 or owner_alive is None:
        return cursor.rowcount == 1
    return _take_over_from_dead_owner(
        db, subscription_id, local_date, (now_text, until_text), owner, owner_alive
    )


def _take_over_from_dead_owner(
    db: Database,
    subscription_id: int,
    local_date: date,
    lease: tuple[str, str],
    owner: str | None,
    owner_alive: Callable[[str], bool],
) -> bool:
    """Take a live claim whose owner is dead and had not started posting (compare-and-swap)."""
    rows = list(
        db.query(
            "SELECT claimed_at, claimed_by FROM digest_deliveries WHERE subscription_id = ? AND local_date = ?"
            " AND state = 'claimed' AND posting_at IS NULL",
            [subscription_id, to_date_text(local_date)],
        )
    )
    if not rows or not rows[0]["claimed_by"] or owner_alive(rows[0]["claimed_by"]):
        return False
    dead = rows[0]
    cursor = db.execute(
        """
        UPDATE digest_deliveries SET claimed_at = ?, lease_expires_at = ?, claimed_by = ?
        WHERE subscription_id = ? AND local_date = ? AND state = 'claimed' AND posting_at IS NULL
          AND claimed_by = ? AND claimed_at = ?
        """,
        [
            *lease,
            owner,
            subscription_id,
            to_date_text(local_date),
            dead["claimed_by"],
            dead["claimed_at"],
        ],
    )
    return cursor.rowcount == 1


def mark_posting(
    db: Database, subscription_id: int, local_date: date, *, claimed_at: datetime, now: datetime
) -> bool:
    """Say "about to post" for the claim made at `claimed_at`; False if the claim was lost.

    After this, the claim is never taken over even when its lease runs out: the post may have
    gone out, and a digest posted twice is worse than one missing.
    """
    cursor = db.execute(
        """
        UPDATE digest_deliveries SET posting_at = ?
        WHERE subscription_id = ? AND local_date = ? AND state = 'claimed'
          AND claimed_at = ? AND posting_at IS NULL
        """,
        [to_utc_text(now), subscription_id, to_date_text(local_date), to_utc_text(claimed_at)],
    )
    return cursor.rowcount == 1


def complete_delivery(
    db: Database,
    subscription_id: int,
    local_date: date,
    now: datetime,
    *,
    message_ts: str | None,
    late: bool,
    failed_contacts: int,
    outcome: str = "posted",
    entries: str | None = None,
) -> None:
    """Record that the digest for `local_date` is done (the claim becomes "delivered").

    `outcome` is "posted", or "skipped" when nothing went out on purpose (e.g. the subscriber
    must reconnect); either way no later pass retries that day.
    """
    now_text = to_utc_text(now)
    db.execute(
        """
        INSERT INTO digest_deliveries
            (subscription_id, local_date, state, claimed_at, lease_expires_at,
             delivered_at, message_ts, late, failed_contacts, outcome, entries)
        VALUES (?, ?, 'delivered', ?, NULL, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (subscription_id, local_date) DO UPDATE SET
            state = 'delivered',
            lease_expires_at = NULL,
            delivered_at = excluded.delivered_at,
            message_ts = excluded.message_ts,
            late = excluded.late,
            failed_contacts = excluded.failed_contacts,
            outcome = excluded.outcome,
            entries = excluded.entries
        """,
        [
            subscription_id,
            to_date_text(local_date),
            now_text,
            now_text,
            message_ts,
            int(late),
            failed_contacts,
            outcome,
            entries,
        ],
    )


def release_delivery(db: Database, subscription_id: int, local_date: date) -> None:
    """Drop an undelivered claim so a later pass retries; a delivered record is kept."""
    db.execute(
        """
        DELETE FROM digest_deliveries
        WHERE subscription_id = ? AND local_date = ? AND state = 'claimed'
        """,
        [subscription_id, to_date_text(local_date)],
    )


def prune_deliveries(db: Database, before: date) -> int:
    """Delete delivery records (and the digests stored in them) for days before `before`."""
    cursor = db.execute(
        "DELETE FROM digest_deliveries WHERE local_date < ?", [to_date_text(before)]
    )
    return cursor.rowcount


def encode_entries(entries: Iterable[Mapping[str, Any]]) -> str:
    """A digest's entries (plain values, e.g. `dataclasses.asdict`) as `complete_delivery` stores
    them; what JSON can't hold (a date, say) is stored as its `str`."""
    return json.dumps(list(entries), separators=(",", ":"), default=str)


def posted_digest(db: Database, subscription_id: int, local_date: date) -> PostedDigest | None:
    """The entries stored with the digest posted that day, or None if none was posted."""
    record = delivery(db, subscription_id, local_date)
    if record is None or record.outcome != "posted" or not record.entries:
        return None
    return PostedDigest(
        entries=list(json.loads(record.entries)),
        failed_contacts=record.failed_contacts,
        late=record.late,
    )


def delivery(db: Database, subscription_id: int, local_date: date) -> Delivery | None:
    """The delivery record for (subscription, local_date), if any."""
    rows = list(
        db.query(
            "SELECT * FROM digest_deliveries WHERE subscription_id = ? AND local_date = ?",
            [subscription_id, to_date_text(local_date)],
        )
    )
    if not rows:
        return None
    row = rows[0]
    return Delivery(
        subscription_id=row["subscription_id"],
        local_date=from_date_text(row["local_date"]),
        state=row["state"],
        claimed_at=from_utc_text(row["claimed_at"]),
        lease_expires_at=optional_from_utc_text(row["lease_expires_at"]),
        delivered_at=optional_from_utc_text(row["delivered_at"]),
        message_ts=row["message_ts"],
        late=bool(row["late"]),
        failed_contacts=row["failed_contacts"],
        posting_at=optional_from_utc_text(row.get("posting_at")),
        outcome=row.get("outcome"),
        entries=row.get("entries"),
        claimed_by=row.get("claimed_by"),
    )


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        team_id=row["team_id"],
        user_id=row["user_id"],
        channel_id=row["channel_id"],
        local_time=row["local_time"],
        timezone=row["timezone"],
        scope=row["scope"],
        created_at=from_utc_text(row["created_at"]),
        paused=bool(row.get("paused", 0)),
    )
