""" "Active now" alerts: watches, the poller, and the decision to DM an agent.

Spark has no push for contact activity, so a pass (every `ALERT_POLL_MIN_S / PASSES_PER_POLL`
seconds in `serve`) reads the activity summary of each watched contact that is due, with the
watching agent's own access, as background work (`Priority.BACKGROUND`: it only uses what the
people's lookups leave, and never makes them wait). One request per contact per check; agents
reading with the same token (the workspace token, say) share it. Every check records the day's
snapshot, so cards, digests and alerts share one history.

Cadence follows the contact's band (`activity.scoring`): hot every `ALERT_POLL_MIN_S`, warm 3×,
cold 12× that; every interval stretches by one factor when the watch set would not fit the
poller's share of the key (`activity.poll_budget`).

Quiet, precisely: a check finds the contact *quiet* when its views counter has not grown at
this check nor at any check in the previous `QUIET_AFTER` (60 minutes). `Pulse.quiet_views` is
the counter at the last quiet check (the first check ever counts as quiet: what happened before
we watched is not news). *Active now*: at least `ACTIVE_VIEWS` (3) views more than that, i.e.
viewed since the contact was last quiet. The DM says "viewed 5 listings in the last 40 min", the
40 minutes running from that quiet check (every view counted came after it).

One DM per burst: further views within `UPDATE_WINDOW` (4 hours) of the DM update it
(`chat.update`); after that a burst still going on gets a new DM counting from what the last
one showed. The DM lists the newest viewed listings: one more request (the first page of the
contact's viewed listings, background priority, the watcher's token), made only when a DM is
posted or updated, once per check however many agents share the read; if Flexmls refuses or is
slow (`LISTINGS_WAIT_S`), the DM goes out without them, as does a DM re-sent after a crash.

Time, DST included: the window and "in the last 40 min" are *elapsed* time, computed on absolute
instants (`elapsed`, in UTC), never on wall clocks. On 2026-11-01 in New York, a DM at 01:30 EDT
is updated by views at 04:29 EST (3 h 59 min later, though the wall clock moved 2 h 59 min) and
views at 04:31 EST (4 h 01 min) get a new DM. Times the DM shows are Slack `<!date^…>` tokens, so
each agent reads them in their own zone. Exactly once: each DM is a claim in `storage.alerts` keyed by (team, agent, contact,
window start), the window start being the quiet check (or the last DM's final update) it counts
from, which a restart or a second instance computes alike.

Two more kinds (`activity.alert_kinds`, same ledger, same buttons, same quiet hours):
"back after a quiet spell" (kind "back": any view or open after 14 days with none, proven by our
own history) and, for agents who turn it on (`/activity alerts email on`), "opened your e-mail"
(kind "opened": manual e-mails opened rose since the last check). A check decides "back" first,
"Active now" next, "opened" last:
when a return is also an "Active now" burst, the agent gets one DM, the "back" one, with the
view count, and later views of that burst update it (`_last_burst`). An "opened" rise seen at
the very check of a "back" DM is in that DM already, and one within `UPDATE_WINDOW` of another
alert DM about the contact (an "Active now" of the same check, a mail app re-opening e-mails) is
folded into that DM (`act_opened`: its opens are added and the DM updated): one DM per burst.

Quiet hours hold every kind; the summary at their end words each line by kind.

Where watches come from (`source`): `/activity watch <contact>` ("manual"), the agent's lookups
of the last 14 days ("auto", `storage.auto_watches`: they fill what the others leave of the 50
and lapse with the lookup), and `/activity watch tag:<Tag>` (`activity.watch_sources`). An auto
or tag watch counts from its baseline (`since_watched`): its first check (after the watch began,
or after the agent's latest lookup), which alerts nobody.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from activity.alert_kinds import (
    BACK,
    OPENED,
    BackAgain,
    BackDecision,
    EmailOpened,
    Evidence,
    Reading,
    decide_back,
    decide_opened,
    evidence,
    kind_alert,
    needs_evidence,
    observe_kinds,
    quiet_days,
)
from activity.alert_settings import in_quiet_hours
from activity.auth import ConnectionBroken, NotConnected
from activity.listings import LISTING_PAGE_SIZE, newest_first
from activity.lookup import fold_name, history, loosely_matches, to_counters, to_summary
from activity.models import Access
from activity.poll_budget import (
    PASSES_PER_POLL,
    forget,
    poll_budget,
    reads_allowed,
    spend_reads,
    usual_interval_s,
)
from activity.scoring import Band, engagement, provisional_engagement
from activity.services import Services
from spark import (
    ActivitySummary,
    Contact,
    InvalidToken,
    Listing,
    NotFound,
    PermissionDenied,
    RefreshFailed,
    SparkError,
    TokenExpired,
)
from spark.budget import Priority, working_as
from spark.ratelimit import token_key
from storage import owner_alive, process_owner, record_snapshot
from storage.alerts import (
    AlertDelivery,
    AlertKey,
    Pulse,
    Watch,
    active_watches,
    add_opens,
    add_watch,
    agent_pause,
    alert_delivery,
    alert_settings,
    bands,
    claim_alert,
    claim_check,
    complete_alert,
    due_watches,
    get_pulse,
    held_agents,
    held_alerts,
    latest_alert,
    latest_back,
    latest_kept,
    mark_alert_posting,
    mark_resent,
    mark_summarized,
    mark_told,
    pause_agent,
    raise_held,
    record_alert_update,
    release_alert,
    resume_agent,
    save_pulse,
    schedule_watch,
    snooze_watch,
    stale_posts,
    stop_watch,
)
from storage.auto_watches import WATCH_CAP, drop_auto_watch, set_watch_baseline
from storage.readings import snapshot_readings

ACTIVE = "active"  # the ledger kind of an "Active now" DM
ACTIVE_VIEWS = 3  # views since the contact was last quiet that make it "active now"
QUIET_AFTER = dt.timedelta(minutes=60)
UPDATE_WINDOW = dt.timedelta(hours=4)
MAX_WATCHES = WATCH_CAP  # per agent, whatever the source (auto watches fill what is left)
SNOOZE = dt.timedelta(days=1)
CHECK_LEASE = dt.timedelta(minutes=5)  # a taken check is due again after this if its pass died
READ_CONCURRENCY = 8
NEWEST_SHOWN = 3  # viewed listings the "Active now" DM lists
LISTINGS_WAIT_S = 10.0  # the DM waits at most this long for them, then goes without

log = logging.getLogger(__name__)


# -- the decision (pure) -----------------------------------------------------------------------


def elapsed(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Real time from `start` to `end`, whatever zones they carry (Python subtracts two times of
    the same zone by their wall clocks, which is off by an hour across a DST change)."""
    return _utc(end) - _utc(start)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def observe(pulse: Pulse | None, views: int, now: dt.datetime, band: str | None) -> Pulse:
    """What a check at `now` that read `views` makes of the contact's pulse."""
    if pulse is None or views < pulse.last_views:  # first check, or Spark corrected its count
        return Pulse(views, None, views, now, now, band)
    grew = views > pulse.last_views
    last_growth = now if grew else pulse.last_growth_at
    quiet = not grew and (last_growth is None or elapsed(last_growth, now) >= QUIET_AFTER)
    return Pulse(
        last_views=views,
        last_growth_at=last_growth,
        quiet_views=views if quiet else pulse.quiet_views,
        quiet_at=now if quiet else pulse.quiet_at,
        checked_at=now,
        band=band,
    )


