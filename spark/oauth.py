"""Connecting an agent's Flexmls account: the OAuth authorization-code flow against Spark.

`OAuthClient` builds the URL that sends the agent to Flexmls to approve the bot, then trades
the code that comes back for a `TokenSet`, and later trades a refresh token for a new one.
Two flavours are supported (`flow`):

- `"openid"` (current): authorize at `{auth_url}/openid/authorize`, tokens from
  `POST {auth_url}/openid/token` (form body, client credentials by HTTP Basic);
- `"legacy"` (OAuth 2 draft 10): authorize at `{auth_url}/oauth2`, tokens from
  `POST {api_url}/v1/oauth2/grant` (JSON body carrying the client id and secret).

Grant errors are plain OAuth JSON (`{"error": "invalid_grant"}`), not Spark's `D` envelope, so
they are mapped here rather than by `spark.errors.error_for`. Nothing is retried: a code is
single-use and refresh tokens rotate, so a replay can only make things worse. No token, code,
client secret or URL with a query string ever reaches an exception message or a log line.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

import redaction
from spark.errors import (
    BadRequest,
    RefreshFailed,
    SparkError,
    SparkProtocolError,
    SparkTimeout,
    SparkUnavailable,
)

log = logging.getLogger(__name__)

Flow = Literal["openid", "legacy"]

DEFAULT_LIFETIME = 86_400  # seconds; what Spark sends, and what the Ruby gem assumes when absent
MAX_LIFETIME = 10 * 366 * 86_400  # anything longer is nonsense (and would overflow datetime)
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_SAFE_ERROR = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CONFIG_ERRORS = {"invalid_client", "unauthorized_client"}


class OAuthConfigError(SparkError):
    """Spark rejected the bot's own OAuth client id/secret: the operator must fix the settings."""


@dataclass(frozen=True)
class TokenSet:
    """The tokens one grant produced; `expires_at` is aware UTC (None only for personal tokens)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    token_type: str = "Bearer"

    def __repr__(self) -> str:
        refresh = "None" if self.refresh_token is None else "'***'"
        expires = "None" if self.expires_at is None else self.expires_at.isoformat()
        return (
            f"TokenSet(access_token='***', refresh_token={refresh}, "
            f"expires_at={expires}, token_type={self.token_type!r})"
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _lifetime(value: Any) -> int:
    """`expires_in` as whole seconds: an int or a numeric string; anything else is the default."""
    if value is None:
        return DEFAULT_LIFETIME
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or not 1 <= seconds <= MAX_LIFETIME:
        log.warning("Spark sent an unusable expires_in; assuming %d seconds", DEFAULT_LIFETIME)
        return DEFAULT_LIFETIME
    return int(seconds)


def _error_name(body: Any) -> str | None:
    """The OAuth `error` field, if it is a plain identifier (never echo anything else)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, str) and _SAFE_ERROR.fullmatch(error):
        return error
    return None


def _form_encode(value: str) -> str:
    """RFC 6749 §2.3.1: client id and secret are form-encoded before going into HTTP Basic."""
    return urllib.parse.quote_plus(value, safe="")


