"""Morning digests: subscriptions, gathering under the rate limit, and exactly-once delivery.

A pass (every minute in the running bot, or `python bot.py digest --now` from cron) looks at
every subscription. One is due when its local time today (in its IANA zone, so DST moves the
UTC time, not the local one) has passed and today's local date has no delivery yet; a bot that
was down at 08:00 posts when it comes back, marked late, if it is still the same local day.

Exactly once, across restarts, crashes and a second instance: a pass first *claims* the
(subscription, local date) with a lease; it gathers; it marks the claim "posting"; it posts; it
records the delivery. A claim whose holder died before "posting" is taken over when the lease
runs out, so the day is not skipped; one that died after "posting" is never taken over, since
that digest may be in the channel already.

Who and where are checked again before every delivery, not only at `digest add`: the poster
asks Slack (`Poster.refusal`) whether the subscriber is still an active member (a guest only
with their own connection) and whether the channel still passes `target_refusal`. A refusal
skips the day (recorded, so later passes that day leave it alone) and tells the subscriber;
when Slack can't answer, the claim is released and a later pass asks again. Nothing is read
from Flexmls for a digest that won't be posted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from activity.auth import NotConnected
from activity.lookup import history, to_counters
from activity.models import Digest, DigestEntry
from activity.scoring import MONTH_DAYS, Engagement, change_since, engagement
from activity.services import Services
from spark import (
    ActivitySummary,
    InvalidToken,
    PermissionDenied,
    RefreshFailed,
    SparkError,
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
    list_subscriptions,
    mark_posting,
    recent_lookups,
    record_snapshot,
    release_delivery,
)

RECENT_DAYS = MONTH_DAYS  # a "recent" digest covers the contacts looked up in this window
MAX_SCOPE = 5000
GATHER_CONCURRENCY = 16
LATE_AFTER = dt.timedelta(minutes=15)
DEFAULT_TIME = "08:00"
RESUME_AFTER_S = 1.0  # pause before re-reading contacts Flexmls failed on
MOVEMENT = 3.0  # score points that count as heating up / cooling off
SHOWN_IN_LISTS = 5
MAX_PER_USER = 10  # digests one person may have in a team
SCOPE_RE = re.compile(r"^(recent|all|tag:.{1,100})$", re.IGNORECASE)
TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")
CHANNEL_ID_RE = re.compile(r"[CG][A-Z0-9]{2,20}")
# Slack errors after which retrying the post is pointless (the subscriber is told instead).
PERMANENT_SLACK_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class DigestArgsError(ValueError):
    """`/activity digest add …` could not be understood; the message says what to type."""


class ConnectionLost(Exception):
    """Every contact failed because the subscriber's Flexmls access stopped working."""


class RoleMissing(Exception):
    """Every contact failed because the subscriber's key lacks the Private role."""


@dataclass(frozen=True)
class DigestRequest:
    channel_id: str | None
    local_time: str | None
    scope: str


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


NOT_A_CHANNEL = (
    "Digests go to channels, not to people or DMs. Try `/activity digest add #channel 08:00`."
)
NO_DM_DIGESTS = (
    "Digests in your DMs aren't available yet: digests go to channels. "
    "Try `/activity digest add #channel 08:00`."
)
INVITE_FIRST = (
    "I can't see that channel. If it's private, invite me first (`/invite @Activity` in the "
    "channel), then add the digest again."
)


def parse_add(
    words: str, channel_ids: tuple[str, ...], user_mentions: tuple[str, ...] = ()
) -> DigestRequest:
    """Read `[#channel] [HH:MM] [recent | all | tag:<Tag>]` (any order; the tag runs to the end).

    `channel_ids` and `user_mentions` are the channels and people linked in what was typed: a
    person (or `me`, kept for DM digests later) is refused, since digests go to channels.
    """
    local_time, scope = None, "recent"
    if user_mentions:
        raise DigestArgsError(NOT_A_CHANNEL)
    if len(channel_ids) > 1:
        raise DigestArgsError("One channel at a time, please: `/activity digest add #channel`.")
    if channel_ids and not is_channel_id(channel_ids[0]):
        raise DigestArgsError(NOT_A_CHANNEL)
    rest = words.strip()
    tag_at = rest.lower().find("tag:")
    if tag_at >= 0:
        scope = "tag:" + rest[tag_at + 4 :].strip()
        rest = rest[:tag_at]
        if scope == "tag:":
            raise DigestArgsError("Say which tag, e.g. `/activity digest add tag:Buyer`.")
    for word in rest.split():
        if word.startswith("#"):
            continue  # the channel, identified through Slack's link (channel_ids)
        if word.lower() == "me":
            raise DigestArgsError(NO_DM_DIGESTS)
        if TIME_RE.match(word):
            local_time = word
        elif word.lower() in ("recent", "all"):
            scope = word.lower()
        else:
            raise DigestArgsError(
                f"I don't understand “{word[:40]}”. Try `/activity digest add #channel 08:00 recent`."
            )
    if any(w.startswith("#") for w in rest.split()) and not channel_ids:
        raise DigestArgsError(
            "Pick the channel from Slack's suggestions as you type `#`, so I get its id."
        )
    if not SCOPE_RE.match(scope):
        raise DigestArgsError("A tag is at most 100 characters.")
    return DigestRequest(channel_ids[0] if channel_ids else None, local_time, scope)


