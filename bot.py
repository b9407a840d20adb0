"""Activity bot entry point: wiring only.

    python bot.py [serve]            run the Slack app (Socket Mode if SLACK_APP_TOKEN, else HTTP)
    python bot.py console [--demo]   a local shell that answers like the bot (--demo: in-process sandbox)
    python bot.py sandbox [--port N] run the Spark sandbox alone
    python bot.py digest --now       post every digest that is due now, then exit
    python bot.py check              verify the set-up (Slack, Spark, OAuth, database), print a table
    python bot.py forget-tokens [--yes]  delete stored Spark tokens (after losing the key)

Loads `.env`, reads settings, opens the database, builds the HTTP, Spark and Slack clients and
the `AsyncApp`, registers the handlers and runs the chosen mode. Business logic lives in the
packages, never here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import aiohttp
import httpx
from aiohttp import web
from dotenv import load_dotenv
from httpx_aiohttp import AiohttpTransport
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

import handlers
import redaction
from activity.digests import run_pass
from activity.services import Services, utc_now
from handlers.digests import SlackPoster
from handlers.oauth import routes as oauth_routes
from settings import Settings, SettingsError, load_settings
from setup_check import SPARK_REQUEST_BUDGET, exit_code, render, run_checks
from setup_check.results import EXIT_CONFIGURATION
from setup_check.slack import SLACK_FAILURES, token_error
from setup_check.startup import (
    DEFAULT_RETRY_FOR_S,
    EXIT_INTERRUPTED,
    StartupError,
    StartupInterrupted,
    slack_startup_error,
    until_stopped,
    with_retries,
)
from spark import RateLimiter, SparkClient
from spark.oauth import OAuthClient
from storage import (
    KeyLost,
    TokenCipher,
    count_connections,
    forget_all_connections,
    load_checked_key,
    open_database,
    prune_all,
    pruned_summary,
)
from storage.retention import PRUNE_EVERY

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger("activity_bot")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx and aiohttp log request URLs; keep them out of normal logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not settings.log_slack_debug:
        # At DEBUG, Bolt and slack_sdk print whole payloads: client names, e-mails, OAuth
        # states, pasted tokens. Only an explicit LOG_SLACK_DEBUG=true lets that through.
        for name in ("slack_bolt", "slack_sdk"):
            logging.getLogger(name).setLevel(
                max(logging.INFO, logging.getLevelName(settings.log_level))
            )
    known = (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
             settings.spark_access_token, settings.spark_client_secret, settings.token_encryption_key)  # fmt: skip
    redaction.install([s for s in known if s])


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
        requests, seconds = settings.spark_rate_limit
        spark = SparkClient(
            http, base_url=settings.spark_api_url, user_agent=settings.spark_user_agent,
            rate_limiter=RateLimiter(requests, seconds),  # one Budget per Spark API key
        )  # fmt: skip
        oauth = None
        if settings.oauth_enabled:
            oauth = OAuthClient(
                http, auth_url=settings.spark_auth_url, api_url=settings.spark_api_url,
                client_id=settings.spark_client_id or "", client_secret=settings.spark_client_secret or "",
                redirect_uri=settings.spark_redirect_uri or "", flow=settings.spark_oauth_grant,
                user_agent=settings.spark_user_agent, clock=clock,
            )  # fmt: skip
        services = Services(
            settings=settings,
            db=db,
            cipher=TokenCipher(key),
            spark=spark,
            clock=clock,
            listing_layout=settings.listing_layout,
            oauth=oauth,
            secret_key=key,
        )
        spark.key_of = services.keeper.key_for  # which API key (budget) a token counts against
        try:
            yield services
        finally:
            db.close()


def slack_client(
    settings: Settings, session: aiohttp.ClientSession, *, token: str | None = None
) -> AsyncWebClient:
    """A Web API client on the shared session, retrying rate limits and server errors."""
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


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
        bot_client = slack_client(settings, session, token=settings.slack_bot_token)
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


REFRESH_EVERY_S = 300.0
DIGEST_EVERY_S = 60.0
PRUNE_EVERY_S = PRUNE_EVERY.total_seconds()


async def every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `seconds`, logging (not dying on) its failures."""
    while True:
        try:
            await job()
        except Exception:
            log.exception("Background job %s failed", getattr(job, "__name__", job))
        await asyncio.sleep(seconds)


