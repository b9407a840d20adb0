"""Waiting for what the bot sends: `wait_for`, `wait_for_count`, and the timeout report."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from devtools.slack_standin import Received, SlackStandin


def is_post(r: Received) -> bool:
    return r.method == "chat.postMessage"


async def test_wait_for_returns_a_later_request(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C0GENERAL", text="late")

    task = asyncio.create_task(post_later())
    started = time.perf_counter()
    received = await standin.wait_for(is_post, timeout=3)
    elapsed = time.perf_counter() - started
    await task
    assert received.body["text"] == "late"
    assert elapsed < 1.0  # woken by the request, not by the timeout


async def test_wait_for_sees_what_already_arrived(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C0GENERAL", text="early")
    started = time.perf_counter()
    received = await standin.wait_for(is_post)
    assert received.body["text"] == "early"
    assert time.perf_counter() - started < 0.5


async def test_wait_for_count(standin: SlackStandin, client: AsyncWebClient) -> None:
    url = standin.new_response_url()

    async def respond_three_times() -> None:
        for i in range(3):
            await asyncio.sleep(0.01)
            await AsyncWebhookClient(url).send(text=f"#{i}")

    task = asyncio.create_task(respond_three_times())
    started = time.perf_counter()
    got = await standin.wait_for_count(lambda r: r.kind == "response", 3, timeout=3)
    elapsed = time.perf_counter() - started
    await task
    assert [r.body["text"] for r in got] == ["#0", "#1", "#2"]
    assert elapsed < 1.0


async def test_timeout_reports_what_was_received(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    await client.chat_postEphemeral(channel="C0GENERAL", user="U0AGENT1", text="not this one")
    started = time.perf_counter()
    with pytest.raises(TimeoutError) as caught:
        await standin.wait_for(is_post, timeout=0.2)
    assert 0.2 <= time.perf_counter() - started < 1.0
    message = str(caught.value)
    assert "timed out after 0.2s" in message
    assert "received 1" in message
    assert "chat.postEphemeral" in message and "not this one" in message


async def test_timeout_with_nothing_received(standin: SlackStandin) -> None:
    with pytest.raises(TimeoutError, match=r"received 0:\n  \(nothing\)"):
        await standin.wait_for(lambda r: True, timeout=0.05)


async def test_wait_for_count_reports_partial_matches(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="C0GENERAL", text="one")
    with pytest.raises(TimeoutError, match=r"waiting for 2 matching request\(s\) \(found 1\)"):
        await standin.wait_for_count(is_post, 2, timeout=0.05)


async def test_waiting_survives_clear(standin: SlackStandin, client: AsyncWebClient) -> None:
    await client.auth_test()

    async def clear_then_post() -> None:
        await asyncio.sleep(0.02)
        standin.clear()
        await client.chat_postMessage(channel="C0GENERAL", text="after clear")

    task = asyncio.create_task(clear_then_post())
    received = await standin.wait_for(is_post, timeout=2)
    await task
    assert received.body["text"] == "after clear"
