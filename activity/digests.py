"""Morning digests: subscriptions, gathering under the rate limit, and exactly-once delivery.

A pass (every minute in the running bot, or `python bot.py digest --now` from cron) looks at
every subscription. One is due when its local time today (in its IANA zone, so DST moves the
UTC time, not the local one) has passed and today's local date has no delivery yet; a bot that
was down at 08:00 posts when it comes back, marked late, if it is still the same local day.

Exactly once, across restarts, crashes and a second instance: a pass first *claims* the
(subscription, local date) with a lease (`claim_due`); it asks Slack and gathers
(`check_and_gather`); it marks the claim "posting"; it posts and records the delivery
(`post_and_record`). A claim whose holder died before "posting" is taken over when the lease
runs out (or at once, when its process is known to be gone: `storage.leases`), so the day is
not skipped; one that died after "posting" is never taken over, since that digest may be in
the channel already.

Who and where are checked again before every delivery, not only at `digest add`: the poster
asks Slack (`Poster.refusal`) whether the subscriber is still an active member (a guest only
with their own connection) and whether the channel still passes `target_refusal`. A refusal
skips the day (recorded, so later passes that day leave it alone) and tells the subscriber;
when Slack can't answer, the claim is released and a later pass asks again. Nothing is read
from Flexmls for a digest that won't be posted.

The core speaks in reasons (`Refusal`), never in sentences: the handler words them
(`handlers.digest_args`), the poster turns Slack's answers into `PostFailed` and reasons
(`handlers.poster`), and `blocks.digest` renders the `Digest` this module composes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from activity.auth import NotConnected
from activity.lookup import history, to_counters
from activity.models import Digest, DigestEntry
from activity.scoring import (
    MONTH_DAYS,
    WEEK_DAYS,
    Engagement,
    History,
    change_since,
    difference,
    engagement,
)
from activity.services import Services
from spark import (
    ActivitySummary,
    BadFilter,
    BadRequest,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    SparkError,
    SparkUnavailable,
    TokenExpired,
)
from spark.budget import Priority, working_as
from storage import (
    Subscription,
    add_subscription,
    all_subscriptions,
    claim_delivery,
    complete_delivery,
    delivery,
    encode_entries,
    list_subscriptions,
    mark_posting,
    owner_alive,
    posted_digest,
    process_owner,
    record_snapshot,
    release_delivery,
)
from storage.lookups import lookups_since

RECENT_DAYS = MONTH_DAYS  # a "recent" digest covers the contacts looked up in this window
MAX_SCOPE = 5000
GATHER_CONCURRENCY = 16
LATE_AFTER = dt.timedelta(minutes=15)
DEFAULT_TIME = "08:00"
RESUME_AFTER_S = 1.0  # pause before re-reading contacts Flexmls failed on
MOVEMENT = 3.0  # score points that count as heating up / cooling off
SHOWN_IN_LISTS = 5
MAX_PER_USER = 10  # digests one person may have in a team
# A public or private channel's id (C…, or G… for older private channels).
CHANNEL_ID_RE = re.compile(r"[CG][A-Z0-9]{2,20}")
# A direct message's id: a private digest goes to the subscriber's own DM with the bot.
DM_ID_RE = re.compile(r"D[A-Z0-9]{2,20}")

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Refusal(StrEnum):
    """Why a digest can't be added, or why today's doesn't go out (the handler words it)."""

    # The channel (`target_refusal`), at `digest add` and before every delivery.
    NOT_A_CHANNEL = "not_a_channel"
    INVITE_FIRST = "invite_first"
    NOT_LISTED = "not_listed"
    ARCHIVED = "archived"
    SLACK_CONNECT = "slack_connect"
    NOT_MEMBER = "not_member"
    NOT_YOUR_DM = "not_your_dm"  # a DM, but not the subscriber's own with the bot
    # The subscriber (`subscriber_refusal`), before every delivery.
    SUBSCRIBER_GONE = "subscriber_gone"
    SUBSCRIBER_OUTSIDE = "subscriber_outside"
    GUEST = "guest"
    UNCHECKED = "unchecked"  # Slack wouldn't answer the checks (the poster says so)
    # Their Flexmls access, found out while gathering.
    RECONNECT = "reconnect"
    ROLE = "role"
    # `subscribe` only.
    NEEDS_OWN_CONNECTION = "needs_own_connection"  # a whole book read with the workspace token
    TOO_MANY = "too_many"  # MAX_PER_USER reached
    BAD_SCHEDULE = "bad_schedule"  # time, zone, channel or scope refused by storage (`detail`)
    UNKNOWN_TAG = "unknown_tag"  # no contact has that tag (`choices`: the tags that exist)


