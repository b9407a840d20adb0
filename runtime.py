"""The assembled app: services, Slack clients, the Bolt app and its HTTP server.

The run modes (`modes.py`; the benchmarks start `bot.py serve`), the console and the end-to-end
tests all build the bot here, the same way: `open_services` (database, key, one keep-alive HTTP
client, then `activity.services.assemble`: the token keeper, the Spark client with one budget
per API key, the contact and listing caches), then `start_http` (asks Slack who the bot is, builds the `AsyncApp`
with every handler, and serves Slack's endpoint, the OAuth callback and `/healthz`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from httpx_aiohttp import AiohttpTransport
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from activity.services import Services, assemble, utc_now
from handlers.oauth import routes as oauth_routes
from settings import Settings
from setup_check.results import EXIT_CONFIGURATION
from setup_check.slack import SLACK_FAILURES
from setup_check.startup import (
    StartupError,
    slack_startup_error,
    with_retries,
)
from spark import RateLimiter
from spark.oauth import OAuthClient
from storage import (
    TokenCipher,
    load_checked_key,
    open_database,
)

log = logging.getLogger("activity_bot")


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable = utc_now
) -> AsyncIterator[Services]:
    """The shared services: database, cipher, one keep-alive HTTP client, the Spark client.

    Raises `KeyLost` when stored Spark tokens exist and the encryption key opens none of them.
    """
    db = open_database(settings.database_path)
    try:
        key = load_checked_key(db, settings.data_dir, settings.token_encryption_key)
    except BaseException:
        db.close()
        raise
    # httpx's API on aiohttp's connection pool: httpcore's pool bookkeeping was half of the
    # bot's CPU under load (measured with py-spy), aiohttp's is a small fraction of it.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as http:
        oauth = None
        if settings.oauth_enabled:
            oauth = OAuthClient(
                http,
                auth_url=settings.spark_auth_url,
                api_url=settings.spark_api_url,
                client_id=settings.spark_client_id or "",
                client_secret=settings.spark_client_secret or "",
                redirect_uri=settings.spark_redirect_uri or "",
                flow=settings.spark_oauth_grant,
                user_agent=settings.spark_user_agent,
                clock=clock,
            )
        requests, seconds = settings.spark_rate_limit
        services = assemble(
            settings=settings,
            db=db,
            cipher=TokenCipher(key),
            http=http,
            clock=clock,
            oauth=oauth,
            secret_key=key,
            rate_limiter=RateLimiter(requests, seconds),  # one Budget per Spark API key
        )
        try:
            yield services
        finally:
            db.close()


def slack_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    *,
    token: str | None = None,
    retry_unknown_outcomes: bool = True,
) -> AsyncWebClient:
    """A Web API client on the shared session, retrying rate limits (Slack did nothing) and,
    unless `retry_unknown_outcomes` is False, server errors and dropped connections, after
    which a post may or may not have gone out."""
    handlers: list[Any] = [AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    if retry_unknown_outcomes:
        handlers += [
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ]
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, session=session, timeout=10,
        retry_handlers=handlers,
    )  # fmt: skip


async def slack_identity(
    client: AsyncWebClient, *, retry_for: float = 0.0, stop: asyncio.Event | None = None
) -> AuthorizeResult:
    """Ask Slack once, at start-up, who the bot is, so no request waits on `auth.test`.

    A network failure is retried for up to `retry_for` seconds. Raises `StartupError` (one line:
    a rejected SLACK_BOT_TOKEN, exit code 2; Slack unreachable, 1) or `StartupInterrupted`.
    """
    assert client.token, "slack_identity needs a client with the bot token"
    try:
        auth = await with_retries(client.auth_test, what="Slack", retry_for=retry_for, stop=stop)
    except SLACK_FAILURES as error:
        raise slack_startup_error(
            error, setting="SLACK_BOT_TOKEN", token=client.token, api_url=client.base_url
        ) from None
    return AuthorizeResult(
        enterprise_id=auth.get("enterprise_id"),
        team_id=auth.get("team_id"),
        bot_user_id=auth.get("user_id"),
        bot_id=auth.get("bot_id"),
        bot_token=client.token,
    )


def create_app(services: Services, client: AsyncWebClient, identity: AuthorizeResult) -> AsyncApp:
    async def authorize() -> AuthorizeResult:
        return identity

    app = AsyncApp(
        client=client,
        signing_secret=services.settings.slack_signing_secret or "",
        authorize=authorize,
        process_before_response=False,
    )
    handlers.register(app, services)
    return app


# Slack's largest payloads (a view submission, a click on a 50-block message) are well under
# this; anything bigger is refused before it is read.
MAX_SLACK_BODY = 512 * 1024


def http_app(
    app: AsyncApp | None, extra_routes: Sequence[web.RouteDef] = (), *, signing_secret: str = ""
) -> web.Application:
    """Slack's endpoint (HTTP mode only), the health check and the OAuth callback.

    The signature is checked on the raw bytes before anything parses the body: an unsigned or
    stale request gets 401, a signed one that isn't UTF-8 or well-formed gets 400, and neither
    reaches Bolt.
    """

    # Only HTTP mode serves Slack's endpoint; Socket Mode needs no signing secret.
    verifier = SignatureVerifier(signing_secret) if app is not None else None

    async def slack_events(request: web.Request) -> web.Response:
        assert app is not None and verifier is not None
        raw = await request.read()  # beyond `client_max_size`, aiohttp answers 413 itself
        try:
            signed = verifier.is_valid_request(raw, request.headers)
        except ValueError:  # a timestamp that is not a number
            signed = False
        if not signed:
            return web.Response(status=401, text="invalid signature")
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=request.headers
            )
            if not isinstance(bolt_request.body, dict) or not bolt_request.body:
                raise ValueError("not an object")
            response = await app.async_dispatch(bolt_request)
        except (UnicodeDecodeError, ValueError, TypeError, LookupError, AttributeError) as error:
            # Signed, so from Slack (or someone holding the secret), but not a shape we know.
            log.warning(
                "Refused a signed Slack request we could not read (%s)", type(error).__name__
            )
            return web.Response(status=400, text="malformed body")
        return await to_aiohttp_response(response)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application(client_max_size=MAX_SLACK_BODY)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_routes(extra_routes)
    if app is not None:
        web_app.router.add_post("/slack/events", slack_events)
    return web_app


@dataclass
class RunningBot:
    """A bot serving HTTP; what `serve` runs and what end-to-end tests start in-process."""

    services: Services
    app: AsyncApp
    runner: web.AppRunner
    session: aiohttp.ClientSession
    bot_client: AsyncWebClient  # carries the bot token: for work outside a request (digests)
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.session.close()


async def start_http(
    services: Services,
    *,
    host: str,
    port: int,
    socket_mode: bool = False,
    retry_for: float = 0.0,
    stop: asyncio.Event | None = None,
) -> RunningBot:
    """Ask Slack who the bot is (see `slack_identity`), then serve HTTP on `host`:`port`."""
    settings = services.settings
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        # The bot token's client posts digests and alerts, which have their own exactly-once
        # records: it must not repeat a post whose outcome it doesn't know (a 5xx, a dropped
        # connection) behind their backs.
        bot_client = slack_client(
            settings, session, token=settings.slack_bot_token, retry_unknown_outcomes=False
        )
        identity = await slack_identity(bot_client, retry_for=retry_for, stop=stop)
        # The app's client carries no token: each request gets one from `identity`.
        app = create_app(services, slack_client(settings, session), identity)
        routes = oauth_routes(services, bot_client)
        web_app = http_app(
            None if socket_mode else app, routes, signing_secret=settings.slack_signing_secret or ""
        )
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:  # the port is taken, or the address isn't this machine's
            await runner.cleanup()
            raise StartupError(
                f"Can't listen on {host}:{port} ({error.strerror or error}): set PORT (and HOST) "
                "in .env to a free port on this machine.",
                exit_code=EXIT_CONFIGURATION,
            ) from None
    except BaseException:
        await session.close()
        raise
    bound = runner.addresses[0]
    return RunningBot(services, app, runner, session, bot_client, f"http://{bound[0]}:{bound[1]}")