def is_channel_id(channel_id: str) -> bool:
    """True for a public or private channel's id (C…, or G… for older private channels);
    False for a DM (D…), a user (U…/W…) or anything else."""
    return CHANNEL_ID_RE.fullmatch(channel_id) is not None


NOT_LISTED = "Your admin allows digests only in certain channels; this isn't one of them."
ARCHIVED = "That channel is archived. Pick another one."
SLACK_CONNECT = (
    "That channel is shared with people outside your workspace (Slack Connect), so a "
    "digest can't go there unless your admin lists it in DIGEST_CHANNELS."
)
NOT_A_MEMBER = "You can only add a digest to a channel you're in. Join it first, or pick another."
# Why a digest may not go to a channel (`target_refusal`), and what `digest add` says about it.
TARGET_REFUSALS = {
    "not_a_channel": NOT_A_CHANNEL,
    "invite_first": INVITE_FIRST,
    "not_listed": NOT_LISTED,
    "archived": ARCHIVED,
    "slack_connect": SLACK_CONNECT,
    "not_member": NOT_A_MEMBER,
}


def target_refusal(services: Services, channel_id: str, target: TargetChannel | None) -> str | None:
    """Why a digest must not go to `channel_id` (a `TARGET_REFUSALS` key), or None if it may.

    The same rules hold when a digest is added and before every delivery. `target` is None
    when Slack doesn't show the channel to the bot: it doesn't exist, or it is private and the
    bot isn't in it (Slack answers `channel_not_found` for both).
    """
    if not is_channel_id(channel_id) or (target is not None and not target.is_channel):
        return "not_a_channel"
    if target is None or (target.is_private and not target.bot_is_member):
        return "invite_first"
    allowed = services.settings.digest_channels
    if allowed and channel_id not in allowed:
        return "not_listed"
    if target.is_archived:
        return "archived"
    if target.slack_connect and channel_id not in allowed:
        return "slack_connect"
    if not target.user_is_member:
        return "not_member"
    return None


def check_target(services: Services, channel_id: str, target: TargetChannel | None) -> None:
    """Refuse a channel the digest must not go to (`DigestArgsError` says why)."""
    reason = target_refusal(services, channel_id, target)
    if reason is not None:
        raise DigestArgsError(TARGET_REFUSALS[reason])


@dataclass(frozen=True)
class Subscriber:
    """What Slack says about a digest's subscriber at delivery time (the poster asks Slack)."""

    user_id: str
    team_id: str  # the person's home team
    deleted: bool  # deactivated
    stranger: bool  # from another organisation, seen through a Slack Connect channel
    guest: bool  # a multi- or single-channel guest


# Refusals about the subscriber; those in QUIET_REFUSALS are not told (nobody left to tell).
SUBSCRIBER_GONE, SUBSCRIBER_OUTSIDE, GUEST = "subscriber_gone", "subscriber_outside", "guest"
QUIET_REFUSALS = frozenset({SUBSCRIBER_GONE, SUBSCRIBER_OUTSIDE})


def subscriber_refusal(
    subscription: Subscription, subscriber: Subscriber | None, *, workspace_token: bool
) -> str | None:
    """Why the subscriber's digest must not go out today, or None if it may.

    Only active members of the subscription's team are served; a guest only with their own
    Flexmls connection (`workspace_token` is True when the digest would read with the
    workspace-wide token). `subscriber` is None when Slack doesn't know the person any more.
    """
    if subscriber is None or subscriber.deleted:
        return SUBSCRIBER_GONE
    if subscriber.stranger or subscriber.team_id != subscription.team_id:
        return SUBSCRIBER_OUTSIDE
    if subscriber.guest and workspace_token:
        return GUEST
    return None


