"""SparkClient behaviour against httpx.MockTransport: requests, retries, refresh, limits."""

import asyncio

import httpx
import pytest

from spark import (
    BadFilter,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefreshFailed,
    RetryPolicy,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
    TokenExpired,
)
from spark.budget import COOL_DOWN_MAX
from spark.ratelimit import RateLimiter
from tests.helpers.spark import Recorder, spark_error, spark_ok

CONTACT_ID = "20101230223226074201000000"
SUMMARY = {"ManualEmailsOpened": 8, "ManualEmailsSent": 10, "SubscriptionEmailsOpened": 80,
           "SubscriptionEmailsSent": 81, "ListingsViewed": 80, "ListingsShared": 81}  # fmt: skip


async def test_sends_spark_headers_and_an_explicit_timeout(make_client):
    seen = Recorder(spark_ok([{"Id": "A1", "Name": "Avery"}]))
    client = make_client(seen)
    account = await client.my_account("tok-1")
    request = seen.requests[0]
    assert account.name == "Avery"
    assert str(request.url) == "https://spark.test/v1/my/account"
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-sparkapi-user-agent"] == "ActivityBotTests"
    assert request.extensions["timeout"]["read"] == 10.0


async def test_listings_page_asks_for_paging_photo_and_compact_selection(make_client):
    seen = Recorder(
        spark_ok(
            [{"Id": "L1", "StandardFields": {"ListPrice": 1}}],
            {"TotalRows": 30, "PageSize": 25, "TotalPages": 2, "CurrentPage": 2},
        )
    )
    page = await make_client(seen).listings("tok", CONTACT_ID, "viewed", page=2, limit=99)
    url = seen.requests[0].url
    assert url.path == f"/v1/contacts/{CONTACT_ID}/activity/listings/viewed"
    assert url.params["_page"] == "2"
    assert url.params["_limit"] == "25"
    assert url.params["_pagination"] == "1"
    assert url.params["_expand"] == "PrimaryPhoto,ContactActivity"
    assert "ListPrice" in url.params["_select"].split(",")
    assert (page.current_page, page.total_pages, page.items[0].price) == (2, 2, 1.0)


async def test_listings_kind_is_viewed_or_shared_only(make_client):
    client = make_client(Recorder(spark_ok()))
    with pytest.raises(SparkError):
        await client.listings("tok", CONTACT_ID, "../../my/account")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_id", ["", "../my/account", "1/activity", "a b", "x" * 65, "id?x=1"])
async def test_ids_that_would_change_the_url_are_refused_before_any_request(make_client, bad_id):
    seen = Recorder(spark_ok())
    with pytest.raises(SparkError):
        await make_client(seen).activity_summary("tok", bad_id)
    assert seen.requests == []


async def test_activity_summary(make_client):
    summary = await make_client(Recorder(spark_ok([SUMMARY]))).activity_summary("tok", CONTACT_ID)
    assert (summary.listings_viewed, summary.manual_emails_opened) == (80, 8)


async def test_empty_results_for_a_single_record_is_a_protocol_error(make_client):
    with pytest.raises(SparkProtocolError):
        await make_client(Recorder(spark_ok([]))).activity_summary("tok", CONTACT_ID)


async def test_search_by_name_sends_the_quoted_filter(make_client):
    seen = Recorder(spark_ok([{"Id": "1", "DisplayName": "Seán O'Brien"}], {"TotalRows": 1}))
    page = await make_client(seen).search_contacts("tok", "O'Brien")
    params = seen.requests[0].url.params
    assert params["_filter"] == (
        "DisplayName Eq 'O\\'Brien*' Or GivenName Eq 'O\\'Brien*' Or FamilyName Eq 'O\\'Brien*'"
    )
    assert params["_limit"] == "25"
    assert "_orderby" not in params  # we rank ourselves (spark_api.md §9)
    assert page.items[0].display_name == "Seán O'Brien"


