"""Reliability suite: the real bot (HTTP mode, in-process) against a misbehaving Spark and Slack.

Builds on the end-to-end stack (`tests/e2e/conftest.py`): the same sandbox, stand-in Slack and
signed sender, with the Spark client's retries and timeout shortened so that fault tests take
milliseconds, plus helpers to wait until the bot's work has settled and to count what reached
Slack.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devtools.slack_standin import SlackSender, SlackStandin
from runtime import open_services, start_http
from settings import load_settings
from spark import RetryPolicy
from tests.e2e.conftest import (  # re-exported: `clock` and `bot_env` are fixtures
    OAUTH_ENV,
    SIGNING_SECRET,
    Stack,
    bot_env,
    button,
    buttons,
    clock,
    env_for,
    free_port,
    is_response,
    texts,
)
from tests.e2e.test_connections import LinkForms

__all__ = [
    "FAST_RETRY",
    "FAST_TIMEOUT",
    "OAUTH_ENV",
    "REFUSED",
    "SIGNING_SECRET",
    "ReliabilityStack",
    "bot_env",
    "button",
    "buttons",
    "clock",
    "is_response",
    "oauth_connect",
    "stack",
    "texts",
]

# Short enough that a fault test takes well under a second, long enough for a healthy sandbox.
FAST_TIMEOUT = httpx.Timeout(0.4)
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.02, max_delay=0.1, deadline=1.5)
# Placeholder a test's `bot_env` may use for SPARK_API_URL: replaced by a port nobody listens on.
REFUSED = "refused://"
# What a Bolt listener task runs (slack_bolt.listener.asyncio_runner); `settle` waits for them.
_BOLT_TASK = "run_ack_function_asynchronously"


def _is_bolt_work(task: asyncio.Task) -> bool:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "") or getattr(coro, "__name__", "")
    return _BOLT_TASK in name


@dataclass
class ReliabilityStack(Stack):
    """The e2e `Stack` plus waiting for the bot's background work and counting its output."""

    @staticmethod
    def busy_listeners() -> list[asyncio.Task]:
        """The bot's Bolt listeners still running (the bot shares the test's event loop)."""
        me = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not me and _is_bolt_work(t)]

    async def settle(self, *, grace: float = 0.05, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every Bolt listener has finished (so every reply was sent), then `grace`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            busy = self.busy_listeners()
            if not busy:
                break
            remaining = deadline - loop.time()
            assert remaining > 0, f"{len(busy)} listener(s) still running after {timeout}s"
            await asyncio.wait(busy, timeout=remaining)
        await asyncio.sleep(grace)

    def responses(self, response_url: str | None) -> list[dict[str, Any]]:
        """Every message posted to `response_url` so far (accepted or not)."""
        assert response_url is not None
        return [r.body for r in self.slack.responses(response_url)]

    def spark_requests(self, since: int = 0) -> list[Any]:
        """Requests the sandbox saw (admin calls excluded), from index `since` on."""
        return self.sandbox.requests[since:]


@pytest.fixture
async def stack(tmp_path, clock, bot_env) -> AsyncIterator[ReliabilityStack]:
    """The bot in HTTP mode against the sandbox and the stand-in Slack, with fast Spark retries.

    `bot_env` may set SPARK_API_URL to `REFUSED`: the bot then talks to a local port on which
    nothing listens (connection refused); `stack.bot.services.settings.spark_api_url` says which.
    """
    from devtools.sandbox import Sandbox

    async with Sandbox(clock=clock) as sandbox, SlackStandin() as slack:
        port = free_port()
        extra = dict(bot_env)
        if extra.get("SPARK_API_URL") == REFUSED:
            extra["SPARK_API_URL"] = f"http://127.0.0.1:{free_port()}"
        env = env_for(sandbox, slack, tmp_path, **extra)
        if env.get("SPARK_REDIRECT_URI") == "auto":
            env["SPARK_REDIRECT_URI"] = f"http://127.0.0.1:{port}/spark/oauth/callback"
        settings = load_settings(env)
        async with open_services(settings, clock=clock) as services:
            services.spark.retry = FAST_RETRY
            services.spark.timeout = FAST_TIMEOUT
            bot = await start_http(services, host="127.0.0.1", port=port)
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    sender = SlackSender(
                        http, f"{bot.url}/slack/events", SIGNING_SECRET, standin=slack
                    )
                    running = ReliabilityStack(sandbox, slack, bot, sender, clock)
                    yield running
                    await running.settle(grace=0)  # let stragglers finish before teardown
            finally:
                await bot.stop()


async def oauth_connect(stack: Stack, user_id: str = "U0AGENT1") -> None:
    """Connect `user_id` through the Flexmls OAuth flow (the sandbox consents at once)."""
    sent = await stack.sender.command("connect", user_id=user_id)
    prompt = await stack.reply_to(sent.response_url)
    url = button(prompt, "connect_oauth")["url"]
    async with httpx.AsyncClient() as http:
        authorize = await http.get(url)
        assert authorize.status_code == 302, authorize.text
        page = await http.get(authorize.headers["location"])
        assert page.status_code == 200, page.text
        action, token = LinkForms(page.text).forms["Link"]  # the "Link this account?" page
        linked = await http.post(urllib.parse.urljoin(stack.bot.url, action),
                                 data={"form_token": token, "action": "Link"})  # fmt: skip
        assert linked.status_code == 200, linked.text
    await stack.slack.wait_for(
        lambda r: r.method == "chat.postMessage" and r.body.get("channel") == user_id
    )


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