@dataclass(frozen=True)
class Post:
    """A new DM: `views - baseline_views` views since `window_start`."""

    window_start: dt.datetime
    baseline_views: int
    views: int


@dataclass(frozen=True)
class Update:
    """Further views within the update window: the DM of `delivery` now shows `views`."""

    delivery: AlertDelivery
    views: int


Decision = Post | Update | None


def decide(
    pulse: Pulse, last: AlertDelivery | None, now: dt.datetime, threshold: int = ACTIVE_VIEWS
) -> Decision:
    """What one agent watching the contact gets after a check (see the module docstring)."""
    views = pulse.last_views
    if (
        last is not None
        and last.posted_at is not None
        and elapsed(last.posted_at, now) < UPDATE_WINDOW
    ):
        return Update(last, views) if views > last.shown_views else None
    baseline, since = pulse.quiet_views, pulse.quiet_at
    if last is not None and last.updated_at is not None and _utc(last.updated_at) > _utc(since):
        baseline, since = max(baseline, last.shown_views), last.updated_at
    if views - baseline >= threshold:
        return Post(since, baseline, views)
    return None


def band_of(services: Services, contact_id: str, summary: ActivitySummary) -> Band:
    today = services.clock().date()
    return _band(history(services, contact_id, today), today, summary)


def _band(
    readings: list[tuple[dt.date, ActivitySummary]], today: dt.date, summary: ActivitySummary
) -> Band:
    """The card's band: from the history, or from today's totals before there are two days."""
    return (engagement(readings, today) or provisional_engagement(summary)).band


def usual_every(services: Services, band: str | None) -> dt.timedelta:
    """How often a contact of `band` is checked when the key has room (unknown: as cold)."""
    return dt.timedelta(seconds=usual_interval_s(services.settings.alert_poll_min_s, band))


def check_every(services: Services, band: str | None) -> dt.timedelta:
    """How often a contact of `band` is really checked: the usual interval, stretched when the
    watch set would not fit the poller's share of the key (`activity.poll_budget`)."""
    return usual_every(services, band) * poll_budget(services).factor


def pass_every_s(services: Services) -> float:
    return max(1.0, services.settings.alert_poll_min_s / PASSES_PER_POLL)


# -- what the renderers get --------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveNow:
    """An "Active now" DM: `views` listings viewed since `since` (up to `now`)."""

    watcher_id: str
    contact_id: str
    name: str
    views: int
    since: dt.datetime
    now: dt.datetime
    key: str = ""  # identifies the DM in Slack's message metadata (recovery after a crash)
    listings: tuple[Listing, ...] = ()  # the newest viewed, newest first (empty: not known)
    posted_at: dt.datetime | None = None  # when the DM was first posted (updates: its window)
    opens: int = 0  # e-mails opened during the burst (opted-in "opened" alerts folded in)

    @property
    def minutes(self) -> int:
        return max(1, round(elapsed(self.since, self.now).total_seconds() / 60))

    @property
    def updates_until(self) -> dt.datetime:
        """Until when further views update this DM rather than post a new one."""
        return _utc(self.posted_at or self.now) + UPDATE_WINDOW


@dataclass(frozen=True)
class HeldLine:
    contact_id: str
    name: str
    views: int
    since: dt.datetime
    kind: str = "active"  # or "back", "opened"
    opens: int = 0  # "back", "opened": e-mails opened
    quiet_days: int = 0  # "back": the proven quiet spell


@dataclass(frozen=True)
class HeldSummary:
    """The one DM at the end of quiet hours: the alerts held during them."""

    watcher_id: str
    lines: tuple[HeldLine, ...]
    key: str = ""


Alert = ActiveNow | HeldSummary | BackAgain | EmailOpened


@dataclass(frozen=True)
class WatchLine:
    name: str
    contact_id: str
    band: str | None
    every: dt.timedelta
    snoozed_until: dt.datetime | None
    usual: dt.timedelta | None = None  # set when `every` is stretched (activity.poll_budget)
    source: str = "manual"  # "auto" | "tag:<Tag>" are marked in the list


