"""The baseline: a bare Bolt `AsyncApp` that only acks `/activity`, served like `bot.py` serves.

Same aiohttp adapter as `runtime.http_app` (`to_bolt_request` -> `async_dispatch` ->
`to_aiohttp_response`), same signature verification, no handlers beyond the ack, no I/O.

    SLACK_SIGNING_SECRET=... python -m devtools.bench.bare_app --port N
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult


def create_app(signing_secret: str) -> web.Application:
    identity = AuthorizeResult(
        enterprise_id=None,
        team_id="T0STANDIN",
        bot_user_id="U0BOT",
        bot_id="B0BOT",
        bot_token="xoxb-bare",
    )

    async def authorize() -> AuthorizeResult:
        return identity

    bolt = AsyncApp(
        signing_secret=signing_secret, authorize=authorize, process_before_response=False
    )

    async def on_activity(ack: AsyncAck) -> None:
        await ack()

    bolt.command("/activity")(on_activity)

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_post("/slack/events", slack_events)
    return web_app


async def serve(host: str, port: int, signing_secret: str) -> None:
    runner = web.AppRunner(create_app(signing_secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    if not secret:
        parser.error("SLACK_SIGNING_SECRET must be set")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, secret))


if __name__ == "__main__":
    main()
