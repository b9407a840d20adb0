"""OAuthClient: the authorize URL, the token requests of both flows, and every error mapping.

Unit cases use `httpx.MockTransport`; the integration cases run the sandbox on 127.0.0.1.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.sandbox import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SECOND_ACCOUNT_ID,
    ManualClock,
    Sandbox,
)
from spark.errors import (
    BadRequest,
    RefreshFailed,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
)
from spark.oauth import DEFAULT_LIFETIME, OAuthClient, OAuthConfigError, TokenSet

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
AUTH_URL = "https://auth.spark.test"
API_URL = "https://api.spark.test"
CLIENT_ID = "client-id-123"
SECRET = "s3cret-Client-Value"
REDIRECT = "https://bot.example.com/spark/oauth/callback"
CODE = "code-9f8e7d6c5b4a"
ACCESS = "at-0123456789abcdef"
REFRESH = "rt-fedcba9876543210"
SECRETS = (SECRET, CODE, ACCESS, REFRESH)
FLOWS = ["openid", "legacy"]


class Handler:
    """A MockTransport handler: answers every request with one response, and records them."""

    def __init__(self, response: httpx.Response | Exception) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def fresh(response: httpx.Response) -> httpx.Response:
    """A new copy of a canned response (parametrize shares objects; httpx consumes them)."""
    return httpx.Response(response.status_code, headers=response.headers, content=response.content)


def tokens(**body: Any) -> httpx.Response:
    payload = {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 86400}
    payload.update(body)
    return httpx.Response(200, json={k: v for k, v in payload.items() if v is not ...})


@pytest.fixture
async def mock() -> AsyncIterator[Callable[..., tuple[OAuthClient, Handler]]]:
    clients: list[httpx.AsyncClient] = []

    def build(
        response: httpx.Response | Exception, flow: str = "openid", **kw: Any
    ) -> tuple[OAuthClient, Handler]:
        handler = Handler(response)
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(handler), follow_redirects=kw.pop("follow", False)
        )
        clients.append(http)
        options: dict[str, Any] = {
            "auth_url": AUTH_URL + "/",
            "api_url": API_URL + "/",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "redirect_uri": REDIRECT,
            "flow": flow,
            "user_agent": "ActivityBotTests",
            "clock": lambda: START,
            **kw,
        }
        return OAuthClient(http, **options), handler

    yield build
    for http in clients:
        await http.aclose()


async def call(client: OAuthClient, method: str) -> TokenSet:
    return await (client.exchange_code(CODE) if method == "code" else client.refresh(REFRESH))


def assert_no_secrets(exc: BaseException) -> None:
    texts = [str(exc), repr(exc), str(exc.args)]
    if isinstance(exc, SparkError):
        texts += [exc.message, repr(exc.details)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
        assert "?" not in text and "://" not in text  # no URL, with or without a query
    assert exc.__cause__ is None and exc.__context__ is None  # no httpx error (with request)


# -- authorize_url --------------------------------------------------------------------------


def refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError("building an authorize URL must not send anything")


# One shared client for tests that never send: no TLS context per test (that costs ~50 ms).
OFFLINE_HTTP = httpx.AsyncClient(transport=httpx.MockTransport(refuse), trust_env=False)


def offline(**kw: Any) -> OAuthClient:
    options: dict[str, Any] = {
        "auth_url": AUTH_URL,
        "api_url": API_URL,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uri": REDIRECT,
        **kw,
    }
    return OAuthClient(OFFLINE_HTTP, **options)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


def test_openid_authorize_url() -> None:
    client = offline(auth_url=AUTH_URL + "/")
    url = client.authorize_url("st-1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTH_URL + "/openid/authorize"
    assert query_of(url) == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "scope": ["openid"],
        "state": ["st-1"],
    }
    assert SECRET not in url


def test_legacy_authorize_url() -> None:
    client = offline(flow="legacy")
    url = client.authorize_url("st-2")
    assert url.startswith(AUTH_URL + "/oauth2?")
    assert query_of(url) == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "state": ["st-2"],
    }
    assert SECRET not in url


HOSTILE_STATE = "a&scope=evil&state=x#frag /?%+=\n\u2603"
HOSTILE_REDIRECT = "https://bot.example.com/cb?next=/a&b=1&client_id=evil#top"


@pytest.mark.parametrize("flow", FLOWS)
def test_authorize_url_encodes_hostile_values(flow: str) -> None:
    client = offline(client_id="id&x=1", redirect_uri=HOSTILE_REDIRECT, flow=flow)
    url = client.authorize_url(HOSTILE_STATE)
    query = query_of(url)
    assert query["state"] == [HOSTILE_STATE]
    assert query["redirect_uri"] == [HOSTILE_REDIRECT]
    assert query["client_id"] == ["id&x=1"]
    assert len(urlsplit(url).query.split("&")) == (5 if flow == "openid" else 4)
    assert not any(ch in url for ch in "# \n\u2603")


@given(state=st.text(min_size=1, max_size=60))
def test_any_state_survives_the_round_trip(state: str) -> None:
    client = offline()
    assert query_of(client.authorize_url(state))["state"] == [state]


def test_empty_state_and_unknown_flow_are_refused() -> None:
    with pytest.raises(ValueError):
        offline().authorize_url("")
    with pytest.raises(ValueError):
        offline(flow="implicit")


# -- request shape --------------------------------------------------------------------------


def basic_credentials(request: httpx.Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def form_of(request: httpx.Request) -> dict[str, str]:
    parsed = parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {k: v[0] for k, v in parsed.items()}


async def test_openid_code_exchange_posts_a_form_with_basic_auth(mock) -> None:
    timeout = httpx.Timeout(3.0, connect=1.0)
    client, seen = mock(tokens(token_type="Bearer"), timeout=timeout)
    result = await client.exchange_code(CODE)
    request = seen.requests[0]
    assert request.method == "POST"
    assert str(request.url) == AUTH_URL + "/openid/token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept"] == "application/json"
    assert basic_credentials(request) == (CLIENT_ID, SECRET)
    assert form_of(request) == {
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT,
    }
    assert SECRET.encode() not in request.content
    assert request.extensions["timeout"] == timeout.as_dict()
    assert result == TokenSet(ACCESS, REFRESH, START + dt.timedelta(days=1), "Bearer")


async def test_openid_refresh_posts_a_form_with_basic_auth(mock) -> None:
    client, seen = mock(tokens())
    await client.refresh(REFRESH)
    request = seen.requests[0]
    assert str(request.url) == AUTH_URL + "/openid/token"
    assert basic_credentials(request) == (CLIENT_ID, SECRET)
    assert form_of(request) == {"grant_type": "refresh_token", "refresh_token": REFRESH}


async def test_basic_credentials_are_form_encoded(mock) -> None:
    client, seen = mock(tokens(), client_id="id:with+odd chars", client_secret="p@ss:w/rd%+ é")
    await client.exchange_code(CODE)
    assert basic_credentials(seen.requests[0]) == ("id:with+odd chars", "p@ss:w/rd%+ é")


async def test_legacy_code_exchange_posts_json_with_body_credentials(mock) -> None:
    client, seen = mock(tokens(), flow="legacy")
    result = await client.exchange_code(CODE)
    request = seen.requests[0]
    assert request.method == "POST"
    assert str(request.url) == API_URL + "/v1/oauth2/grant"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-sparkapi-user-agent"] == "ActivityBotTests"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "code": CODE,
        "redirect_uri": REDIRECT,
    }
    assert request.extensions["timeout"]["read"] == 10.0
    assert result.token_type == "Bearer"  # the legacy grant sends no token_type


async def test_legacy_refresh_posts_json_like_the_ruby_gem(mock) -> None:
    client, seen = mock(tokens(), flow="legacy")
    await client.refresh(REFRESH)
    assert json.loads(seen.requests[0].content) == {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": REFRESH,
        "redirect_uri": REDIRECT,
    }


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("method", ["code", "refresh"])
async def test_empty_code_or_refresh_token_fails_without_a_request(mock, flow, method) -> None:
    client, seen = mock(tokens(), flow=flow)
    with pytest.raises(RefreshFailed):
        await (client.exchange_code("") if method == "code" else client.refresh(""))
    assert seen.requests == []


@pytest.mark.parametrize("flow", FLOWS)
async def test_redirects_are_never_followed(mock, flow) -> None:
    elsewhere = httpx.Response(307, headers={"location": "https://evil.test/steal"})
    client, seen = mock(elsewhere, flow=flow, follow=True)
    with pytest.raises(SparkProtocolError) as raised:
        await client.exchange_code(CODE)
    assert len(seen.requests) == 1
    assert_no_secrets(raised.value)


# -- responses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "seconds"),
    [
        (..., DEFAULT_LIFETIME),
        (None, DEFAULT_LIFETIME),
        (3600, 3600),
        ("3600", 3600),
        (" 7200 ", 7200),
        (1800.9, 1800),
        ("soon", DEFAULT_LIFETIME),
        ("", DEFAULT_LIFETIME),
        (True, DEFAULT_LIFETIME),
        (0, DEFAULT_LIFETIME),
        (-60, DEFAULT_LIFETIME),
        ("nan", DEFAULT_LIFETIME),
        ("inf", DEFAULT_LIFETIME),
        (1e300, DEFAULT_LIFETIME),
        ([3600], DEFAULT_LIFETIME),
        ({"s": 1}, DEFAULT_LIFETIME),
    ],
)
async def test_expires_at_comes_from_expires_in(mock, expires_in, seconds) -> None:
    client, _ = mock(tokens(expires_in=expires_in))
    result = await client.exchange_code(CODE)
    assert result.expires_at == START + dt.timedelta(seconds=seconds)
    assert result.expires_at is not None and result.expires_at.tzinfo is dt.UTC


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2026, 3, 2, 15, 0),  # naive: taken as UTC
    ],
)
async def test_expires_at_is_aware_utc_whatever_the_clock_says(mock, now) -> None:
    client, _ = mock(tokens(expires_in=60), clock=lambda: now)
    result = await client.exchange_code(CODE)
    assert result.expires_at == START + dt.timedelta(seconds=60)
    assert result.expires_at is not None and result.expires_at.tzinfo is dt.UTC


async def test_refresh_keeps_the_old_refresh_token_when_none_is_returned(mock) -> None:
    client, _ = mock(tokens(refresh_token=...))
    assert (await client.refresh("rt-old")).refresh_token == "rt-old"
    client, _ = mock(tokens(refresh_token="rt-new"))
    assert (await client.refresh("rt-old")).refresh_token == "rt-new"


async def test_code_exchange_without_refresh_token_has_none(mock) -> None:
    client, _ = mock(tokens(refresh_token=...))
    assert (await client.exchange_code(CODE)).refresh_token is None


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={}),
        httpx.Response(200, json={"access_token": ""}),
        httpx.Response(200, json={"access_token": 12345}),
        httpx.Response(200, json={"access_token": None, "refresh_token": REFRESH}),
        httpx.Response(200, json=[ACCESS]),
        httpx.Response(200, json={"error": "invalid_grant"}),
        httpx.Response(200, text=f"<html>{ACCESS}</html>"),
        httpx.Response(200, content=b'{"access_token": "' + ACCESS.encode()),
        httpx.Response(204),
    ],
)
@pytest.mark.parametrize("flow", FLOWS)
async def test_success_without_a_usable_access_token_is_a_protocol_error(
    mock, response, flow
) -> None:
    client, _ = mock(fresh(response), flow=flow)
    with pytest.raises(SparkProtocolError) as raised:
        await client.exchange_code(CODE)
    assert_no_secrets(raised.value)


def oauth_error(status: int, error: str, **headers: str) -> httpx.Response:
    # error_description echoes secrets on purpose: it must never reach our messages
    body = {"error": error, "error_description": f"{CODE} {REFRESH} {SECRET}"}
    return httpx.Response(status, json=body, headers=headers)


ERROR_CASES = [
    ("invalid_grant/400", oauth_error(400, "invalid_grant"), RefreshFailed),
    ("invalid_grant/401", oauth_error(401, "invalid_grant"), RefreshFailed),
    ("invalid_grant/500", oauth_error(500, "invalid_grant"), RefreshFailed),
    ("invalid_client/401", oauth_error(401, "invalid_client"), OAuthConfigError),
    ("invalid_client/400", oauth_error(400, "invalid_client"), OAuthConfigError),
    ("unauthorized_client", oauth_error(400, "unauthorized_client"), OAuthConfigError),
    ("bare 401", httpx.Response(401, text="Unauthorized"), OAuthConfigError),
    ("invalid_request", oauth_error(400, "invalid_request"), BadRequest),
    ("unsupported_grant_type", oauth_error(400, "unsupported_grant_type"), BadRequest),
    ("invalid_scope", oauth_error(400, "invalid_scope"), BadRequest),
    ("403 empty json", httpx.Response(403, json={}), BadRequest),
    ("404 html", httpx.Response(404, text="<h1>Not Found</h1>"), BadRequest),
    ("error echoing a code", oauth_error(400, f"bad code {CODE}"), BadRequest),
    (
        "spark envelope 400",
        httpx.Response(400, json={"D": {"Success": False, "Code": 1053}}),
        BadRequest,
    ),
    ("500 json", oauth_error(500, "server_error"), SparkUnavailable),
    ("502 html", httpx.Response(502, text="<html>Bad Gateway</html>"), SparkUnavailable),
    ("503 empty", httpx.Response(503), SparkUnavailable),
    (
        "429",
        httpx.Response(429, json={"error": "slow_down"}, headers={"retry-after": "5"}),
        SparkUnavailable,
    ),
    ("302", httpx.Response(302, headers={"location": AUTH_URL + "/login"}), SparkProtocolError),
]


@pytest.mark.parametrize(
    ("name", "response", "expected"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("method", ["code", "refresh"])
async def test_error_mapping(mock, name, response, expected, flow, method, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    response = fresh(response)
    response.headers["x-request-id"] = "req-42"
    client, seen = mock(response, flow=flow)
    with pytest.raises(SparkError) as raised:
        await call(client, method)
    error = raised.value
    assert type(error) is expected
    assert error.status == response.status_code
    assert error.request_id == "req-42"
    assert len(seen.requests) == 1  # never retried
    assert_no_secrets(error)
    assert not any(secret in caplog.text for secret in SECRETS)


@pytest.mark.parametrize("flow", FLOWS)
async def test_invalid_grant_says_the_grant_was_rejected(mock, flow) -> None:
    client, _ = mock(oauth_error(400, "invalid_grant"), flow=flow)
    with pytest.raises(RefreshFailed, match="rejected the grant.*authorization code"):
        await client.exchange_code(CODE)
    with pytest.raises(RefreshFailed, match="rejected the grant.*refresh token") as raised:
        await client.refresh(REFRESH)
    assert raised.value.details == {"error": "invalid_grant"}


async def test_config_error_names_the_settings(mock) -> None:
    client, _ = mock(oauth_error(401, "invalid_client"))
    with pytest.raises(OAuthConfigError, match="SPARK_CLIENT_SECRET"):
        await client.exchange_code(CODE)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("connection refused"), SparkUnavailable),
        (httpx.RemoteProtocolError("server hung up"), SparkUnavailable),
        (httpx.ReadError("reset"), SparkUnavailable),
        (httpx.ConnectTimeout("slow"), SparkTimeout),
        (httpx.ReadTimeout("slow"), SparkTimeout),
        (httpx.PoolTimeout("busy"), SparkTimeout),
    ],
)
@pytest.mark.parametrize("flow", FLOWS)
async def test_transport_errors(mock, exc, expected, flow) -> None:
    client, seen = mock(exc, flow=flow)
    with pytest.raises(SparkError) as raised:
        await client.refresh(REFRESH)
    assert type(raised.value) is expected
    assert raised.value.retryable
    assert len(seen.requests) == 1
    assert_no_secrets(raised.value)


def test_repr_hides_tokens() -> None:
    result = TokenSet(ACCESS, REFRESH, START)
    for text in (repr(result), str(result), f"{result}", f"{result!r}", repr([result])):
        assert ACCESS not in text and REFRESH not in text
        assert "2026-03-02T15:00:00+00:00" in text
    assert "refresh_token=None" in repr(TokenSet(ACCESS, None, None))


def test_client_repr_hides_the_secret() -> None:
    client = offline()
    assert SECRET not in repr(client)


def test_token_set_is_frozen() -> None:
    result = TokenSet(ACCESS, REFRESH, START)
    with pytest.raises(AttributeError):
        result.access_token = "other"  # type: ignore[misc]


# -- against the sandbox over real HTTP -----------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(clock=clock) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def oauth(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: ManualClock
) -> Callable[..., OAuthClient]:
    def build(flow: str = "openid", **kw: Any) -> OAuthClient:
        options: dict[str, Any] = {
            "auth_url": sandbox.url,
            "api_url": sandbox.url,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "redirect_uri": REDIRECT,
            "flow": flow,
            "clock": clock,
            **kw,
        }
        return OAuthClient(http, **options)

    return build


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_code_exchange(oauth, sandbox, flow) -> None:
    sandbox.state.set_expires_in(3600)
    code = sandbox.state.issue_code(SECOND_ACCOUNT_ID, REDIRECT)
    result = await oauth(flow).exchange_code(code)
    assert sandbox.state.token_usable(result.access_token)
    assert sandbox.state.tokens[result.access_token].account_id == SECOND_ACCOUNT_ID
    assert result.refresh_token and result.refresh_token in sandbox.state.refresh_tokens
    assert result.expires_at == START + dt.timedelta(seconds=3600)
    assert result.token_type == "Bearer"


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_code_works_only_once(oauth, sandbox, flow) -> None:
    client = oauth(flow)
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    await client.exchange_code(code)
    with pytest.raises(RefreshFailed, match="rejected the grant") as raised:
        await client.exchange_code(code)
    assert code not in str(raised.value)


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_expired_code_or_other_redirect_is_rejected(
    oauth, sandbox, clock, flow
) -> None:
    stale = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    clock.advance(minutes=11)
    with pytest.raises(RefreshFailed):
        await oauth(flow).exchange_code(stale)
    elsewhere = sandbox.state.issue_code(DEMO_ACCOUNT_ID, "https://other.example.com/cb")
    with pytest.raises(RefreshFailed):
        await oauth(flow).exchange_code(elsewhere)


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_refresh_rotates_the_refresh_token(oauth, sandbox, flow) -> None:
    client = oauth(flow)
    first = await client.exchange_code(sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT))
    assert first.refresh_token is not None
    second = await client.refresh(first.refresh_token)
    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    assert sandbox.state.token_usable(second.access_token)
    assert not sandbox.state.token_usable(first.access_token)
    with pytest.raises(RefreshFailed, match="refresh token"):
        await client.refresh(first.refresh_token)
    assert second.refresh_token is not None
    third = await client.refresh(second.refresh_token)  # the rotated one still works
    assert sandbox.state.token_usable(third.access_token)


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("method", ["code", "refresh"])
async def test_sandbox_wrong_client_secret_is_a_config_error(oauth, sandbox, flow, method) -> None:
    issued = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    client = oauth(flow, client_secret="not-the-secret")
    with pytest.raises(OAuthConfigError) as raised:
        if method == "code":
            await client.exchange_code(code)
        else:
            await client.refresh(issued["refresh_token"])
    assert raised.value.status == 401
    assert "not-the-secret" not in str(raised.value)
    assert await oauth(flow).exchange_code(code)  # the failed attempt did not burn the code


async def test_sandbox_accepts_form_encoded_basic_credentials(oauth, sandbox) -> None:
    sandbox.state.clients["odd:id +"] = "p@ss:w/rd%+ é"
    client = oauth("openid", client_id="odd:id +", client_secret="p@ss:w/rd%+ é")
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    assert sandbox.state.token_usable((await client.exchange_code(code)).access_token)


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_authorize_redirects_back_with_code_and_state(
    oauth, sandbox, http, flow
) -> None:
    state = "st&=/#? \u2603"
    url = oauth("openid").authorize_url(state)  # the sandbox serves only the OpenID page
    response = await http.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    assert "error" not in query
    (code,) = query["code"]
    result = await oauth(flow).exchange_code(code)  # either flow redeems it
    assert sandbox.state.token_usable(result.access_token)


@pytest.mark.parametrize("flow", FLOWS)
async def test_sandbox_unavailable_is_not_retried_and_leaves_the_code_usable(
    oauth, sandbox, flow
) -> None:
    route = "/openid/token" if flow == "openid" else "/v1/oauth2/grant"
    sandbox.add_fault(kind="unavailable", route=route, times=1)
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    with pytest.raises(SparkUnavailable):
        await oauth(flow).exchange_code(code)
    assert [r.path for r in sandbox.requests] == [route]
    assert await oauth(flow).exchange_code(code)


@pytest.mark.parametrize(
    ("kind", "expected"), [("hang", SparkTimeout), ("disconnect", SparkUnavailable)]
)
async def test_sandbox_transport_failures(oauth, sandbox, kind, expected) -> None:
    options = {"delay_ms": 5000} if kind == "hang" else {}
    sandbox.add_fault(kind=kind, route="/openid/token", times=1, **options)
    client = oauth("openid", timeout=httpx.Timeout(0.2))
    with pytest.raises(SparkError) as raised:
        await client.exchange_code(sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT))
    assert type(raised.value) is expected
    assert sandbox.url not in str(raised.value)
