"""A stand-in for Slack's Web API and `response_url` endpoints, served on 127.0.0.1 (aiohttp).

`SlackStandin` is an async context manager for tests; `SlackStandinThread` runs the same server
on its own event loop in a daemon thread for synchronous callers (the console, benchmarks).

* `POST|GET /api/<method>` answers the Web API methods the bot uses (`auth.test`,
  `chat.postMessage`, `chat.postEphemeral`, `chat.update`, `chat.delete`, `views.publish`,
  `views.open`, `views.update`, `views.push`, `users.info`, `users.lookupByEmail`,
  `conversations.open`, `conversations.info`, `conversations.members`) the way Slack does:
  HTTP 200 with `{"ok": false, "error": ...}` for API errors (`not_authed`, `invalid_auth`,
  `unknown_method`, `channel_not_found`, ...). `users.lookupByEmail` finds a user declared with
  `set_user(id, profile={"email": ...})` (any case), else `users_not_found`.
* Channels: until a test declares one with `set_channel()`, every C…/G… id is a channel the bot
  is in, never shared with another organisation (G… ids are group DMs), whose members are the
  bot, the default user and the users declared with `users=`/`set_user()`. Once any channel is
  declared, only declared channels exist (DMs always do): a private one the bot isn't in answers
  `channel_not_found`, as Slack does. `conversations.members` pages with `limit` and `cursor`
  (`response_metadata.next_cursor`, empty on the last page).
  Arguments are read from the query string, a form body or a JSON body (slack_sdk uses all
  three); JSON-in-form fields (`blocks`, `view`, `attachments`, `metadata`) are decoded.
* `POST /response/<id>` is a `response_url` from `new_response_url()`: JSON body, answered
  `200 ok` (text). Slack's rules apply: at most 5 uses (then `404 used_url`), 30 minutes of
  life (`404 expired_url`), unknown ids `404 no_service`.
* `GET /healthz` answers 200.

Everything answered (faulted and rejected requests included) is recorded, in the order the
stand-in answered, as frozen `Received` records: `at` is the monotonic arrival time, `status`
and `error` say how it was answered (`.ok` is True when Slack would have accepted it).
`wait_for()` / `wait_for_count()` (async, any event loop) and `SlackStandinThread.wait_for_sync()`
(blocking, from any other thread) wake on each record, with no polling. They also match records
received before the call, so `clear()` first (or filter on `at`) when that matters.

Faults (`add_fault`) are checked, in the order added, before anything else: a delay-only rule
waits and lets the request continue; a rule with a `status` and/or `error` answers it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import datetime as dt
import fnmatch
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from devtools.loopthread import LoopThread, bind
from setup_check.slack import REQUIRED_BOT_SCOPES

from .requests import (
    DEFAULT_API_APP_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    channel_name,
    dm_channel_id,
)

logger = logging.getLogger(__name__)

DEFAULT_BOT_TOKEN = "xoxb-standin"
DEFAULT_APP_TOKEN = "xapp-1-standin"
# What Slack reports in `x-oauth-scopes` for the bot token: manifest.yml's bot scopes.
DEFAULT_SCOPES: tuple[str, ...] = REQUIRED_BOT_SCOPES
DEFAULT_BOT_ID = "B0BOT"
DEFAULT_TZ = "America/Denver"
MAX_RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60.0
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
JSON_STRING_FIELDS = ("blocks", "view", "attachments", "metadata")
DEFAULT_MEMBERS_LIMIT = 100  # conversations.members without `limit`
MAX_MEMBERS_LIMIT = 1000
FIRST_TS_SECONDS = 1_700_000_000

ApiHandler = Callable[[dict[str, Any]], dict[str, Any]]
Predicate = Callable[["Received"], bool]

# Slack's Web API body for an HTTP error status (a fault with no explicit `error`).
_STATUS_ERRORS: Mapping[int, str] = {
    400: "invalid_request",
    404: "not_found",
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
# The text a response_url answers with for an HTTP error status.
_RESPONSE_STATUS_TEXT: Mapping[int, str] = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "expired_url",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
_TZ_LABELS: Mapping[str, str] = {
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
}


@dataclass(frozen=True)
class Received:
    """One request the stand-in answered.

    `kind` is "api" (then `method` is the Web API method, e.g. "chat.postEphemeral") or
    "response" (then `method` is the response URL's id). `body` holds the decoded arguments,
    `headers` the request headers without Authorization, `at` the monotonic arrival time.
    `status` is the HTTP status answered and `error` the Slack error (`ok: false`), if any.
    """

    kind: Literal["api", "response"]
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when Slack would have accepted this request."""
        return self.status == 200 and self.error is None

    def summary(self, width: int = 160) -> str:
        """One readable line: kind, method, outcome and the start of the body."""
        outcome = str(self.status) + (f" {self.error}" if self.error else "")
        body = json.dumps(self.body, default=str, ensure_ascii=False)
        if len(body) > width:
            body = body[: width - 3] + "..."
        return f"{self.kind} {self.method} -> {outcome} {body}"


@dataclass
class Fault:
    """A misbehaviour for requests whose method matches `method` (fnmatch).

    The method is the Web API method name, or "response" for response URLs. `times` is how
    many matching requests it applies to (None: forever). With `status` or `error` it answers
    the request (see `SlackStandin.add_fault`); with only `delay_ms` it delays it.
    """

    method: str = "*"
    status: int | None = None
    retry_after: int | None = None
    error: str | None = None
    times: int | None = 1
    delay_ms: int = 0
    applied: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be None or >= 1, not {self.times!r}")
        if self.delay_ms < 0:
            raise ValueError(f"delay_ms must be >= 0, not {self.delay_ms!r}")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, not {self.retry_after!r}")
        if self.status is None and self.error is None and self.delay_ms == 0:
            self.status = 500

    @property
    def answers(self) -> bool:
        """True when this rule ends the request with its own answer."""
        return self.status is not None or self.error is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times


@dataclass
class StandinChannel:
    """A channel a test declared (`SlackStandin.set_channel`)."""

    id: str
    name: str
    private: bool = False
    bot_member: bool = True
    members: tuple[str, ...] = ()  # people in it (the bot is added when `bot_member`)
    ext_shared: bool = False  # Slack Connect: shared with another organisation
    pending_ext_shared: bool = False
    org_shared: bool = False  # shared across an Enterprise Grid org's workspaces
    archived: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # more `conversations.info` fields

    @property
    def visible(self) -> bool:
        """Whether the bot token sees it (Slack hides private channels the bot isn't in)."""
        return self.bot_member or not self.private

    def member_ids(self, bot_user_id: str) -> list[str]:
        people = [m for m in self.members if m != bot_user_id]
        return [bot_user_id, *people] if self.bot_member else people

    def info(self) -> dict[str, Any]:
        legacy_group = self.private and self.id[:1] == "G"
        shared = self.ext_shared or self.pending_ext_shared or self.org_shared
        record: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": FIRST_TS_SECONDS,
            "is_channel": not legacy_group,
            "is_group": legacy_group,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": self.bot_member,
            "is_shared": shared,
            "is_ext_shared": self.ext_shared,
            "is_org_shared": self.org_shared,
            "is_pending_ext_shared": self.pending_ext_shared,
        }
        record.update(self.extra)
        return record


