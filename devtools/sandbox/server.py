"""The sandbox's aiohttp application, its state, and the ways to run it.

`create_app(state)` serves Spark's contact and activity routes under `/v1` with Spark's
envelope, error codes, paging, `_select`, `_expand` and a SparkQL `_filter` subset; the legacy
OAuth2 grant (`/v1/oauth2/grant`) and OpenID Connect (`/openid/authorize`, `/openid/token`)
endpoints; tiny generated PNGs for listing photos; `/healthz`; and `/_sandbox/*` admin
endpoints (faults, stats, config, tokens, request log) for out-of-process control.

Each request to a non-admin route goes through one middleware, in this order: record it and
give it an `x-request-id`; add the configured `latency_ms` (for `/v1`); apply matching fault
rules in order; for `/v1` data routes check `X-SparkApi-User-Agent` (1016), the token
(1000 / 1020) and the per-token rate limit (429 / 1550); answer unknown routes (404) and
wrong methods (405) in Spark's envelope; then run the route handler.

Runners: `Sandbox` (async context manager inside a running loop), `SandboxThread` (its own
loop in a daemon thread, for synchronous callers) and `run()` (blocking, for the CLI).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import datetime as dt
import hmac
import json
import logging
import math
import re
import secrets
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web
from yarl import URL

from devtools.loopthread import LoopThread, bind

from .data import (
    ACTIVITY_COUNTERS,
    DEFAULT_SEED,
    DEMO_ACCOUNT_ID,
    PHOTO_SIZES,
    SECOND_ACCOUNT_ID,
    ActivitySummary,
    Brokerage,
    Contact,
    cached_brokerage,
    with_more_contacts,
)
from .faults import (
    FaultRule,
    FaultRuleError,
    FaultSet,
    RateLimit,
    SlidingWindowLimiter,
    retry_after_seconds,
    token_fingerprint,
)
from .sparkql import Dialect, SparkQLError, parse_filter

logger = logging.getLogger(__name__)

DEMO_TOKEN = "sandbox-demo-token"
SECOND_AGENT_TOKEN = "sandbox-second-agent-token"
NO_ROLE_TOKEN = "sandbox-idx-only-token"
DEMO_CLIENT_ID = "sandbox-client-id"
DEMO_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_EXPIRES_IN = 86_400
CODE_TTL = dt.timedelta(minutes=10)
DEFAULT_LIMIT = 10
MAX_LIMIT = 25
MAX_PAGE = 100_000

SPARK_MESSAGES: Mapping[int, str] = {
    404: "The resource you requested was not found",
    405: "The HTTP method is not allowed on this resource",
    1000: "Invalid API key and/or request signed improperly",
    1016: "The X-SparkApi-User-Agent header is required",
    1020: "Session token has expired",
    1026: "An unexpected problem occurred with the requested data",
    1040: "The _filter syntax was invalid or a specified field to search on does not exist",
    1041: "The _filter was valid but too long or complex",
    1050: "A required parameter was not provided",
    1053: "The data you provided failed constraints",
    1055: "The data you provided conflicts with existing data",
    1500: "The resource is not available at the current API key's service level",
    1510: "The API is temporarily unavailable",
    1550: "Over rate limit",
}

_SIZES = frozenset(PHOTO_SIZES.values())
_PHOTO_FILE = re.compile(r"([0-9]{1,3})-([a-z0-9]+)\.png")
_INTEGER = re.compile(r"[0-9]{1,9}")
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock for tests: call it to read the time; `advance()` / `set()` move it."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = _aware(start or dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by `datetime.timedelta(**delta)`, e.g. `advance(days=1)`."""
        self._now += dt.timedelta(**delta)
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = _aware(moment)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------------
# Errors raised by handlers and turned into responses by the middleware


class SparkError(Exception):
    """An error answered in Spark's envelope: `{"D": {"Success": false, "Code", "Message"}}`."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message or SPARK_MESSAGES.get(code, "Error")
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(f"{status} {code} {self.message}")

    def response(self) -> web.Response:
        return spark_error_response(
            self.status, self.code, self.message, extra=self.extra, headers=self.headers
        )


class OAuthError(Exception):
    """An OAuth error answered as plain JSON `{"error", "error_description"}` (no envelope)."""

    def __init__(
        self, status: int, error: str, description: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})
        super().__init__(f"{status} {error}: {description}")

    def response(self) -> web.Response:
        body = {"error": self.error, "error_description": self.description}
        return web.json_response(body, status=self.status, headers=self.headers)


class _AdminError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def spark_error_response(
    status: int,
    code: int,
    message: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A non-2xx response with Spark's failure envelope."""
    body: dict[str, Any] = {
        "Success": False,
        "Code": code,
        "Message": message or SPARK_MESSAGES.get(code, "Error"),
    }
    body.update(extra or {})
    return web.json_response({"D": body}, status=status, headers=dict(headers or {}))


def _invalid_grant() -> OAuthError:
    return OAuthError(400, "invalid_grant", "The access grant you supplied is invalid")


# --------------------------------------------------------------------------------------------
# State


@dataclass
class TokenInfo:
    """What an access token stands for."""

    account_id: str
    private_role: bool = True
    expires_at: dt.datetime | None = None
    expired: bool = False
    key: str = ""  # the API key it counts against (rate limit); "" = its own


@dataclass
class AuthCode:
    account_id: str
    redirect_uri: str
    expires_at: dt.datetime
    used: bool = False