async def prune_old_records(services: Services) -> dict[str, int]:
    """Apply the retention periods (`storage.retention`) and log one line about it."""
    counts = prune_all(services.db, services.clock())
    log.info("Retention: %s", pruned_summary(counts))
    return counts


async def serve(settings: Settings, *, retry_for: float = DEFAULT_RETRY_FOR_S) -> int:
    """Run until SIGINT/SIGTERM, which also interrupt start-up and Socket Mode reconnects.

    Slack unreachable at start-up is retried for `retry_for` seconds (`serve --retry-for`).
    """
    settings.require_slack()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_services(settings) as services:
            return await _serve(services, stop, retry_for)
    except StartupInterrupted:
        log.info("Stopped before start-up finished")
        return EXIT_INTERRUPTED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(services: Services, stop: asyncio.Event, retry_for: float) -> int:
    settings = services.settings
    bot = await start_http(
        services, host=settings.host, port=settings.port, socket_mode=settings.socket_mode,
        retry_for=retry_for, stop=stop,
    )  # fmt: skip
    # Everything built at start-up is long-lived: keep it out of the collector's way, so
    # full collections under load stay short (measured: 38 ms → 3 ms).
    gc.collect()
    gc.freeze()
    socket_handler = None
    poster = SlackPoster(bot.bot_client, services)
    background: list[asyncio.Task] = []
    fatal: list[StartupError] = []
    try:
        if settings.socket_mode:
            socket_handler = await connect_socket_mode(bot, retry_for=retry_for, stop=stop,
                                                       on_fatal=fatal.append)  # fmt: skip
            log.info("Connected to Slack in Socket Mode; health check on %s/healthz", bot.url)
        else:
            log.info("Serving Slack at %s/slack/events", bot.url)
        background = [
            asyncio.create_task(every(REFRESH_EVERY_S, services.keeper.refresh_expiring)),
            asyncio.create_task(every(DIGEST_EVERY_S, lambda: run_pass(services, poster))),
            asyncio.create_task(every(PRUNE_EVERY_S, lambda: prune_old_records(services))),
        ]
        await stop.wait()
    finally:
        for task in background:
            task.cancel()
        if socket_handler is not None:
            await socket_handler.close_async()
        await bot.stop()
    if fatal:
        raise fatal[0]
    return 0


