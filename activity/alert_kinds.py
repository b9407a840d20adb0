"""Two more alert kinds: "Back after a quiet spell" and "Opened your e-mail" (pure parts).

**Back.** A check that finds any view or e-mail open (listings viewed, manual or subscription
e-mails opened grew) after at least `QUIET_SPELL` (14 days) with none. Only when our own
history proves those 14 days: `Pulse.known_since` is the earliest moment we know the counters
at (at the first check: the oldest stored snapshot), `Pulse.active_at` the last moment we saw
them grow (at the first check: `activity.scoring.last_active` over the stored snapshots).
Counters are running totals, so two equal readings prove nothing happened between them; a
freshly watched contact with no 14-day history is never "back", and the first check never
alerts. The return is recorded in the pulse (`back_from` the spell's start, `back_until` the
last check that still found it quiet, the counters then), so a restart or a second instance
decides the same: the ledger key is (…, kind "back", window start `back_from`).

**Opened.** Manual e-mails opened rose since the previous check (`opened_from`, the ledger's
window start). Spark counts opens per contact, not per sender: the rise may be an e-mail from
anyone in the brokerage who e-mails that contact from Flexmls, so the DM says "an e-mail from
you or your team". Opt-in (`/activity alerts email on`).

Both stand for `FRESH` (a day) after the check they count from, then lapse: a return seen only
after a long gap in our checks (alerts off, a snooze, the bot down) may be days old and is not
news. Neither counts what happened before the watcher watched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from activity.scoring import last_active
from spark import ActivitySummary
from storage.alerts import AlertDelivery, Pulse

QUIET_SPELL = dt.timedelta(days=14)
FRESH = dt.timedelta(days=1)
BACK, OPENED = "back", "opened"  # ledger kinds


@dataclass(frozen=True)
class Reading:
    """The counters a check reads that these kinds follow."""

    views: int
    opens: int  # manual + subscription e-mails opened
    manual_opens: int

    @classmethod
    def of(cls, summary: ActivitySummary) -> Reading:
        manual = summary.manual_emails_opened
        return cls(summary.listings_viewed, manual + summary.subscription_emails_opened, manual)


@dataclass(frozen=True)
class Evidence:
    """What stored snapshots prove about a contact before our first check of it."""

    known_since: dt.datetime  # the oldest reading
    active_at: dt.datetime | None  # the newest reading that showed views or opens growing


def evidence(readings: Sequence[tuple[dt.datetime, ActivitySummary]]) -> Evidence | None:
    """From (recorded at, counters) readings, oldest first; None without any."""
    if not readings:
        return None
    return Evidence(readings[0][0], last_active(readings))


def needs_evidence(before: Pulse | None) -> bool:
    """Whether the check must seed the pulse (first check, or a row from before these kinds)."""
    return before is None or before.known_since is None or before.last_opens is None


def observe_kinds(
    before: Pulse | None, after: Pulse, reading: Reading, now: dt.datetime, seed: Evidence | None
) -> Pulse:
    """`after` (`activity.alerts.observe`'s pulse) completed with opens, activity, and the
    last return and rise of manual opens (see the module docstring)."""
    if (
        needs_evidence(before)
        or before is None  # (for mypy: needs_evidence says so)
        or before.last_opens is None
        or reading.views < before.last_views
        or reading.opens < before.last_opens
        or reading.manual_opens < (before.last_manual_opens or 0)
    ):
        # A baseline. A counter that went down (Spark corrected it) breaks the proof: start over.
        proof = seed if before is None or before.known_since is None else None
        return replace(
            after,
            last_opens=reading.opens,
            last_manual_opens=reading.manual_opens,
            active_at=proof.active_at if proof else None,
            known_since=min(proof.known_since, now) if proof else now,
            back_from=None,
            back_until=None,
            back_views=0,
            back_opens=0,
            opened_from=None,
            opened_base=0,
        )
    # `observe` knows only views: what these kinds knew carries over from `before`.
    pulse = replace(
        after,
        last_opens=reading.opens,
        last_manual_opens=reading.manual_opens,
        active_at=before.active_at,
        known_since=before.known_since,
        back_from=before.back_from,
        back_until=before.back_until,
        back_views=before.back_views,
        back_opens=before.back_opens,
        opened_from=before.opened_from,
        opened_base=before.opened_base,
    )
    if reading.views > before.last_views or reading.opens > before.last_opens:
        pulse = replace(pulse, active_at=now)
        spell_from = before.active_at or before.known_since
        assert spell_from is not None
        if before.checked_at - spell_from >= QUIET_SPELL:
            pulse = replace(
                pulse,
                back_from=spell_from,
                back_until=before.checked_at,
                back_views=before.last_views,
                back_opens=before.last_opens,
            )
    if before.last_manual_opens is not None and reading.manual_opens > before.last_manual_opens:
        pulse = replace(pulse, opened_from=before.checked_at, opened_base=before.last_manual_opens)
    return pulse


@dataclass(frozen=True)
class BackDecision:
    """A "back" DM: viewed `views - baseline_views` listings and opened `opens` e-mails after a
    quiet spell from `window_start` to `spell_end`."""

    window_start: dt.datetime
    spell_end: dt.datetime
    baseline_views: int
    views: int
    opens: int


@dataclass(frozen=True)
class OpenedDecision:
    """An "opened" DM: `opens` more manual e-mail opens since the check at `window_start`."""

    window_start: dt.datetime
    opens: int


def decide_back(pulse: Pulse, watched_since: dt.datetime, now: dt.datetime) -> BackDecision | None:
    """The "back" DM the pulse calls for, for a watch made at `watched_since` (or None)."""
    start, end = pulse.back_from, pulse.back_until
    if start is None or end is None or end - start < QUIET_SPELL:
        return None
    if now - end > FRESH or end < watched_since:
        return None
    opens = max(0, (pulse.last_opens or 0) - pulse.back_opens)
    return BackDecision(start, end, pulse.back_views, pulse.last_views, opens)


def decide_opened(
    pulse: Pulse, watched_since: dt.datetime, now: dt.datetime
) -> OpenedDecision | None:
    """The "opened" DM the pulse calls for, for a watch made at `watched_since` (or None)."""
    start = pulse.opened_from
    if start is None or pulse.last_manual_opens is None:
        return None
    if now - start > FRESH or start < watched_since:
        return None
    rise = pulse.last_manual_opens - pulse.opened_base
    return OpenedDecision(start, rise) if rise > 0 else None


# -- what the renderers get --------------------------------------------------------------------


@dataclass(frozen=True)
class BackAgain:
    """A "back" DM: `views` listings viewed and `opens` e-mails opened after `quiet_days` quiet."""

    watcher_id: str
    contact_id: str
    name: str
    views: int
    opens: int
    quiet_days: int
    key: str = ""  # the DM's metadata (recovery after a crash)


@dataclass(frozen=True)
class EmailOpened:
    """An "opened" DM: `opens` more opens of manual e-mails to the contact."""

    watcher_id: str
    contact_id: str
    name: str
    opens: int
    key: str = ""


def quiet_days(start: dt.datetime, end: dt.datetime | None) -> int:
    """Whole days of the proven spell (rounded down: never more than we know)."""
    return max(0, ((end or start) - start).days)


def kind_alert(d: AlertDelivery, key_text: str, shown_views: int | None = None) -> Alert:
    """The DM a "back" or "opened" ledger record says (a resend, or an update with more views)."""
    views = d.shown_views if shown_views is None else shown_views
    if d.key.kind == OPENED:
        return EmailOpened(d.key.user_id, d.key.contact_id, d.display_name, d.opens, key_text)
    return BackAgain(
        d.key.user_id,
        d.key.contact_id,
        d.display_name,
        max(0, views - d.baseline_views),
        d.opens,
        quiet_days(d.key.window_start, d.spell_end),
        key_text,
    )


Alert = BackAgain | EmailOpened
