""" "Active now" alerts: watches, what the poller knows of each contact, paused agents, and the
delivery ledger that makes each alert DM go out once.

The ledger follows the digest's (`storage.digests`): a pass *claims* an alert (one SQL statement,
atomic across processes) with a lease, marks it "posting" just before `chat.postMessage`, and
*completes* it with the DM's channel and ts. A claim whose holder died before "posting" is taken
over when the lease runs out (or at once when its process is known to be gone); one that died
after "posting" is never simply taken over: `stale_posts` hands it to a recovery step that asks
Slack whether the DM got there, and resends at most once (`mark_resent`) only if it did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.auto_watches import live_clause, live_params
from storage.db import from_utc_text, optional_from_utc_text, optional_utc_text, to_utc_text

ALERT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Watch:
    team_id: str
    user_id: str
    contact_id: str
    display_name: str
    created_at: datetime
    snoozed_until: datetime | None = None
    stopped: bool = False
    source: str = "manual"  # "manual" | "auto" | "tag:<Tag>" (`storage.auto_watches`)
    access: str = "own"  # "own" | "workspace": the access the watch was made with
    next_check_at: datetime | None = None
    last_checked_at: datetime | None = None
    baseline_views: int | None = None  # where its alerts count from (auto and tag watches)
    baseline_at: datetime | None = None

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now


@dataclass(frozen=True)
class Pulse:
    """What the poller knows of a contact between checks (see `activity.alerts.observe`)."""

    last_views: int
    last_growth_at: datetime | None  # the check at which views last grew
    quiet_views: int  # the views counter at the last check that found the contact quiet
    quiet_at: datetime  # that check
    checked_at: datetime
    band: str | None = None  # "hot" | "warm" | "cold", from the last check
    # "Back" and "Opened" (`activity.alert_kinds.observe_kinds`); None: not known yet.
    last_opens: int | None = None  # manual + subscription e-mails opened, at the last check
    last_manual_opens: int | None = None
    active_at: datetime | None = None  # the last check at which views or opens grew
    known_since: datetime | None = None  # the earliest moment our own history covers
    back_from: datetime | None = None  # the last return after a proven quiet spell: its start,
    back_until: datetime | None = None  # the last check that found it still quiet,
    back_views: int = 0  # and the counters then
    back_opens: int = 0
    opened_from: datetime | None = None  # manual opens rose after this check,
    opened_base: int = 0  # from this count


@dataclass(frozen=True)
class AlertKey:
    team_id: str
    user_id: str
    contact_id: str
    window_start: datetime
    kind: str = "active"

    def params(self) -> list[str]:
        return [
            self.team_id,
            self.user_id,
            self.contact_id,
            self.kind,
            to_utc_text(self.window_start),
        ]


_KEY_WHERE = "team_id = ? AND user_id = ? AND contact_id = ? AND kind = ? AND window_start = ?"


@dataclass(frozen=True)
class AlertDelivery:
    key: AlertKey
    display_name: str
    baseline_views: int  # the views counter the alert counts from
    shown_views: int  # the views counter the DM shows now
    state: str  # "claimed" | "delivered"
    claimed_at: datetime
    posting_at: datetime | None
    resent: bool
    channel: str | None
    ts: str | None
    posted_at: datetime | None
    updated_at: datetime | None
    claimed_by: str | None = None
    opens: int = 0  # e-mails opened the DM shows ("back", "opened")
    spell_end: datetime | None = None  # "back": the last check that found the contact quiet
    outcome: str | None = None


# -- watches -----------------------------------------------------------------------------------


def add_watch(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    contact_id: str,
    display_name: str,
    access: str,
    now: datetime,
) -> bool:
    """Watch (or watch again) a contact; False when it was already watched (name refreshed).
    An auto watch of the contact becomes a manual one."""
    existing = get_watch(db, team_id, user_id, contact_id)
    db.execute(
        """
        INSERT INTO alert_watches
            (team_id, user_id, contact_id, display_name, created_at, access, stopped)
        VALUES (?, ?, ?, ?, ?, ?, 0)
        ON CONFLICT (team_id, user_id, contact_id) DO UPDATE SET
            display_name = excluded.display_name,
            access = excluded.access,
            created_at = CASE WHEN alert_watches.stopped = 1
                         THEN excluded.created_at ELSE alert_watches.created_at END,
            snoozed_until = CASE WHEN alert_watches.stopped = 1
                            THEN NULL ELSE alert_watches.snoozed_until END,
            baseline_at = CASE WHEN alert_watches.stopped = 1
                          THEN NULL ELSE alert_watches.baseline_at END,
            source = CASE WHEN alert_watches.stopped = 1 OR alert_watches.source = 'auto'
                     THEN 'manual' ELSE alert_watches.source END,
            stopped = 0
        """,
        [team_id, user_id, contact_id, display_name, to_utc_text(now), access],
    )
    return existing is None or existing.stopped or existing.source == "auto"


def get_watch(db: Database, team_id: str, user_id: str, contact_id: str) -> Watch | None:
    rows = list(
        db.query(
            "SELECT * FROM alert_watches WHERE team_id = ? AND user_id = ? AND contact_id = ?",
            [team_id, user_id, contact_id],
        )
    )
    return _watch(rows[0]) if rows else None


def active_watches(
    db: Database, team_id: str, user_id: str, now: datetime | None = None
) -> list[Watch]:
    """The agent's live watches (not stopped; auto ones while live at `now`, see
    `storage.auto_watches`; without `now`, none of them), oldest first."""
    live, params = (live_clause("w"), live_params(now)) if now else ("w.source != 'auto'", [])
    rows = db.query(
        "SELECT * FROM alert_watches AS w WHERE team_id = ? AND user_id = ? AND stopped = 0"
        f" AND {live} ORDER BY created_at, contact_id",
        [team_id, user_id, *params],
    )
    return [_watch(row) for row in rows]


def stop_watch(db: Database, team_id: str, user_id: str, contact_id: str) -> bool:
    """Stop the agent's own watch of the contact; False when there was none running."""
    cursor = db.execute(
        "UPDATE alert_watches SET stopped = 1 WHERE team_id = ? AND user_id = ?"
        " AND contact_id = ? AND stopped = 0",
        [team_id, user_id, contact_id],
    )
    return cursor.rowcount == 1


