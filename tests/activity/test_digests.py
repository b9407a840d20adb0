"""Digest delivery with an injected clock: DST, downtime, races, crashes, revoked access."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from cryptography.fernet import Fernet

from activity.digests import (
    MAX_PER_USER,
    CheckedScope,
    DigestRefused,
    PassReport,
    PostFailed,
    Refusal,
    Subscriber,
    TargetChannel,
    activity_points,
    check_and_gather,
    check_scope,
    claim_due,
    compose,
    first_day_rank,
    run_pass,
    schedule_for,
    stored_digest,
    subscribe,
    subscriber_refusal,
    target_refusal,
    week_so_far,
)
from activity.models import DigestEntry
from activity.scoring import Engagement, engagement
from activity.services import Services, assemble
from blocks.digest import digest_message, moved
from devtools.sandbox import DEMO_ACCOUNT_ID, DEMO_TOKEN, ManualClock, Sandbox
from settings import load_settings
from spark import ActivitySummary, OAuthClient, RateLimiter, RetryPolicy
from storage import (
    Connection,
    Subscription,
    TokenCipher,
    delivery,
    open_database,
    open_memory_database,
    record_lookup,
    save_connection,
)

TEAM, USER, CHANNEL = "T1", "U1", "C0DIGEST"
DENVER = "America/Denver"


class FakePoster:
    def __init__(self, clock) -> None:
        self.clock = clock
        self.posts: list[tuple[dt.datetime, str, object]] = []
        self.told: list[tuple[int, str]] = []
        self.fail_with: PostFailed | None = None
        self.checked: list[tuple[int, bool]] = []  # (subscription, workspace token?) per check
        self.refuse_with: str | None = None  # what `refusal` answers

    async def post(self, channel_id, digest):
        if self.fail_with is not None:
            raise self.fail_with
        self.posts.append((self.clock(), channel_id, digest))
        return f"{len(self.posts)}.000100"

    async def tell_subscriber(self, subscription, reason):
        self.told.append((subscription.id, reason))

    async def refusal(self, subscription, *, workspace_token):
        self.checked.append((subscription.id, workspace_token))
        return self.refuse_with


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 3, 7, 13, 0, tzinfo=dt.UTC))


@pytest.fixture
async def sandbox(clock):
    async with Sandbox(clock=clock, rate_limit={"limit": 1500, "window_s": 300}) as running:
        yield running


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def make_services(sandbox, http, clock, db, *, oauth=None, **env) -> Services:
    key = Fernet.generate_key()
    settings = load_settings(
        {"SPARK_API_URL": sandbox.url, "SPARK_ACCESS_TOKEN": DEMO_TOKEN, **env}
    )
    return assemble(
        settings=settings,
        db=db,
        cipher=TokenCipher(key),
        http=http,
        clock=clock,
        oauth=oauth,
        secret_key=key,
        retry=RetryPolicy(attempts=2, base_delay=0.01, deadline=3),
        rate_limiter=RateLimiter(1500, 300),
    )


@pytest.fixture
def services(sandbox, http, clock) -> Services:
    return make_services(sandbox, http, clock, open_memory_database())


def follow_contacts(services, sandbox, names=("janet_doe", "heavy_viewer", "sean_obrien")) -> None:
    for name in names:
        contact = sandbox.state.brokerage.notable[name]
        record_lookup(
            services.db,
            team_id=TEAM,
            user_id=USER,
            contact_id=contact.id,
            display_name=contact.display_name,
            query=contact.display_name,
            now=services.clock(),
        )


def channel(channel_id=CHANNEL, **changes) -> TargetChannel:
    """A public channel the bot and the subscriber are in (as Slack would describe it)."""
    facts = dict(
        channel_id=channel_id,
        is_channel=True,
        is_private=False,
        is_archived=False,
        bot_is_member=True,
        user_is_member=True,
        slack_connect=False,
    )
    return TargetChannel(**{**facts, **changes})


SAME = object()  # `add(target=SAME)`: a channel Slack describes as fine


def add(
    services,
    *,
    time="08:00",
    scope="recent",
    zone=DENVER,
    target=SAME,
    user=USER,
    channel_id=CHANNEL,
    own_connection=True,
):
    return subscribe(
        services,
        team_id=TEAM,
        user_id=user,
        channel_id=channel_id,
        target=channel(channel_id) if target is SAME else target,
        local_time=time,
        scope=scope,
        timezone=zone,
        own_connection=own_connection,
    )


async def run_minutes(services, poster, clock, until: dt.datetime, step=dt.timedelta(minutes=1)):
    while clock() < until:
        await run_pass(services, poster)
        clock.advance(seconds=step.total_seconds())


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Spring forward on Sun 8 Mar 2026: 08:00 MST (15:00 UTC), then 08:00 MDT (14:00 UTC).
        (
            dt.datetime(2026, 3, 7, 13, 0, tzinfo=dt.UTC),
            [
                dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC),
                dt.datetime(2026, 3, 8, 14, 0, tzinfo=dt.UTC),
                dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC),
            ],
        ),
        # Fall back on Sun 1 Nov 2026: 08:00 MDT (14:00 UTC), then 08:00 MST (15:00 UTC).
        (
            dt.datetime(2026, 10, 31, 12, 0, tzinfo=dt.UTC),
            [
                dt.datetime(2026, 10, 31, 14, 0, tzinfo=dt.UTC),
                dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC),
                dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC),
            ],
        ),
    ],
)
async def test_eight_in_the_morning_in_denver_across_dst_posts_once_a_day(
    services, sandbox, clock, start, expected_utc
):
    clock.set(start)
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    # Every 10 minutes for three days, with every minute around the due times.
    end = start + dt.timedelta(days=2, hours=4)
    while clock() < end:
        near = any(abs((clock() - t).total_seconds()) <= 15 * 60 for t in expected_utc)
        await run_pass(services, poster)
        clock.advance(minutes=1 if near else 10)
    assert [when for when, _, _ in poster.posts] == expected_utc
    assert [d.local_date for _, _, d in poster.posts] == [
        t.astimezone(__import__("zoneinfo").ZoneInfo(DENVER)).date() for t in expected_utc
    ]
    assert not any(d.late for _, _, d in poster.posts)


async def test_a_bot_down_from_seven_to_half_past_nine_posts_late_when_it_returns(
    services, sandbox, clock
):
    clock.set(dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC))  # 07:00 MDT
    follow_contacts(services, sandbox)
    sub = add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    assert poster.posts == []
    clock.set(dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC))  # 09:30 MDT: back up
    report = await run_pass(services, poster)
    assert report.posted == 1 and report.late == 1
    assert poster.posts[0][2].late
    await run_minutes(services, poster, clock, clock() + dt.timedelta(hours=2))
    assert len(poster.posts) == 1
    assert delivery(services.db, sub.id, dt.date(2026, 3, 10)).late


async def test_a_bot_down_past_midnight_does_not_post_yesterdays_digest(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    clock.set(dt.datetime(2026, 3, 11, 7, 0, tzinfo=dt.UTC))  # 01:00 MDT next day: not due yet
    await run_pass(services, poster)
    assert poster.posts == []


async def test_two_passes_racing_on_two_connections_post_once(sandbox, http, clock, tmp_path):
    path = tmp_path / "race.db"
    first = make_services(sandbox, http, clock, open_database(path))
    second = make_services(sandbox, http, clock, open_database(path))
    clock.set(dt.datetime(2026, 3, 10, 14, 5, tzinfo=dt.UTC))
    follow_contacts(first, sandbox)
    add(first)
    poster = FakePoster(clock)
    reports = await asyncio.gather(run_pass(first, poster), run_pass(second, poster))
    assert len(poster.posts) == 1
    assert sum(r.posted for r in reports) == 1


async def test_a_crash_between_gathering_and_posting_is_retried_after_the_lease(
    services, sandbox, clock
):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    sub = add(services)
    poster = FakePoster(clock)
    claim = claim_due(services, sub)
    assert claim is not None
    assert await check_and_gather(services, claim, poster, PassReport()) is not None
    # ...and the process dies here, before saying "posting": the claim stays, unposted.
    clock.advance(minutes=1)
    await run_pass(services, poster)
    assert poster.posts == []  # the dead pass still holds the lease
    clock.advance(minutes=10)
    await run_pass(services, poster)
    assert len(poster.posts) == 1
    await run_minutes(services, poster, clock, clock() + dt.timedelta(minutes=30))
    assert len(poster.posts) == 1


async def test_a_crash_after_saying_posting_never_posts_twice(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)

    class DiesWhilePosting(FakePoster):
        async def post(self, channel_id, digest):
            self.posts.append((self.clock(), channel_id, digest))
            raise KeyboardInterrupt  # the process dies mid-post; nothing records the delivery

    dying = DiesWhilePosting(clock)
    with pytest.raises(KeyboardInterrupt):
        await run_pass(services, dying)
    poster = FakePoster(clock)
    await run_minutes(services, poster, clock, clock() + dt.timedelta(hours=1))
    assert poster.posts == []


async def test_a_revoked_connection_tells_the_subscriber_and_posts_nothing(sandbox, clock, http):
    oauth = OAuthClient(
        http,
        auth_url=sandbox.url,
        api_url=sandbox.url,
        client_id="sandbox-client-id",
        client_secret="sandbox-client-secret",
        redirect_uri="http://x/cb",
        clock=clock,
    )
    services = make_services(sandbox, http, clock, open_memory_database(), oauth=oauth)
    clock.set(dt.datetime(2026, 3, 10, 13, 0, tzinfo=dt.UTC))
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    now = clock()
    save_connection(
        services.db,
        services.cipher,
        Connection(
            team_id=TEAM,
            user_id=USER,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            expires_at=now + dt.timedelta(hours=1),
            spark_user_id=DEMO_ACCOUNT_ID,
            spark_user_name="Avery Agent",
            kind="oauth",
            status="ok",
            connected_at=now,
            updated_at=now,
        ),
    )
    await oauth.refresh(tokens["refresh_token"])  # rotated elsewhere: ours is dead
    follow_contacts(services, sandbox)
    add(services)
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))  # due, and the token has expired
    poster = FakePoster(clock)
    await run_minutes(services, poster, clock, clock() + dt.timedelta(minutes=20))
    assert poster.posts == []
    assert poster.told == [(1, "reconnect")]


async def test_gathering_a_whole_book_stays_under_the_rate_limit(sandbox, http, clock):
    services = make_services(sandbox, http, clock, open_memory_database())
    sandbox.state.set_rate_limit({"limit": 120, "window_s": 1})
    services.spark.limiter = RateLimiter(120, 1.0, margin=0.25)  # loopback skew vs a 1 s window
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    add(services, scope="all")
    poster = FakePoster(clock)
    report = await run_pass(services, poster)
    digest = poster.posts[0][2]
    assert len(digest.entries) == len(sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID))
    assert digest.failed == 0 and report.failed_contacts == 0
    assert sandbox.stats["rate_limited"] == 0


async def test_unreadable_contacts_are_counted_not_fatal(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    janet = sandbox.state.brokerage.notable["janet_doe"]
    sandbox.add_fault(kind="status", route=f"/v1/contacts/{janet.id}/activity", status=500)
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    digest = poster.posts[0][2]
    assert digest.failed == 1 and len(digest.entries) == 2


async def test_heating_up_and_cooling_off_need_a_day_of_history(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    first = poster.posts[0][2]
    assert first.heating == () and all(e.engagement is None for e in first.entries)
    clock.advance(days=1)
    await run_pass(services, poster)
    second = poster.posts[1][2]
    assert all(e.engagement is not None for e in second.entries)
    movements = [abs(e.movement) for e in second.entries]
    assert movements == sorted(movements, reverse=True)  # most moved first
    assert all(e.movement >= 3 for e in second.heating)


async def test_a_permanent_slack_error_skips_the_day_and_tells_the_subscriber(
    services, sandbox, clock
):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    poster.fail_with = PostFailed("channel_not_found", permanent=True)
    await run_minutes(services, poster, clock, clock() + dt.timedelta(minutes=5))
    assert poster.told == [(1, "channel_not_found")]


async def test_a_refused_delivery_reads_nothing_skips_the_day_and_tells_once(
    services, sandbox, clock
):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    poster.refuse_with = "slack_connect"
    before = len(sandbox.requests)
    await run_minutes(services, poster, clock, clock() + dt.timedelta(minutes=5))
    assert poster.posts == [] and len(sandbox.requests) == before
    assert poster.checked == [(1, True)]  # asked once, with the workspace token in view
    assert poster.told == [(1, "slack_connect")]
    assert delivery(services.db, 1, dt.date(2026, 3, 10)).outcome == "skipped"
    poster.refuse_with = None  # fixed by the next day: it posts again
    clock.advance(days=1)
    await run_pass(services, poster)
    assert len(poster.posts) == 1


@pytest.mark.parametrize("reason", ["subscriber_gone", "subscriber_outside"])
async def test_a_subscriber_who_left_the_team_is_not_told(services, sandbox, clock, reason):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    add(services)
    poster = FakePoster(clock)
    poster.refuse_with = reason
    report = await run_pass(services, poster)
    assert report.skipped == 1 and poster.posts == [] and poster.told == []


async def test_when_slack_cant_check_the_day_is_retried(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)

    async def unavailable(subscription, *, workspace_token):
        raise PostFailed("internal_error", permanent=False)

    poster.refusal = unavailable
    before = len(sandbox.requests)
    report = await run_pass(services, poster)
    assert report.retry_later == 1 and poster.posts == [] and poster.told == []
    assert len(sandbox.requests) == before
    del poster.refusal  # Slack is back
    clock.advance(minutes=1)
    await run_pass(services, poster)
    assert len(poster.posts) == 1


def person(**changes) -> Subscriber:
    facts = dict(user_id=USER, team_id=TEAM, deleted=False, stranger=False, guest=False)
    return Subscriber(**{**facts, **changes})


@pytest.mark.parametrize(
    ("subscriber", "workspace_token", "reason"),
    [
        (person(), True, None),
        (person(guest=True), False, None),  # a guest with their own connection
        (person(guest=True), True, "guest"),
        (person(deleted=True), False, "subscriber_gone"),
        (None, False, "subscriber_gone"),
        (person(stranger=True), False, "subscriber_outside"),
        (person(team_id="T2"), False, "subscriber_outside"),
        (person(team_id=""), False, "subscriber_outside"),
    ],
)
def test_who_may_still_receive_a_digest(services, subscriber, workspace_token, reason):
    subscription = add(services)
    assert subscriber_refusal(subscription, subscriber, workspace_token=workspace_token) == reason


async def test_a_transient_slack_error_is_retried_next_pass(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    poster.fail_with = PostFailed("internal_error", permanent=False)
    await run_pass(services, poster)
    poster.fail_with = None
    clock.advance(minutes=1)
    await run_pass(services, poster)
    assert len(poster.posts) == 1


@pytest.mark.parametrize(
    ("channel_id", "target", "reason"),
    [
        ("D0AGENT1", None, Refusal.NOT_YOUR_DM),
        ("U0AGENT1", None, Refusal.NOT_A_CHANNEL),
        ("C0MPIM", channel("C0MPIM", is_channel=False), Refusal.NOT_A_CHANNEL),
        ("C0GONE", None, Refusal.INVITE_FIRST),
        (
            "C0SECRET",
            channel("C0SECRET", is_private=True, bot_is_member=False),
            Refusal.INVITE_FIRST,
        ),
        ("C0OLD", channel("C0OLD", is_archived=True), Refusal.ARCHIVED),
        ("C0EXT", channel("C0EXT", slack_connect=True), Refusal.SLACK_CONNECT),
        ("C0NOTIN", channel("C0NOTIN", user_is_member=False), Refusal.NOT_MEMBER),
    ],
)
def test_refused_channels_say_why_and_store_nothing(services, channel_id, target, reason):
    with pytest.raises(DigestRefused) as refused:
        add(services, channel_id=channel_id, target=target)
    assert refused.value.reason == reason
    assert services.db.execute("SELECT count(*) FROM digest_subscriptions").fetchone()[0] == 0


def test_a_public_channel_the_bot_is_not_in_is_fine(services):
    """chat:write.public lets the bot post there without joining."""
    assert add(services, target=channel(bot_is_member=False)).channel_id == CHANNEL


def test_slack_connect_channels_need_the_admins_list(sandbox, http, clock):
    services = make_services(sandbox, http, clock, open_memory_database(), DIGEST_CHANNELS=CHANNEL)
    assert add(services, target=channel(slack_connect=True)).channel_id == CHANNEL


def test_each_person_has_at_most_ten_digests(services):
    for _ in range(MAX_PER_USER):
        add(services)
    with pytest.raises(DigestRefused) as refused:
        add(services)
    assert refused.value.reason == Refusal.TOO_MANY
    assert add(services, user="U2").user_id == "U2"  # the limit is per person


@pytest.mark.parametrize("scope", ["all", "tag:Buyer"])
def test_whole_book_scopes_need_the_subscribers_own_connection_under_oauth(
    services, http, sandbox, clock, scope
):
    add(services, scope=scope, own_connection=False)  # no OAuth: the workspace token is the way
    services.oauth = OAuthClient(
        http,
        auth_url=sandbox.url,
        api_url=sandbox.url,
        client_id="x",
        client_secret="y",
        redirect_uri="http://x/cb",
        clock=clock,
    )
    with pytest.raises(DigestRefused) as refused:
        add(services, scope=scope, own_connection=False)
    assert refused.value.reason == Refusal.NEEDS_OWN_CONNECTION
    assert add(services, scope=scope, own_connection=True).scope == scope
    assert add(services, scope="recent", own_connection=False).scope == "recent"


@pytest.mark.parametrize(
    ("time", "zone", "says"),
    [("25:00", DENVER, "not a time of day"), ("08:00", "Mars/Olympus_Mons", "not a time zone")],
)
def test_subscribe_refuses_bad_times_and_zones(services, time, zone, says):
    with pytest.raises(DigestRefused) as refused:
        add(services, time=time, zone=zone)
    assert refused.value.reason == Refusal.BAD_SCHEDULE and says in refused.value.detail


def test_digests_only_go_to_allowed_channels(sandbox, http, clock):
    services = make_services(
        sandbox, http, clock, open_memory_database(), DIGEST_CHANNELS="C0OTHER"
    )
    with pytest.raises(DigestRefused) as refused:
        add(services)
    assert refused.value.reason == Refusal.NOT_LISTED


def test_a_time_inside_the_spring_forward_gap_is_moved_past_it(services):
    sub = add(services, time="02:30")
    local_date, due = schedule_for(sub, dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC))
    assert local_date == dt.date(2026, 3, 8)
    assert due == dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC)  # 03:30 MDT


async def test_contacts_flexmls_missed_are_read_again_before_reporting(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    janet = sandbox.state.brokerage.notable["janet_doe"]
    # Fails the first round (both attempts), answers the second.
    sandbox.add_fault(
        kind="status", route=f"/v1/contacts/{janet.id}/activity", status=503, code=1510, times=2
    )
    follow_contacts(services, sandbox)
    add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    digest = poster.posts[0][2]
    assert digest.failed == 0
    assert janet.id in {e.contact_id for e in digest.entries}


async def test_the_posted_digest_reads_back_as_posted_for_paging(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    follow_contacts(services, sandbox)
    sub = add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    clock.advance(days=1)  # a day of history: scores, changes and movement to store
    await run_pass(services, poster)
    posted = poster.posts[1][2]
    assert any(e.engagement is not None and e.day is not None for e in posted.entries)
    assert stored_digest(services, sub, posted.local_date) == posted
    assert stored_digest(services, sub, posted.local_date + dt.timedelta(days=1)) is None


async def test_a_skipped_day_leaves_nothing_to_page_through(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    sub = add(services)
    poster = FakePoster(clock)
    poster.refuse_with = Refusal.ARCHIVED
    report = await run_pass(services, poster)
    assert report.skipped == 1 and poster.told == [(sub.id, "archived")]
    assert stored_digest(services, sub, dt.date(2026, 3, 10)) is None


async def test_a_claim_is_taken_once_and_only_when_due(services, sandbox, clock):
    clock.set(dt.datetime(2026, 3, 10, 13, 59, tzinfo=dt.UTC))  # 07:59 MDT
    sub = add(services)
    assert claim_due(services, sub) is None  # not due yet
    clock.advance(minutes=20)  # 08:19: due, and late
    claim = claim_due(services, sub)
    assert claim is not None and claim.late and claim.local_date == dt.date(2026, 3, 10)
    assert claim_due(services, sub) is None  # held (by a live process): nobody else takes it


# -- issue 13: a digest for a phone ------------------------------------------------------------


def own_dm(user=USER, channel_id="D0U1") -> TargetChannel:
    """The subscriber's own DM with the bot, as `conversations.open` named it."""
    return channel(channel_id, is_channel=False, is_private=True, dm_of=user)