@dataclass(frozen=True)
class WatchList:
    lines: tuple[WatchLine, ...]
    limit: int = MAX_WATCHES
    paused: bool = False  # the agent's Flexmls access stopped working: nothing is checked


def alert_key_text(key: AlertKey) -> str:
    """A short fingerprint of the delivery key, carried in the DM's metadata."""
    raw = "|".join(key.params())
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


# -- the commands ------------------------------------------------------------------------------


class TooManyWatches(Exception):
    """The agent already watches `MAX_WATCHES` contacts."""


@dataclass(frozen=True)
class Watched:
    line: WatchLine
    new: bool  # False: the contact was already watched
    threshold: int = ACTIVE_VIEWS  # the agent's own views threshold


async def watch(services: Services, access: Access, contact_id: str, name: str) -> Watched:
    """Watch a contact for the agent; reads its activity once (the baseline and the band)."""
    db, now = services.db, services.clock()
    running = _kept_watches(services, access.team_id, access.user_id)
    if contact_id not in running and len(running) >= MAX_WATCHES:
        raise TooManyWatches
    summary = await services.spark.activity_summary(
        access.token, contact_id, on_retry=access.on_retry
    )
    band = _record_check(services, contact_id, summary, now)
    # Checked again after the read, with no await before the insert: concurrent requests
    # can't all pass the first check and together exceed the cap.
    running = _kept_watches(services, access.team_id, access.user_id)
    if contact_id not in running and len(running) >= MAX_WATCHES:
        raise TooManyWatches
    new = add_watch(
        db,
        team_id=access.team_id,
        user_id=access.user_id,
        contact_id=contact_id,
        display_name=name,
        access="workspace" if access.workspace else "own",
        now=now,
    )
    forget(services)  # the watch set changed: the poller's budget is computed afresh
    every = check_every(services, band)
    watch_row = Watch(access.team_id, access.user_id, contact_id, name, now)
    schedule_watch(db, watch_row, checked_at=now, next_check_at=now + every)
    threshold = alert_settings(db, access.team_id, access.user_id).threshold
    line = WatchLine(name, contact_id, band, every, None, usual=_usual(services, band))
    return Watched(line, new, threshold)


def _usual(services: Services, band: str | None) -> dt.timedelta | None:
    """The usual interval of `band` when the real one is stretched, else None."""
    return usual_every(services, band) if poll_budget(services).stretched else None


def _kept_watches(services: Services, team_id: str, user_id: str) -> set[str]:
    """The contacts the agent watches other than automatically (auto watches give way)."""
    watches = active_watches(services.db, team_id, user_id, services.clock())
    return {w.contact_id for w in watches if w.source != "auto"}


def _record_check(
    services: Services, contact_id: str, summary: ActivitySummary, now: dt.datetime
) -> Band:
    record_snapshot(
        services.db, contact_id=contact_id, day=now.date(), counters=to_counters(summary), now=now
    )
    band = band_of(services, contact_id, summary)
    before = get_pulse(services.db, contact_id)
    pulse = observe(before, summary.listings_viewed, now, band)
    seed = _evidence(services, contact_id) if needs_evidence(before) else None
    pulse = observe_kinds(before, pulse, Reading.of(summary), now, seed)
    save_pulse(services.db, contact_id, pulse)
    return band


def _evidence(services: Services, contact_id: str) -> Evidence | None:
    """What every stored snapshot of the contact proves (for the first check's pulse)."""
    rows = snapshot_readings(services.db, contact_id, dt.date.min, services.clock().date())
    return evidence([(recorded_at, to_summary(c)) for _, recorded_at, c in rows])


def watch_list(services: Services, team_id: str, user_id: str) -> WatchList:
    now = services.clock()
    watches = active_watches(services.db, team_id, user_id, now)
    known = bands(services.db, [w.contact_id for w in watches])
    for w in watches:
        if w.contact_id not in known:  # not checked yet (an auto watch, say): from history
            band = _history_band(services, w.contact_id)
            if band is not None:
                known[w.contact_id] = band
    lines = tuple(
        WatchLine(
            w.display_name,
            w.contact_id,
            known.get(w.contact_id),
            check_every(services, known.get(w.contact_id)),
            w.snoozed_until if w.snoozed(now) else None,
            usual=_usual(services, known.get(w.contact_id)),
            source=w.source,
        )
        for w in watches
    )
    return WatchList(lines, paused=agent_pause(services.db, team_id, user_id) is not None)


def _history_band(services: Services, contact_id: str) -> str | None:
    """The band the card shows, from stored snapshots alone (no Flexmls request)."""
    today = services.clock().date()
    readings = history(services, contact_id, today)
    return _band(readings, today, readings[-1][1]) if readings else None


def watched_matching(services: Services, team_id: str, user_id: str, text: str) -> list[Watch]:
    """The agent's own watches `text` names: by contact id, else by name (no Spark request)."""
    watches = active_watches(services.db, team_id, user_id, services.clock())
    by_id = [w for w in watches if w.contact_id == text.strip()]
    if by_id:
        return by_id
    exact = [w for w in watches if fold_name(w.display_name) == fold_name(text)]
    if exact:
        return exact
    return [w for w in watches if loosely_matches(text, Contact(w.contact_id, w.display_name))]


def unwatch(services: Services, team_id: str, user_id: str, contact_id: str) -> bool:
    forget(services)
    return stop_watch(services.db, team_id, user_id, contact_id)


def snooze(services: Services, team_id: str, user_id: str, contact_id: str) -> dt.datetime | None:
    """Snooze the agent's own watch for a day; when it ends, or None if there was no watch."""
    until = services.clock() + SNOOZE
    forget(services)
    return until if snooze_watch(services.db, team_id, user_id, contact_id, until) else None