def snooze_watch(
    db: Database, team_id: str, user_id: str, contact_id: str, until: datetime
) -> bool:
    """Pause the agent's own watch until `until`; False when there was none running."""
    cursor = db.execute(
        "UPDATE alert_watches SET snoozed_until = ?, next_check_at = ? WHERE team_id = ?"
        " AND user_id = ? AND contact_id = ? AND stopped = 0",
        [to_utc_text(until), to_utc_text(until), team_id, user_id, contact_id],
    )
    return cursor.rowcount == 1


def due_watches(db: Database, now: datetime) -> list[Watch]:
    """Running, live, unsnoozed watches whose next check is due (never checked ones first), of
    agents who have not turned alerts off."""
    now_text = to_utc_text(now)
    rows = db.query(
        f"""
        SELECT * FROM alert_watches AS w
        WHERE stopped = 0
          AND (next_check_at IS NULL OR next_check_at <= ?)
          AND (snoozed_until IS NULL OR snoozed_until <= ?)
          AND NOT EXISTS (SELECT 1 FROM alert_settings AS s WHERE s.team_id = w.team_id
                          AND s.user_id = w.user_id AND s.enabled = 0)
          AND {live_clause("w")}
        ORDER BY next_check_at IS NOT NULL, next_check_at, team_id, user_id, contact_id
        """,
        [now_text, now_text, *live_params(now)],
    )
    return [_watch(row) for row in rows]