def test_a_private_digest_goes_only_to_the_subscribers_own_dm(services):
    added = add(services, channel_id="D0U1", target=own_dm())
    assert added.channel_id == "D0U1"
    for target, user in (
        (own_dm(user="U0OTHER"), USER),  # someone else's DM with the bot
        (own_dm(channel_id="D0ELSE"), USER),  # Slack named another DM than the one asked for
        (None, USER),  # Slack named none
        (channel("D0U1"), USER),  # described as a channel: not a DM we opened
    ):
        with pytest.raises(DigestRefused) as refused:
            add(services, channel_id="D0U1", target=target, user=user)
        assert refused.value.reason == Refusal.NOT_YOUR_DM
    assert target_refusal(services, "D0U1", own_dm(), subscriber_id=None) == Refusal.NOT_YOUR_DM


async def test_an_unknown_tag_is_refused_with_the_tags_that_exist(services, sandbox):
    sandbox.state.reset_stats()
    with pytest.raises(DigestRefused) as refused:
        await check_scope(services, DEMO_TOKEN, "tag:Nonexistent")
    assert refused.value.reason == Refusal.UNKNOWN_TAG
    assert refused.value.detail == "Nonexistent"
    expected = sandbox.state.brokerage.tags_for(DEMO_ACCOUNT_ID)
    assert list(refused.value.choices) == sorted(expected, key=str.casefold)
    assert [r.path for r in sandbox.state.recorded()] == ["/v1/contacts/tags"]  # one request