CHANNEL_REFUSALS = frozenset(
    {
        Refusal.NOT_A_CHANNEL,
        Refusal.INVITE_FIRST,
        Refusal.NOT_LISTED,
        Refusal.ARCHIVED,
        Refusal.SLACK_CONNECT,
        Refusal.NOT_MEMBER,
        Refusal.NOT_YOUR_DM,
    }
)
# Refusals about a subscriber nobody can tell any more: the day is skipped quietly.
QUIET_REFUSALS = frozenset({Refusal.SUBSCRIBER_GONE, Refusal.SUBSCRIBER_OUTSIDE})


class DigestRefused(Exception):
    """`subscribe` won't store the digest: `reason` says why (`detail`: storage's own words;
    `choices`: what would have been accepted, e.g. the tags that exist)."""

    def __init__(self, reason: Refusal, detail: str = "", choices: tuple[str, ...] = ()) -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
        self.detail = detail
        self.choices = choices


class ConnectionLost(Exception):
    """Every contact failed because the subscriber's Flexmls access stopped working."""


class RoleMissing(Exception):
    """Every contact failed because the subscriber's key lacks the Private role."""


@dataclass(frozen=True)
class TargetChannel:
    """What Slack says about the channel a digest would go to (the handler asks Slack)."""

    channel_id: str
    is_channel: bool  # a public or private channel; False for a DM or a group DM
    is_private: bool
    is_archived: bool
    bot_is_member: bool
    user_is_member: bool  # the person adding the digest
    slack_connect: bool  # shared with another organisation, or an invitation to share pending
    # A DM: whose DM with the bot it is, as Slack's `conversations.open` says (None otherwise).
    dm_of: str | None = None


@dataclass(frozen=True)
class Subscriber:
    """What Slack says about a digest's subscriber at delivery time (the poster asks Slack)."""

    user_id: str
    team_id: str  # the person's home team
    deleted: bool  # deactivated
    stranger: bool  # from another organisation, seen through a Slack Connect channel
    guest: bool  # a multi- or single-channel guest


# -- who and where ------------------------------------------------------------------------------


def is_channel_id(channel_id: str) -> bool:
    """True for a public or private channel's id (C…, or G… for older private channels);
    False for a DM (D…), a user (U…/W…) or anything else."""
    return CHANNEL_ID_RE.fullmatch(channel_id) is not None


def is_dm_id(channel_id: str) -> bool:
    """True for a direct message's id (D…)."""
    return DM_ID_RE.fullmatch(channel_id) is not None


def target_refusal(
    services: Services,
    channel_id: str,
    target: TargetChannel | None,
    *,
    subscriber_id: str | None = None,
) -> Refusal | None:
    """Why a digest must not go to `channel_id`, or None if it may.

    The same rules hold when a digest is added and before every delivery. `target` is None
    when Slack doesn't show the channel to the bot: it doesn't exist, or it is private and the
    bot isn't in it (Slack answers `channel_not_found` for both). A DM is allowed only when it
    is `subscriber_id`'s own DM with the bot (`TargetChannel.dm_of`), never anyone else's.
    """
    if is_dm_id(channel_id):
        return _dm_refusal(channel_id, target, subscriber_id)
    if not is_channel_id(channel_id) or (target is not None and not target.is_channel):
        return Refusal.NOT_A_CHANNEL
    if target is None or (target.is_private and not target.bot_is_member):
        return Refusal.INVITE_FIRST
    allowed = services.settings.digest_channels
    if allowed and channel_id not in allowed:
        return Refusal.NOT_LISTED
    if target.is_archived:
        return Refusal.ARCHIVED
    if target.slack_connect and channel_id not in allowed:
        return Refusal.SLACK_CONNECT
    if not target.user_is_member:
        return Refusal.NOT_MEMBER
    return None