async def test_search_by_id_gets_the_contact_directly(make_client):
    seen = Recorder(spark_ok([{"Id": CONTACT_ID, "DisplayName": "Jane"}]))
    page = await make_client(seen).search_contacts("tok", f" {CONTACT_ID} ")
    assert seen.requests[0].url.path == f"/v1/contacts/{CONTACT_ID}"
    assert [c.id for c in page.items] == [CONTACT_ID]


async def test_search_by_unknown_id_is_an_empty_page(make_client):
    page = await make_client(Recorder(spark_error(404, 404))).search_contacts("tok", CONTACT_ID)
    assert page.items == () and page.total_rows == 0


async def test_tag_is_url_encoded_as_one_path_segment(make_client):
    seen = Recorder(spark_ok([], {"TotalRows": 0}))
    await make_client(seen).contacts_with_tag("tok", "IDX Lead/../x")
    assert seen.requests[0].url.raw_path.startswith(b"/v1/contacts/tags/IDX%20Lead%2F..%2Fx?")


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (spark_error(404, 404), NotFound),
        (spark_error(400, 1040), BadFilter),
        (spark_error(401, 1000), InvalidToken),
        (spark_error(403, 1500), PermissionDenied),
        (httpx.Response(200, text="not json"), SparkProtocolError),
    ],
)
async def test_errors_that_retrying_cannot_fix_are_not_retried(make_client, clock, response, error):
    seen = Recorder(response)
    with pytest.raises(error):
        await make_client(seen).activity_summary("tok", CONTACT_ID)
    assert len(seen.requests) == 1
    assert clock.sleeps == []


async def test_rate_limited_waits_retry_after_then_succeeds(make_client, clock):
    seen = Recorder(spark_error(429, 1550, headers={"Retry-After": "3"}), spark_ok([SUMMARY]))
    notices = []

    async def on_retry(error, delay):
        notices.append((type(error).__name__, delay))

    summary = await make_client(seen).activity_summary("tok", CONTACT_ID, on_retry=on_retry)
    assert summary.listings_shared == 81
    assert clock.sleeps == [3.0]
    assert notices == [("RateLimited", 3.0)]


async def test_retry_after_beyond_the_bound_is_raised_not_slept(make_client, clock):
    seen = Recorder(spark_error(429, 1550, headers={"Retry-After": "600"}))
    with pytest.raises(RateLimited) as info:
        await make_client(seen).activity_summary("tok", CONTACT_ID)
    assert info.value.retry_after == COOL_DOWN_MAX  # 600 asked, capped at one Spark window
    assert clock.sleeps == [] and len(seen.requests) == 1


async def test_unavailable_backs_off_exponentially_and_gives_up_after_the_attempts(
    make_client, clock
):
    seen = Recorder(spark_error(503, 1510))
    policy = RetryPolicy(attempts=4, base_delay=0.2, max_delay=10, deadline=100)
    with pytest.raises(SparkUnavailable):
        await make_client(seen, retry=policy).activity_summary("tok", CONTACT_ID)
    assert len(seen.requests) == 4
    # rng is fixed at 0.5 → each delay is 75 % of its cap: 0.2, 0.4, 0.8
    assert clock.sleeps == pytest.approx([0.15, 0.3, 0.6])


async def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(base_delay=1, max_delay=4)
    assert policy.backoff(10, lambda: 0.999) <= 4
    assert policy.backoff(10, lambda: 0.0) == 2
    assert policy.backoff(1, lambda: 0.0) != policy.backoff(1, lambda: 0.9)


async def test_the_overall_deadline_stops_retries_early(make_client, clock):
    seen = Recorder(spark_error(429, 1550, headers={"Retry-After": "8"}))
    policy = RetryPolicy(attempts=10, deadline=20)
    with pytest.raises(RateLimited):
        await make_client(seen, retry=policy).activity_summary("tok", CONTACT_ID)
    assert clock.sleeps == [8.0, 8.0]  # a third 8 s wait would pass the 20 s deadline


async def test_timeouts_become_spark_timeout_and_are_retried(make_client, clock):
    seen = Recorder(httpx.ReadTimeout("slow"), spark_ok([SUMMARY]))
    summary = await make_client(seen).activity_summary("tok", CONTACT_ID)
    assert summary.listings_viewed == 80 and len(seen.requests) == 2