@pytest.mark.parametrize("typed", ["tag:Hot Lead", "tag:hot lead", "TAG:  Hot   Lead "])
async def test_a_tag_is_stored_as_flexmls_spells_it(services, typed):
    assert await check_scope(services, DEMO_TOKEN, typed) == CheckedScope("tag:Hot Lead")


@pytest.mark.parametrize(("status", "code"), [(403, 1500), (400, 1040), (404, 404)])
async def test_a_key_that_may_not_list_tags_gets_the_tag_unchecked(services, sandbox, status, code):
    sandbox.add_fault(kind="status", route="/v1/contacts/tags", status=status, code=code)
    checked = await check_scope(services, DEMO_TOKEN, "tag:Maybe Real")
    assert checked == CheckedScope("tag:Maybe Real", unchecked="forbidden")


@pytest.mark.parametrize("scope", ["recent", "all"])
async def test_other_scopes_ask_flexmls_nothing(services, sandbox, scope):
    sandbox.state.reset_stats()
    assert await check_scope(services, DEMO_TOKEN, scope) == CheckedScope(scope)
    assert sandbox.state.recorded() == []


async def test_recent_covers_every_contact_looked_up_in_30_days(services, sandbox, clock):
    """35 contacts looked up over 29 days (the /activity list keeps 20 by default): all 35
    are in the digest; one looked up 40 days ago is not."""
    clock.set(dt.datetime(2026, 2, 1, 14, 0, tzinfo=dt.UTC))
    contacts = sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID)[:36]
    for n, contact in enumerate(contacts):
        when = clock() + dt.timedelta(days=0 if n == 0 else 11 + n * 29 / 35)
        record_lookup(
            services.db,
            team_id=TEAM,
            user_id=USER,
            contact_id=contact.id,
            display_name=contact.display_name,
            query=contact.display_name,
            now=when,
        )
    clock.set(dt.datetime(2026, 3, 13, 14, 0, tzinfo=dt.UTC))  # 40 days after the first
    add(services)
    poster = FakePoster(clock)
    await run_pass(services, poster)
    digest = poster.posts[0][2]
    assert {e.contact_id for e in digest.entries} == {c.id for c in contacts[1:]}
    assert len(digest.entries) == 35