def _dm_refusal(
    channel_id: str, target: TargetChannel | None, subscriber_id: str | None
) -> Refusal | None:
    if target is None or target.channel_id != channel_id or target.is_channel:
        return Refusal.NOT_YOUR_DM
    if not subscriber_id or target.dm_of != subscriber_id:
        return Refusal.NOT_YOUR_DM
    return None


def subscriber_refusal(
    subscription: Subscription, subscriber: Subscriber | None, *, workspace_token: bool
) -> Refusal | None:
    """Why the subscriber's digest must not go out today, or None if it may.

    Only active members of the subscription's team are served; a guest only with their own
    Flexmls connection (`workspace_token` is True when the digest would read with the
    workspace-wide token). `subscriber` is None when Slack doesn't know the person any more.
    """
    if subscriber is None or subscriber.deleted:
        return Refusal.SUBSCRIBER_GONE
    if subscriber.stranger or subscriber.team_id != subscription.team_id:
        return Refusal.SUBSCRIBER_OUTSIDE
    if subscriber.guest and workspace_token:
        return Refusal.GUEST
    return None


def subscribe(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    target: TargetChannel | None,
    channel_id: str,
    local_time: str | None,
    scope: str,
    timezone: str,
    own_connection: bool,
) -> Subscription:
    """Store the subscription; raises `DigestRefused` for a refused channel, time or zone,
    past the per-person limit, or for a whole-book scope read without the person's own access.

    `target` is what Slack says about `channel_id` (see `target_refusal`); `own_connection` is
    True when the subscriber reads Flexmls with their own connection, not the workspace token.
    `local_time` None is `DEFAULT_TIME`.
    """
    refusal_before_reading(
        services,
        channel_id=channel_id,
        target=target,
        user_id=user_id,
        scope=scope,
        own_connection=own_connection,
    )
    # No await from the count to the insert: two commands can't both take the last place.
    if len(list_subscriptions(services.db, team_id, user_id)) >= MAX_PER_USER:
        raise DigestRefused(Refusal.TOO_MANY)
    try:
        return add_subscription(
            services.db,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            local_time=local_time or DEFAULT_TIME,
            timezone=timezone,
            scope=scope,
            now=services.clock(),
        )
    except ValueError as error:
        raise DigestRefused(Refusal.BAD_SCHEDULE, str(error)) from None


def refusal_before_reading(
    services: Services,
    *,
    channel_id: str,
    target: TargetChannel | None,
    user_id: str,
    scope: str,
    own_connection: bool,
) -> None:
    """Raise `DigestRefused` for what can be refused without asking Flexmls: the channel,
    and a whole book read without the person's own access."""
    refused = target_refusal(services, channel_id, target, subscriber_id=user_id)
    if refused is not None:
        raise DigestRefused(refused)
    if services.oauth is not None and scope != "recent" and not own_connection:
        raise DigestRefused(Refusal.NEEDS_OWN_CONNECTION)


@dataclass(frozen=True)
class CheckedScope:
    """A scope as it will be stored: a tag in Flexmls's own spelling, or unchecked (`why`)."""

    scope: str
    # "forbidden": the key may not list tags; "unavailable": Flexmls didn't answer now.
    unchecked: str | None = None


# What Flexmls answers when the key may not list tags (403) or the request is refused
# (400/1040, 404 where the endpoint is missing): the tag is accepted unchecked.
_TAGS_FORBIDDEN = (PermissionDenied, BadFilter, BadRequest, NotFound)
# Flexmls busy or down: the tag is accepted unchecked too (the digest pass retries its own
# reads); refusing would make `digest add` fail for as long as the outage lasts.
_TAGS_UNANSWERED = (RateLimited, SparkUnavailable)


def _same_tag(tag: str) -> str:
    return " ".join(tag.split()).casefold()