@dataclass
class RefreshGrant:
    account_id: str
    access_token: str = field(repr=False)


@dataclass
class SandboxConfig:
    """Settings that can change while serving (through `/_sandbox/config`)."""

    latency_ms: float = 0
    rate_limit: RateLimit | None = None
    expires_in: int = DEFAULT_EXPIRES_IN
    # Send `Retry-After` with the limiter's 429s? Production docs don't promise it
    # (spark_api.md §9): off is the strict, "as documented" behaviour.
    retry_after: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "rate_limit": None if self.rate_limit is None else self.rate_limit.to_dict(),
            "expires_in": self.expires_in,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox saw it; never holds the raw token."""

    request_id: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    token_fingerprint: str | None
    status: int | None  # None: the connection was dropped (fault or client gone)
    duration_ms: float
    route: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "token_fingerprint": self.token_fingerprint,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "route": self.route,
        }


@dataclass
class Stats:
    """Counters for `/_sandbox/stats` (admin requests are not counted).

    Written on the serving loop; `to_dict()` may be called from another thread.
    """

    requests: int = 0
    by_route: collections.Counter[str] = field(default_factory=collections.Counter)
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    rate_limited: int = 0
    faults_applied: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests += 1
            self.by_route[entry.route] += 1
            self.by_status["dropped" if entry.status is None else str(entry.status)] += 1
            if entry.status == 429:
                self.rate_limited += 1

    def reset(self) -> None:
        """Zero the counters (requests still in flight stay counted as in flight)."""
        with self._lock:
            self.requests = self.rate_limited = self.faults_applied = 0
            self.by_route.clear()
            self.by_status.clear()
            self.max_in_flight = self.in_flight

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return self._as_dict()

    def _as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_route": dict(self.by_route),
            "by_status": dict(self.by_status),
            "rate_limited": self.rate_limited,
            "faults_applied": self.faults_applied,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


def _check_latency(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 600_000:
        raise ValueError("latency_ms must be a number between 0 and 600000")
    return value


def _check_expires_in(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("expires_in must be an integer >= 1")
    return value


class SandboxState:
    """Everything one sandbox knows: data, faults, config, tokens, codes, log, clocks.

    `clock` gives "now" for days of activity and token/code expiry; `monotonic` drives the
    rate limiter. Both are injectable so tests never sleep to move time.
    """

    def __init__(
        self,
        brokerage: Brokerage | None = None,
        *,
        seed: int = DEFAULT_SEED,
        clock: Callable[[], dt.datetime] | None = None,
        monotonic: Callable[[], float] | None = None,
        latency_ms: float = 0,
        rate_limit: RateLimit | Mapping[str, float] | None = None,
        expires_in: int = DEFAULT_EXPIRES_IN,
        request_log_size: int = 10_000,
        retry_after: bool = True,
        dialect: Dialect | str | Mapping[str, Any] | None = None,
    ) -> None:
        self.brokerage = brokerage if brokerage is not None else cached_brokerage(seed)
        self.clock = clock or _utc_now
        self.monotonic = monotonic or time.monotonic
        self.config = SandboxConfig()
        self.dialect = Dialect.coerce(dialect)  # undocumented points of Spark (sparkql.Dialect)
        self.faults = FaultSet()
        self.stats = Stats()
        self.request_log: collections.deque[RecordedRequest] = collections.deque(
            maxlen=request_log_size
        )
        self.clients: dict[str, str] = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self.tokens: dict[str, TokenInfo] = {
            DEMO_TOKEN: TokenInfo(DEMO_ACCOUNT_ID),
            SECOND_AGENT_TOKEN: TokenInfo(SECOND_ACCOUNT_ID),
            NO_ROLE_TOKEN: TokenInfo(DEMO_ACCOUNT_ID, private_role=False),
        }
        self.codes: dict[str, AuthCode] = {}
        # Views, opens… added by a test or a demo on top of the generated counters, per contact:
        # (from which day, the six counters added), see `add_activity`.
        self.added_activity: dict[str, list[tuple[dt.date, tuple[int, ...]]]] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self._limiter: SlidingWindowLimiter | None = None
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self.set_latency(latency_ms)
        self.set_rate_limit(rate_limit)
        self.set_expires_in(expires_in)
        self.set_retry_after(retry_after)

    # -- time and config --------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return _aware(self.clock())

    def today(self) -> dt.date:
        """The activity date: the clock's own calendar date (UTC for the default clock)."""
        return self.now().date()

    def add_activity(self, contact_id: str, **counters: int) -> ActivitySummary:
        """Add to a contact's counters from today on (e.g. `listings_viewed=5`), on top of the
        generated data, which stays as it was; returns the contact's counters now.

        Keys are `ActivitySummary`'s fields; values are non-negative integers. Opened e-mails
        are not checked against sent ones: add both when that matters.
        """
        if self.brokerage.contact(contact_id) is None:
            raise ValueError(f"unknown contact {contact_id!r}")
        unknown = set(counters) - set(ACTIVITY_COUNTERS)
        if unknown:
            raise ValueError(f"unknown counter(s): {', '.join(sorted(unknown))}")
        for name, value in counters.items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
                raise ValueError(f"{name} must be an integer from 0 to 100000")
        added = tuple(counters.get(name, 0) for name in ACTIVITY_COUNTERS)
        with self._lock:
            self.added_activity.setdefault(contact_id, []).append((self.today(), added))
        return self.activity(contact_id, self.today())

    def add_contacts(self, account_id: str, count: int) -> list[str]:
        """Generate `count` more contacts for `account_id` (after the existing ones, which
        stay as they were); returns their ids."""
        with self._lock:
            before = len(self.brokerage.contacts)
            self.brokerage = with_more_contacts(self.brokerage, account_id, count)
            return [c.id for c in self.brokerage.contacts[before:]]

    def activity(self, contact_id: str, day: dt.date) -> ActivitySummary:
        """The contact's counters at the end of `day`: generated, plus what was added."""
        totals = list(self.brokerage.activity(contact_id, day).as_tuple())
        for since, added in self.added_activity.get(contact_id, ()):
            if since <= day:
                totals = [t + a for t, a in zip(totals, added, strict=True)]
        return ActivitySummary(*totals)

    def set_latency(self, latency_ms: float) -> None:
        """Delay added to every `/v1` request (round-trip simulation)."""
        self.config.latency_ms = _check_latency(latency_ms)

    def set_rate_limit(self, rate_limit: RateLimit | Mapping[str, float] | None) -> None:
        """Replace the per-token limit (windows restart); None turns it off."""
        rate = RateLimit.coerce(rate_limit)
        self.config.rate_limit = rate
        self._limiter = None if rate is None else SlidingWindowLimiter(rate, self.monotonic)

    def set_expires_in(self, expires_in: int) -> None:
        """Lifetime in seconds of access tokens issued from now on."""
        self.config.expires_in = _check_expires_in(expires_in)

    def throttle(self, token: str) -> float | None:
        """None if the token may proceed, else seconds until its key's limit frees a slot.

        Spark counts per API key (spark_api.md §9): tokens issued through an OAuth client count
        against the client id; each fixed demo token is its own key unless `set_token_key`.
        """
        limiter = self._limiter
        if limiter is None:
            return None
        with self._lock:
            info = self.tokens.get(token)
            key = (info.key if info is not None else "") or "token:" + token_fingerprint(token)
        return limiter.acquire(key)

    def set_token_key(self, token: str, key: str) -> None:
        """Make a known token count against API key `key` (e.g. `DEMO_CLIENT_ID`)."""
        with self._lock:
            self.tokens[token].key = key

    def set_retry_after(self, enabled: bool) -> None:
        """Whether the limiter's 429s carry `Retry-After` (off: as documented)."""
        self.config.retry_after = bool(enabled)

    # -- tokens -----------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> TokenInfo:
        """The token's info, or raise `SparkError` 401 with code 1000 or 1020."""
        if not token:
            raise SparkError(401, 1000, "Authorization header missing or malformed")
        with self._lock:
            info = self.tokens.get(token)
            if info is None:
                raise SparkError(401, 1000)
            if self._is_expired(info):
                raise SparkError(401, 1020)
            return info

    def _is_expired(self, info: TokenInfo) -> bool:
        return info.expired or (info.expires_at is not None and self.now() >= info.expires_at)

    def token_usable(self, token: str) -> bool:
        with self._lock:
            info = self.tokens.get(token)
            return info is not None and not self._is_expired(info)

    def expire_token(self, token: str) -> bool:
        """Make a known token answer 401/1020 from now on; False if the token is unknown."""
        with self._lock:
            info = self.tokens.get(token)
            if info is None:
                return False
            info.expired = True
            return True

    def issue_code(self, account_id: str, redirect_uri: str) -> str:
        """An authorization code for `account_id`, valid once, for 10 minutes (by the clock)."""
        if account_id not in self.brokerage.accounts:
            raise ValueError(f"unknown account {account_id!r}")
        code = "sbx-code-" + secrets.token_urlsafe(18)
        with self._lock:
            self.codes[code] = AuthCode(account_id, redirect_uri, self.now() + CODE_TTL)
        return code

    def issue_tokens(
        self, account_id: str, *, private_role: bool = True, key: str = ""
    ) -> dict[str, Any]:
        """Issue an access + refresh token pair, shaped like the grant response.

        `key`: the API key the token counts against (the OAuth client id for grants)."""
        if account_id not in self.brokerage.accounts:
            raise ValueError(f"unknown account {account_id!r}")
        access = "sbx-at-" + secrets.token_urlsafe(24)
        refresh = "sbx-rt-" + secrets.token_urlsafe(24)
        expires_in = self.config.expires_in
        with self._lock:
            self.tokens[access] = TokenInfo(
                account_id,
                private_role=private_role,
                expires_at=self.now() + dt.timedelta(seconds=expires_in),
                key=key,
            )
            self.refresh_tokens[refresh] = RefreshGrant(account_id, access)
        return {"access_token": access, "refresh_token": refresh, "expires_in": expires_in}

    def grant(
        self, client_id: Any, client_secret: Any, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The shared logic of `/v1/oauth2/grant` and `/openid/token`; raises `OAuthError`."""
        expected = self.clients.get(client_id) if isinstance(client_id, str) else None
        if (
            expected is None
            or not isinstance(client_secret, str)
            or not hmac.compare_digest(
                expected.encode("utf-8", "surrogatepass"),
                client_secret.encode("utf-8", "surrogatepass"),
            )
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed")
        grant_type = params.get("grant_type")
        if not grant_type or not isinstance(grant_type, str):
            raise OAuthError(400, "invalid_request", "The grant_type parameter is required")
        if grant_type == "authorization_code":
            code, redirect_uri = params.get("code"), params.get("redirect_uri")
            if not isinstance(code, str) or not code:
                raise OAuthError(400, "invalid_request", "The code parameter is required")
            if not isinstance(redirect_uri, str) or not redirect_uri:
                raise OAuthError(400, "invalid_request", "The redirect_uri parameter is required")
            return self._redeem_code(code, redirect_uri, client_id)
        if grant_type == "refresh_token":
            refresh = params.get("refresh_token")
            if not isinstance(refresh, str) or not refresh:
                raise OAuthError(400, "invalid_request", "The refresh_token parameter is required")
            return self._refresh(refresh, client_id)
        raise OAuthError(
            400, "unsupported_grant_type", "The authorization grant type is not supported"
        )

    def _redeem_code(self, code: str, redirect_uri: str, client_id: str) -> dict[str, Any]:
        with self._lock:
            grant = self.codes.get(code)
            if (
                grant is None
                or grant.used
                or self.now() >= grant.expires_at
                or grant.redirect_uri != redirect_uri
            ):
                raise _invalid_grant()
            grant.used = True
            return self.issue_tokens(grant.account_id, key=client_id)

    def _refresh(self, refresh: str, client_id: str) -> dict[str, Any]:
        with self._lock:
            grant = self.refresh_tokens.pop(refresh, None)
            if grant is None:
                raise _invalid_grant()
            old = self.tokens.get(grant.access_token)
            if old is not None:
                old.expired = True
            private_role = old.private_role if old is not None else True
            return self.issue_tokens(grant.account_id, private_role=private_role, key=client_id)

    # -- bookkeeping ------------------------------------------------------------------------

    def record(self, entry: RecordedRequest) -> None:
        with self._log_lock:
            self.request_log.append(entry)
        self.stats.count(entry)

    def recorded(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first (safe from any thread)."""
        with self._log_lock:
            return list(self.request_log)

    def reset_stats(self) -> None:
        """Zero the counters and forget the request log."""
        with self._log_lock:
            self.request_log.clear()
        self.stats.reset()


# --------------------------------------------------------------------------------------------
# The application

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
_STOPPING_KEY = web.AppKey("sandbox_stopping", asyncio.Event)
_TOKEN_INFO = web.RequestKey("sandbox_token_info", TokenInfo)
_DROPPED = web.RequestKey("sandbox_dropped", bool)


def create_app(state: SandboxState) -> web.Application:
    """The sandbox as an aiohttp application serving `state`."""
    app = web.Application(middlewares=[_sandbox_middleware])
    app[STATE_KEY] = state

    async def on_startup(app: web.Application) -> None:
        app[_STOPPING_KEY] = asyncio.Event()

    async def on_shutdown(app: web.Application) -> None:
        app[_STOPPING_KEY].set()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)

    r = app.router
    r.add_get("/healthz", _healthz)
    r.add_get("/v1/my/account", _my_account)
    r.add_get("/v1/contacts", _list_contacts)
    r.add_get("/v1/contacts/tags", _list_tags)
    r.add_get("/v1/contacts/tags/{tag}", _contacts_by_tag)
    r.add_get("/v1/contacts/{contact_id}", _get_contact)
    r.add_get("/v1/contacts/{contact_id}/activity", _activity)
    r.add_get("/v1/contacts/{contact_id}/activity/listings/{kind}", _activity_listings)
    r.add_post("/v1/oauth2/grant", _oauth2_grant)
    r.add_get("/openid/authorize", _openid_authorize)
    r.add_post("/openid/token", _openid_token)
    r.add_get("/photos/{listing_key}/{file}", _photo)
    r.add_get("/_sandbox/faults", _admin_list_faults)
    r.add_post("/_sandbox/faults", _admin_add_fault)
    r.add_delete("/_sandbox/faults", _admin_clear_faults)
    r.add_get("/_sandbox/stats", _admin_stats)
    r.add_delete("/_sandbox/stats", _admin_reset_stats)
    r.add_get("/_sandbox/config", _admin_get_config)
    r.add_get("/_sandbox/dialect", _admin_get_dialect)
    r.add_post("/_sandbox/dialect", _admin_set_dialect)
    r.add_post("/_sandbox/config", _admin_set_config)
    r.add_post("/_sandbox/tokens", _admin_issue_tokens)
    r.add_get("/_sandbox/requests", _admin_requests)
    r.add_post("/_sandbox/activity", _admin_add_activity)
    r.add_post("/_sandbox/contacts", _admin_add_contacts)
    return app