async def test_a_first_day_ranks_by_what_each_contact_did(services, sandbox, clock):
    """No history yet: the digest ranks every contact by their own activity (views, opens)
    instead of only counting them, and the post says who did the most."""
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    add(services, scope="all")
    poster = FakePoster(clock)
    await run_pass(services, poster)
    digest = poster.posts[0][2]
    assert all(e.day is None and e.engagement is None for e in digest.entries)
    points = [activity_points(e.summary) for e in digest.entries]
    assert points == sorted(points, reverse=True) and points[0] > points[-1]
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    assert heavy.id in [e.contact_id for e in digest.entries[:10]]  # 300+ listings viewed
    message = digest_message(digest, cursor_key=b"k" * 32)
    assert "most active so far" in message.text and "Tracking" not in message.text


def test_first_day_ranking_uses_this_week_where_we_know_it():
    def entry(cid, summary, week):
        return DigestEntry(cid, cid, summary, None, week, None, None)

    busy_week = entry("A", ActivitySummary(listings_viewed=5), ActivitySummary(listings_viewed=5))
    unknown = entry("B", ActivitySummary(listings_viewed=500), None)
    quiet_week = entry("C", ActivitySummary(listings_viewed=900), ActivitySummary())
    ranked = sorted([quiet_week, unknown, busy_week], key=first_day_rank)
    assert [e.contact_id for e in ranked] == ["A", "B", "C"]