def claim_check(db: Database, watch: Watch, *, now: datetime, until: datetime) -> bool:
    """Take a due watch's check for this pass (one statement, atomic across processes): its
    next check moves to `until`, so a second instance's pass finds it not due and does not read
    the contact again; the pass that read it sets the real next check (`schedule_watch`), and one
    that died leaves it due again at `until`. False: another pass took it first."""
    cursor = db.execute(
        "UPDATE alert_watches SET next_check_at = ?"
        " WHERE team_id = ? AND user_id = ? AND contact_id = ? AND stopped = 0"
        " AND (next_check_at IS NULL OR next_check_at <= ?)",
        [to_utc_text(until), watch.team_id, watch.user_id, watch.contact_id, to_utc_text(now)],
    )
    return cursor.rowcount == 1


def schedule_watch(
    db: Database, watch: Watch, *, checked_at: datetime | None, next_check_at: datetime
) -> None:
    """Record a check (None: nothing was read) and when the next one is due."""
    db.execute(
        "UPDATE alert_watches SET next_check_at = ?,"
        " last_checked_at = COALESCE(?, last_checked_at)"
        " WHERE team_id = ? AND user_id = ? AND contact_id = ?",
        [
            to_utc_text(next_check_at),
            optional_utc_text(checked_at),
            watch.team_id,
            watch.user_id,
            watch.contact_id,
        ],
    )


def _watch(row: dict[str, Any]) -> Watch:
    return Watch(
        team_id=row["team_id"],
        user_id=row["user_id"],
        contact_id=row["contact_id"],
        display_name=row["display_name"],
        created_at=from_utc_text(row["created_at"]),
        snoozed_until=optional_from_utc_text(row["snoozed_until"]),
        stopped=bool(row["stopped"]),
        source=row["source"],
        access=row["access"],
        next_check_at=optional_from_utc_text(row["next_check_at"]),
        last_checked_at=optional_from_utc_text(row["last_checked_at"]),
        baseline_views=row.get("baseline_views"),
        baseline_at=optional_from_utc_text(row.get("baseline_at")),
    )


# -- pulses ------------------------------------------------------------------------------------


def get_pulse(db: Database, contact_id: str) -> Pulse | None:
    rows = list(db.query("SELECT * FROM alert_pulses WHERE contact_id = ?", [contact_id]))
    if not rows:
        return None
    row = rows[0]
    return Pulse(
        last_views=row["last_views"],
        last_growth_at=optional_from_utc_text(row["last_growth_at"]),
        quiet_views=row["quiet_views"],
        quiet_at=from_utc_text(row["quiet_at"]),
        checked_at=from_utc_text(row["checked_at"]),
        band=row["band"],
        last_opens=row.get("last_opens"),
        last_manual_opens=row.get("last_manual_opens"),
        active_at=optional_from_utc_text(row.get("active_at")),
        known_since=optional_from_utc_text(row.get("known_since")),
        back_from=optional_from_utc_text(row.get("back_from")),
        back_until=optional_from_utc_text(row.get("back_until")),
        back_views=row.get("back_views") or 0,
        back_opens=row.get("back_opens") or 0,
        opened_from=optional_from_utc_text(row.get("opened_from")),
        opened_base=row.get("opened_base") or 0,
    )


def save_pulse(db: Database, contact_id: str, pulse: Pulse) -> None:
    db.table("alert_pulses").upsert(
        {
            "contact_id": contact_id,
            "last_views": pulse.last_views,
            "last_growth_at": optional_utc_text(pulse.last_growth_at),
            "quiet_views": pulse.quiet_views,
            "quiet_at": to_utc_text(pulse.quiet_at),
            "checked_at": to_utc_text(pulse.checked_at),
            "band": pulse.band,
            "last_opens": pulse.last_opens,
            "last_manual_opens": pulse.last_manual_opens,
            "active_at": optional_utc_text(pulse.active_at),
            "known_since": optional_utc_text(pulse.known_since),
            "back_from": optional_utc_text(pulse.back_from),
            "back_until": optional_utc_text(pulse.back_until),
            "back_views": pulse.back_views,
            "back_opens": pulse.back_opens,
            "opened_from": optional_utc_text(pulse.opened_from),
            "opened_base": pulse.opened_base,
        },
        pk="contact_id",
    )