# -- the pass ----------------------------------------------------------------------------------


class PostFailed(Exception):
    """Slack refused: nothing went out (or, from `find_posted`, Slack can't say now).
    `permanent`: a "no" that asking again won't change (the agent's account is gone, the bot
    can't DM them)."""

    def __init__(self, code: str = "", *, permanent: bool = False) -> None:
        super().__init__(code)
        self.permanent = permanent


class PostUncertain(Exception):
    """Slack could not be reached: the DM may or may not have gone out."""


class AlertPoster(Protocol):
    """Where a pass sends alerts: Slack in the bot, the stand-in in tests."""

    async def post(self, alert: Alert) -> tuple[str, str]:
        """DM the watcher; returns (channel, ts). Raises `PostFailed`."""
        ...

    async def update(
        self, channel: str, ts: str, alert: ActiveNow | BackAgain | EmailOpened
    ) -> None:
        """Update that DM. Raises `PostFailed`."""
        ...

    async def find_posted(
        self, user_id: str, key_text: str, since: dt.datetime
    ) -> tuple[str, str] | None:
        """The (channel, ts) of the DM carrying `key_text`, posted after `since`, if Slack
        has it. Raises `PostFailed` when Slack can't say."""
        ...

    async def tell_paused(self, user_id: str, reason: str) -> None:
        """Tell the agent once that their polling is paused (`reason`: "reconnect")."""
        ...

    async def time_zone(self, user_id: str) -> str | None:
        """The agent's Slack time zone (IANA name), or None when Slack can't say now."""
        ...

    async def full_member(self, team_id: str, user_id: str) -> bool:
        """Whether Slack says the agent is still a full, active member of `team_id` (the only
        people the workspace token reads for); False when Slack can't say."""
        ...


@dataclass
class AlertReport:
    checked: int = 0  # contacts read
    posted: int = 0
    updated: int = 0
    held: int = 0  # alerts decided during their agent's quiet hours
    paused: int = 0  # agents paused in this pass
    unreadable: int = 0
    skipped_not_member: int = 0  # workspace-token watches of someone no longer a full member
    errors: list[str] = field(default_factory=list)


@dataclass
class _Group:
    """One read: a contact, a token, and every due watch it serves."""

    contact_id: str
    token: str
    watches: list[Watch]


async def run_alert_pass(services: Services, poster: AlertPoster) -> AlertReport:
    """One pass: recover crashed posts, read every due watched contact, alert, reschedule."""
    report = AlertReport()
    if not services.settings.alerts_enabled:
        return report
    await recover(services, poster, report)
    await deliver_summaries(services, poster, report)
    groups = await _due_groups(services, poster, report)
    semaphore = asyncio.Semaphore(READ_CONCURRENCY)

    async def one(group: _Group) -> None:
        async with semaphore:
            try:
                await _check(services, poster, group, report)
            except Exception as error:  # one contact must not stop the others
                log.exception("Alert check failed")
                report.errors.append(type(error).__name__)

    await asyncio.gather(*(one(g) for g in groups))
    return report


async def _due_groups(services: Services, poster: AlertPoster, report: AlertReport) -> list[_Group]:
    """The due watches, grouped by (token, contact): one read serves them all."""
    groups: dict[tuple[str, str], _Group] = {}
    tokens: dict[tuple[str, str, str], str | None] = {}
    allowed = reads_allowed(services)
    for w in due_watches(services.db, services.clock()):
        agent = (w.team_id, w.user_id, w.access)
        if agent not in tokens:
            tokens[agent] = await _token_or_failed(services, poster, w, report)
        token = tokens[agent]
        now = services.clock()
        if token == _FAILED:
            # Not this pass (Flexmls' token endpoint down, say): the watch waits a lease
            # instead of heading the queue of every pass; other agents go on.
            claim_check(services.db, w, now=now, until=now + CHECK_LEASE)
            continue
        if token is None:
            continue
        read = (token_key(token), w.contact_id)
        if read not in groups and len(groups) >= allowed:
            continue  # the poller's allowance is spent: due at the next pass (oldest first)
        if not claim_check(services.db, w, now=now, until=now + CHECK_LEASE):
            continue  # another instance's pass is reading it
        groups.setdefault(read, _Group(w.contact_id, token, [])).watches.append(w)
    spend_reads(services, len(groups))
    return list(groups.values())


# `_token_or_failed`: the agent's access could not be worked out this pass.
_FAILED = "\x00no-access"


async def _token_or_failed(
    services: Services, poster: AlertPoster, w: Watch, report: AlertReport
) -> str | None:
    """`_agent_token`, or `_FAILED` when it raised: one agent's trouble (a refresh that can't
    reach Flexmls, a stored connection that no longer decrypts) never stops the pass."""
    try:
        return await _agent_token(services, poster, w, report)
    except Exception as error:
        log.warning("Alert pass: skipping one agent this pass (%s)", type(error).__name__)
        report.errors.append(f"access: {type(error).__name__}")
        return _FAILED


async def _agent_token(
    services: Services, poster: AlertPoster, w: Watch, report: AlertReport
) -> str | None:
    """The token the watch reads with (its agent's own; the workspace token only for a watch
    made with it); None while the agent's polling is paused (told once)."""
    keeper, db = services.keeper, services.db
    try:
        credential = await keeper.own_credential(w.team_id, w.user_id)
        if credential is None and w.access == "workspace":
            credential = keeper.workspace_credential()
            # Like every lookup: the shared token only for someone Slack still calls a full,
            # active member (a guest or a deactivated account reads nothing, silently).
            if credential is not None and not await poster.full_member(w.team_id, w.user_id):
                report.skipped_not_member += 1
                return None
        if credential is None:
            raise NotConnected
    except (NotConnected, RefreshFailed) as error:
        await _pause(services, poster, w.team_id, w.user_id, "", type(error).__name__, report)
        return None
    paused = agent_pause(db, w.team_id, w.user_id)
    if paused is not None:
        if paused.token_key and paused.token_key == token_key(credential.token):
            await _tell_once(services, poster, w.team_id, w.user_id)
            return None  # the token that failed: don't spend requests on it
        resume_agent(db, w.team_id, w.user_id)  # a new connection: polling resumes
    return credential.token