def test_shares_and_sends_earn_no_rank_when_scoring_says_so():
    """The first-day rank uses `activity.scoring` (whatever it counts), not its own formula."""
    views = ActivitySummary(listings_viewed=2)
    assert activity_points(views) > 0
    assert activity_points(ActivitySummary()) == 0
    assert (
        activity_points(views)
        == engagement(
            [(dt.date(2026, 1, 1), ActivitySummary()), (dt.date(2026, 1, 2), views)],
            dt.date(2026, 1, 2),
        ).score
    )


def test_week_so_far_is_a_lower_bound_from_the_snapshots_we_have():
    today = dt.date(2026, 3, 10)
    s = ActivitySummary
    three_days = [
        (today - dt.timedelta(days=3), s(listings_viewed=10)),
        (today, s(listings_viewed=14)),
    ]
    assert week_so_far(three_days, today) == s(listings_viewed=4)
    ten_days = [
        (today - dt.timedelta(days=10), s(listings_viewed=1)),
        (today - dt.timedelta(days=7), s(listings_viewed=6)),
        (today - dt.timedelta(days=2), s(listings_viewed=9)),
        (today, s(listings_viewed=20)),
    ]
    assert week_so_far(ten_days, today) == s(listings_viewed=14)  # from exactly 7 days ago
    assert week_so_far([(today, s(listings_viewed=3))], today) is None