def _request_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else "(unmatched)"
    return f"{request.method} {canonical}"


@web.middleware
async def _sandbox_middleware(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    request_id = uuid.uuid4().hex
    if request.path.startswith("/_sandbox/"):
        try:
            response = await handler(request)
        except _AdminError as exc:
            response = web.json_response({"error": exc.message}, status=400)
        except web.HTTPException as exc:
            response = _from_http_exception(exc)
        response.headers["x-request-id"] = request_id
        return response

    token = _request_token(request)
    started = time.perf_counter()
    status: int | None = None
    state.stats.in_flight += 1
    state.stats.max_in_flight = max(state.stats.max_in_flight, state.stats.in_flight)
    try:
        response = await _serve(request, handler, state, token)
        if not request.get(_DROPPED, False):
            status = response.status
    finally:
        state.stats.in_flight -= 1
        state.record(
            RecordedRequest(
                request_id=request_id,
                method=request.method,
                path=request.path,
                query={k: v for k, v in request.query.items()},
                headers={
                    k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS
                },
                token_fingerprint=token_fingerprint(token) if token else None,
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                route=_route_name(request),
            )
        )
    response.headers["x-request-id"] = request_id
    return response


def _from_http_exception(exc: web.HTTPException) -> web.Response:
    if exc.status in (404, 405):
        return spark_error_response(exc.status, exc.status, headers=_allow_header(exc))
    return web.Response(status=exc.status, text=exc.text)


def _allow_header(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


async def _serve(
    request: web.Request,
    handler: Callable[[web.Request], Any],
    state: SandboxState,
    token: str | None,
) -> web.StreamResponse:
    path = request.path
    try:
        if path.startswith("/v1/") and state.config.latency_ms > 0:
            await _pause(request.app, state.config.latency_ms / 1000)
        if path != "/healthz":
            faulted = await _apply_faults(request, state, token)
            if faulted is not None:
                return faulted
        if path.startswith("/v1/") and path != "/v1/oauth2/grant":
            if not request.headers.get("X-SparkApi-User-Agent", "").strip():
                raise SparkError(400, 1016)
            info = state.authenticate(token)
            assert token is not None
            wait = state.throttle(token)
            if wait is not None:
                headers = {}
                if state.config.retry_after:
                    headers["Retry-After"] = str(retry_after_seconds(wait))
                raise SparkError(429, 1550, headers=headers)
            request[_TOKEN_INFO] = info
        routing_error = request.match_info.http_exception
        if routing_error is not None:
            return _from_http_exception(routing_error)
        return await handler(request)
    except SparkError as exc:
        return exc.response()
    except OAuthError as exc:
        return exc.response()
    except web.HTTPException as exc:
        return _from_http_exception(exc)
    except Exception:  # a sandbox bug: still answer in Spark's shape, and log it
        logger.exception("sandbox handler failed for %s %s", request.method, path)
        return spark_error_response(500, 1026)


async def _pause(app: web.Application, seconds: float) -> None:
    """Sleep, but wake at once when the server shuts down (so hangs never block a stop)."""
    stopping = app.get(_STOPPING_KEY)
    if stopping is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


async def _apply_faults(
    request: web.Request, state: SandboxState, token: str | None
) -> web.StreamResponse | None:
    for rule in state.faults.claim(request.path, token):
        state.stats.faults_applied += 1
        response = await _apply_fault(rule, request, state, token)
        if response is not None:
            return response
    return None


async def _apply_fault(
    rule: FaultRule, request: web.Request, state: SandboxState, token: str | None
) -> web.StreamResponse | None:
    kind = rule.kind
    if kind in ("latency", "hang"):
        await _pause(request.app, (rule.delay_ms or 0) / 1000)
    elif kind == "expire_token":
        if token:
            state.expire_token(token)
    elif kind == "expire_after":
        if token and state.token_usable(token) and state.faults.record_use(rule, token):
            state.expire_token(token)
    elif kind in ("status", "rate_limit", "unavailable"):
        headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
        assert rule.status is not None and rule.code is not None
        return spark_error_response(rule.status, rule.code, rule.message, headers=headers)
    elif kind == "malformed":
        return web.Response(
            status=200,
            body=b'{"D": {"Success": true, "Results": [{"Id": "2010',
            content_type="application/json",
        )
    elif kind == "no_envelope":
        return web.json_response({"Success": True, "Results": []})
    elif kind == "disconnect":
        request[_DROPPED] = True
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)  # never reaches the client
    return None


# --------------------------------------------------------------------------------------------
# Query parameters


@dataclass(frozen=True)
class _Paging:
    limit: int
    page: int
    mode: str  # "0" (no Pagination), "1" or "count"


def _constraint_error(name: str, rule: str, value: Any, rule_value: Any = None) -> SparkError:
    detail: dict[str, Any] = {"RuleName": rule, "Value": value}
    if rule_value is not None:
        detail["RuleValue"] = rule_value
    return SparkError(
        400,
        1053,
        f"The data you provided failed constraints: {name} ({rule})",
        extra={"Details": [{name: [detail]}]},
    )


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw.strip()):
        raise _constraint_error(name, "Integer", raw)
    value = int(raw.strip())
    if value < low:
        raise _constraint_error(name, "MinValue", value, low)
    if value > high:
        raise _constraint_error(name, "MaxValue", value, high)
    return value