async def test_persistent_timeouts_raise_spark_timeout(make_client):
    seen = Recorder(httpx.ConnectTimeout("slow"))
    with pytest.raises(SparkTimeout):
        await make_client(seen).activity_summary("tok", CONTACT_ID)


async def test_connection_refused_is_unavailable_without_leaking_the_url(make_client):
    seen = Recorder(httpx.ConnectError("refused https://spark.test/v1?token=secret"))
    with pytest.raises(SparkUnavailable) as info:
        await make_client(seen).activity_summary("tok", CONTACT_ID)
    assert "secret" not in str(info.value)


async def test_expired_token_is_refreshed_once_and_replayed(make_client):
    seen = Recorder(
        lambda r: (
            spark_ok([SUMMARY])
            if r.headers["authorization"] == "Bearer new"
            else spark_error(401, 1020, "Session token has expired")
        )
    )
    calls = []

    async def refresher(old):
        calls.append(old)
        return "new"

    summary = await make_client(seen, refresher=refresher).activity_summary("old", CONTACT_ID)
    assert summary.listings_viewed == 80
    assert calls == ["old"]
    assert seen.tokens() == ["old", "new"]


async def test_expired_without_refresher_raises_token_expired(make_client):
    with pytest.raises(TokenExpired):
        await make_client(Recorder(spark_error(401, 1020))).activity_summary("old", CONTACT_ID)


async def test_a_refreshed_token_that_is_still_expired_is_not_refreshed_again(make_client):
    seen = Recorder(spark_error(401, 1020))
    calls = []

    async def refresher(old):
        calls.append(old)
        return old + "+"

    with pytest.raises(TokenExpired):
        await make_client(seen, refresher=refresher).activity_summary("old", CONTACT_ID)
    assert calls == ["old"] and len(seen.requests) == 2


async def test_refresh_failure_propagates(make_client):
    async def refresher(old):
        raise RefreshFailed("invalid_grant")

    with pytest.raises(RefreshFailed):
        await make_client(Recorder(spark_error(401, 1020)), refresher=refresher).my_account("old")


async def test_each_expired_request_asks_the_refresher_once_and_replays(make_client):
    """The client adds no sharing of its own: the refresher (the token keeper) serialises
    concurrent refreshes of one connection, see tests/activity/test_auth.py."""

    def handler(request):
        if request.headers["authorization"] == "Bearer new":
            return spark_ok([SUMMARY])
        return spark_error(401, 1020)

    calls = []

    async def refresher(old):
        calls.append(old)
        return "new"

    client = make_client(handler, refresher=refresher)
    results = await asyncio.gather(*(client.activity_summary("old", CONTACT_ID) for _ in range(3)))
    assert calls == ["old", "old", "old"]
    assert all(r.listings_viewed == 80 for r in results)


async def test_every_request_takes_a_rate_limit_slot_for_its_token(make_client, clock):
    limiter = RateLimiter(limit=2, window=60, margin=0, clock=clock, sleep=clock.sleep)
    seen = Recorder(spark_ok([SUMMARY]))
    client = make_client(seen, rate_limiter=limiter)
    for _ in range(3):
        await client.activity_summary("tok-a", CONTACT_ID)
    await client.activity_summary("tok-b", CONTACT_ID)
    assert clock.sleeps == [60.0]  # only the third tok-a request waited
    assert client.requests_sent == 4


async def test_iter_pages_follows_pagination_to_the_end(make_client):
    def handler(request):
        page = int(request.url.params["_page"])
        rows = [{"Id": f"{page}-{i}"} for i in range(2 if page < 3 else 1)]
        return spark_ok(rows, {"TotalRows": 5, "PageSize": 2, "TotalPages": 3, "CurrentPage": page})

    client = make_client(handler)
    ids = [
        c.id
        async for c in client.iter_pages(
            lambda n: client.contacts_with_tag("t", "Buyer", page=n, limit=2)
        )
    ]
    assert ids == ["1-0", "1-1", "2-0", "2-1", "3-0"]