def test_each_contact_appears_once_whatever_the_scope_returned():
    def entry(cid, score):
        return DigestEntry(
            cid, cid, ActivitySummary(), ActivitySummary(), None, Engagement(score, "warm", ""), 0.0
        )

    subscription = Subscription(
        1, TEAM, USER, CHANNEL, "08:00", DENVER, "all", dt.datetime.now(dt.UTC)
    )
    digest = compose(
        subscription,
        dt.date(2026, 3, 10),
        [entry("A", 9), entry("B", 5), entry("A", 9)],
        failed=0,
        late=False,
    )
    assert [e.contact_id for e in digest.entries] == ["A", "B"]
    assert [e.contact_id for e in digest.heating] == ["A", "B"]


def test_a_private_digest_is_ranked_by_score():
    def entry(cid, score, previous):
        return DigestEntry(
            cid,
            cid,
            ActivitySummary(),
            ActivitySummary(),
            None,
            Engagement(score, "warm", "") if score is not None else None,
            previous,
        )

    dm = Subscription(1, TEAM, USER, "D0U1", "08:00", DENVER, "recent", dt.datetime.now(dt.UTC))
    entries = [entry("moved", 10, 1), entry("top", 50, 49), entry("new", None, None)]
    digest = compose(dm, dt.date(2026, 3, 10), entries, failed=0, late=False)
    assert [e.contact_id for e in digest.entries] == ["top", "moved", "new"]
    channel_digest = compose(
        Subscription(2, TEAM, USER, CHANNEL, "08:00", DENVER, "recent", dt.datetime.now(dt.UTC)),
        dt.date(2026, 3, 10),
        entries,
        failed=0,
        late=False,
    )
    assert [e.contact_id for e in channel_digest.entries][:2] == ["moved", "top"]