def _paging(query: Mapping[str, str]) -> _Paging:
    limit = _int_param(query, "_limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _int_param(query, "_page", 1, 1, MAX_PAGE)
    mode = query.get("_pagination", "0").strip()
    if mode not in ("0", "1", "count"):
        raise _constraint_error("_pagination", "AllowedValues", mode, ["0", "1", "count"])
    return _Paging(limit, page, mode)


def _select(query: Mapping[str, str]) -> frozenset[str] | None:
    raw = query.get("_select")
    if raw is None or not raw.strip():
        return None
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _expand(query: Mapping[str, str]) -> str | None:
    names = {name.strip() for name in query.get("_expand", "").split(",")}
    if "Photos" in names:
        return "Photos"
    if "PrimaryPhoto" in names:
        return "PrimaryPhoto"
    return None


def _paged(
    items: Sequence[Any], paging: _Paging, render: Callable[[Any], dict[str, Any]]
) -> web.Response:
    total = len(items)
    if paging.mode == "count":
        results: list[dict[str, Any]] = []
    else:
        start = (paging.page - 1) * paging.limit
        results = [render(item) for item in items[start : start + paging.limit]]
    body: dict[str, Any] = {"Success": True, "Results": results}
    if paging.mode != "0":
        body["Pagination"] = {
            "TotalRows": total,
            "PageSize": paging.limit,
            "TotalPages": math.ceil(total / paging.limit),
            "CurrentPage": paging.page,
        }
    return web.json_response({"D": body})


def _results(results: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"D": {"Success": True, "Results": results}})