def subscribe(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    target: TargetChannel | None,
    channel_id: str,
    request: DigestRequest,
    timezone: str,
    own_connection: bool,
) -> Subscription:
    """Store the subscription; raises `DigestArgsError` for a refused channel, time or zone,
    past the per-person limit, or for a whole-book scope read without the person's own access.

    `target` is what Slack says about `channel_id` (see `check_target`); `own_connection` is
    True when the subscriber reads Flexmls with their own connection, not the workspace token.
    """
    check_target(services, channel_id, target)
    if services.oauth is not None and request.scope != "recent" and not own_connection:
        raise DigestArgsError(
            "A digest of all your contacts, or of a tag, reads Flexmls with your own account: "
            "connect it first with `/activity connect`, or use `recent`."
        )
    # No await from the count to the insert: two commands can't both take the last place.
    if len(list_subscriptions(services.db, team_id, user_id)) >= MAX_PER_USER:
        raise DigestArgsError(
            f"You already have {MAX_PER_USER} digests, the most one person can have. Remove one "
            "first: `/activity digest list` shows them."
        )
    try:
        return add_subscription(
            services.db, team_id=team_id, user_id=user_id, channel_id=channel_id,
            local_time=request.local_time or DEFAULT_TIME, timezone=timezone, scope=request.scope,
            now=services.clock(),
        )  # fmt: skip
    except ValueError as error:
        raise DigestArgsError(str(error)) from None


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
    services: Services, subscription: Subscription, token: str
) -> list[tuple[str, str]]:
    """(contact id, name) of every contact the subscription covers, at most MAX_SCOPE."""
    if subscription.scope == "recent":
        since = services.clock() - dt.timedelta(days=RECENT_DAYS)
        rows = recent_lookups(
            services.db, subscription.team_id, subscription.user_id, limit=MAX_SCOPE
        )
        return [(r.contact_id, r.display_name) for r in rows if r.looked_up_at >= since]
    spark = services.spark
    if subscription.scope == "all":
        pages = spark.iter_pages(lambda n: spark.list_contacts(token, page=n))
    else:
        tag = subscription.scope.split(":", 1)[1]
        pages = spark.iter_pages(lambda n: spark.contacts_with_tag(token, tag, page=n))
    found: list[tuple[str, str]] = []
    async for contact in pages:
        found.append((contact.id, contact.display_name))
        if len(found) >= MAX_SCOPE:
            break
    return found


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
        week=change_since(past, today, 7),
        engagement=engagement(past, today),
        previous_score=previous.score if previous else None,
    )


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
    ids = [cid for cid, _ in contacts]
    results = await read_summaries(services, token, ids, progress=progress)
    missed = [i for i, r in enumerate(results) if isinstance(r, SparkError) and r.retryable]
    if missed and len(missed) < len(results):
        # Flexmls hiccuped on some contacts: give those one more go before reporting them.
        await asyncio.sleep(RESUME_AFTER_S)
        again = await read_summaries(services, token, [ids[i] for i in missed])
        for i, result in zip(missed, again, strict=True):
            results[i] = result
    entries: list[DigestEntry] = []
    failures: list[BaseException] = []
    for (contact_id, name), result in zip(contacts, results, strict=True):
        if isinstance(result, ActivitySummary):
            entries.append(_entry(services, contact_id, name, result))
        elif isinstance(result, SparkError):
            failures.append(result)
        else:
            raise result  # a bug, not a Flexmls problem: let the pass report it
    if failures and not entries:
        if all(isinstance(f, PermissionDenied) for f in failures):
            raise RoleMissing
        if all(isinstance(f, (InvalidToken, TokenExpired, RefreshFailed)) for f in failures):
            raise ConnectionLost
        # Flexmls couldn't give us anyone: that is an outage, not a digest. A later pass retries.
        raise failures[0]
    return compose(subscription, local_date, entries, failed=len(failures), late=late)


def compose(
    subscription: Subscription,
    local_date: dt.date,
    entries: list[DigestEntry],
    *,
    failed: int,
    late: bool,
) -> Digest:
    ranked = sorted(entries, key=lambda e: (-abs(e.movement), e.name.casefold(), e.contact_id))
    heating = sorted((e for e in entries if e.movement >= MOVEMENT), key=lambda e: -e.movement)
    cooling = sorted((e for e in entries if e.movement <= -MOVEMENT), key=lambda e: e.movement)
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


# -- storing what was posted, for "More" ------------------------------------------------------


def entries_json(digest: Digest) -> str:
    return json.dumps(
        [asdict(entry) for entry in digest.entries], separators=(",", ":"), default=str
    )


def stored_digest(
    services: Services, subscription: Subscription, local_date: dt.date
) -> Digest | None:
    """The digest as posted that day (for paging), or None if none was posted."""
    record = delivery(services.db, subscription.id, local_date)
    if record is None or record.outcome != "posted" or not record.entries:
        return None

    def summary(value: dict[str, Any] | None) -> ActivitySummary | None:
        return ActivitySummary(**value) if value else None

    entries = []
    for raw in json.loads(record.entries):
        eng = raw.get("engagement")
        entries.append(DigestEntry(
            contact_id=raw["contact_id"], name=raw["name"], summary=summary(raw["summary"]) or ActivitySummary(),
            day=summary(raw.get("day")), week=summary(raw.get("week")),
            engagement=Engagement(**eng) if eng else None, previous_score=raw.get("previous_score"),
        ))  # fmt: skip
    return compose(
        subscription, local_date, entries, failed=record.failed_contacts, late=record.late
    )