async def connect_socket_mode(
    bot: RunningBot,
    *,
    retry_for: float,
    stop: asyncio.Event,
    on_fatal: Callable[[StartupError], object],
) -> AsyncSocketModeHandler:
    """Connect Socket Mode, failing fast on an app token Slack rejects.

    slack_sdk retries every failure to get a WebSocket URL forever, logging a traceback each
    time, and its connect loop doesn't hear signals. So the first URL is asked for here (a
    wrong SLACK_APP_TOKEN is a `StartupError`, exit code 2; network failures are retried for
    `retry_for` seconds), and a token rejected on a later reconnect stops the bot through
    `on_fatal` + `stop` instead of looping.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    settings = bot.services.settings
    token = settings.slack_app_token
    web = slack_client(settings, bot.session)

    async def new_url() -> str:
        try:
            response = await web.apps_connections_open(app_token=token)
        except SlackApiError as error:
            if token_error(error) is not None:
                on_fatal(slack_startup_error(error, setting="SLACK_APP_TOKEN", token=token,
                                             api_url=settings.slack_api_url))  # fmt: skip
                stop.set()
            raise
        return response["url"]

    try:
        first_url = await with_retries(new_url, what="Slack", retry_for=retry_for, stop=stop)
    except SLACK_FAILURES as error:
        raise slack_startup_error(
            error, setting="SLACK_APP_TOKEN", token=token, api_url=settings.slack_api_url
        ) from None
    handler = AsyncSocketModeHandler(bot.app, token, web_client=web)
    handler.client.issue_new_wss_url = new_url  # type: ignore[method-assign]
    handler.client.wss_uri = first_url
    try:
        await until_stopped(handler.connect_async(), stop)
    except BaseException:
        await handler.close_async()
        raise
    return handler


async def digest_now(settings: Settings) -> int:
    """One delivery pass (for cron): a progress bar on a terminal, a summary line at the end."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    async with open_services(settings) as services, aiohttp.ClientSession() as session:
        poster = SlackPoster(
            slack_client(settings, session, token=settings.slack_bot_token), services
        )
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("Reading contacts", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = await run_pass(services, poster, progress=progress)
        await prune_old_records(services)
    print(f"Digests: {report.summary()}")
    for error in report.errors:
        print(f"  {error}", file=sys.stderr)
    return 0 if not report.errors else 1


async def check(settings: Settings) -> int:
    """`bot.py check`: run every set-up check, print the table, exit 0, 1 or 2."""
    from rich.console import Console

    results = await run_checks(settings)
    render(results, Console())
    return exit_code(results)


def forget_tokens(settings: Settings, *, yes: bool, stdin: TextIO | None = None) -> int:
    """Delete every stored Spark connection (the way out when the encryption key is lost).

    Asks first on a terminal; without a terminal it only goes ahead with `--yes`.
    """
    stdin = sys.stdin if stdin is None else stdin
    db = open_database(settings.database_path)
    try:
        stored = count_connections(db)
        if not stored:
            print("No Flexmls tokens are stored; nothing to delete.")
            return 0
        if not yes:
            if not stdin.isatty():
                print("Not deleting without --yes (no terminal to ask on): "
                      "run `python bot.py forget-tokens --yes`.", file=sys.stderr)  # fmt: skip
                return 2
            print(f"This deletes {_connections(stored)}; every agent then reconnects with "
                  "/activity connect.")  # fmt: skip
            print("Delete them? [y/N] ", end="", flush=True)
            if stdin.readline().strip().lower() not in ("y", "yes"):
                print("Nothing deleted.")
                return 1
        deleted = forget_all_connections(db)
    finally:
        db.close()
    print(f"Deleted {_connections(deleted)}. Agents reconnect with /activity connect.")
    return 0


def _connections(count: int) -> str:
    return f"{count} stored Flexmls connection{'s' if count != 1 else ''}"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="Activity bot for Slack and Flexmls"
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the Slack app (default)")
    serve.add_argument("--retry-for", type=float, default=DEFAULT_RETRY_FOR_S, metavar="SECONDS",
                       help="keep retrying an unreachable Slack at start-up this long")  # fmt: skip
    sub.add_parser(
        "check",
        help="verify the set-up (Slack, Spark, OAuth, database) and print a table",
        description="Check the Slack token and scopes, Spark (role, searches, rate limit), the "
        "OAuth endpoints, the database and the encryption key. Exit code 0: all good; 1: "
        f"something failed; 2: a configuration error. Spends at most {SPARK_REQUEST_BUDGET} "
        "Spark requests.",
    )
    console = sub.add_parser("console", help="a local shell that answers like the bot")
    console.add_argument("--demo", action="store_true", help="start the Spark sandbox in-process")
    sandbox = sub.add_parser("sandbox", help="run the Spark sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8700)
    sandbox.add_argument("--latency-ms", type=int, default=0, help="added to every Spark request")
    digest = sub.add_parser("digest", help="post the digests that are due")
    digest.add_argument("--now", action="store_true", required=True, help="one pass, then exit")
    forget = sub.add_parser(
        "forget-tokens",
        help="delete stored Spark tokens (when the encryption key is lost)",
        description="Delete every stored Flexmls token, for when the encryption key "
        "(TOKEN_ENCRYPTION_KEY or the key file) is lost. Everyone then runs /activity connect "
        "again; digests that read with a deleted connection wait until their owner reconnects.",
    )
    forget.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load_dotenv()
    try:
        settings = load_settings()
        configure_logging(settings)
        if args.command == "sandbox":
            from sandbox import run

            run(host=args.host, port=args.port, latency_ms=args.latency_ms)
            return 0
        if args.command == "console":
            from console.repl import run_console

            return asyncio.run(run_console(settings, demo=args.demo))
        if args.command == "serve":
            retry_for = getattr(args, "retry_for", DEFAULT_RETRY_FOR_S)
            return asyncio.run(serve(settings, retry_for=retry_for))
        if args.command == "check":
            return asyncio.run(check(settings))
        if args.command == "forget-tokens":
            return forget_tokens(settings, yes=args.yes)
        settings.require_slack()
        return asyncio.run(digest_now(settings))
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except KeyLost as error:
        print(f"Encryption key problem: {error}", file=sys.stderr)
        return 2
    except StartupError as error:
        print(f"Can't start: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