# --------------------------------------------------------------------------------------------
# Spark routes


def _state(request: web.Request) -> SandboxState:
    return request.app[STATE_KEY]


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _my_account(request: web.Request) -> web.Response:
    info = request[_TOKEN_INFO]
    account = _state(request).brokerage.accounts[info.account_id]
    return _results([account.to_json()])


def _contact_page(request: web.Request, contacts: Sequence[Contact]) -> web.Response:
    brokerage = _state(request).brokerage
    paging = _paging(request.query)
    select = _select(request.query)
    dialect = _state(request).dialect
    records = [dialect.contact_record(brokerage.contact_record(c.id)) for c in contacts]
    text = request.query.get("_filter", "")
    orderby = request.query.get("_orderby", "")
    try:
        if text.strip():
            expression = parse_filter(
                text,
                dialect.filter_fields,
                case_sensitive=dialect.case_sensitive,
                accent_sensitive=dialect.accent_sensitive,
            )
            records = [r for r in records if expression.matches(r)]
        if orderby.strip():
            records = dialect.order(records, orderby)
    except SparkQLError as exc:
        raise SparkError(400, exc.code, exc.message, extra={"SparkQLErrors": exc.errors}) from exc
    return _paged(records, paging, lambda record: dict(_select_contact(record, select)))


