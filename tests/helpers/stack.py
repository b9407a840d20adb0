"""The end-to-end stack: what the `stack` fixture yields and the settings it starts the bot with.

The bot runs in HTTP mode on 127.0.0.1 against the Spark sandbox and a stand-in Slack. Tests
talk to it only the way Slack does (signed requests to /slack/events) and observe only what
Slack would receive: posts to response URLs and Web API calls.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, ManualClock, Sandbox
from devtools.slack_standin import Received, SlackSender, SlackStandin
from devtools.slack_standin.messages import buttons
from runtime import RunningBot

SIGNING_SECRET = "e2e-signing-secret"
START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)

OAUTH_ENV = {
    "SPARK_CLIENT_ID": DEMO_CLIENT_ID,
    "SPARK_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    "SPARK_REDIRECT_URI": "auto",  # filled in with the bot's own callback URL
}


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


def env_for(sandbox: Sandbox, slack: SlackStandin, tmp_path: Path, **extra: str) -> dict[str, str]:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def button(message: dict[str, Any], action_prefix: str) -> dict[str, Any]:
    matches = [b for b in buttons(message) if b.get("action_id", "").startswith(action_prefix)]
    assert matches, (
        f"no {action_prefix} button in: {[b.get('action_id') for b in buttons(message)]}"
    )
    return matches[0]


def is_response(url: str) -> Callable[[Received], bool]:
    def check(r: Received) -> bool:
        return r.kind == "response" and url.endswith(r.method)

    return check
