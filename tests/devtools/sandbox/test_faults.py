"""Fault injection, the sliding-window rate limiter and the admin endpoints."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.sandbox import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TOKEN,
    SECOND_ACCOUNT_ID,
    SECOND_AGENT_TOKEN,
    Brokerage,
    FaultRule,
    FaultRuleError,
    ManualClock,
    RateLimit,
    Sandbox,
)
from devtools.sandbox.faults import SlidingWindowLimiter, retry_after_seconds
from tests.helpers.sandbox import assert_spark_error, results, spark_headers


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def timed_get(
    client: httpx.AsyncClient, path: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get(path, **kwargs)
    return response, time.perf_counter() - started


# -- each kind ------------------------------------------------------------------------------


async def test_latency_rule_delays_matching_routes_only(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.add_fault(kind="latency", route="/v1/my/account", delay_ms=200)
    response, elapsed = await timed_get(client, "/v1/my/account")
    assert results(response) and elapsed >= 0.19
    response, elapsed = await timed_get(client, "/v1/contacts")
    assert results(response) and elapsed < 0.15


async def test_global_latency_applies_to_v1_only(clock: ManualClock) -> None:
    async with (
        Sandbox(clock=clock, latency_ms=250) as sandbox,
        httpx.AsyncClient(verify=False, base_url=sandbox.url, headers=spark_headers()) as http,
    ):
        response, elapsed = await timed_get(http, "/v1/my/account")
        assert response.status_code == 200 and elapsed >= 0.24
        response, elapsed = await timed_get(http, "/healthz")
        assert response.status_code == 200 and elapsed < 0.15


async def test_status_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="status", status=500, code=1026, message="boom", retry_after=3)
    response = await client.get("/v1/contacts")
    d = assert_spark_error(response, 500, 1026)
    assert d["Message"] == "boom"
    assert response.headers["Retry-After"] == "3"


async def test_status_rule_defaults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="status", status=401, times=1)
    assert_spark_error(await client.get("/v1/contacts"), 401, 1000)
    sandbox.add_fault(kind="status", times=1)
    response = await client.get("/v1/contacts")
    assert_spark_error(response, 500, 1026)
    assert "Retry-After" not in response.headers


async def test_rate_limit_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="rate_limit", retry_after=7, times=1)
    response = await client.get("/v1/contacts")
    assert_spark_error(response, 429, 1550)
    assert response.headers["Retry-After"] == "7"
    assert results(await client.get("/v1/contacts"))
    assert sandbox.stats["rate_limited"] == 1


async def test_unavailable_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="unavailable", times=1)
    assert_spark_error(await client.get("/v1/contacts"), 503, 1510)  # spark_api.md §9 pairs
    sandbox.add_fault(kind="unavailable", code=1023, retry_after=2, times=1)
    response = await client.get("/v1/contacts")
    assert_spark_error(response, 503, 1023)
    assert response.headers["Retry-After"] == "2"


async def test_hang_outlasts_a_client_timeout(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="hang", delay_ms=3000, times=1)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/v1/contacts", timeout=0.2)
    assert time.perf_counter() - started < 1.0
    assert results(await client.get("/v1/contacts"))


async def test_hang_then_answers_normally(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="hang", delay_ms=250, times=1)
    response, elapsed = await timed_get(client, "/v1/contacts")
    assert results(response) and elapsed >= 0.24


def test_hang_defaults_to_a_minute() -> None:
    assert FaultRule.from_dict({"kind": "hang"}).delay_ms == 60_000


async def test_malformed_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="malformed", times=1)
    response = await client.get("/v1/contacts")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


async def test_no_envelope_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="no_envelope", times=1)
    response = await client.get("/v1/contacts")
    assert response.status_code == 200
    assert "D" not in response.json()


async def test_expire_token_rule(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    issued = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)["access_token"]
    sandbox.add_fault(kind="expire_token", token=issued, times=1)
    headers = spark_headers(issued)
    assert_spark_error(await bare_client.get("/v1/contacts", headers=headers), 401, 1020)
    assert_spark_error(await bare_client.get("/v1/contacts", headers=headers), 401, 1020)
    assert results(await bare_client.get("/v1/contacts", headers=spark_headers()))

    sandbox.add_fault(kind="expire_token", route="/v1/my/account", times=1)
    assert_spark_error(await bare_client.get("/v1/my/account", headers=spark_headers()), 401, 1020)
    assert_spark_error(await bare_client.get("/v1/contacts", headers=spark_headers()), 401, 1020)


async def test_expire_after_uses(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="expire_after", uses=2)
    first = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)["access_token"]
    second = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)["access_token"]
    for token in (first, second):
        for _ in range(2):
            assert results(await bare_client.get("/v1/my/account", headers=spark_headers(token)))
    for token in (first, second):
        response = await bare_client.get("/v1/my/account", headers=spark_headers(token))
        assert_spark_error(response, 401, 1020)


async def test_disconnect_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="disconnect", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/v1/contacts")
    assert results(await client.get("/v1/contacts"))
    assert [r.status for r in sandbox.requests] == [None, 200]


async def test_times_limits_a_rule(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    rule = sandbox.add_fault(kind="status", status=502, times=2)
    statuses = [(await client.get("/v1/contacts")).status_code for _ in range(4)]
    assert statuses == [502, 502, 200, 200]
    assert rule.applied == 2 and rule.remaining == 0


async def test_token_scoping(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="status", status=500, token=SECOND_AGENT_TOKEN)
    assert results(await client.get("/v1/contacts"))
    blake = await client.get("/v1/contacts", headers=spark_headers(SECOND_AGENT_TOKEN))
    assert_spark_error(blake, 500, 1026)


async def test_route_globs(
    client: httpx.AsyncClient, sandbox: Sandbox, brokerage: Brokerage
) -> None:
    sandbox.add_fault(kind="status", status=503, code=1024, route="/v1/contacts/*/activity*")
    jane = brokerage.notable["jane_doe"].id
    assert_spark_error(await client.get(f"/v1/contacts/{jane}/activity"), 503, 1024)
    viewed = await client.get(f"/v1/contacts/{jane}/activity/listings/viewed")
    assert_spark_error(viewed, 503, 1024)
    assert results(await client.get(f"/v1/contacts/{jane}"))
    assert results(await client.get("/v1/contacts"))


async def test_rules_apply_in_order_until_one_answers(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    latency = sandbox.add_fault(kind="latency", delay_ms=150, times=1)
    status = sandbox.add_fault(kind="status", status=500, times=1)
    later = sandbox.add_fault(kind="status", status=502, times=1)
    response, elapsed = await timed_get(client, "/v1/contacts")
    assert response.status_code == 500 and elapsed >= 0.14
    assert (latency.applied, status.applied, later.applied) == (1, 1, 0)
    assert (await client.get("/v1/contacts")).status_code == 502


async def test_faults_come_before_auth(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="unavailable", times=1)
    assert_spark_error(await bare_client.get("/v1/contacts"), 503, 1510)


async def test_clear_faults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(kind="status", status=500)
    assert (await client.get("/v1/contacts")).status_code == 500
    sandbox.clear_faults()
    assert results(await client.get("/v1/contacts"))


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "explode"},
        {"route": "*"},
        {"kind": "latency"},
        {"kind": "latency", "delay_ms": -1},
        {"kind": "latency", "delay_ms": "100"},
        {"kind": "status", "status": 200},
        {"kind": "status", "times": 0},
        {"kind": "status", "times": True},
        {"kind": "malformed", "status": 500},
        {"kind": "rate_limit", "code": 1234},
        {"kind": "unavailable", "code": 1550},  # 1550 goes with 429 (spark_api.md §9)
        {"kind": "status", "status": 429, "code": 1510},
        {"kind": "expire_after"},
        {"kind": "status", "colour": "red"},
        {"kind": "status", "token": ""},
        {"kind": "status", "route": ""},
        ["kind", "status"],
    ],
)
def test_invalid_rules_are_rejected(rule: Any) -> None:
    with pytest.raises(FaultRuleError):
        FaultRule.from_dict(rule)


# -- rate limiter ---------------------------------------------------------------------------


async def test_rate_limit_over_http_with_retry_after(clock: ManualClock) -> None:
    monotonic = FakeMonotonic()
    async with (
        Sandbox(clock=clock, rate_limit={"limit": 3, "window_s": 10}, monotonic=monotonic) as sb,
        httpx.AsyncClient(verify=False, base_url=sb.url, headers=spark_headers()) as http,
    ):
        for _ in range(3):
            assert (await http.get("/v1/contacts")).status_code == 200
            monotonic.now += 1
        response = await http.get("/v1/contacts")  # t=3: oldest slot frees at t=10
        assert_spark_error(response, 429, 1550)
        assert response.headers["Retry-After"] == "7"
        other = await http.get("/v1/contacts", headers=spark_headers(SECOND_AGENT_TOKEN))
        assert other.status_code == 200  # each fixed demo token is its own key
        monotonic.now += 6.5  # t=9.5
        assert (await http.get("/v1/contacts")).headers["Retry-After"] == "1"
        monotonic.now += 0.5  # t=10: the first request leaves the window
        assert (await http.get("/v1/contacts")).status_code == 200
        assert (await http.get("/v1/contacts")).status_code == 429
        assert sb.stats["rate_limited"] == 3


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 5),
    window=st.sampled_from([0.5, 1.0, 2.5, 10.0]),
    gaps=st.lists(st.sampled_from([0.0, 0.01, 0.1, 0.25, 0.5, 1.0, 3.0]), max_size=60),
)
def test_sliding_window_is_exact(limit: int, window: float, gaps: list[float]) -> None:
    clock = FakeMonotonic()
    limiter = SlidingWindowLimiter(RateLimit(limit, window), clock)
    accepted: list[float] = []
    for gap in gaps:
        clock.now += gap
        wait = limiter.acquire("t")
        in_window = [t for t in accepted if t > clock.now - window]
        if wait is None:
            accepted.append(clock.now)
            assert len(in_window) + 1 <= limit  # never more than limit in any window
        else:
            assert len(in_window) == limit  # refused only when the window is really full
            assert 0 < wait <= window
            # After waiting, the oldest request in the window has left it.
            assert min(in_window) + window <= clock.now + wait + 1e-9
            assert retry_after_seconds(wait) >= 1


def test_rate_limit_values() -> None:
    assert RateLimit.coerce({"limit": 2, "window_s": 1}) == RateLimit(2, 1)
    assert RateLimit.coerce(None) is None
    for bad in ({"limit": 0, "window_s": 1}, {"limit": 1}, {"limit": 1, "window_s": -1}, "x"):
        with pytest.raises(ValueError):
            RateLimit.coerce(bad)
    assert retry_after_seconds(0.01) == 1 and retry_after_seconds(4.2) == 5


# -- admin endpoints ------------------------------------------------------------------------


async def test_admin_fault_lifecycle(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    rule = {"kind": "status", "route": "/v1/contacts", "status": 500, "code": 1026,
            "times": 1, "token": DEMO_TOKEN}  # fmt: skip
    created = await bare_client.post("/_sandbox/faults", json=rule)
    assert created.status_code == 201
    assert created.json()["rule"]["kind"] == "status"
    listed = (await bare_client.get("/_sandbox/faults")).json()["rules"]
    assert len(listed) == 1 and DEMO_TOKEN not in json.dumps(listed)
    assert (await bare_client.get("/v1/contacts", headers=spark_headers())).status_code == 500
    assert (await bare_client.get("/_sandbox/faults")).json()["rules"][0]["applied"] == 1

    await bare_client.post("/_sandbox/faults", json={"kind": "status", "status": 503})
    cleared = await bare_client.delete("/_sandbox/faults")
    assert cleared.json() == {"cleared": 2}
    assert (await bare_client.get("/v1/contacts", headers=spark_headers())).status_code == 200


@pytest.mark.parametrize("body", [b'{"kind": "explode"}', b"not json", b'{"kind": "latency"}'])
async def test_admin_rejects_bad_rules(bare_client: httpx.AsyncClient, body: bytes) -> None:
    response = await bare_client.post("/_sandbox/faults", content=body)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_admin_stats(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await bare_client.get("/v1/contacts", headers=spark_headers())
    await bare_client.get("/v1/contacts", headers=spark_headers())
    await bare_client.get("/v1/my/account", headers=spark_headers())
    await bare_client.post("/_sandbox/faults", json={"kind": "rate_limit", "times": 1})
    await bare_client.get("/v1/my/account", headers=spark_headers())
    stats = (await bare_client.get("/_sandbox/stats")).json()
    assert stats["requests"] == 4  # admin calls are not counted
    assert stats["by_route"] == {"GET /v1/contacts": 2, "GET /v1/my/account": 2}
    assert stats["by_status"] == {"200": 3, "429": 1}
    assert stats["rate_limited"] == 1
    assert stats["in_flight"] == 0 and stats["max_in_flight"] >= 1

    assert (await bare_client.delete("/_sandbox/stats")).status_code == 200
    assert (await bare_client.get("/_sandbox/stats")).json()["requests"] == 0
    assert sandbox.requests == []


async def test_admin_config(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    response = await bare_client.post(
        "/_sandbox/config", json={"latency_ms": 120, "rate_limit": {"limit": 1, "window_s": 60}}
    )
    assert response.json() == {
        "latency_ms": 120,
        "rate_limit": {"limit": 1, "window_s": 60},
        "expires_in": 86400,
        "retry_after": True,
    }
    first, elapsed = await timed_get(bare_client, "/v1/contacts", headers=spark_headers())
    assert first.status_code == 200 and elapsed >= 0.11
    second = await bare_client.get("/v1/contacts", headers=spark_headers())
    assert_spark_error(second, 429, 1550)
    assert 1 <= int(second.headers["Retry-After"]) <= 60

    await bare_client.post("/_sandbox/config", json={"latency_ms": 0, "rate_limit": None})
    assert (await bare_client.get("/_sandbox/config")).json()["rate_limit"] is None
    assert (await bare_client.get("/v1/contacts", headers=spark_headers())).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"latency_ms": -5},
        {"rate_limit": {"limit": 0, "window_s": 1}},
        {"speed": 1},
        {"expires_in": "soon"},
        [1, 2],
    ],
)
async def test_admin_config_rejects_bad_values(
    bare_client: httpx.AsyncClient, sandbox: Sandbox, body: Any
) -> None:
    response = await bare_client.post("/_sandbox/config", json=body)
    assert response.status_code == 400 and response.json()["error"]
    assert sandbox.state.config.latency_ms == 0 and sandbox.state.config.rate_limit is None


async def test_admin_issues_tokens(bare_client: httpx.AsyncClient) -> None:
    created = await bare_client.post("/_sandbox/tokens", json={})
    assert created.status_code == 201
    token = created.json()["access_token"]
    assert results(await bare_client.get("/v1/contacts", headers=spark_headers(token)))
    limited = await bare_client.post("/_sandbox/tokens", json={"private_role": False})
    me = await bare_client.get(
        "/v1/contacts/1/activity", headers=spark_headers(limited.json()["access_token"])
    )
    assert_spark_error(me, 403, 1500)


async def test_admin_request_log(bare_client: httpx.AsyncClient) -> None:
    await bare_client.get("/v1/contacts", headers=spark_headers(), params={"_limit": 3})
    log = (await bare_client.get("/_sandbox/requests")).json()["requests"]
    assert len(log) == 1
    assert log[0]["query"] == {"_limit": "3"} and log[0]["status"] == 200
    assert DEMO_TOKEN not in json.dumps(log)


# -- per-key limit and the Retry-After switch (spark_api.md §9) --------------------------------


async def test_tokens_issued_to_one_oauth_client_share_its_key(clock: ManualClock) -> None:
    monotonic = FakeMonotonic()
    async with (
        Sandbox(clock=clock, rate_limit={"limit": 3, "window_s": 10}, monotonic=monotonic) as sb,
        httpx.AsyncClient(verify=False, base_url=sb.url) as http,
    ):
        state = sb.state
        state.set_retry_after(False)
        first = state.issue_tokens(DEMO_ACCOUNT_ID, key=DEMO_CLIENT_ID)["access_token"]
        second = state.issue_tokens(SECOND_ACCOUNT_ID, key=DEMO_CLIENT_ID)["access_token"]
        for token in (first, second, first):
            assert (await http.get("/v1/contacts", headers=spark_headers(token))).status_code == 200
        refused = await http.get("/v1/contacts", headers=spark_headers(second))
        assert_spark_error(refused, 429, 1550)  # the second agent meets the first's usage
        assert "Retry-After" not in refused.headers  # strict: as documented, no header
        alone = await http.get("/v1/contacts", headers=spark_headers(SECOND_AGENT_TOKEN))
        assert alone.status_code == 200  # a fixed demo token is its own key...
        state.set_token_key(SECOND_AGENT_TOKEN, DEMO_CLIENT_ID)
        shared = await http.get("/v1/contacts", headers=spark_headers(SECOND_AGENT_TOKEN))
        assert_spark_error(shared, 429, 1550)  # ...unless configured onto the client's key
        state.set_retry_after(True)
        again = await http.get("/v1/contacts", headers=spark_headers(first))
        assert again.headers["Retry-After"] == "10"


async def test_oauth_grants_count_against_the_client_id(
    bare_client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    state = sandbox.state
    code = state.issue_code(DEMO_ACCOUNT_ID, "https://bot.test/cb")
    tokens = state.grant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://bot.test/cb"},
    )
    assert state.tokens[tokens["access_token"]].key == DEMO_CLIENT_ID
    refreshed = state.grant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert state.tokens[refreshed["access_token"]].key == DEMO_CLIENT_ID


async def test_admin_config_switches_retry_after(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.post("/_sandbox/config", json={"retry_after": False})
    assert response.json()["retry_after"] is False
    bad = await bare_client.post("/_sandbox/config", json={"retry_after": "no"})
    assert bad.status_code == 400