def _select_contact(record: Mapping[str, Any], select: frozenset[str] | None) -> Mapping[str, Any]:
    if select is None:
        return record
    return {k: v for k, v in record.items() if k in select or k in ("Id", "ResourceUri")}


async def _list_contacts(request: web.Request) -> web.Response:
    info = request[_TOKEN_INFO]
    return _contact_page(request, _state(request).brokerage.contacts_for(info.account_id))


async def _list_tags(request: web.Request) -> web.Response:
    info = request[_TOKEN_INFO]
    tags = _state(request).brokerage.tags_for(info.account_id)
    return _results([{"ResourceUri": f"/v1/contacts/tags/{quote(t)}", "Tag": t} for t in tags])


async def _contacts_by_tag(request: web.Request) -> web.Response:
    info = request[_TOKEN_INFO]
    wanted = request.match_info["tag"].casefold()
    contacts = [
        c
        for c in _state(request).brokerage.contacts_for(info.account_id)
        if any(t.casefold() == wanted for t in c.tags)
    ]
    return _contact_page(request, contacts)


def _owned_contact(request: web.Request, *, activity: bool) -> Contact:
    info = request[_TOKEN_INFO]
    if activity and not info.private_role:
        raise SparkError(
            403, 1500, "The resource is not available at this key's service level (Private role)"
        )
    contact = _state(request).brokerage.contact(request.match_info["contact_id"])
    if contact is None or contact.owner_id != info.account_id:
        raise SparkError(404, 404, "Contact not found")
    return contact


async def _get_contact(request: web.Request) -> web.Response:
    contact = _owned_contact(request, activity=False)
    state = _state(request)
    record = state.dialect.contact_record(state.brokerage.contact_record(contact.id))
    return _results([dict(_select_contact(record, _select(request.query)))])


async def _activity(request: web.Request) -> web.Response:
    contact = _owned_contact(request, activity=True)
    state = _state(request)
    return _results([state.activity(contact.id, state.today()).to_json()])


async def _activity_listings(request: web.Request) -> web.Response:
    contact = _owned_contact(request, activity=True)
    kind = request.match_info["kind"]
    if kind not in ("viewed", "shared"):
        raise SparkError(404, 404)
    state = _state(request)
    paging = _paging(request.query)
    select = _select(request.query)
    expand = _expand(request.query)
    with_activity = _contact_activity(request.query, state.dialect)
    today, now = state.today(), state.now()
    summary = state.activity(contact.id, today)
    count = summary.listings_viewed if kind == "viewed" else summary.listings_shared
    listings = state.brokerage.activity_listings(contact.id, kind, today, count=count)
    base_url = f"{request.scheme}://{request.host}"
    newest_first = len(listings) - 1  # `listings[i]` is the (count - 1 - i)-th first view

    def render(entry: tuple[int, Any]) -> dict[str, Any]:
        index, listing = entry
        record = listing.to_json(base_url, select, expand)
        if with_activity:
            position = newest_first - index
            record["ContactActivity"] = state.brokerage.contact_activity(
                contact.id, kind, position, today, now
            )
        return record

    return _paged(list(enumerate(listings)), paging, render)


def _contact_activity(query: Mapping[str, str], dialect: Dialect) -> bool:
    """Whether to add `ContactActivity` to each listing, as the dialect says (or refuse it)."""
    names = {name.strip() for name in query.get("_expand", "").split(",")}
    if "ContactActivity" not in names or dialect.contact_activity == "absent":
        return False
    if dialect.contact_activity == "refused":
        message = "Invalid _expand value: ContactActivity"
        token = {"Token": "ContactActivity", "Status": "Fatal", "Message": message}
        raise SparkError(400, 1040, message, extra={"SparkQLErrors": [token]})
    return True


# --------------------------------------------------------------------------------------------
# OAuth2 / OpenID Connect