def bands(db: Database, contact_ids: list[str]) -> dict[str, str]:
    """The band each contact had at its last check, where known."""
    if not contact_ids:
        return {}
    marks = ", ".join("?" for _ in contact_ids)
    rows = db.query(
        f"SELECT contact_id, band FROM alert_pulses WHERE contact_id IN ({marks})"
        " AND band IS NOT NULL",
        contact_ids,
    )
    return {row["contact_id"]: row["band"] for row in rows}


# -- paused agents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    token_key: str
    reason: str
    paused_at: datetime
    told: bool


def pause_agent(
    db: Database, team_id: str, user_id: str, *, token_key: str, reason: str, now: datetime
) -> None:
    """Pause the agent's polling (kept as it was if already paused)."""
    db.execute(
        "INSERT INTO alert_pauses (team_id, user_id, token_key, reason, paused_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, user_id) DO NOTHING",
        [team_id, user_id, token_key, reason, to_utc_text(now)],
    )


def agent_pause(db: Database, team_id: str, user_id: str) -> Pause | None:
    rows = list(
        db.query("SELECT * FROM alert_pauses WHERE team_id = ? AND user_id = ?", [team_id, user_id])
    )
    if not rows:
        return None
    row = rows[0]
    return Pause(
        row["token_key"], row["reason"], from_utc_text(row["paused_at"]), bool(row["told"])
    )


def mark_told(db: Database, team_id: str, user_id: str) -> bool:
    """Record that the agent was told about the pause; False if someone already did."""
    cursor = db.execute(
        "UPDATE alert_pauses SET told = 1 WHERE team_id = ? AND user_id = ? AND told = 0",
        [team_id, user_id],
    )
    return cursor.rowcount == 1


def resume_agent(db: Database, team_id: str, user_id: str) -> bool:
    cursor = db.execute(
        "DELETE FROM alert_pauses WHERE team_id = ? AND user_id = ?", [team_id, user_id]
    )
    return cursor.rowcount == 1


# -- the delivery ledger -----------------------------------------------------------------------


def claim_alert(
    db: Database,
    key: AlertKey,
    *,
    display_name: str,
    baseline_views: int,
    shown_views: int,
    now: datetime,
    lease: timedelta = ALERT_LEASE,
    owner: str | None = None,
    owner_alive: Callable[[str], bool] | None = None,
    opens: int = 0,
    spell_end: datetime | None = None,
) -> bool:
    """Try to become the one caller that posts this alert (see the module docstring)."""
    now_text, until_text = to_utc_text(now), to_utc_text(now + lease)
    cursor = db.execute(
        f"""
        INSERT INTO alert_deliveries
            (team_id, user_id, contact_id, kind, window_start, display_name, baseline_views,
             shown_views, state, claimed_at, lease_expires_at, claimed_by, opens, spell_end)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'claimed', ?, ?, ?, ?, ?)
        ON CONFLICT (team_id, user_id, contact_id, kind, window_start) DO UPDATE SET
            shown_views = excluded.shown_views,
            opens = excluded.opens,
            claimed_at = excluded.claimed_at,
            lease_expires_at = excluded.lease_expires_at,
            claimed_by = excluded.claimed_by
        WHERE alert_deliveries.state = 'claimed'
          AND alert_deliveries.posting_at IS NULL
          AND (alert_deliveries.lease_expires_at <= excluded.claimed_at
               OR alert_deliveries.claimed_by IN ({_DEAD}))
        """,
        [
            *key.params(),
            display_name,
            baseline_views,
            shown_views,
            now_text,
            until_text,
            owner,
            opens,
            optional_utc_text(spell_end),
            *_dead_owners(db, key, owner_alive),
        ],
    )
    return cursor.rowcount == 1