async def check_scope(services: Services, token: str, scope: str) -> CheckedScope:
    """A `tag:<Tag>` scope checked against the tags that exist (`GET /contacts/tags`: one
    request at the caller's priority); raises `DigestRefused(UNKNOWN_TAG)` listing them.

    Other scopes pass unchanged, without a request. When Flexmls won't list tags for this key
    (403, 400/1040, 404), or is busy or down, the tag is accepted as typed, marked unchecked;
    a token that stopped working is raised for the caller to explain.
    """
    kind, _, wanted = scope.partition(":")
    if kind.casefold() != "tag":
        return CheckedScope(scope)
    try:
        tags = await services.spark.contact_tags(token)
    except _TAGS_FORBIDDEN:
        return CheckedScope(scope, unchecked="forbidden")
    except _TAGS_UNANSWERED:
        return CheckedScope(scope, unchecked="unavailable")
    match = next((t for t in tags if t == wanted.strip()), None) or next(
        (t for t in tags if _same_tag(t) == _same_tag(wanted)), None
    )
    if match is None:
        raise DigestRefused(Refusal.UNKNOWN_TAG, wanted.strip(), choices=tags)
    return CheckedScope("tag:" + match)


def cursor_key(services: Services) -> bytes:
    """The key that signs digest "More" buttons, derived from the bot's secret key."""
    if not services.secret_key:
        raise ValueError("the bot has no secret key to sign digest buttons with")
    return hmac.new(services.secret_key, b"digest-cursor", hashlib.sha256).digest()


# -- when ------------------------------------------------------------------------------------


