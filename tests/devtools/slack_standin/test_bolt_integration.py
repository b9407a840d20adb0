"""A real Bolt `AsyncApp` over HTTP, fed signed requests and talking to the stand-in.

This is the loop the bot's end-to-end tests rely on: signed request -> Bolt's
`/slack/events` -> listener -> `respond()` / Web API -> the stand-in records it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_standin import (
    DEFAULT_BOT_TOKEN,
    FORM_CONTENT_TYPE,
    SlackSender,
    SlackStandin,
    app_mention_event,
    slash_command_body,
)

SECRET = "integration-signing-secret"


def build_app(standin: SlackStandin) -> AsyncApp:
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=standin.api_url, timeout=5),
    )

    @app.command("/activity")
    async def activity(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond("pong: " + command["text"])

    @app.action("page_next")
    async def page_next(ack: AsyncAck, respond: AsyncRespond, action: dict[str, Any]) -> None:
        await ack()
        await respond(text="page " + action["value"], replace_original=True)

    @app.event("app_mention")
    async def mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.chat_postEphemeral(
            channel=event["channel"], user=event["user"], text="seen: " + event["text"]
        )

    return app


@pytest.fixture
async def events_url(standin: SlackStandin) -> AsyncIterator[str]:
    runner = web.AppRunner(build_app(standin).web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/slack/events"
    await runner.cleanup()


@pytest.fixture
async def sender(events_url: str, standin: SlackStandin) -> AsyncIterator[SlackSender]:
    async with httpx.AsyncClient() as http:
        yield SlackSender(http, events_url, SECRET, standin=standin)


async def test_signed_command_is_acked_and_responded(
    sender: SlackSender, standin: SlackStandin
) -> None:
    sent = await sender.command("jane doe")
    assert sent.response.status_code == 200
    assert sent.response_url is not None
    reply = await standin.wait_for(lambda r: r.kind == "response" and "text" in r.body)
    assert standin.responses(sent.response_url) == [reply]
    assert reply.body["text"] == "pong: jane doe"
    assert reply.ok


async def test_bad_signature_is_401(sender: SlackSender, standin: SlackStandin) -> None:
    body = slash_command_body(text="x", response_url=standin.new_response_url())
    response = await sender.post(body, FORM_CONTENT_TYPE, signature="v0=" + "0" * 64)
    assert response.status_code == 401
    unsigned = await sender.post(body, FORM_CONTENT_TYPE, signed=False)
    assert unsigned.status_code == 401
    assert standin.responses() == []


async def test_stale_timestamp_is_401(sender: SlackSender, standin: SlackStandin) -> None:
    sent = await sender.command("x", timestamp=int(time.time()) - 10 * 60)
    assert sent.response.status_code == 401
    assert standin.responses() == []


async def test_block_action_responds_to_its_own_response_url(
    sender: SlackSender, standin: SlackStandin
) -> None:
    sent = await sender.action("page_next", "2", message_ts="1700000000.000100")
    assert sent.response.status_code == 200
    reply = await standin.wait_for(lambda r: r.kind == "response")
    assert reply.method == sent.response_url.rsplit("/", 1)[1]
    assert reply.body == {"text": "page 2", "replace_original": True}


async def test_app_mention_posts_an_ephemeral(sender: SlackSender, standin: SlackStandin) -> None:
    sent = await sender.event(app_mention_event(text="jane doe", user="U0AGENT2"))
    assert sent.response.status_code == 200
    call = await standin.wait_for(lambda r: r.method == "chat.postEphemeral")
    assert call.ok
    assert call.body["user"] == "U0AGENT2"
    assert call.body["text"] == "seen: <@U0BOT> jane doe"
    assert standin.calls("auth.test")  # Bolt authorised with the stand-in's auth.test
    assert [m["text"] for m in standin.ephemerals("C0GENERAL")] == ["seen: <@U0BOT> jane doe"]


async def test_url_verification_is_answered(sender: SlackSender) -> None:
    sent = await sender.url_verification("challenge-123")
    assert sent.response.status_code == 200
    assert sent.response.json() == {"challenge": "challenge-123"}
