"""Reliability suite: the real bot (HTTP mode, in-process) against a misbehaving Spark and Slack.

Its `stack` is the end-to-end one (`tests/fixtures/stack.py`) with the Spark client's retries and
timeout shortened so that fault tests take milliseconds, yielding a `ReliabilityStack`
(`tests/helpers/reliability.py`) that can wait until the bot's work has settled and count what
reached Slack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from devtools.sandbox import ManualClock, Sandbox
from devtools.slack_standin import SlackSender, SlackStandin
from runtime import open_services, start_http
from settings import load_settings
from tests.helpers.reliability import FAST_RETRY, FAST_TIMEOUT, REFUSED, ReliabilityStack
from tests.helpers.stack import SIGNING_SECRET, env_for, free_port


@pytest.fixture
async def stack(
    tmp_path: Path, clock: ManualClock, bot_env: dict[str, str]
) -> AsyncIterator[ReliabilityStack]:
    """The bot in HTTP mode against the sandbox and the stand-in Slack, with fast Spark retries.

    `bot_env` may set SPARK_API_URL to `REFUSED`: the bot then talks to a local port on which
    nothing listens (connection refused); `stack.bot.services.settings.spark_api_url` says which.
    """
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
