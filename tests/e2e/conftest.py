"""End-to-end: the bot in HTTP mode on 127.0.0.1 against the Spark sandbox and a stand-in Slack.

Tests talk to the bot only the way Slack does: signed requests to /slack/events. They observe
only what Slack would receive: posts to response URLs and Web API calls.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, ManualClock, Sandbox
from devtools.slack_standin import Received, SlackSender, SlackStandin
from devtools.slack_standin.messages import buttons, texts  # noqa: F401  (the tests import them from here)
from runtime import RunningBot, open_services, start_http
from settings import load_settings

SIGNING_SECRET = "e2e-signing-secret"
START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@dataclass
class Stack:
    sandbox: Sandbox
    slack: SlackStandin
    bot: RunningBot
    sender: SlackSender
    clock: ManualClock

    def contact(self, name: str) -> Any:
        return self.sandbox.state.brokerage.notable[name]

    async def reply_to(self, response_url: str | None, *, timeout: float = 5.0) -> dict[str, Any]:
        """The first message posted to a response URL."""
        assert response_url is not None
        return (await self.slack.wait_for(is_response(response_url), timeout=timeout)).body

    async def replies_to(
        self, response_url: str, n: int, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        found = await self.slack.wait_for_count(is_response(response_url), n, timeout=timeout)
        return [r.body for r in found]


def env_for(sandbox: Sandbox, slack: SlackStandin, tmp_path, **extra: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "SPARK_API_URL": sandbox.url,
        "SPARK_AUTH_URL": sandbox.url,
        "SPARK_ACCESS_TOKEN": DEMO_TOKEN,
        "DATABASE_PATH": str(tmp_path / "activity.db"),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def bot_env() -> dict[str, str]:
    """Extra settings a test module wants (override the fixture to change them)."""
    return {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OAUTH_ENV = {
    "SPARK_CLIENT_ID": DEMO_CLIENT_ID,
    "SPARK_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    "SPARK_REDIRECT_URI": "auto",  # filled in with the bot's own callback URL
}


@pytest.fixture
async def stack(tmp_path, clock, bot_env, request) -> AsyncIterator[Stack]:
    # Extra `Sandbox(...)` options through indirect parametrization, e.g.
    # `@pytest.mark.parametrize("stack", [{"dialect": "strict"}], indirect=True)`.
    sandbox_options = getattr(request, "param", None) or {}
    async with Sandbox(clock=clock, **sandbox_options) as sandbox, SlackStandin() as slack:
        port = free_port()
        env = env_for(sandbox, slack, tmp_path, **bot_env)
        if env.get("SPARK_REDIRECT_URI") == "auto":
            env["SPARK_REDIRECT_URI"] = f"http://127.0.0.1:{port}/spark/oauth/callback"
        settings = load_settings(env)
        async with open_services(settings, clock=clock) as services:
            bot = await start_http(services, host="127.0.0.1", port=port)
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    sender = SlackSender(
                        http, f"{bot.url}/slack/events", SIGNING_SECRET, standin=slack
                    )
                    yield Stack(sandbox, slack, bot, sender, clock)
            finally:
                await bot.stop()


def button(message: dict[str, Any], action_prefix: str) -> dict[str, Any]:
    matches = [b for b in buttons(message) if b.get("action_id", "").startswith(action_prefix)]
    assert matches, (
        f"no {action_prefix} button in: {[b.get('action_id') for b in buttons(message)]}"
    )
    return matches[0]


def is_response(url: str):
    def check(r: Received) -> bool:
        return r.kind == "response" and url.endswith(r.method)

    return check
