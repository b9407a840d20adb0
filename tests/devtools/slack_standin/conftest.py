"""Fixtures: a running `SlackStandin` and slack_sdk clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_standin import DEFAULT_BOT_TOKEN, SlackStandin


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandin]:
    async with SlackStandin() as server:
        yield server


@pytest.fixture
def client(standin: SlackStandin) -> AsyncWebClient:
    """The real slack_sdk async client, as the bot builds it, aimed at the stand-in."""
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=standin.api_url, timeout=5)