def _members_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"members:{offset}".encode()).decode()


def _members_offset(cursor: Any) -> int:
    """The position a `next_cursor` we handed out points at; `invalid_cursor` otherwise."""
    if cursor in (None, ""):
        return 0
    try:
        label, _, offset = base64.urlsafe_b64decode(str(cursor).encode()).decode().partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _ApiError("invalid_cursor") from None
    if label != "members" or not offset.isdigit():
        raise _ApiError("invalid_cursor")
    return int(offset)


def _members_limit(value: Any) -> int:
    if value in (None, ""):
        return DEFAULT_MEMBERS_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise _ApiError("invalid_limit") from None
    if not 1 <= limit <= MAX_MEMBERS_LIMIT:
        raise _ApiError("invalid_limit")
    return limit


@dataclass
class _ResponseUrl:
    created: float
    uses: int = 0


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class _BadBody(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _decode_json_strings(body: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_STRING_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                body[name] = json.loads(value)
    return body


async def _read_arguments(request: web.Request) -> dict[str, Any]:
    """Query string, then form or JSON body (the body wins), JSON-in-form fields decoded."""
    body: dict[str, Any] = dict(request.query.items())
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        form = await request.post()
        for key, value in form.items():
            body[key] = value if isinstance(value, str) else f"<file {value.filename}>"
        return _decode_json_strings(body)
    raw = await request.read()
    if not raw:
        return _decode_json_strings(body)
    if content_type == "application/json":
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise _BadBody("invalid_json") from exc
        if not isinstance(parsed, dict):
            raise _BadBody("invalid_json")
        body.update(parsed)
    else:
        try:
            body.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise _BadBody("invalid_form_data") from exc
    return _decode_json_strings(body)


def _headers(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() != "authorization"}


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _required(body: Mapping[str, Any], name: str, error: str) -> Any:
    value = body.get(name)
    if value is None or value == "":
        raise _ApiError(error)
    return value


def _as_view(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _ApiError("invalid_arguments")
    blocks = value.get("blocks", [])
    if not isinstance(blocks, list):
        raise _ApiError("invalid_arguments")
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise _ApiError(
            "invalid_arguments",
            response_metadata={
                "messages": [
                    f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"
                ]
            },
        )
    return value


def _check_message_content(body: Mapping[str, Any], *, require: bool = True) -> None:
    blocks = body.get("blocks")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            raise _ApiError(
                "invalid_blocks",
                response_metadata={
                    "messages": [
                        f"[ERROR] no more than {MAX_MESSAGE_BLOCKS} items allowed [json-pointer:/blocks]"
                    ]
                },
            )
    if require and not (body.get("text") or blocks or body.get("attachments")):
        raise _ApiError("no_text")


def _tz_details(tz: str) -> tuple[str, int]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return tz, 0
    now = dt.datetime.now(zone)
    offset = now.utcoffset() or dt.timedelta()
    abbreviation = now.tzname() or tz
    return _TZ_LABELS.get(abbreviation, abbreviation), int(offset.total_seconds())


class SlackStandin:
    """The stand-in Slack server. `async with SlackStandin() as slack: slack.api_url ...`"""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        api_app_id: str = DEFAULT_API_APP_ID,
        users: Mapping[str, dict[str, Any]] | None = None,
        response_url_ttl: float = RESPONSE_URL_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
        scopes: tuple[str, ...] | list[str] | None = DEFAULT_SCOPES,
        app_token: str = DEFAULT_APP_TOKEN,
    ) -> None:
        self.host = host
        # Granted bot scopes, sent as `x-oauth-scopes` on answers to the bot token, as Slack
        # does; None sends no header.
        self.scopes = None if scopes is None else tuple(scopes)
        # `apps.connections.open` accepts only this app-level token; the bot token there
        # answers `not_allowed_token_type`, anything else `invalid_auth` (Slack's answers).
        self.app_token = app_token
        self.port = port
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.api_app_id = api_app_id
        self.response_url_ttl = response_url_ttl
        self._monotonic = monotonic
        # None: any U…/W… id is a (default) user; a mapping: only those users (and the bot).
        self._users: dict[str, dict[str, Any]] | None = (
            None if users is None else {k: dict(v) for k, v in users.items()}
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._received: list[Received] = []
        self._dropped = 0  # records removed by clear(), so waiters keep absolute positions
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._faults: list[Fault] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._channels: dict[str, StandinChannel] = {}  # empty: every channel exists
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._methods: dict[str, ApiHandler] = self._builtin_methods()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._stopping: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>` once started."""
        if self._url is None:
            raise RuntimeError("the Slack stand-in is not running; call start() first")
        return self._url

    @property
    def api_url(self) -> str:
        """The Web API base URL (`.../api/`), i.e. `base_url` for slack_sdk clients."""
        return f"{self.url}/api/"

    async def start(self) -> str:
        """Bind and serve; returns the base URL (`.url`)."""
        if self._runner is not None:
            return self.url
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{rid}", self._handle_response)
        self._stopping = asyncio.Event()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        self._url = await bind(runner, self.host, self.port)
        self._runner = runner
        return self._url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._url = None
        if self._stopping is not None:
            self._stopping.set()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> SlackStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection

    @property
    def received(self) -> list[Received]:
        """Everything answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def calls(self, method: str) -> list[Received]:
        """Web API calls of one method (fnmatch patterns allowed, e.g. "chat.*")."""
        return [
            r for r in self.received if r.kind == "api" and fnmatch.fnmatchcase(r.method, method)
        ]

    def responses(self, response_url: str | None = None) -> list[Received]:
        """POSTs to response URLs, or to one of them."""
        rid = None if response_url is None else response_url.rstrip("/").rsplit("/", 1)[-1]
        return [
            r for r in self.received if r.kind == "response" and (rid is None or r.method == rid)
        ]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's history (chat.postMessage, as updated/deleted), oldest first.

        A user id (U…/W…) means the DM channel the bot has with that user.
        """
        channel = self._channel_key(channel)
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def ephemerals(
        self, channel: str | None = None, *, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages posted with chat.postEphemeral (each has `channel` and `user`)."""
        key = None if channel is None else self._channel_key(channel)
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._ephemerals
                if (key is None or m["channel"] == key) and (user is None or m["user"] == user)
            ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for a user."""
        with self._lock:
            view_id = self._home_views.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A view opened, pushed, updated or published earlier."""
        with self._lock:
            view = self._views.get(view_id)
            return copy.deepcopy(view) if view else None

    def views(self) -> list[dict[str, Any]]:
        """Every view stored so far (modals and Home tabs), oldest first."""
        with self._lock:
            return [copy.deepcopy(v) for v in self._views.values()]

    def clear(self) -> None:
        """Forget what was received (not messages, views, response URLs or faults)."""
        with self._lock:
            self._dropped += len(self._received)
            self._received.clear()

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Predicate, *, timeout: float = 5.0) -> Received:  # noqa: ASYNC109
        """The first record (already received or arriving) that matches `predicate`.

        Raises `TimeoutError` listing what was received when none arrives within `timeout`.
        """
        return (await self.wait_for_count(predicate, 1, timeout=timeout))[0]

    async def wait_for_count(
        self,
        predicate: Predicate,
        n: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the API
    ) -> list[Received]:
        """The first `n` matching records, waiting for them up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = asyncio.Event()
        waiter = (loop, event)
        matches: list[Received] = []
        position = 0
        try:
            while True:
                with self._lock:
                    event.clear()
                    new, position = self._since(position)
                    self._async_waiters.add(waiter)
                matches.extend(r for r in new if predicate(r))
                if len(matches) >= n:
                    return matches[:n]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout, n, len(matches)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)

    def _wait_sync(self, predicate: Predicate, n: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        matches: list[Received] = []
        position = 0
        while True:
            with self._lock:
                new, position = self._since(position)
            matches.extend(r for r in new if predicate(r))
            if len(matches) >= n:
                return matches[:n]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(self._timeout_message(timeout, n, len(matches)))
            with self._lock:
                if self._dropped + len(self._received) == position:  # nothing new yet
                    self._changed.wait(remaining)

    def _since(self, position: int) -> tuple[list[Received], int]:
        """Records after absolute `position` and the new position (call with the lock held)."""
        start = max(0, position - self._dropped)
        return self._received[start:], self._dropped + len(self._received)

    def _timeout_message(self, timeout: float, n: int, found: int) -> str:
        records = self.received
        lines = [
            f"timed out after {timeout:g}s waiting for {n} matching request(s) "
            f"(found {found}); received {len(records)}:"
        ]
        shown = records[-25:]
        if len(records) > len(shown):
            lines.append(f"  ... {len(records) - len(shown)} earlier")
        lines.extend(f"  {r.summary()}" for r in shown)
        if not records:
            lines.append("  (nothing)")
        return "\n".join(lines)

    def _record(self, entry: Received) -> None:
        with self._lock:
            self._received.append(entry)
            waiters = list(self._async_waiters)
            self._changed.notify_all()
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # the waiter's loop is closed
                loop.call_soon_threadsafe(event.set)

    # ------------------------------------------------------------------ configuration

    def add_fault(
        self,
        *,
        method: str = "*",
        status: int | None = None,
        retry_after: int | None = None,
        error: str | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
    ) -> Fault:
        """Make matching requests misbehave; returns the rule (its `applied` counts uses).

        `method` is an fnmatch pattern on the Web API method, or "response" for response
        URLs. Web API: `error` alone answers HTTP 200 `{"ok": false, "error": error}`;
        `status` answers that status with a JSON error body (`ratelimited` for 429) and
        `Retry-After: <retry_after>` when given. Response URLs answer `status` (default 400
        when only `error` is given) with the error as text. `delay_ms` waits before answering;
        a rule with only `delay_ms` delays the normal answer. With none of status, error and
        delay_ms the rule answers 500. `times=None` applies the rule forever.
        """
        fault = Fault(
            method=method,
            status=status,
            retry_after=retry_after,
            error=error,
            times=times,
            delay_ms=delay_ms,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The rules still active, in order."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def add_method(self, method: str, handler: ApiHandler) -> None:
        """Serve (or override) a Web API method: `handler(args) -> response dict`.

        The handler runs after auth; `ok: true` is added unless it sets `ok` itself.
        """
        with self._lock:
            self._methods[method] = handler

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Add or change a user `users.info` knows (fields override the defaults)."""
        with self._lock:
            if self._users is None:
                self._users = {}
            self._users.setdefault(user_id, {}).update(fields)

    def set_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        private: bool = False,
        bot_member: bool = True,
        members: tuple[str, ...] | list[str] = (),
        ext_shared: bool = False,
        pending_ext_shared: bool = False,
        org_shared: bool = False,
        archived: bool = False,
        **fields: Any,
    ) -> StandinChannel:
        """Declare (or redeclare) a channel; from then on only declared channels exist.

        `members` are the people in it (the bot counts when `bot_member`); `ext_shared` makes
        it a Slack Connect channel; `fields` override other `conversations.info` fields.
        """
        if channel_id[:1] not in ("C", "G") or len(channel_id) < 3:
            raise ValueError(f"a channel id starts with C or G, not {channel_id!r}")
        channel = StandinChannel(
            id=channel_id,
            name=name or channel_name(channel_id),
            private=private,
            bot_member=bot_member,
            members=tuple(members),
            ext_shared=ext_shared,
            pending_ext_shared=pending_ext_shared,
            org_shared=org_shared,
            archived=archived,
            extra=dict(fields),
        )
        with self._lock:
            self._channels[channel_id] = channel
        return channel

    def new_response_url(self) -> str:
        """A fresh response URL on this server (5 uses, 30 minutes)."""
        rid = uuid.uuid4().hex
        with self._lock:
            self._response_urls[rid] = _ResponseUrl(created=self._monotonic())
        return f"{self.url}/response/{rid}"

    # ------------------------------------------------------------------ HTTP handlers

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def _claim_faults(self, name: str) -> list[Fault]:
        claimed: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fnmatch.fnmatchcase(name, fault.method):
                    continue
                fault.applied += 1
                claimed.append(fault)
                if fault.answers:
                    break
            self._faults = [f for f in self._faults if not f.exhausted]
        return claimed

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        if seconds <= 0:
            return
        if self._stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _apply_faults(self, name: str) -> Fault | None:
        claimed = self._claim_faults(name)
        for fault in claimed:
            await self._pause(fault.delay_ms / 1000)
        return claimed[-1] if claimed and claimed[-1].answers else None

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = self._monotonic()
        name = request.match_info["method"]
        headers = _headers(request)
        try:
            body = await _read_arguments(request)
            bad_body: str | None = None
        except _BadBody as exc:
            body, bad_body = {}, exc.error
        status, payload, extra_headers = await self._answer_api(name, request, body, bad_body)
        body.pop("token", None)
        error = None if payload.get("ok") else str(payload.get("error", "unknown_error"))
        self._record(Received("api", name, body, headers, arrived, status, error))
        return web.json_response(payload, status=status, headers=extra_headers)

    async def _answer_api(
        self, name: str, request: web.Request, body: dict[str, Any], bad_body: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = await self._apply_faults(name)
        if fault is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            if fault.error is not None:
                return fault.status or 200, {"ok": False, "error": fault.error}, headers
            assert fault.status is not None
            error = _STATUS_ERRORS.get(fault.status, f"http_{fault.status}")
            return fault.status, {"ok": False, "error": error}, headers
        token = _bearer(request) or body.get("token")
        if name == "apps.connections.open":
            return self._apps_connections_open(token)
        with self._lock:
            handler = self._methods.get(name)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": name}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != self.bot_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        scopes = {} if self.scopes is None else {"x-oauth-scopes": ",".join(self.scopes)}
        if bad_body is not None:
            return 200, {"ok": False, "error": bad_body}, {}
        args = {k: v for k, v in body.items() if k != "token"}
        try:
            result = handler(args)
        except _ApiError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, scopes
        except Exception:  # a stand-in bug: answer like Slack would, and log it
            logger.exception("Slack stand-in failed to serve %s", name)
            return 500, {"ok": False, "error": "internal_error"}, {}
        return 200, {"ok": True, **result}, scopes

    def _apps_connections_open(
        self, token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Socket Mode's WebSocket URL (the stand-in serves no WebSocket: nothing listens)."""
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token == self.bot_token or token.startswith(("xoxb-", "xoxp-")):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        if token != self.app_token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        return 200, {"ok": True, "url": f"ws://{self.host}:1/link/?ticket=standin"}, {}

    async def _handle_response(self, request: web.Request) -> web.Response:
        arrived = self._monotonic()
        rid = request.match_info["rid"]
        headers = _headers(request)
        raw = await request.read()
        try:
            parsed = json.loads(raw) if raw else {}
            body: dict[str, Any] = parsed if isinstance(parsed, dict) else {"_raw": parsed}
            valid = isinstance(parsed, dict)
        except ValueError:
            body, valid = {"_raw": raw.decode("utf-8", "replace")}, False
        status, text = await self._answer_response(rid, body, valid)
        error = None if status == 200 else text
        self._record(Received("response", rid, body, headers, arrived, status, error))
        return web.Response(status=status, text=text)

    async def _answer_response(
        self, rid: str, body: dict[str, Any], valid: bool
    ) -> tuple[int, str]:
        fault = await self._apply_faults("response")
        if fault is not None:
            status = fault.status or 400
            text = fault.error or _RESPONSE_STATUS_TEXT.get(status, f"http_{status}")
            return status, text
        with self._lock:
            entry = self._response_urls.get(rid)
            if entry is None:
                return 404, "no_service"
            if self._monotonic() - entry.created > self.response_url_ttl:
                return 404, "expired_url"
            if entry.uses >= MAX_RESPONSE_URL_USES:
                return 404, "used_url"
            if not valid:
                return 400, "invalid_payload"
            try:
                _check_message_content(body, require=not body.get("delete_original"))
            except _ApiError as exc:
                return 400, exc.error
            entry.uses += 1
        return 200, "ok"

    # ------------------------------------------------------------------ Web API methods

    def _builtin_methods(self) -> dict[str, ApiHandler]:
        """The Web API methods the stand-in answers by itself (`add_method` adds more)."""
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
        }

    def _next_ts(self) -> str:
        n = next(self._ts_counter)
        return f"{FIRST_TS_SECONDS + n // 10_000}.{(n % 10_000) * 100:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._id_counter):08X}"

    def _channel_key(self, channel: str) -> str:
        """Where a message to `channel` lands: user ids mean the DM with that user."""
        if channel[:1] in ("U", "W"):
            return dm_channel_id(channel)
        return channel

    def _message(self, body: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": body.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.api_app_id,
            "team": self.team_id,
            "ts": ts,
        }
        for name in ("blocks", "attachments", "metadata", "thread_ts"):
            if body.get(name) is not None:
                message[name] = body[name]
        return message

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{DEFAULT_TEAM_DOMAIN}.slack.com/",
            "team": "Stand-in Workspace",
            "user": "activity-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_key(str(_required(body, "channel", "channel_not_found")))
        _check_message_content(body)
        with self._lock:
            ts = self._next_ts()
            message = self._message(body, ts)
            self._messages.setdefault(channel, []).append(message)
            return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_key(str(_required(body, "channel", "channel_not_found")))
        user = str(_required(body, "user", "user_not_found"))
        _check_message_content(body)
        with self._lock:
            ts = self._next_ts()
            message = {**self._message(body, ts), "channel": channel, "user": user}
            self._ephemerals.append(message)
        return {"message_ts": ts}

    def _find_message(self, body: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]], int]:
        """(channel, history, index) of the message `channel` + `ts` name; hold the lock."""
        channel = self._channel_key(str(_required(body, "channel", "channel_not_found")))
        ts = str(_required(body, "ts", "message_not_found"))
        history = self._messages.get(channel, [])
        for index, message in enumerate(history):
            if message["ts"] == ts:
                return channel, history, index
        raise _ApiError("message_not_found")

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        _check_message_content(body, require=False)
        with self._lock:
            channel, history, index = self._find_message(body)
            message = history[index]
            for name in ("text", "blocks", "attachments", "metadata"):
                if name in body:
                    message[name] = body[name]
            message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            return {
                "channel": channel,
                "ts": message["ts"],
                "text": message.get("text", ""),
                "message": copy.deepcopy(message),
            }

    def _chat_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            channel, history, index = self._find_message(body)
            ts = history.pop(index)["ts"]
        return {"channel": channel, "ts": ts}

    def _store_view(
        self, view: dict[str, Any], *, view_id: str | None = None, previous: str | None = None
    ) -> dict[str, Any]:
        """Save a view as Slack returns it (hold the lock)."""
        view_id = view_id or self._next_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": view_id,
            "previous_view_id": previous,
            "app_id": self.api_app_id,
            "bot_id": self.bot_id,
        }
        for name in ("title", "close", "submit", "clear_on_close", "notify_on_close"):
            if name in view:
                stored[name] = view[name]
        self._views[view_id] = stored
        return copy.deepcopy(stored)

    def _views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = str(_required(body, "user_id", "invalid_arguments"))
        view = _as_view(_required(body, "view", "invalid_arguments"))
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        with self._lock:
            if self._known_user(user_id) is None:
                raise _ApiError("user_not_found")
            stored = self._store_view(view, view_id=self._home_views.get(user_id))
            self._home_views[user_id] = stored["id"]
        return {"view": stored}

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        _required(body, "trigger_id", "invalid_arguments")
        view = _as_view(_required(body, "view", "invalid_arguments"))
        if view.get("type") != "modal":
            raise _ApiError("invalid_arguments")
        with self._lock:
            return {"view": self._store_view(view)}

    def _views_push(self, body: dict[str, Any]) -> dict[str, Any]:
        _required(body, "trigger_id", "invalid_arguments")
        view = _as_view(_required(body, "view", "invalid_arguments"))
        with self._lock:
            return {"view": self._store_view(view)}

    def _views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view = _as_view(_required(body, "view", "invalid_arguments"))
        with self._lock:
            view_id = body.get("view_id")
            if not view_id and body.get("external_id"):
                view_id = next(
                    (k for k, v in self._views.items() if v["external_id"] == body["external_id"]),
                    None,
                )
            if not view_id:
                raise _ApiError("not_found" if body.get("external_id") else "invalid_arguments")
            current = self._views.get(view_id)
            if current is None:
                raise _ApiError("not_found")
            if body.get("hash") and body["hash"] != current["hash"]:
                raise _ApiError("hash_conflict")
            return {"view": self._store_view(view, view_id=view_id)}

    def _known_user(self, user_id: str) -> dict[str, Any] | None:
        """The overrides for a known user ({} for a default one), None if unknown."""
        if user_id == self.bot_user_id:
            return {"is_bot": True, "name": "activity-bot", "real_name": "Activity"}
        if self._users is None:
            valid = (
                user_id[:1] in ("U", "W")
                and len(user_id) >= 3
                and user_id.isalnum()
                and user_id == user_id.upper()
            )
            return {} if valid else None
        fields = self._users.get(user_id)
        return None if fields is None else dict(fields)

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = str(_required(body, "user", "user_not_found"))
        with self._lock:
            overrides = self._known_user(user_id)
        if overrides is None:
            raise _ApiError("user_not_found")
        return {"user": self._user_record(user_id, overrides)}

    def _users_lookup_by_email(self, body: dict[str, Any]) -> dict[str, Any]:
        """The first declared user whose `profile.email` is `email` (any case)."""
        wanted = str(_required(body, "email", "invalid_email")).strip().casefold()
        with self._lock:
            users = {k: dict(v) for k, v in (self._users or {}).items()}
        for user_id, overrides in users.items():
            email = (overrides.get("profile") or {}).get("email")
            if isinstance(email, str) and email.strip().casefold() == wanted:
                return {"user": self._user_record(user_id, overrides)}
        raise _ApiError("users_not_found")

    def _user_record(self, user_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
        tz = str(overrides.get("tz", DEFAULT_TZ))
        label, offset = _tz_details(tz)
        name = str(overrides.get("name", user_id.lower()))
        real_name = str(overrides.get("real_name", f"Stand-in {user_id}"))
        record: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": FIRST_TS_SECONDS,
        }
        record.update(overrides)
        profile = {"real_name": record["real_name"], "display_name": record["name"]}
        profile.update(overrides.get("profile", {}))
        record["profile"] = profile
        return record

    def _conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("channel"):
            return {"channel": {"id": body["channel"]}, "no_op": True, "already_open": True}
        users = [u.strip() for u in str(body.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise _ApiError("too_many_users")
        if len(users) == 1:
            return {"channel": {"id": dm_channel_id(users[0])}, "no_op": False}
        return {"channel": {"id": "G" + "".join(u[1:4] for u in users)[:10]}, "no_op": False}

    def _declared_channel(self, channel: str) -> StandinChannel | None:
        """The declared channel the bot can see; None when nothing is declared (open world).

        Raises `channel_not_found` for an unknown id once channels are declared, and for a
        private channel the bot isn't in. DMs (D…) are never declared: they answer None.
        """
        with self._lock:
            if not self._channels or channel[:1] == "D":
                return None
            declared = self._channels.get(channel)
        if declared is None or not declared.visible:
            raise _ApiError("channel_not_found")
        return declared

    def _conversations_members(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(_required(body, "channel", "channel_not_found"))
        limit, offset = _members_limit(body.get("limit")), _members_offset(body.get("cursor"))
        if channel[:1] not in ("C", "G", "D") or len(channel) < 3:
            raise _ApiError("channel_not_found")
        declared = self._declared_channel(channel)
        if declared is not None:
            members = declared.member_ids(self.bot_user_id)
        elif channel[:1] == "D":
            members = ["U" + channel[1:], self.bot_user_id]
        else:
            with self._lock:
                known = sorted(self._users or {})
            people = dict.fromkeys([self.bot_user_id, DEFAULT_USER_ID, *known])
            members = list(people)
        if offset > len(members):
            raise _ApiError("invalid_cursor")
        end = offset + limit
        next_cursor = _members_cursor(end) if end < len(members) else ""
        return {"members": members[offset:end], "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(_required(body, "channel", "channel_not_found"))
        kind = channel[:1]
        if kind not in ("C", "G", "D") or len(channel) < 3:
            raise _ApiError("channel_not_found")
        declared = self._declared_channel(channel)
        if declared is not None:
            return {"channel": declared.info()}
        info: dict[str, Any] = {
            "id": channel,
            "created": FIRST_TS_SECONDS,
            "is_channel": kind == "C",
            "is_group": False,
            "is_im": kind == "D",
            "is_mpim": kind == "G",
            "is_private": kind != "C",
            "is_archived": False,
            "is_member": True,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
        }
        if kind == "D":
            info["user"] = "U" + channel[1:]
        else:
            info["name"] = channel_name(channel)
        return {"channel": info}


class SlackStandinThread(LoopThread):
    """`SlackStandin` on its own event loop in a daemon thread, for synchronous callers."""

    label = "Slack stand-in"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        self.standin = SlackStandin(host, port, **options)
        super().__init__(self.standin)

    @property
    def api_url(self) -> str:
        return self.standin.api_url

    @property
    def received(self) -> list[Received]:
        return self.standin.received

    def calls(self, method: str) -> list[Received]:
        return self.standin.calls(method)

    def responses(self, response_url: str | None = None) -> list[Received]:
        return self.standin.responses(response_url)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return self.standin.messages(channel)

    def ephemerals(
        self, channel: str | None = None, *, user: str | None = None
    ) -> list[dict[str, Any]]:
        return self.standin.ephemerals(channel, user=user)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        return self.standin.home_view(user_id)

    def view(self, view_id: str) -> dict[str, Any] | None:
        return self.standin.view(view_id)

    def views(self) -> list[dict[str, Any]]:
        return self.standin.views()

    def clear(self) -> None:
        self.standin.clear()

    def new_response_url(self) -> str:
        return self.standin.new_response_url()

    def add_fault(
        self,
        *,
        method: str = "*",
        status: int | None = None,
        retry_after: int | None = None,
        error: str | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
    ) -> Fault:
        """Same options as `SlackStandin.add_fault`."""
        return self.standin.add_fault(
            method=method,
            status=status,
            retry_after=retry_after,
            error=error,
            times=times,
            delay_ms=delay_ms,
        )

    def clear_faults(self) -> None:
        self.standin.clear_faults()

    def add_method(self, method: str, handler: ApiHandler) -> None:
        self.standin.add_method(method, handler)

    def set_user(self, user_id: str, **fields: Any) -> None:
        self.standin.set_user(user_id, **fields)

    def set_channel(self, channel_id: str, **options: Any) -> StandinChannel:
        """Same options as `SlackStandin.set_channel`."""
        return self.standin.set_channel(channel_id, **options)

    async def wait_for(self, predicate: Predicate, *, timeout: float = 5.0) -> Received:  # noqa: ASYNC109
        """Await a record from any event loop (the server runs on its own)."""
        return await self.standin.wait_for(predicate, timeout=timeout)

    async def wait_for_count(
        self,
        predicate: Predicate,
        n: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is part of the API
    ) -> list[Received]:
        return await self.standin.wait_for_count(predicate, n, timeout=timeout)

    def wait_for_sync(self, predicate: Predicate, *, timeout: float = 5.0) -> Received:
        """Block until a matching record exists (never call from the server's thread)."""
        return self.wait_for_count_sync(predicate, 1, timeout=timeout)[0]

    def wait_for_count_sync(
        self, predicate: Predicate, n: int, *, timeout: float = 5.0
    ) -> list[Received]:
        if threading.current_thread() is self._thread:
            raise RuntimeError("wait_for_sync would block the stand-in's own event loop")
        return self.standin._wait_sync(predicate, n, timeout)