async def _oauth2_grant(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.text())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthError(400, "invalid_request", "The request body must be a JSON object")
    tokens = _state(request).grant(body.get("client_id"), body.get("client_secret"), body)
    return web.json_response(tokens, headers={"Cache-Control": "no-store"})


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError(
            401,
            "invalid_client",
            "Client authentication failed",
            headers={"WWW-Authenticate": 'Basic realm="sandbox"'},
        )
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


async def _openid_token(request: web.Request) -> web.Response:
    try:
        form = await request.post()
    except ValueError as exc:
        raise OAuthError(400, "invalid_request", "The request body could not be read") from exc
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    basic = _basic_credentials(request)
    if basic is not None:
        client_id, client_secret = basic
    else:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
    try:
        tokens = _state(request).grant(client_id, client_secret, params)
    except OAuthError as exc:
        if exc.error == "invalid_client" and basic is not None:
            exc.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
        raise
    tokens["token_type"] = "Bearer"
    return web.json_response(tokens, headers={"Cache-Control": "no-store"})


async def _openid_authorize(request: web.Request) -> web.Response:
    state = _state(request)
    query = request.query
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    if client_id not in state.clients:
        raise OAuthError(400, "invalid_request", "Unknown client_id")
    try:
        parts = urlsplit(redirect_uri)
        target = URL(redirect_uri)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc) and target.port is not None
    except ValueError:
        valid = False
    if not valid:
        raise OAuthError(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
    params: dict[str, str] = {}
    if query.get("sandbox_deny") == "1":
        params["error"] = "access_denied"
    elif query.get("response_type") != "code":
        params["error"] = "unsupported_response_type"
    elif "openid" not in query.get("scope", "").split():
        params["error"] = "invalid_scope"
    else:
        account_id = query.get("sandbox_account") or DEMO_ACCOUNT_ID
        if account_id not in state.brokerage.accounts:
            raise OAuthError(400, "invalid_request", "Unknown sandbox_account")
        params["code"] = state.issue_code(account_id, redirect_uri)
    if "state" in query:
        params["state"] = query["state"]
    return web.Response(status=302, headers={"Location": str(target.extend_query(params))})


# --------------------------------------------------------------------------------------------
# Photos


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid solid-colour 8-bit RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


async def _photo(request: web.Request) -> web.Response:
    listing = _state(request).brokerage.listing(request.match_info["listing_key"])
    match = _PHOTO_FILE.fullmatch(request.match_info["file"])
    if (
        listing is None
        or match is None
        or match.group(2) not in _SIZES
        or not 1 <= int(match.group(1)) <= len(listing.photos)
    ):
        raise SparkError(404, 404, "Photo not found")
    seed = zlib.crc32(f"{listing.id}-{match.group(1)}".encode())
    rgb = ((seed >> 16) & 0xFF, (seed >> 8) & 0xFF, seed & 0xFF)
    width, height = (8, 6) if match.group(2) == "thumb" else (16, 12)
    return web.Response(
        body=png_bytes(width, height, rgb),
        content_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# --------------------------------------------------------------------------------------------
# Admin routes (no auth: the sandbox is a loopback tool)


async def _admin_json(request: web.Request) -> Any:
    try:
        text = await request.text()
        return json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise _AdminError(f"body is not valid JSON: {exc}") from exc


async def _admin_list_faults(request: web.Request) -> web.Response:
    rules = _state(request).faults.rules()
    return web.json_response({"rules": [r.to_dict() for r in rules]})


async def _admin_add_fault(request: web.Request) -> web.Response:
    try:
        rule = FaultRule.from_dict(await _admin_json(request))
    except FaultRuleError as exc:
        raise _AdminError(str(exc)) from exc
    faults = _state(request).faults
    faults.add(rule)
    return web.json_response({"rule": rule.to_dict(), "index": len(faults.rules()) - 1}, status=201)


async def _admin_clear_faults(request: web.Request) -> web.Response:
    return web.json_response({"cleared": _state(request).faults.clear()})


async def _admin_stats(request: web.Request) -> web.Response:
    state = _state(request)
    stats = state.stats.to_dict()
    stats["faults_active"] = sum(1 for r in state.faults.rules() if r.remaining != 0)
    return web.json_response(stats)


async def _admin_reset_stats(request: web.Request) -> web.Response:
    _state(request).reset_stats()
    return web.json_response({"reset": True})


async def _admin_get_config(request: web.Request) -> web.Response:
    return web.json_response(_state(request).config.to_dict())


async def _admin_set_config(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _admin_json(request)
    if not isinstance(body, dict):
        raise _AdminError("config must be a JSON object")
    unknown = set(body) - {"latency_ms", "rate_limit", "expires_in", "retry_after"}
    if unknown:
        raise _AdminError(f"unknown config key(s): {', '.join(sorted(unknown))}")
    try:
        latency = _check_latency(body.get("latency_ms", state.config.latency_ms))
        expires_in = _check_expires_in(body.get("expires_in", state.config.expires_in))
        rate = RateLimit.coerce(body["rate_limit"]) if "rate_limit" in body else None
        retry_after = body.get("retry_after", state.config.retry_after)
        if not isinstance(retry_after, bool):
            raise ValueError("retry_after must be true or false")
    except (ValueError, TypeError) as exc:
        raise _AdminError(str(exc)) from exc
    state.set_retry_after(retry_after)
    state.set_latency(latency)
    state.set_expires_in(expires_in)
    if "rate_limit" in body:
        state.set_rate_limit(rate)
    return web.json_response(state.config.to_dict())


async def _admin_get_dialect(request: web.Request) -> web.Response:
    return web.json_response(_state(request).dialect.to_dict())


async def _admin_set_dialect(request: web.Request) -> web.Response:
    """`{"preset": "strict"}`, or any of the `Dialect` keys (on top of "default")."""
    state = _state(request)
    body = await _admin_json(request)
    try:
        state.dialect = Dialect.coerce(body)
    except (ValueError, TypeError) as exc:
        raise _AdminError(str(exc)) from exc
    return web.json_response(state.dialect.to_dict())


async def _admin_issue_tokens(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _admin_json(request)
    if not isinstance(body, dict):
        raise _AdminError("body must be a JSON object")
    account_id = body.get("account_id", DEMO_ACCOUNT_ID)
    private_role = body.get("private_role", True)
    if account_id not in state.brokerage.accounts:
        raise _AdminError(f"unknown account_id {account_id!r}")
    if not isinstance(private_role, bool):
        raise _AdminError("private_role must be true or false")
    return web.json_response(state.issue_tokens(account_id, private_role=private_role), status=201)


async def _admin_add_activity(request: web.Request) -> web.Response:
    """`{"contact_id": "...", "listings_viewed": 5}`: add to the contact's counters from today on."""
    state = _state(request)
    body = await _admin_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("contact_id"), str):
        raise _AdminError("body must be a JSON object with a contact_id")
    counters = {k: v for k, v in body.items() if k != "contact_id"}
    try:
        summary = state.add_activity(body["contact_id"], **counters)
    except (ValueError, TypeError) as exc:
        raise _AdminError(str(exc)) from exc
    return web.json_response(summary.to_json())


async def _admin_add_contacts(request: web.Request) -> web.Response:
    """`{"count": 700, "account_id": "..."}` (the demo account by default): generate that many
    more contacts for the account; `{"ids": [...]}` of the new ones."""
    state = _state(request)
    body = await _admin_json(request)
    if not isinstance(body, dict) or set(body) - {"count", "account_id"}:
        raise _AdminError('body must be {"count": n} or {"count": n, "account_id": "..."}')
    try:
        ids = state.add_contacts(body.get("account_id", DEMO_ACCOUNT_ID), body.get("count"))
    except (ValueError, TypeError) as exc:
        raise _AdminError(str(exc)) from exc
    return web.json_response({"ids": ids}, status=201)


async def _admin_requests(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError as exc:
        raise _AdminError("limit must be an integer") from exc
    entries = state.recorded()[-limit:] if limit > 0 else []
    return web.json_response({"requests": [e.to_dict() for e in entries]})


# --------------------------------------------------------------------------------------------
# Runners


class Sandbox:
    """The sandbox on a TCP port inside the running event loop.

    >>> async with Sandbox() as sandbox:   # port 0: the OS picks a free port
    ...     httpx.AsyncClient(base_url=sandbox.url)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = DEFAULT_SEED,
        latency_ms: float = 0,
        rate_limit: RateLimit | Mapping[str, float] | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        expires_in: int = DEFAULT_EXPIRES_IN,
        monotonic: Callable[[], float] | None = None,
        dialect: Dialect | str | Mapping[str, Any] | None = None,
        retry_after: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState(
            dialect=dialect,
            retry_after=retry_after,
            seed=seed,
            clock=clock,
            monotonic=monotonic,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            expires_in=expires_in,
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """`http://host:port` once started."""
        if self._url is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests seen so far (admin calls excluded), oldest first."""
        return self.state.recorded()

    @property
    def stats(self) -> dict[str, Any]:
        return self.state.stats.to_dict()

    def add_fault(self, **rule: Any) -> FaultRule:
        """Add a fault rule (same keys as the admin JSON); returns it for inspection."""
        return self.state.faults.add(FaultRule.from_dict(rule))

    def clear_faults(self) -> None:
        self.state.faults.clear()

    async def start(self) -> str:
        if self._runner is not None:
            return self.url
        runner = web.AppRunner(
            create_app(self.state),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=2.0,
            max_line_size=32_768,
            max_field_size=32_768,
        )
        self._url = await bind(runner, self.host, self.port)
        self._runner = runner
        return self._url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._url = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


class SandboxThread(LoopThread):
    """The sandbox on its own event loop in a daemon thread, for synchronous callers."""

    label = "Spark sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.sandbox = Sandbox(host, port, **options)
        super().__init__(self.sandbox)

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.sandbox.requests

    def add_fault(self, **rule: Any) -> FaultRule:
        return self.sandbox.add_fault(**rule)

    def clear_faults(self) -> None:
        self.sandbox.clear_faults()


def run(host: str = "127.0.0.1", port: int = 8700, latency_ms: float = 0) -> None:
    """Serve until Ctrl-C (for `python bot.py sandbox --port N`)."""

    async def serve() -> None:
        async with Sandbox(host, port, latency_ms=latency_ms) as sandbox:
            print(f"Spark sandbox listening on {sandbox.url}")
            print(f"  SPARK_API_URL={sandbox.url}  SPARK_AUTH_URL={sandbox.url}")
            print(f"  demo token (Avery Agent):    {DEMO_TOKEN}")
            print(f"  second agent (Blake Broker): {SECOND_AGENT_TOKEN}")
            print(f"  no Private role:             {NO_ROLE_TOKEN}")
            print(f"  OAuth client id / secret:    {DEMO_CLIENT_ID} / {DEMO_CLIENT_SECRET}")
            print("Press Ctrl-C to stop.", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    print("Spark sandbox stopped.")
