"""The Spark client against the sandbox over real HTTP on 127.0.0.1: the integration cases."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.sandbox import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TOKEN,
    NO_ROLE_TOKEN,
    SECOND_AGENT_TOKEN,
    ManualClock,
    Sandbox,
)
from spark import (
    InvalidQuery,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RateLimiter,
    RefreshFailed,
    RetryPolicy,
    SparkClient,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
    TokenExpired,
)

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, deadline=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock):
    async with Sandbox(clock=clock) as running:
        yield running


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def spark(sandbox, http) -> SparkClient:
    return SparkClient(http, base_url=sandbox.url, user_agent="ActivityBotTests", retry=FAST_RETRY)


async def test_search_by_name_finds_namesakes(spark, sandbox):
    page = await spark.search_contacts(DEMO_TOKEN, "jane doe")
    names = sorted(c.display_name for c in page.items)
    assert names == ["Jane Doe", "Jane Doe", "Jane Doerr", "Janet Doe"]
    assert page.total_rows == 4 and page.total_pages == 1


async def test_search_by_email_phone_and_id_find_exactly_one(spark, sandbox):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    for query in (jane.primary_email.upper(), jane.primary_phone.replace("-", " "), jane.id):
        page = await spark.search_contacts(DEMO_TOKEN, query)
        assert [c.id for c in page.items] == [jane.id], query


async def test_apostrophes_survive_the_round_trip(spark, sandbox):
    sean = sandbox.state.brokerage.notable["sean_obrien"]
    page = await spark.search_contacts(DEMO_TOKEN, "O'Brien")
    assert sean.id in [c.id for c in page.items]


@given(text=st.text(min_size=1, max_size=80))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_no_input_can_produce_a_filter_spark_rejects(spark, text):
    with contextlib.suppress(InvalidQuery):  # refused before any request: fine
        await spark.search_contacts(DEMO_TOKEN, text)


async def test_injection_attempt_does_not_widen_the_search(spark):
    page = await spark.search_contacts(DEMO_TOKEN, "x' Or DisplayName Eq '*")
    assert page.items == ()


async def test_summary_and_listing_pages_agree_with_the_counters(spark, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    summary = await spark.activity_summary(DEMO_TOKEN, heavy.id)
    first = await spark.listings(DEMO_TOKEN, heavy.id, "viewed", page=1, limit=25)
    assert summary.listings_viewed >= 300
    assert first.total_rows == summary.listings_viewed
    assert first.total_pages == -(-summary.listings_viewed // 25)
    last = await spark.listings(DEMO_TOKEN, heavy.id, "viewed", page=first.total_pages, limit=25)
    assert not last.has_next and last.has_prev
    assert len(last.items) == summary.listings_viewed - 25 * (first.total_pages - 1)
    with_photo = [item for item in first.items if item.photo_url]
    assert with_photo and all(item.photo_url.startswith(sandbox.url) for item in with_photo)
    assert all(item.address for item in first.items)


async def test_zero_activity_contact_has_empty_lists(spark, sandbox):
    quiet = sandbox.state.brokerage.notable["zero_activity"]
    summary = await spark.activity_summary(DEMO_TOKEN, quiet.id)
    page = await spark.listings(DEMO_TOKEN, quiet.id, "shared")
    assert summary.listings_shared == 0 and page.items == () and not page.has_next


async def test_my_account_names_the_agent(spark):
    account = await spark.my_account(DEMO_TOKEN)
    assert account.id == DEMO_ACCOUNT_ID and account.name == "Avery Agent"


async def test_contacts_with_tag(spark):
    page = await spark.contacts_with_tag(DEMO_TOKEN, "Hot Lead", limit=5)
    assert page.items and all("Hot Lead" in c.tags for c in page.items)


async def test_another_agents_contact_is_not_found(spark, sandbox):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    with pytest.raises(NotFound):
        await spark.activity_summary(SECOND_AGENT_TOKEN, jane.id)


async def test_unknown_token_is_invalid(spark):
    with pytest.raises(InvalidToken):
        await spark.my_account("not-a-token")


async def test_key_without_private_role_is_permission_denied(spark, sandbox):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    with pytest.raises(PermissionDenied) as info:
        await spark.activity_summary(NO_ROLE_TOKEN, jane.id)
    assert (info.value.status, info.value.code) == (403, 1500)


async def test_rate_limit_with_retry_after_is_retried(sandbox, http, spark):
    sandbox.add_fault(kind="rate_limit", route="/v1/my/account", times=1, retry_after=0)
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    client = SparkClient(http, base_url=sandbox.url, user_agent="t", retry=FAST_RETRY, sleep=sleep)
    assert (await client.my_account(DEMO_TOKEN)).name == "Avery Agent"
    # The key's budget holds the retry for the (zero-second) pause: nothing to sleep.
    assert slept == []
    assert len([r for r in sandbox.requests if r.path == "/v1/my/account"]) == 2


async def test_1550_without_retry_after_cools_the_key_down_instead_of_retrying(sandbox, spark):
    # spark_api.md §9: Retry-After is not promised; quick retries would each count again.
    sandbox.add_fault(kind="status", status=503, code=1550, route="/v1/my/account")
    with pytest.raises(RateLimited) as info:
        await spark.my_account(DEMO_TOKEN)
    assert len([r for r in sandbox.requests if r.path == "/v1/my/account"]) == 1
    assert info.value.retry_after == pytest.approx(30, abs=1)


async def test_a_500_then_success_is_retried(sandbox, spark):
    sandbox.add_fault(kind="status", route="/v1/my/account", status=500, times=2)
    assert (await spark.my_account(DEMO_TOKEN)).name == "Avery Agent"


@pytest.mark.parametrize(
    ("kind", "error"), [("malformed", SparkProtocolError), ("no_envelope", SparkProtocolError)]
)
async def test_broken_bodies_are_protocol_errors(sandbox, spark, kind, error):
    sandbox.add_fault(kind=kind, route="/v1/my/account")
    with pytest.raises(error):
        await spark.my_account(DEMO_TOKEN)


async def test_a_hang_past_the_timeout_is_a_timeout(sandbox, http):
    sandbox.add_fault(kind="hang", route="/v1/my/account", delay_ms=5000)
    client = SparkClient(
        http,
        base_url=sandbox.url,
        user_agent="t",
        timeout=httpx.Timeout(0.2),
        retry=RetryPolicy(attempts=2, base_delay=0.01, deadline=2),
    )
    started = time.monotonic()
    with pytest.raises(SparkTimeout):
        await client.my_account(DEMO_TOKEN)
    assert time.monotonic() - started < 2


async def test_a_dropped_connection_is_unavailable(sandbox, spark):
    sandbox.add_fault(kind="disconnect", route="/v1/my/account")
    with pytest.raises(SparkUnavailable):
        await spark.my_account(DEMO_TOKEN)


async def test_connection_refused_is_unavailable(http):
    client = SparkClient(http, base_url="http://127.0.0.1:9", user_agent="t", retry=FAST_RETRY)
    with pytest.raises(SparkUnavailable):
        await client.my_account(DEMO_TOKEN)


async def _grant(http, sandbox, **params):
    response = await http.post(
        f"{sandbox.url}/v1/oauth2/grant",
        json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, **params},
    )
    body = response.json()
    if response.status_code != 200:
        raise RefreshFailed(body.get("error", "grant failed"))
    return body


async def test_expired_token_is_refreshed_through_the_grant_endpoint(sandbox, http, clock):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    refresh = {"token": tokens["refresh_token"]}
    calls = []

    async def refresher(expired):
        calls.append(expired)
        body = await _grant(
            http, sandbox, grant_type="refresh_token", refresh_token=refresh["token"]
        )
        refresh["token"] = body["refresh_token"]
        return body["access_token"]

    client = SparkClient(http, base_url=sandbox.url, user_agent="t", refresher=refresher)
    clock.advance(days=2)  # past expires_in
    account = await client.my_account(tokens["access_token"])
    assert account.id == DEMO_ACCOUNT_ID
    assert calls == [tokens["access_token"]]


async def test_a_revoked_refresh_token_surfaces_as_refresh_failed(sandbox, http):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    sandbox.add_fault(kind="expire_token", token=tokens["access_token"])

    async def refresher(expired):
        return (await _grant(http, sandbox, grant_type="refresh_token", refresh_token="revoked"))[
            "access_token"
        ]

    client = SparkClient(http, base_url=sandbox.url, user_agent="t", refresher=refresher)
    with pytest.raises(RefreshFailed):
        await client.my_account(tokens["access_token"])


async def test_without_a_refresher_expiry_is_token_expired(sandbox, spark):
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    sandbox.add_fault(kind="expire_after", uses=1, token=tokens["access_token"])
    await spark.my_account(tokens["access_token"])
    with pytest.raises(TokenExpired):
        await spark.my_account(tokens["access_token"])


async def test_client_limiter_keeps_a_burst_under_the_sandbox_limit(http):
    async with Sandbox(rate_limit={"limit": 5, "window_s": 0.5}) as sandbox:
        client = SparkClient(
            http,
            base_url=sandbox.url,
            user_agent="t",
            rate_limiter=RateLimiter(limit=5, window=0.5, margin=0.05),
        )
        started = time.monotonic()
        await asyncio.gather(*(client.my_account(DEMO_TOKEN) for _ in range(16)))
        elapsed = time.monotonic() - started
        assert sandbox.stats["rate_limited"] == 0
        assert elapsed >= 1.5  # 16 requests at 5 per 0.5 s need three full windows


async def test_list_contacts_pages_through_every_contact_of_the_agent(spark, sandbox):
    owned = {c.id for c in sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID)}
    seen = [c.id async for c in spark.iter_pages(lambda n: spark.list_contacts(DEMO_TOKEN, page=n))]
    assert set(seen) == owned and len(seen) == len(owned)