async def _pause(
    services: Services,
    poster: AlertPoster,
    team_id: str,
    user_id: str,
    key: str,
    reason: str,
    report: AlertReport,
) -> None:
    if agent_pause(services.db, team_id, user_id) is None:
        report.paused += 1
    pause_agent(services.db, team_id, user_id, token_key=key, reason=reason, now=services.clock())
    await _tell_once(services, poster, team_id, user_id)


async def _tell_once(services: Services, poster: AlertPoster, team_id: str, user_id: str) -> None:
    if mark_told(services.db, team_id, user_id):
        try:
            await poster.tell_paused(user_id, "reconnect")
        except Exception:
            log.warning("Could not tell an agent their alerts are paused")


_CONNECTION_LOST = (InvalidToken, TokenExpired, RefreshFailed, ConnectionBroken)
_NO_ACCESS = (NotFound, PermissionDenied)


async def _check(
    services: Services, poster: AlertPoster, group: _Group, report: AlertReport
) -> None:
    first = group.watches[0]
    # Its own owner in the key's budget: the poller never uses up an agent's fair share.
    with working_as(Priority.BACKGROUND, f"alerts:{first.team_id}"):
        try:
            summary = await services.spark.activity_summary(group.token, group.contact_id)
        except _CONNECTION_LOST as error:
            for w in group.watches:
                await _pause(services, poster, w.team_id, w.user_id, token_key(group.token),
                             type(error).__name__, report)  # fmt: skip
            return
        except SparkError as error:
            _reschedule(services, group, None, error)
            report.unreadable += 1
            return
    now = services.clock()
    band = _record_check(services, group.contact_id, summary, now)
    report.checked += 1
    pulse = get_pulse(services.db, group.contact_id)
    assert pulse is not None
    _reschedule(services, group, band, None)
    newest = NewestViewed(group.token, group.contact_id, f"alerts:{first.team_id}")
    for w in group.watches:
        if _first_read(services, w, pulse, now):
            continue
        settings = alert_settings(services.db, w.team_id, w.user_id)
        back = await act_back(services, poster, w, pulse, report)
        last = _last_burst(services, w)
        decision = decide(since_watched(pulse, w), last, now, settings.threshold)
        await act(services, poster, w, decision, report, newest)
        if settings.email:
            await act_opened(services, poster, w, pulse, back, report, newest)


@dataclass
class NewestViewed:
    """The contact's newest viewed listings, read at most once per check (and only when a DM
    goes out): the first page, background priority under the poller's owner, the watcher's
    token. Any refusal or delay (429, 403, 1040, a timeout) leaves the DM without them."""

    token: str
    contact_id: str
    owner: str
    _read: tuple[Listing, ...] | None = None

    async def get(self, services: Services) -> tuple[Listing, ...]:
        if self._read is None:
            self._read = await self._fetch(services)
        return self._read

    async def _fetch(self, services: Services) -> tuple[Listing, ...]:
        with working_as(Priority.BACKGROUND, self.owner, max_wait=LISTINGS_WAIT_S / 2):
            try:
                page = await asyncio.wait_for(
                    services.spark.listings(
                        self.token, self.contact_id, "viewed", page=1, limit=LISTING_PAGE_SIZE
                    ),
                    LISTINGS_WAIT_S,
                )
            except (SparkError, TimeoutError) as error:
                log.info("Alert DM without its listings (%s)", type(error).__name__)
                return ()
        return newest_first(page.items)[:NEWEST_SHOWN]


def _first_read(services: Services, w: Watch, pulse: Pulse, now: dt.datetime) -> bool:
    """An auto or tag watch takes its first read (since it began, or since the agent's latest
    lookup) as its baseline: what happened before is not news."""
    if w.source == "manual" or w.baseline_at is not None:
        return False
    set_watch_baseline(
        services.db, w.team_id, w.user_id, w.contact_id, views=pulse.last_views, at=now
    )
    return True


def counts_from(w: Watch) -> dt.datetime:
    """Where the watch's news starts: when it was made, or its baseline (an auto watch's first
    check after the agent's latest lookup), whichever is later."""
    if w.baseline_at is not None and w.baseline_at > w.created_at:
        return w.baseline_at
    return w.created_at


def since_watched(pulse: Pulse, w: Watch) -> Pulse:
    """The pulse as this watch sees it: a contact last quiet before the watch's baseline counts
    from the baseline instead (no alert for views before an auto or tag watch began)."""
    if w.baseline_at is None or w.baseline_views is None or w.baseline_at <= pulse.quiet_at:
        return pulse
    return dataclasses.replace(pulse, quiet_views=w.baseline_views, quiet_at=w.baseline_at)


def _workspace_token(services: Services, token: str) -> bool:
    return (
        bool(services.settings.spark_access_token) and token == services.settings.spark_access_token
    )