def schedule_for(subscription: Subscription, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """(local date today, when today's digest is due, in UTC) for the subscription's zone."""
    zone = zoneinfo.ZoneInfo(subscription.timezone)
    local_date = now.astimezone(zone).date()
    hour, minute = (int(part) for part in subscription.local_time.split(":"))
    wall = dt.datetime.combine(local_date, dt.time(hour, minute), tzinfo=zone)
    # A wall time inside a spring-forward gap doesn't exist; the round trip moves it past the gap.
    return local_date, wall.astimezone(dt.UTC).astimezone(zone).astimezone(dt.UTC)


# -- gathering ---------------------------------------------------------------------------------


async def scope_contacts(
    services: Services, subscription: Subscription, token: str, *, limit: int = MAX_SCOPE
) -> list[tuple[str, str]]:
    """(contact id, name) of every contact the subscription covers, each once, at most
    `limit`: "recent" is every contact the subscriber looked up in the last 30 days."""
    if subscription.scope == "recent":
        since = services.clock() - dt.timedelta(days=RECENT_DAYS)
        rows = lookups_since(
            services.db, subscription.team_id, subscription.user_id, since, limit=limit
        )
        return [(r.contact_id, r.display_name) for r in rows]
    spark = services.spark
    if subscription.scope == "all":
        pages = spark.iter_pages(lambda n: spark.list_contacts(token, page=n))
    else:
        tag = subscription.scope.split(":", 1)[1]
        pages = spark.iter_pages(lambda n: spark.contacts_with_tag(token, tag, page=n))
    found: dict[str, str] = {}  # a contact that moves between pages while we read comes once
    async for contact in pages:
        found.setdefault(contact.id, contact.display_name)
        if len(found) >= limit:
            break
    return list(found.items())


def _entry(services: Services, contact_id: str, name: str, summary: ActivitySummary) -> DigestEntry:
    today = services.clock().date()
    record_snapshot(
        services.db,
        contact_id=contact_id,
        day=today,
        counters=to_counters(summary),
        now=services.clock(),
    )
    past = history(services, contact_id, today)
    earlier = [(d, s) for d, s in past if d < today]
    previous = engagement(earlier, today - dt.timedelta(days=1)) if earlier else None
    return DigestEntry(
        contact_id=contact_id,
        name=name,
        summary=summary,
        day=change_since(past, today, 1),
        week=week_so_far(past, today),
        engagement=engagement(past, today),
        previous_score=previous.score if previous else None,
    )


def week_so_far(past: History, today: dt.date) -> ActivitySummary | None:
    """What the contact did in the last 7 days, from what we have: the change over 7 days, or,
    while our snapshots are younger than that, since the oldest one this week (a lower bound:
    it all happened in the last 7 days). None with no snapshot before today."""
    exact = change_since(past, today, WEEK_DAYS)
    if exact is not None:
        return exact
    cutoff = today - dt.timedelta(days=WEEK_DAYS)
    this_week = [summary for day, summary in past if cutoff <= day < today]
    return difference(past[-1][1], this_week[0]) if this_week else None


def activity_points(change: ActivitySummary) -> float:
    """`change` in the score's own points, as if it all happened today (`activity.scoring`
    decides what counts and how much): ranks contacts before there is a score."""
    today = dt.date(2000, 1, 2)
    scored = engagement([(today - dt.timedelta(days=1), ActivitySummary()), (today, change)], today)
    return scored.score if scored is not None else 0.0


def first_day_rank(entry: DigestEntry) -> tuple[int, float]:
    """Sort key, best first, from what we have: activity in the last 7 days where we know it,
    then contacts we know only by their totals so far, then those quiet all week."""
    if entry.week is not None:
        points = activity_points(entry.week)
        if points > 0:
            return (0, -points)
        return (2, -activity_points(entry.summary))
    return (1, -activity_points(entry.summary))


def score_rank(entry: DigestEntry) -> tuple[int, float, int, float]:
    """Sort key for "who to call today": by score, best first; contacts without a score yet
    after them, as on a first day."""
    if entry.engagement is not None:
        return (0, -entry.engagement.score, 0, -entry.movement)
    tier, points = first_day_rank(entry)
    return (1, 0.0, tier, points)


async def read_summaries(
    services: Services,
    token: str,
    contact_ids: list[str],
    *,
    progress: Progress | None = None,
    concurrency: int = GATHER_CONCURRENCY,
) -> list[ActivitySummary | BaseException]:
    """Every contact's activity summary, fetched concurrently under the key's Spark budget.

    Results line up with `contact_ids`; a contact that can't be read gives its exception.
    """
    semaphore = asyncio.Semaphore(concurrency)
    done = 0

    async def read(contact_id: str) -> ActivitySummary:
        nonlocal done
        async with semaphore:
            try:
                return await services.spark.activity_summary(token, contact_id)
            finally:
                done += 1
                if progress is not None:
                    progress(done, len(contact_ids))

    return await asyncio.gather(*(read(cid) for cid in contact_ids), return_exceptions=True)


async def read_with_second_chance(
    services: Services, token: str, contact_ids: list[str], *, progress: Progress | None = None
) -> list[ActivitySummary | BaseException]:
    """`read_summaries`, then one more go at the contacts Flexmls hiccuped on (a retryable
    error) when others were read, after a short pause."""
    results = await read_summaries(services, token, contact_ids, progress=progress)
    missed = [i for i, r in enumerate(results) if isinstance(r, SparkError) and r.retryable]
    if missed and len(missed) < len(results):
        await asyncio.sleep(RESUME_AFTER_S)
        again = await read_summaries(services, token, [contact_ids[i] for i in missed])
        for i, result in zip(missed, again, strict=True):
            results[i] = result
    return results


def _nobody_read(failures: list[SparkError]) -> Exception:
    """What it means that Flexmls gave us no contact at all."""
    if all(isinstance(f, PermissionDenied) for f in failures):
        return RoleMissing()
    if all(isinstance(f, (InvalidToken, TokenExpired, RefreshFailed)) for f in failures):
        return ConnectionLost()
    # An outage, not a digest: the pass releases the claim and a later one retries.
    return failures[0]


async def gather(
    services: Services,
    subscription: Subscription,
    token: str,
    *,
    local_date: dt.date,
    late: bool,
    progress: Progress | None = None,
) -> Digest:
    """Read every contact in scope (concurrently, under the key's Spark budget) and compose."""
    contacts = await scope_contacts(services, subscription, token)
    return await _read_and_compose(
        services, subscription, token, contacts, local_date=local_date, late=late, progress=progress
    )


# A preview reads every contact while someone waits: small, and as background work, so it
# never takes the share of the key's budget kept for people's lookups.
PREVIEW_MAX_CONTACTS = 25


class TooBigToPreview(Exception):
    """The digest covers more than `PREVIEW_MAX_CONTACTS` contacts."""


async def preview(
    services: Services, subscription: Subscription, token: str, *, local_date: dt.date
) -> Digest:
    """The digest `subscription` would post now, read with `token`, for its subscriber to see
    (nothing is posted or recorded). Raises `TooBigToPreview` before reading anything when the
    scope holds more than `PREVIEW_MAX_CONTACTS` contacts."""
    contacts = await scope_contacts(
        services, subscription, token, limit=PREVIEW_MAX_CONTACTS + 1
    )  # at most a few pages of contacts are listed to find that out
    if len(contacts) > PREVIEW_MAX_CONTACTS:
        raise TooBigToPreview
    with working_as(Priority.BACKGROUND, f"{subscription.team_id}:{subscription.user_id}"):
        return await _read_and_compose(
            services, subscription, token, contacts, local_date=local_date, late=False
        )


async def _read_and_compose(
    services: Services,
    subscription: Subscription,
    token: str,
    contacts: list[tuple[str, str]],
    *,
    local_date: dt.date,
    late: bool,
    progress: Progress | None = None,
) -> Digest:
    ids = [cid for cid, _ in contacts]
    results = await read_with_second_chance(services, token, ids, progress=progress)
    entries: list[DigestEntry] = []
    failures: list[SparkError] = []
    for (contact_id, name), result in zip(contacts, results, strict=True):
        if isinstance(result, ActivitySummary):
            entries.append(_entry(services, contact_id, name, result))
        elif isinstance(result, SparkError):
            failures.append(result)
        else:
            raise result  # a bug, not a Flexmls problem: let the pass report it
    if failures and not entries:
        raise _nobody_read(failures)
    return compose(subscription, local_date, entries, failed=len(failures), late=late)


def compose(
    subscription: Subscription,
    local_date: dt.date,
    entries: list[DigestEntry],
    *,
    failed: int,
    late: bool,
) -> Digest:
    """The digest of `entries` (each contact once): ranked by score for a private digest in
    the subscriber's DM ("who to call today"), by how much each moved for a channel, or, on a
    first day without history, by what each did lately (`first_day_rank`)."""
    once: dict[str, DigestEntry] = {}
    for entry in entries:
        once.setdefault(entry.contact_id, entry)
    unique = list(once.values())
    if is_dm_id(subscription.channel_id):
        ranked = sorted(unique, key=lambda e: (score_rank(e), e.name.casefold(), e.contact_id))
    elif any(e.day is not None or e.engagement is not None for e in unique):
        ranked = sorted(unique, key=lambda e: (-abs(e.movement), e.name.casefold(), e.contact_id))
    else:
        ranked = sorted(unique, key=lambda e: (first_day_rank(e), e.name.casefold(), e.contact_id))
    heating = sorted((e for e in unique if e.movement >= MOVEMENT), key=lambda e: -e.movement)
    cooling = sorted((e for e in unique if e.movement <= -MOVEMENT), key=lambda e: e.movement)
    return Digest(
        subscription_id=subscription.id,
        subscriber_id=subscription.user_id,
        channel_id=subscription.channel_id,
        local_date=local_date,
        scope=subscription.scope,
        entries=tuple(ranked),
        heating=tuple(heating[:SHOWN_IN_LISTS]),
        cooling=tuple(cooling[:SHOWN_IN_LISTS]),
        failed=failed,
        late=late,
    )


# -- what was posted, for "More" ----------------------------------------------------------------


def stored_digest(
    services: Services, subscription: Subscription, local_date: dt.date
) -> Digest | None:
    """The digest as posted that day (for paging), or None if none was posted."""
    posted = posted_digest(services.db, subscription.id, local_date)
    if posted is None:
        return None
    entries = [_entry_from_stored(raw) for raw in posted.entries]
    return compose(
        subscription, local_date, entries, failed=posted.failed_contacts, late=posted.late
    )


def _summary_from_stored(value: dict[str, Any] | None) -> ActivitySummary | None:
    return ActivitySummary(**value) if value else None


def _entry_from_stored(raw: dict[str, Any]) -> DigestEntry:
    """A `DigestEntry` back from what `post_and_record` stored (`dataclasses.asdict`)."""
    eng = raw.get("engagement")
    return DigestEntry(
        contact_id=raw["contact_id"],
        name=raw["name"],
        summary=_summary_from_stored(raw["summary"]) or ActivitySummary(),
        day=_summary_from_stored(raw.get("day")),
        week=_summary_from_stored(raw.get("week")),
        engagement=Engagement(**eng) if eng else None,
        previous_score=raw.get("previous_score"),
    )


# -- delivery ----------------------------------------------------------------------------------


class Poster(Protocol):
    """Where a pass sends things: Slack in the bot, a stand-in in tests."""

    async def post(self, channel_id: str, digest: Digest) -> str: ...  # returns the message ts

    async def tell_subscriber(self, subscription: Subscription, reason: str) -> None:
        """Say why today's digest wasn't posted: a `Refusal`, or Slack's error code from a
        permanent `PostFailed`."""
        ...

    async def refusal(self, subscription: Subscription, *, workspace_token: bool) -> str | None:
        """Why today's digest must not be posted (a `Refusal`), or None when it may.

        Asked before anything is read from Flexmls: is the subscriber still an active member
        (`subscriber_refusal`), and may the digest still go to its channel (`target_refusal`)?
        Raises `PostFailed(permanent=False)` when Slack can't answer now: a later pass retries.
        """
        ...


class PostFailed(Exception):
    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


@dataclass
class PassReport:
    due: int = 0
    posted: int = 0
    skipped: int = 0
    retry_later: int = 0
    late: int = 0
    contacts: int = 0
    failed_contacts: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.due} due, {self.posted} posted ({self.late} late), {self.skipped} skipped, "
            f"{self.retry_later} to retry; {self.contacts} contacts read, {self.failed_contacts} unreadable"
        )