async def test_a_gathered_digest_leaves_contacts_that_did_not_move_out_of_the_movers(
    services, sandbox, clock
):
    """Day two over the whole book: the posted table lists only contacts that did something
    or whose score moved by a point; nobody appears twice."""
    clock.set(dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC))
    add(services, scope="all")
    poster = FakePoster(clock)
    await run_pass(services, poster)
    clock.advance(days=1)
    await run_pass(services, poster)
    digest = poster.posts[1][2]
    still = [e for e in digest.entries if not moved(e)]
    assert still, "the sandbox has quiet contacts"
    message = digest_message(digest, cursor_key=b"k" * 32)
    tables = [b for b in message.blocks if b["type"] == "table"]
    rows = [row[0]["text"] for table in tables for row in table["rows"][1:]]
    assert rows, "some contacts moved"
    assert not {e.name for e in still} & set(rows)
    listed = {e.contact_id for e in (*digest.heating[:5], *digest.cooling[:5])}
    others = [e.name for e in digest.entries if moved(e) and e.contact_id not in listed]
    assert rows == others[:10]  # each once, heating and cooling not repeated


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "code": 1510},
        {"kind": "rate_limit"},
    ],
)
async def test_flexmls_busy_or_down_accepts_the_tag_unchecked(services, sandbox, fault):
    sandbox.add_fault(**fault, route="/v1/contacts/tags")
    checked = await check_scope(services, DEMO_TOKEN, "tag:Maybe Real")
    assert checked == CheckedScope("tag:Maybe Real", unchecked="unavailable")