def _reschedule(
    services: Services, group: _Group, band: str | None, error: SparkError | None
) -> None:
    """Next check: by the contact's band; cold after a refusal; soon after a hiccup."""
    now = services.clock()
    if error is None:
        every = check_every(services, band)
    elif isinstance(error, _NO_ACCESS):
        every = check_every(services, "cold")  # the agent can't read it (any more): rarely
        if isinstance(error, NotFound) and not _workspace_token(services, group.token):
            # Not in the book of the agent's own account (they connected another one since
            # the lookup): an auto watch was not asked for, so it is forgotten (name and
            # reads). Not on a 403, which may be passing or key-wide (a role, code 1500), nor
            # on the shared workspace token, which reads for everyone.
            for w in group.watches:
                if w.source == "auto":
                    drop_auto_watch(services.db, w.team_id, w.user_id, w.contact_id)
    else:
        every = check_every(services, "hot")  # Flexmls busy or down: try again soon
    for w in group.watches:
        schedule_watch(
            services.db, w, checked_at=now if error is None else None, next_check_at=now + every
        )


async def act(
    services: Services,
    poster: AlertPoster,
    w: Watch,
    decision: Decision,
    report: AlertReport,
    newest: NewestViewed | None = None,
) -> None:
    """Carry out a decision for one watcher: claim and post, or update the DM (with `newest`,
    the contact's newest viewed listings, read only when a DM goes out)."""
    if decision is None:
        return
    now = services.clock()
    if isinstance(decision, Update):
        d = decision.delivery
        if d.channel and d.ts:
            alert = _redraw(w, d, decision.views, now)
            if isinstance(alert, ActiveNow):
                listings = await newest.get(services) if newest else ()
                alert = dataclasses.replace(alert, listings=listings)
            try:
                await poster.update(d.channel, d.ts, alert)
            except PostFailed as error:
                report.errors.append(f"update: {error}")
                return
            record_alert_update(services.db, d.key, shown_views=decision.views, now=now)
            report.updated += 1
        else:
            raise_held(services.db, d.key, shown_views=decision.views)  # held: the summary shows it
        return
    key = AlertKey(w.team_id, w.user_id, w.contact_id, decision.window_start)
    if await _quiet_now(services, poster, w.team_id, w.user_id):
        _hold(services, w, key, decision, report)
        return
    if not _claim_post(services, w, key, decision, now):
        return  # posted already, or another pass holds it
    alert = _alert(w.display_name, key, decision.baseline_views, decision.views, now)
    if newest is not None:  # read under the claim, before "posting": the DM waits for nothing
        alert = dataclasses.replace(alert, listings=await newest.get(services))
    if not mark_alert_posting(services.db, key, claimed_at=now, now=now):
        return
    await _post(services, poster, key, alert, report)


def _redraw(
    w: Watch, d: AlertDelivery, views: int, now: dt.datetime
) -> ActiveNow | BackAgain | EmailOpened:
    """The posted DM `d` as it reads with `views` now: an "Active now" (its window counted from
    when it was first posted), or the "back" or "opened" DM the ledger record says."""
    if d.key.kind != ACTIVE:
        return kind_alert(d, alert_key_text(d.key), views)
    drawn = _alert(w.display_name, d.key, d.baseline_views, views, now, d.opens)
    return dataclasses.replace(drawn, posted_at=d.posted_at)


def _alert(
    name: str, key: AlertKey, baseline: int, views: int, now: dt.datetime, opens: int = 0
) -> ActiveNow:
    return ActiveNow(
        watcher_id=key.user_id,
        contact_id=key.contact_id,
        name=name,
        views=views - baseline,
        since=key.window_start,
        now=now,
        key=alert_key_text(key),
        opens=opens,
    )


async def _post(
    services: Services, poster: AlertPoster, key: AlertKey, alert: Alert, report: AlertReport
) -> None:
    try:
        channel, ts = await poster.post(alert)
    except PostFailed as error:
        report.errors.append(f"post: {error}")
        if error.permanent:
            # Asking again won't help: the alert is closed, not retried every pass (the next
            # burst is a new alert; a refused summary drops what it held).
            complete_alert(services.db, key, channel=None, ts=None, outcome="refused",
                           now=services.clock())  # fmt: skip
            _finish_summary(services, key)
            return
        # Slack said no for now: nothing went out, so a later pass may try again.
        release_alert(services.db, key)
        return
    except PostUncertain as error:
        # It may have got there: the claim stays "posting" and `recover` asks Slack later.
        report.errors.append(f"post: {error}")
        return
    complete_alert(services.db, key, channel=channel, ts=ts, outcome="posted", now=services.clock())
    report.posted += 1


async def recover(services: Services, poster: AlertPoster, report: AlertReport) -> None:
    """Posts whose pass died between "posting" and recording: if Slack has the DM, record it;
    if not, send it once more (never twice); if Slack can't say, ask again next pass."""
    for d in stale_posts(services.db, services.clock(), owner_alive):
        try:
            await _recover_one(services, poster, d, report)
        except Exception as error:  # one broken record must not stop the pass
            log.exception("Recovering an alert post failed")
            report.errors.append(type(error).__name__)


async def _recover_one(
    services: Services, poster: AlertPoster, d: AlertDelivery, report: AlertReport
) -> None:
    now = services.clock()
    key_text = alert_key_text(d.key)
    assert d.posting_at is not None
    try:
        found = await poster.find_posted(d.key.user_id, key_text, d.posting_at)
    except PostFailed:
        return
    if found is not None:
        complete_alert(services.db, d.key, channel=found[0], ts=found[1], outcome="posted", now=now)
        _finish_summary(services, d.key)
        return
    if d.resent:
        # Its one resend is uncertain too and Slack still doesn't show it: stop asking.
        complete_alert(services.db, d.key, channel=None, ts=None, outcome="lost", now=now)
        return
    if not await _may_still_hear(services, poster, d.key.team_id, d.key.user_id):
        # Since the crash: alerts turned off, or no longer a full member. Not resent.
        complete_alert(services.db, d.key, channel=None, ts=None, outcome="dropped", now=now)
        return
    if not mark_resent(services.db, d.key, now=now):
        return
    if d.key.kind == SUMMARY:
        await _post(services, poster, d.key, _summary(services, d.key), report)
        _finish_summary(services, d.key)
        return
    if d.key.kind in (BACK, OPENED):
        await _post(services, poster, d.key, kind_alert(d, key_text), report)
        return
    alert = _alert(d.display_name, d.key, d.baseline_views, d.shown_views, now, d.opens)
    await _post(services, poster, d.key, alert, report)


