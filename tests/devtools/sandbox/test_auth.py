"""Headers, tokens, the legacy OAuth2 grant and the OpenID Connect endpoints."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devtools.sandbox import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TOKEN,
    SECOND_ACCOUNT_ID,
    ManualClock,
    Sandbox,
)
from tests.helpers.sandbox import assert_spark_error, results, spark_headers

REDIRECT = "https://bot.example.com/spark/oauth/callback"


async def test_missing_user_agent_is_1016(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.get(
        "/v1/contacts", headers={"Authorization": f"Bearer {DEMO_TOKEN}"}
    )
    assert_spark_error(response, 400, 1016)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer nope", "Basic c2FuZGJveDp4", f"Token {DEMO_TOKEN}"],
)
async def test_missing_or_unknown_token_is_1000(
    bare_client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = spark_headers(None)
    if authorization is not None:
        headers["Authorization"] = authorization
    assert_spark_error(await bare_client.get("/v1/contacts", headers=headers), 401, 1000)


@pytest.mark.parametrize("scheme", ["Bearer", "OAuth", "bearer"])
async def test_both_auth_schemes_work(bare_client: httpx.AsyncClient, scheme: str) -> None:
    response = await bare_client.get("/v1/my/account", headers=spark_headers(scheme=scheme))
    assert results(response)[0]["Id"] == DEMO_ACCOUNT_ID


async def test_every_response_has_a_unique_request_id(bare_client: httpx.AsyncClient) -> None:
    responses = [
        await bare_client.get("/v1/contacts", headers=spark_headers()),
        await bare_client.get("/v1/contacts", headers=spark_headers()),
        await bare_client.get("/v1/contacts"),
        await bare_client.get("/nowhere"),
        await bare_client.get("/healthz"),
        await bare_client.post("/v1/oauth2/grant", content="{}"),
        await bare_client.get("/_sandbox/stats"),
    ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids) and len(set(ids)) == len(ids)


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    assert_spark_error(await client.get("/v1/listings/nope/anything"), 404, 404)
    assert_spark_error(await client.get("/v2/contacts"), 404, 404)


# -- /v1/oauth2/grant ---------------------------------------------------------------------


async def grant(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    payload = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, **body}
    return await client.post("/v1/oauth2/grant", json=payload)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "D" not in body
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    return body


async def test_code_grant_issues_working_tokens(
    bare_client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    response = await grant(
        bare_client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "expires_in"}
    assert tokens["expires_in"] == 86400
    me = await bare_client.get("/v1/my/account", headers=spark_headers(tokens["access_token"]))
    assert results(me)[0]["Name"] == "Avery Agent"


async def test_code_for_another_account(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = sandbox.state.issue_code(SECOND_ACCOUNT_ID, REDIRECT)
    response = await grant(
        bare_client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    token = response.json()["access_token"]
    me = await bare_client.get("/v1/my/account", headers=spark_headers(token))
    assert results(me)[0]["Name"] == "Blake Broker"


async def test_code_is_single_use(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert (await grant(bare_client, **body)).status_code == 200
    error = assert_oauth_error(await grant(bare_client, **body), 400, "invalid_grant")
    assert error["error_description"] == "The access grant you supplied is invalid"


async def test_code_expires_after_ten_minutes(
    bare_client: httpx.AsyncClient, sandbox: Sandbox, clock: ManualClock
) -> None:
    fresh = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    stale = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    clock.advance(minutes=9, seconds=59)
    body = {"grant_type": "authorization_code", "redirect_uri": REDIRECT}
    assert (await grant(bare_client, code=fresh, **body)).status_code == 200
    clock.advance(seconds=1)
    assert_oauth_error(await grant(bare_client, code=stale, **body), 400, "invalid_grant")


async def test_code_bound_to_redirect_uri(bare_client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    response = await grant(
        bare_client,
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://evil.example.com/cb",
    )
    assert_oauth_error(response, 400, "invalid_grant")


async def test_refresh_rotates_both_tokens(
    bare_client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    first = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    response = await grant(
        bare_client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    old = await bare_client.get("/v1/my/account", headers=spark_headers(first["access_token"]))
    assert_spark_error(old, 401, 1020)
    new = await bare_client.get("/v1/my/account", headers=spark_headers(second["access_token"]))
    assert results(new)
    again = await grant(
        bare_client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert_oauth_error(again, 400, "invalid_grant")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"client_secret": "wrong", "grant_type": "refresh_token", "refresh_token": "x"},
            401,
            "invalid_client",
        ),
        (
            {"client_id": "someone-else", "grant_type": "refresh_token", "refresh_token": "x"},
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "authorization_code", "redirect_uri": REDIRECT}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "sbx-rt-unknown"}, 400, "invalid_grant"),
        (
            {"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT},
            400,
            "invalid_grant",
        ),
    ],
)
async def test_grant_errors(
    bare_client: httpx.AsyncClient, body: dict[str, Any], status: int, error: str
) -> None:
    assert_oauth_error(await grant(bare_client, **body), status, error)


async def test_grant_rejects_a_non_json_body(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.post("/v1/oauth2/grant", content=b"client_id=x")
    assert_oauth_error(response, 400, "invalid_request")


async def test_grant_is_post_only(bare_client: httpx.AsyncClient) -> None:
    assert_spark_error(await bare_client.get("/v1/oauth2/grant"), 405, 405)


async def test_issued_tokens_expire_by_the_clock(
    bare_client: httpx.AsyncClient, sandbox: Sandbox, clock: ManualClock
) -> None:
    tokens = sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    headers = spark_headers(tokens["access_token"])
    clock.advance(seconds=86_399)
    assert results(await bare_client.get("/v1/my/account", headers=headers))
    clock.advance(seconds=1)
    assert_spark_error(await bare_client.get("/v1/my/account", headers=headers), 401, 1020)
    # The static demo token never expires.
    assert results(await bare_client.get("/v1/my/account", headers=spark_headers()))


async def test_expires_in_is_configurable(clock: ManualClock) -> None:
    async with (
        Sandbox(clock=clock, expires_in=60) as sandbox,
        httpx.AsyncClient(verify=False, base_url=sandbox.url) as http,
    ):
        code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
        response = await grant(
            http, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        )
        tokens = response.json()
        assert tokens["expires_in"] == 60
        clock.advance(seconds=61)
        me = await http.get("/v1/my/account", headers=spark_headers(tokens["access_token"]))
        assert_spark_error(me, 401, 1020)


# -- OpenID Connect -------------------------------------------------------------------------


def authorize_params(**extra: str) -> dict[str, str]:
    params = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "xyz-123",
    }
    params.update(extra)
    return params


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_authorize_redirects_with_code_and_state(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.get("/openid/authorize", params=authorize_params())
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-123"]
    code = query["code"][0]

    token = await bare_client.post(
        "/openid/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers=basic(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert token.status_code == 200, token.text
    tokens = token.json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in"}
    me = await bare_client.get("/v1/my/account", headers=spark_headers(tokens["access_token"]))
    assert results(me)[0]["Id"] == DEMO_ACCOUNT_ID


async def test_authorize_keeps_existing_query_of_redirect(bare_client: httpx.AsyncClient) -> None:
    params = authorize_params(redirect_uri=REDIRECT + "?team=T1")
    response = await bare_client.get("/openid/authorize", params=params)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["team"] == ["T1"] and query["code"]


async def test_authorize_deny(bare_client: httpx.AsyncClient) -> None:
    params = authorize_params(sandbox_deny="1")
    response = await bare_client.get("/openid/authorize", params=params)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["xyz-123"]}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_authorize_errors_go_back_to_the_client(
    bare_client: httpx.AsyncClient, params: dict[str, str], error: str
) -> None:
    response = await bare_client.get("/openid/authorize", params=authorize_params(**params))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == [error]


@pytest.mark.parametrize(
    "params", [{"client_id": "unknown"}, {"redirect_uri": "not-a-url"}, {"redirect_uri": ""}]
)
async def test_authorize_never_redirects_for_bad_client_or_uri(
    bare_client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await bare_client.get("/openid/authorize", params=authorize_params(**params))
    assert_oauth_error(response, 400, "invalid_request")


async def test_openid_token_with_form_credentials_and_refresh(
    bare_client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    code = sandbox.state.issue_code(DEMO_ACCOUNT_ID, REDIRECT)
    form = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    first = await bare_client.post(
        "/openid/token",
        data={**form, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    assert first.status_code == 200
    refreshed = await bare_client.post(
        "/openid/token",
        data={
            **form,
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["token_type"] == "Bearer"
    assert refreshed.json()["access_token"] != first.json()["access_token"]


async def test_openid_token_bad_basic_credentials(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.post(
        "/openid/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        headers=basic(DEMO_CLIENT_ID, "wrong"),
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    garbage = await bare_client.post(
        "/openid/token", data={"grant_type": "refresh_token"}, headers={"Authorization": "Basic !!"}
    )
    assert_oauth_error(garbage, 401, "invalid_client")


@pytest.mark.parametrize(
    "body",
    [
        b'{"client_id": 5, "client_secret": ["x"], "grant_type": {}}',
        b'{"client_id": "sandbox-client-id", "client_secret": "\\ud800"}',
        b'"just a string"',
        b"\xff\xfe not utf-8",
    ],
)
async def test_grant_survives_odd_bodies(bare_client: httpx.AsyncClient, body: bytes) -> None:
    response = await bare_client.post(
        "/v1/oauth2/grant", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client", "invalid_request")


async def test_openid_token_survives_an_undecodable_form(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.post(
        "/openid/token",
        content=b"grant_type=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.status_code in (400, 401)
    assert "error" in response.json()


@pytest.mark.parametrize("uri", ["http://[::1/cb", "http://host:99999/cb", "ftp://host/cb"])
async def test_authorize_rejects_odd_redirect_uris(
    bare_client: httpx.AsyncClient, uri: str
) -> None:
    response = await bare_client.get("/openid/authorize", params=authorize_params(redirect_uri=uri))
    assert_oauth_error(response, 400, "invalid_request")