@dataclass(frozen=True)
class Claim:
    """Today's digest of one subscription, held by this pass until it is recorded or released."""

    subscription: Subscription
    local_date: dt.date
    claimed_at: dt.datetime
    late: bool  # claimed more than LATE_AFTER after its time


# Why a pass stops before posting; `_not_today` says what each means for the day.
_STOPS = (NotConnected, RefreshFailed, ConnectionLost, RoleMissing, PostFailed, SparkError)


async def deliver(
    services: Services,
    subscription: Subscription,
    poster: Poster,
    report: PassReport,
    *,
    progress: Progress | None = None,
) -> None:
    """Deliver one subscription's digest for today if it is due and nobody else is on it:
    claim, check with Slack, gather and compose, mark "posting", post, record."""
    claim = claim_due(services, subscription)
    if claim is None:
        return
    report.due += 1
    try:
        digest = await check_and_gather(services, claim, poster, report, progress=progress)
    except _STOPS as error:
        await _not_today(services, claim, poster, report, error)
        return
    if digest is None:
        return
    report.contacts += len(digest.entries)
    report.failed_contacts += digest.failed
    if not mark_posting(
        services.db,
        subscription.id,
        claim.local_date,
        claimed_at=claim.claimed_at,
        now=services.clock(),
    ):
        return  # our lease ran out and another pass took over
    await post_and_record(services, claim, digest, poster, report)