_DEAD = "?"  # one placeholder: the claim's owner when it is known to be dead, else ""


def _dead_owners(
    db: Database, key: AlertKey, owner_alive: Callable[[str], bool] | None
) -> list[str]:
    if owner_alive is None:
        return [""]
    rows = list(
        db.query(f"SELECT claimed_by FROM alert_deliveries WHERE {_KEY_WHERE}", key.params())
    )
    holder = rows[0]["claimed_by"] if rows else None
    return [holder] if holder and not owner_alive(holder) else [""]


def mark_alert_posting(db: Database, key: AlertKey, *, claimed_at: datetime, now: datetime) -> bool:
    """Say "about to post" for our claim; False if it was lost meanwhile."""
    cursor = db.execute(
        f"UPDATE alert_deliveries SET posting_at = ? WHERE {_KEY_WHERE}"
        " AND state = 'claimed' AND claimed_at = ? AND posting_at IS NULL",
        [to_utc_text(now), *key.params(), to_utc_text(claimed_at)],
    )
    return cursor.rowcount == 1


def complete_alert(
    db: Database, key: AlertKey, *, channel: str | None, ts: str | None, outcome: str, now: datetime
) -> None:
    """The alert is done: "posted" (with the DM's channel and ts), or "skipped"."""
    now_text = to_utc_text(now)
    db.execute(
        f"UPDATE alert_deliveries SET state = 'delivered', lease_expires_at = NULL, channel = ?,"
        f" ts = ?, outcome = ?, posted_at = ?, updated_at = ? WHERE {_KEY_WHERE}",
        [channel, ts, outcome, now_text, now_text, *key.params()],
    )


def record_alert_update(db: Database, key: AlertKey, *, shown_views: int, now: datetime) -> None:
    """The DM now shows `shown_views` (after chat.update)."""
    db.execute(
        f"UPDATE alert_deliveries SET shown_views = ?, updated_at = ? WHERE {_KEY_WHERE}",
        [shown_views, to_utc_text(now), *key.params()],
    )


def release_alert(db: Database, key: AlertKey) -> None:
    """Drop a claim whose post Slack refused (nothing went out) so a later pass may try again."""
    db.execute(
        f"DELETE FROM alert_deliveries WHERE {_KEY_WHERE} AND state = 'claimed'", key.params()
    )


def mark_resent(
    db: Database, key: AlertKey, *, now: datetime, lease: timedelta = ALERT_LEASE
) -> bool:
    """Take a stale "posting" claim to resend it, once ever; False if already resent or taken."""
    cursor = db.execute(
        f"UPDATE alert_deliveries SET resent = 1, posting_at = ?, claimed_at = ?,"
        f" lease_expires_at = ? WHERE {_KEY_WHERE} AND state = 'claimed' AND resent = 0"
        " AND posting_at IS NOT NULL",
        [to_utc_text(now), to_utc_text(now), to_utc_text(now + lease), *key.params()],
    )
    return cursor.rowcount == 1


def stale_posts(
    db: Database, now: datetime, owner_alive: Callable[[str], bool] | None = None
) -> list[AlertDelivery]:
    """Claims that reached "posting" and whose holder is gone (lease over, or owner dead)."""
    rows = db.query(
        "SELECT * FROM alert_deliveries WHERE state = 'claimed' AND posting_at IS NOT NULL"
    )
    now_text = to_utc_text(now)
    found = []
    for row in rows:
        lease_over = (row["lease_expires_at"] or "") <= now_text
        dead = (
            owner_alive is not None
            and bool(row["claimed_by"])
            and not owner_alive(row["claimed_by"])
        )
        if lease_over or dead:
            found.append(_delivery(row))
    return found