# -- delivery ----------------------------------------------------------------------------------


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/<pid>/stat), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_owner() -> str:
    """Who holds a claim: host, pid and the pid's start time (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid()) or '?'}"


def owner_alive(owner: str) -> bool:
    """False only when the claim's process ran on this host and is gone; else trust the lease."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return True
    started = _start_ticks(int(parts[1]))
    return started is not None and (parts[2] == "?" or started == parts[2])


class Poster(Protocol):
    """Where a pass sends things: Slack in the bot, a stand-in in tests."""

    async def post(self, channel_id: str, digest: Digest) -> str: ...  # returns the message ts

    async def tell_subscriber(self, subscription: Subscription, reason: str) -> None: ...

    async def refusal(self, subscription: Subscription, *, workspace_token: bool) -> str | None:
        """Why today's digest must not be posted (a reason code), or None when it may.

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


async def deliver(
    services: Services,
    subscription: Subscription,
    poster: Poster,
    report: PassReport,
    *,
    progress: Progress | None = None,
    before_post: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Deliver one subscription's digest for today if it is due and nobody else is on it."""
    if subscription.paused:
        return  # the subscriber disconnected; connecting again resumes it
    now = services.clock()
    local_date, due_at = schedule_for(subscription, now)
    if now < due_at:
        return
    existing = delivery(services.db, subscription.id, local_date)
    if existing is not None and existing.state == "delivered":
        return
    if not claim_delivery(
        services.db,
        subscription.id,
        local_date,
        now,
        owner=process_owner(),
        owner_alive=owner_alive,
    ):
        return
    report.due += 1
    late = now - due_at > LATE_AFTER

    async def skip(reason: str) -> None:
        complete_delivery(services.db, subscription.id, local_date, services.clock(),
                          message_ts=None, late=late, failed_contacts=0, outcome="skipped")  # fmt: skip
        report.skipped += 1
        if reason not in QUIET_REFUSALS:
            await poster.tell_subscriber(subscription, reason)

    try:
        credential = await services.keeper.credential(subscription.team_id, subscription.user_id)
        # Who and where may have changed since `digest add`: ask Slack before reading Flexmls.
        refused = await poster.refusal(subscription, workspace_token=credential.workspace)
        if refused is not None:
            log.info("Digest #%s not posted today: %s", subscription.id, refused)
            await skip(refused)
            return
        # Background work: it leaves the budget's reserve to people, yields to them when both
        # wait, and waits out a 429 cool-down instead of failing (spark.budget).
        owner = f"{subscription.team_id}:{subscription.user_id}"
        with working_as(Priority.BACKGROUND, owner):
            digest = await gather(services, subscription, credential.token,
                                  local_date=local_date, late=late, progress=progress)  # fmt: skip
    except (NotConnected, RefreshFailed, ConnectionLost):
        await skip("reconnect")
        return
    except RoleMissing:
        await skip("role")
        return
    except PostFailed as failure:  # Slack couldn't say whether the digest may go out
        if failure.permanent:
            await skip(failure.error)
        else:
            release_delivery(services.db, subscription.id, local_date)
            report.retry_later += 1
        report.errors.append(f"#{subscription.id}: {failure.error}")
        return
    except SparkError as error:
        release_delivery(
            services.db, subscription.id, local_date
        )  # Flexmls trouble: a later pass retries
        report.retry_later += 1
        report.errors.append(f"#{subscription.id}: {type(error).__name__}")
        return
    report.contacts += len(digest.entries)
    report.failed_contacts += digest.failed
    if before_post is not None:
        await before_post()  # tests use this to simulate a crash between gathering and posting
    if not mark_posting(
        services.db, subscription.id, local_date, claimed_at=now, now=services.clock()
    ):
        return  # our lease ran out and another pass took over
    try:
        ts = await poster.post(subscription.channel_id, digest)
    except PostFailed as failure:
        if failure.permanent:
            await skip(failure.error)
        else:
            release_delivery(services.db, subscription.id, local_date)
            report.retry_later += 1
        report.errors.append(f"#{subscription.id}: {failure.error}")
        return
    complete_delivery(
        services.db, subscription.id, local_date, services.clock(), message_ts=ts, late=late,
        failed_contacts=digest.failed, outcome="posted", entries=entries_json(digest),
    )  # fmt: skip
    report.posted += 1
    report.late += int(late)


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