def claim_due(services: Services, subscription: Subscription) -> Claim | None:
    """Claim today's digest when it is due, not delivered yet, and nobody live holds it."""
    if subscription.paused:
        return None  # the subscriber disconnected; connecting again resumes it
    now = services.clock()
    local_date, due_at = schedule_for(subscription, now)
    if now < due_at:
        return None
    existing = delivery(services.db, subscription.id, local_date)
    if existing is not None and existing.state == "delivered":
        return None
    if not claim_delivery(
        services.db,
        subscription.id,
        local_date,
        now,
        owner=process_owner(),
        owner_alive=owner_alive,
    ):
        return None
    return Claim(subscription, local_date, claimed_at=now, late=now - due_at > LATE_AFTER)


async def check_and_gather(
    services: Services,
    claim: Claim,
    poster: Poster,
    report: PassReport,
    *,
    progress: Progress | None = None,
) -> Digest | None:
    """Ask Slack whether the digest may still go out, then read Flexmls and compose it.

    None when Slack refuses (the day is recorded as skipped and the subscriber told); the
    errors in `_STOPS` are left to the caller.
    """
    subscription = claim.subscription
    credential = await services.keeper.credential(subscription.team_id, subscription.user_id)
    # Who and where may have changed since `digest add`: ask Slack before reading Flexmls.
    refused = await poster.refusal(subscription, workspace_token=credential.workspace)
    if refused is not None:
        log.info("Digest #%s not posted today: %s", subscription.id, refused)
        await _skip(services, claim, poster, report, refused)
        return None
    # Background work: it leaves the budget's reserve to people, yields to them when both
    # wait, and waits out a 429 cool-down instead of failing (spark.budget).
    with working_as(Priority.BACKGROUND, f"{subscription.team_id}:{subscription.user_id}"):
        return await gather(
            services,
            subscription,
            credential.token,
            local_date=claim.local_date,
            late=claim.late,
            progress=progress,
        )