def latest_alert(
    db: Database, team_id: str, user_id: str, contact_id: str, kind: str = "active"
) -> AlertDelivery | None:
    """The agent's newest posted alert about the contact, if any."""
    rows = list(
        db.query(
            "SELECT * FROM alert_deliveries WHERE team_id = ? AND user_id = ? AND contact_id = ?"
            " AND kind = ? AND state = 'delivered' AND outcome = 'posted'"
            " ORDER BY posted_at DESC LIMIT 1",
            [team_id, user_id, contact_id, kind],
        )
    )
    return _delivery(rows[0]) if rows else None


def latest_back(db: Database, team_id: str, user_id: str, contact_id: str) -> AlertDelivery | None:
    """The agent's newest "back" alert about the contact, posted, held or still being posted
    (an "Active now" of the same burst defers to it: `activity.alerts._last_burst`)."""
    return latest_kept(db, team_id, user_id, contact_id, ("back",))


def latest_kept(
    db: Database, team_id: str, user_id: str, contact_id: str, kinds: tuple[str, ...]
) -> AlertDelivery | None:
    """The agent's newest alert of `kinds` about the contact that went out or will (posted,
    held, summarized, or still being posted), by when it was decided."""
    marks = ", ".join("?" for _ in kinds)
    rows = list(
        db.query(
            "SELECT * FROM alert_deliveries WHERE team_id = ? AND user_id = ? AND contact_id = ?"
            f" AND kind IN ({marks}) AND (outcome IS NULL OR outcome IN ('posted', 'held',"
            " 'summarized')) ORDER BY claimed_at DESC LIMIT 1",
            [team_id, user_id, contact_id, *kinds],
        )
    )
    return _delivery(rows[0]) if rows else None


def add_opens(db: Database, key: AlertKey, opens: int) -> None:
    """More e-mail opens on an alert (an "opened" alert folded into it)."""
    db.execute(
        f"UPDATE alert_deliveries SET opens = opens + ? WHERE {_KEY_WHERE}", [opens, *key.params()]
    )


def alert_delivery(db: Database, key: AlertKey) -> AlertDelivery | None:
    rows = list(db.query(f"SELECT * FROM alert_deliveries WHERE {_KEY_WHERE}", key.params()))
    return _delivery(rows[0]) if rows else None


def prune_alert_deliveries(db: Database, before: datetime) -> int:
    """Delete alert records claimed before `before` (retention); returns how many."""
    cursor = db.execute("DELETE FROM alert_deliveries WHERE claimed_at < ?", [to_utc_text(before)])
    return cursor.rowcount


def clear_agent_alerts(db: Database, team_id: str, user_id: str) -> int:
    """Forget one agent's watches (stopped ones too) and alert DMs, as if they never had any
    (the console demo's fresh start); returns how many rows went."""
    where = "WHERE team_id = ? AND user_id = ?"
    gone = 0
    for table in ("alert_watches", "alert_deliveries"):
        gone += db.execute(f"DELETE FROM {table} {where}", [team_id, user_id]).rowcount
    return gone


def _delivery(row: dict[str, Any]) -> AlertDelivery:
    return AlertDelivery(
        key=AlertKey(
            row["team_id"],
            row["user_id"],
            row["contact_id"],
            from_utc_text(row["window_start"]),
            row["kind"],
        ),
        display_name=row["display_name"],
        baseline_views=row["baseline_views"],
        shown_views=row["shown_views"],
        state=row["state"],
        claimed_at=from_utc_text(row["claimed_at"]),
        posting_at=optional_from_utc_text(row["posting_at"]),
        resent=bool(row["resent"]),
        channel=row["channel"],
        ts=row["ts"],
        posted_at=optional_from_utc_text(row["posted_at"]),
        updated_at=optional_from_utc_text(row["updated_at"]),
        claimed_by=row["claimed_by"],
        opens=row.get("opens") or 0,
        spell_end=optional_from_utc_text(row.get("spell_end")),
        outcome=row.get("outcome"),
    )