# -- "back" and "opened" (activity.alert_kinds) -------------------------------------------------


async def act_back(
    services: Services, poster: AlertPoster, w: Watch, pulse: Pulse, report: AlertReport
) -> BackDecision | None:
    """The "back" DM a check calls for (once); decided before "Active now", which defers to it."""
    back = decide_back(pulse, counts_from(w), services.clock())
    if back is not None:
        key = AlertKey(w.team_id, w.user_id, w.contact_id, back.window_start, BACK)
        await _send_kind(services, poster, w, key, back.baseline_views, back.views, back.opens,
                         back.spell_end, report)  # fmt: skip
    return back


async def act_opened(
    services: Services,
    poster: AlertPoster,
    w: Watch,
    pulse: Pulse,
    back: BackDecision | None,
    report: AlertReport,
    newest: NewestViewed | None = None,
) -> None:
    """The opted-in "opened" DM, decided last: one seen at the check of a "back" DM is in it
    already, and one within `UPDATE_WINDOW` of another alert DM about the contact (an "Active
    now" of this very check, say, or a mail app opening e-mails again and again) is folded into
    that DM: its opens go on it (updated in Slack, or in the summary while it is held), and the
    "opened" record is kept as "folded", so the agent hears of the open once, in one DM."""
    opened = decide_opened(pulse, counts_from(w), services.clock())
    if opened is None or (back is not None and back.spell_end == opened.window_start):
        return
    key = AlertKey(w.team_id, w.user_id, w.contact_id, opened.window_start, OPENED)
    if alert_delivery(services.db, key) is not None:
        return  # decided at an earlier check
    now = services.clock()
    into = latest_kept(services.db, w.team_id, w.user_id, w.contact_id, (ACTIVE, BACK, OPENED))
    if into is None or into.outcome == "summarized" or not _within_window(into, now):
        await _send_kind(services, poster, w, key, 0, 0, opened.opens, None, report)
        return
    if not claim_alert(services.db, key, display_name=w.display_name, baseline_views=0,
                       shown_views=0, now=now, owner=process_owner(), owner_alive=owner_alive,
                       opens=opened.opens):  # fmt: skip
        return
    complete_alert(services.db, key, channel=None, ts=None, outcome="folded", now=now)
    add_opens(services.db, into.key, opened.opens)
    await _redraw_opens(services, poster, w, into.key, report, newest)


def _within_window(d: AlertDelivery, now: dt.datetime) -> bool:
    """Whether `d` still takes more of its burst: the 4 hours its DM says (from when it was
    posted, as `decide` counts them; held or still being posted: from its claim), not from its
    latest update, or an open long after the DM would only edit it and never notify."""
    return elapsed(d.posted_at or d.claimed_at, now) < UPDATE_WINDOW


async def _redraw_opens(
    services: Services,
    poster: AlertPoster,
    w: Watch,
    key: AlertKey,
    report: AlertReport,
    newest: NewestViewed | None,
) -> None:
    """The DM that took the opens, updated in Slack when it is there (a held one shows them in
    the summary; one still being posted gets them if it is resent). An "Active now" keeps its
    newest viewed listings: the update replaces the whole message."""
    d = alert_delivery(services.db, key)
    if d is None or not (d.channel and d.ts):
        return
    alert = _redraw(w, d, d.shown_views, services.clock())
    if isinstance(alert, ActiveNow) and newest is not None:
        alert = dataclasses.replace(alert, listings=await newest.get(services))
    try:
        await poster.update(d.channel, d.ts, alert)
    except PostFailed as error:
        report.errors.append(f"update: {error}")
        return
    report.updated += 1


async def _send_kind(
    services: Services,
    poster: AlertPoster,
    w: Watch,
    key: AlertKey,
    baseline_views: int,
    views: int,
    opens: int,
    spell_end: dt.datetime | None,
    report: AlertReport,
) -> None:
    """Claim the DM (once), then post it, or hold it during quiet hours."""
    db, now = services.db, services.clock()
    known = alert_delivery(db, key)
    if known is not None and (known.state == "delivered" or known.posting_at is not None):
        return  # decided at an earlier check (or by another instance)
    quiet = await _quiet_now(services, poster, w.team_id, w.user_id)
    if not claim_alert(db, key, display_name=w.display_name, baseline_views=baseline_views,
                       shown_views=views, now=now, owner=process_owner(), owner_alive=owner_alive,
                       opens=opens, spell_end=spell_end):  # fmt: skip
        return
    if quiet:
        complete_alert(db, key, channel=None, ts=None, outcome="held", now=now)
        report.held += 1
        return
    claimed = alert_delivery(db, key)
    if claimed is not None and mark_alert_posting(db, key, claimed_at=now, now=now):
        await _post(services, poster, key, kind_alert(claimed, alert_key_text(key)), report)


def _counted_from(listed: AlertDelivery) -> AlertDelivery:
    """An alert a quiet-hours summary listed: nothing left to update, but a new burst counts
    from what the summary showed (`decide`'s baseline and window start), not from before it."""
    return replace(listed, posted_at=None, updated_at=listed.updated_at or listed.claimed_at)