class OAuthClient:
    """The bot's OAuth client for Spark: one per process, shared by every agent."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        auth_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        flow: Flow = "openid",
        user_agent: str = "ActivityBot",
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if flow not in ("openid", "legacy"):
            raise ValueError("flow must be 'openid' or 'legacy'")
        self._http = http
        self._auth_url = auth_url.rstrip("/")
        self._api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self.flow: Flow = flow
        self._user_agent = user_agent
        self._timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"OAuthClient(flow={self.flow!r}, auth_url={self._auth_url!r})"

    def authorize_url(self, state: str) -> str:
        """Where to send the agent to approve the bot; Flexmls returns to `redirect_uri`."""
        if not state:
            raise ValueError("state must be a non-empty string")
        params: dict[str, str] = {
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "response_type": "code",
        }
        if self.flow == "openid":
            params["scope"] = "openid"
            path = "/openid/authorize"
        else:
            path = "/oauth2"
        params["state"] = state
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        return f"{self._auth_url}{path}?{query}"

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade the authorization code from the callback for tokens (the code works once)."""
        if not isinstance(code, str) or not code:
            raise RefreshFailed("Spark rejected the grant: no authorization code was given")
        return await self._grant(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri},
            what="the authorization code is wrong, already used or expired",
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for new tokens; the old refresh token must then be discarded."""
        if not isinstance(refresh_token, str) or not refresh_token:
            raise RefreshFailed("Spark rejected the grant: there is no refresh token")
        redaction.remember(refresh_token)  # stored before this process knew it
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.flow == "legacy":  # the official Ruby gem sends it; harmless and expected
            params["redirect_uri"] = self._redirect_uri
        tokens = await self._grant(params, what="the refresh token is no longer valid")
        if tokens.refresh_token is None:  # not rotated: the old one stays valid (RFC 6749 §6)
            tokens = TokenSet(
                tokens.access_token, refresh_token, tokens.expires_at, tokens.token_type
            )
        return tokens

    # -- plumbing -------------------------------------------------------------------------

    async def _grant(self, params: dict[str, str], *, what: str) -> TokenSet:
        failure: SparkError
        try:
            response = await self._post(params)
        except httpx.TimeoutException:
            failure = SparkTimeout("Flexmls did not answer the token request in time")
        except httpx.RequestError as exc:
            failure = SparkUnavailable(
                f"Could not reach Flexmls for a token ({type(exc).__name__})"
            )
        else:
            return self._parse(response, what)
        raise failure  # outside `except`: no link to the httpx error, which holds the request

    async def _post(self, params: dict[str, str]) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self.flow == "openid":
            credentials = f"{_form_encode(self._client_id)}:{_form_encode(self._client_secret)}"
            basic = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
            redaction.remember(basic)
            headers["Authorization"] = f"Basic {basic}"
            return await self._http.post(
                self._auth_url + "/openid/token",
                data=params,
                headers=headers,
                timeout=self._timeout,
                follow_redirects=False,  # never replay credentials to another host
            )
        headers["X-SparkApi-User-Agent"] = self._user_agent
        body = {"client_id": self._client_id, "client_secret": self._client_secret, **params}
        return await self._http.post(
            self._api_url + "/v1/oauth2/grant",
            json=body,
            headers=headers,
            timeout=self._timeout,
            follow_redirects=False,
        )

    def _parse(self, response: httpx.Response, what: str) -> TokenSet:
        status = response.status_code
        kw: dict[str, Any] = {"status": status, "request_id": response.headers.get("x-request-id")}
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            access = body.get("access_token") if isinstance(body, Mapping) else None
            if not isinstance(access, str) or not access:
                raise SparkProtocolError("Spark's token response has no access_token", **kw)
            refresh = body.get("refresh_token")
            redaction.remember(access, refresh if isinstance(refresh, str) else None)
            token_type = body.get("token_type")
            lifetime = _lifetime(body.get("expires_in"))
            now = self._clock()
            now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
            return TokenSet(
                access_token=access,
                refresh_token=refresh if isinstance(refresh, str) and refresh else None,
                expires_at=now + timedelta(seconds=lifetime),
                token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
            )
        error = _error_name(body)
        if error is not None:
            kw["details"] = {"error": error}
        if error == "invalid_grant":
            raise RefreshFailed(f"Spark rejected the grant: {what}", **kw)
        if error in _CONFIG_ERRORS or (status == 401 and error is None):
            raise OAuthConfigError(
                f"Spark rejected the bot's OAuth client id or secret ({error or 'HTTP 401'}); "
                "check SPARK_CLIENT_ID and SPARK_CLIENT_SECRET",
                **kw,
            )
        if status >= 500 or status == 429:
            raise SparkUnavailable("Flexmls could not issue a token right now", **kw)
        if 400 <= status < 500:
            raise BadRequest(f"Spark refused the token request ({error or 'no reason'})", **kw)
        raise SparkProtocolError("Spark answered the token request unexpectedly", **kw)