# -- each agent's settings ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSettings:
    """An agent's alert settings (`/activity alerts`); quiet hours are local "HH:MM" times in
    the agent's Slack time zone, None when the agent turned them off."""

    enabled: bool = True
    quiet_start: str | None = "21:00"
    quiet_end: str | None = "07:30"
    threshold: int = 3
    email: bool = False  # "Opened your e-mail" DMs (`/activity alerts email on`)
    auto_watch: bool = True  # contacts looked up in the last 14 days are watched

    @property
    def quiet(self) -> bool:
        return self.quiet_start is not None and self.quiet_end is not None


def alert_settings(db: Database, team_id: str, user_id: str) -> AlertSettings:
    """The agent's settings (the defaults until they change one)."""
    rows = list(
        db.query(
            "SELECT * FROM alert_settings WHERE team_id = ? AND user_id = ?", [team_id, user_id]
        )
    )
    if not rows:
        return AlertSettings()
    row = rows[0]
    return AlertSettings(
        enabled=bool(row["enabled"]),
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        threshold=row["threshold"],
        email=bool(row.get("email_opens") or 0),
        auto_watch=bool(row.get("auto_watch", 1)),
    )


def save_alert_settings(
    db: Database, team_id: str, user_id: str, settings: AlertSettings, *, now: datetime
) -> None:
    db.execute(
        """
        INSERT INTO alert_settings
            (team_id, user_id, enabled, quiet_start, quiet_end, threshold, email_opens,
             auto_watch, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (team_id, user_id) DO UPDATE SET
            enabled = excluded.enabled,
            quiet_start = excluded.quiet_start,
            quiet_end = excluded.quiet_end,
            threshold = excluded.threshold,
            email_opens = excluded.email_opens,
            auto_watch = excluded.auto_watch,
            updated_at = excluded.updated_at
        """,
        [
            team_id,
            user_id,
            int(settings.enabled),
            settings.quiet_start if settings.quiet else None,
            settings.quiet_end if settings.quiet else None,
            settings.threshold,
            int(settings.email),
            int(settings.auto_watch),
            to_utc_text(now),
        ],
    )


# -- alerts held during quiet hours ------------------------------------------------------------


def raise_held(db: Database, key: AlertKey, *, shown_views: int) -> None:
    """More views on an alert still held: the summary will show them."""
    db.execute(
        f"UPDATE alert_deliveries SET shown_views = MAX(shown_views, ?) WHERE {_KEY_WHERE}"
        " AND outcome = 'held'",
        [shown_views, *key.params()],
    )


def held_agents(db: Database) -> list[tuple[str, str]]:
    """(team, agent) of everyone with alerts held for a summary."""
    rows = db.query(
        "SELECT DISTINCT team_id, user_id FROM alert_deliveries WHERE outcome = 'held'"
        " ORDER BY team_id, user_id"
    )
    return [(row["team_id"], row["user_id"]) for row in rows]


def held_alerts(
    db: Database, team_id: str, user_id: str, up_to: datetime | None = None
) -> list[AlertDelivery]:
    """The agent's held alerts (claimed at or before `up_to`), oldest first."""
    rows = db.query(
        "SELECT * FROM alert_deliveries WHERE team_id = ? AND user_id = ? AND outcome = 'held'"
        " AND claimed_at <= ? ORDER BY claimed_at, contact_id",
        [team_id, user_id, to_utc_text(up_to) if up_to else "9999"],
    )
    return [_delivery(row) for row in rows]


def mark_summarized(db: Database, team_id: str, user_id: str, up_to: datetime) -> int:
    """The held alerts the summary (posted) listed are done; returns how many."""
    cursor = db.execute(
        "UPDATE alert_deliveries SET outcome = 'summarized' WHERE team_id = ? AND user_id = ?"
        " AND outcome = 'held' AND claimed_at <= ?",
        [team_id, user_id, to_utc_text(up_to)],
    )
    return cursor.rowcount