def _newer_summarized(listed: AlertDelivery | None, posted: AlertDelivery | None) -> bool:
    """Whether `listed` went out in a summary after the newest posted DM (or with none)."""
    if listed is None or listed.outcome != "summarized":
        return False
    return posted is None or posted.posted_at is None or listed.claimed_at > posted.posted_at


def _last_burst(services: Services, w: Watch) -> AlertDelivery | None:
    """The DM an "Active now" counts from or updates: the newest "active" one, or a newer
    "back" one (posted, held, or being posted: then counted from its claim; summarized: only
    counted from)."""
    db = services.db
    active = latest_alert(db, w.team_id, w.user_id, w.contact_id)
    listed = latest_kept(db, w.team_id, w.user_id, w.contact_id, (ACTIVE,))
    if _newer_summarized(listed, active):
        assert listed is not None
        active = _counted_from(listed)  # a burst going on after the summary gets a DM
    back = latest_back(db, w.team_id, w.user_id, w.contact_id)
    if back is None:
        return active
    if back.outcome == "summarized":
        back = _counted_from(back)
    else:
        back = replace(back, posted_at=back.posted_at or back.claimed_at)
    if active is None or active.posted_at is None or back.claimed_at > active.posted_at:
        return back
    return active


# -- quiet hours -------------------------------------------------------------------------------

SUMMARY = "summary"  # the ledger kind of the one DM that ends quiet hours


async def _quiet_now(services: Services, poster: AlertPoster, team_id: str, user_id: str) -> bool:
    """Whether the agent's quiet hours are on now. When Slack can't say which zone they are in,
    count it as quiet: an alert is held rather than sent at night, a summary waits a pass."""
    settings = alert_settings(services.db, team_id, user_id)
    if not settings.quiet:
        return False
    zone = await poster.time_zone(user_id)
    return zone is None or in_quiet_hours(settings, zone, services.clock())


def _claim_post(
    services: Services, w: Watch, key: AlertKey, decision: Post, now: dt.datetime
) -> bool:
    """Claim an "Active now" DM for this pass at `now`, the time the caller later marks the
    claim with (False: decided already, or another pass has it)."""
    return claim_alert(services.db, key, display_name=w.display_name,
                       baseline_views=decision.baseline_views, shown_views=decision.views,
                       now=now, owner=process_owner(), owner_alive=owner_alive)  # fmt: skip


def _hold(services: Services, w: Watch, key: AlertKey, decision: Post, report: AlertReport) -> None:
    """Quiet hours: the alert is recorded (once) for the summary, not posted."""
    now = services.clock()
    if _claim_post(services, w, key, decision, now):
        complete_alert(services.db, key, channel=None, ts=None, outcome="held", now=now)
        report.held += 1
    else:
        raise_held(services.db, key, shown_views=decision.views)


async def deliver_summaries(services: Services, poster: AlertPoster, report: AlertReport) -> None:
    """Agents whose quiet hours are over get one DM listing what was held (exactly once: a
    ledger entry keyed by the newest held alert, which no later alert joins before it goes)."""
    for team_id, user_id in held_agents(services.db):
        try:
            if await _quiet_now(services, poster, team_id, user_id):
                continue
            held = held_alerts(services.db, team_id, user_id)
            if not held:
                continue
            newest = max(d.claimed_at for d in held)
            if not await _may_still_hear(services, poster, team_id, user_id):
                # Alerts turned off, or no longer someone the bot serves: the held alerts
                # are dropped, not summarised to them later.
                mark_summarized(services.db, team_id, user_id, newest)
                continue
            key = AlertKey(team_id, user_id, "", newest, SUMMARY)
            await _send_summary(services, poster, key, report)
        except Exception as error:  # one agent must not stop the others
            log.exception("Quiet-hours summary failed")
            report.errors.append(type(error).__name__)


async def _may_still_hear(
    services: Services, poster: AlertPoster, team_id: str, user_id: str
) -> bool:
    """Alerts still on for the agent, and Slack still says they are a full member."""
    if not alert_settings(services.db, team_id, user_id).enabled:
        return False
    return await poster.full_member(team_id, user_id)


async def _send_summary(
    services: Services, poster: AlertPoster, key: AlertKey, report: AlertReport
) -> None:
    now = services.clock()
    summary = _summary(services, key)
    claimed = claim_alert(
        services.db,
        key,
        display_name="",
        baseline_views=0,
        shown_views=len(summary.lines),
        now=now,
        owner=process_owner(),
        owner_alive=owner_alive,
    )
    if claimed and mark_alert_posting(services.db, key, claimed_at=now, now=now):
        await _post(services, poster, key, summary, report)
    _finish_summary(services, key)


def _summary(services: Services, key: AlertKey) -> HeldSummary:
    held = held_alerts(services.db, key.team_id, key.user_id, up_to=key.window_start)
    lines = tuple(
        HeldLine(d.key.contact_id, d.display_name, d.shown_views - d.baseline_views,
                 d.key.window_start, d.key.kind, d.opens,
                 quiet_days(d.key.window_start, d.spell_end))
        for d in held
    )  # fmt: skip
    return HeldSummary(key.user_id, lines, alert_key_text(key))


def _finish_summary(services: Services, key: AlertKey) -> None:
    """Once the summary is in Slack, the alerts it listed are no longer held."""
    if key.kind != SUMMARY:
        return
    done = alert_delivery(services.db, key)
    if done is not None and done.state == "delivered":
        mark_summarized(services.db, key.team_id, key.user_id, key.window_start)


__all__: Sequence[str] = (
    "ACTIVE_VIEWS",
    "ActiveNow",
    "AlertPoster",
    "AlertReport",
    "MAX_WATCHES",
    "PostFailed",
    "TooManyWatches",
    "WatchLine",
    "WatchList",
    "decide",
    "observe",
    "run_alert_pass",
    "watch",
    "watch_list",
)