async def post_and_record(
    services: Services, claim: Claim, digest: Digest, poster: Poster, report: PassReport
) -> None:
    """Post the digest and record the delivery, with its entries for paging ("More")."""
    try:
        ts = await poster.post(claim.subscription.channel_id, digest)
    except PostFailed as failure:
        await _slack_failed(services, claim, poster, report, failure)
        return
    complete_delivery(
        services.db,
        claim.subscription.id,
        claim.local_date,
        services.clock(),
        message_ts=ts,
        late=claim.late,
        failed_contacts=digest.failed,
        outcome="posted",
        entries=encode_entries(asdict(entry) for entry in digest.entries),
    )
    report.posted += 1
    report.late += int(claim.late)


async def _not_today(
    services: Services, claim: Claim, poster: Poster, report: PassReport, error: Exception
) -> None:
    """What a stop before posting means: skip the day (and say why), or leave it for later."""
    if isinstance(error, (NotConnected, RefreshFailed, ConnectionLost)):
        await _skip(services, claim, poster, report, Refusal.RECONNECT)
    elif isinstance(error, RoleMissing):
        await _skip(services, claim, poster, report, Refusal.ROLE)
    elif isinstance(error, PostFailed):  # Slack couldn't say whether the digest may go out
        await _slack_failed(services, claim, poster, report, error)
    else:  # Flexmls trouble: a later pass retries
        _retry_later(services, claim, report, type(error).__name__)


async def _slack_failed(
    services: Services, claim: Claim, poster: Poster, report: PassReport, failure: PostFailed
) -> None:
    """Skip the day when Slack's "no" is final; otherwise a later pass tries again."""
    if failure.permanent:
        await _skip(services, claim, poster, report, failure.error)
        report.errors.append(f"#{claim.subscription.id}: {failure.error}")
    else:
        _retry_later(services, claim, report, failure.error)


async def _skip(
    services: Services, claim: Claim, poster: Poster, report: PassReport, reason: str
) -> None:
    """Record the day as skipped (later passes leave it alone) and tell the subscriber why."""
    complete_delivery(
        services.db,
        claim.subscription.id,
        claim.local_date,
        services.clock(),
        message_ts=None,
        late=claim.late,
        failed_contacts=0,
        outcome="skipped",
    )
    report.skipped += 1
    if reason not in QUIET_REFUSALS:
        await poster.tell_subscriber(claim.subscription, reason)


def _retry_later(services: Services, claim: Claim, report: PassReport, why: str) -> None:
    """Release the claim so a later pass tries the day again."""
    release_delivery(services.db, claim.subscription.id, claim.local_date)
    report.retry_later += 1
    report.errors.append(f"#{claim.subscription.id}: {why}")


async def run_pass(
    services: Services, poster: Poster, *, progress: Progress | None = None
) -> PassReport:
    """One pass over every subscription (the scheduler's tick, or `digest --now`)."""
    report = PassReport()
    for subscription in all_subscriptions(services.db):
        try:
            await deliver(services, subscription, poster, report, progress=progress)
        except Exception as error:  # one broken subscription must not stop the others
            log.exception("Digest #%s failed", subscription.id)
            report.errors.append(f"#{subscription.id}: {type(error).__name__}")
    return report
