"""Signing and payload builders: the exact bodies and headers Slack sends."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from devtools.slack_standin import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    SlackSender,
    SlackStandin,
    app_home_opened_event,
    app_mention_event,
    block_action_body,
    event_callback_body,
    message_changed_event,
    message_event,
    new_event_id,
    sign,
    slash_command_body,
    url_verification_body,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
RESPONSE_URL = "http://127.0.0.1:1/response/abc"


def form(body: str) -> dict[str, str]:
    parsed = parse_qs(body, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values())
    return {k: v[0] for k, v in parsed.items()}


def action_payload(body: str) -> dict:
    fields = form(body)
    assert list(fields) == ["payload"]
    return json.loads(fields["payload"])


class TestSign:
    def test_matches_slack_sdk(self) -> None:
        body = slash_command_body(text="jane doe", response_url=RESPONSE_URL)
        headers = sign(SECRET, body)
        verifier = SignatureVerifier(SECRET)
        assert verifier.is_valid(
            body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )
        assert headers["X-Slack-Signature"] == verifier.generate_signature(
            timestamp=headers["X-Slack-Request-Timestamp"], body=body
        )

    def test_bytes_and_str_bodies_sign_the_same(self) -> None:
        body = '{"text": "café"}'
        assert sign(SECRET, body, 1_700_000_000) == sign(SECRET, body.encode(), 1_700_000_000)

    def test_wrong_secret_is_rejected(self) -> None:
        headers = sign("not-the-secret", "a=b")
        assert not SignatureVerifier(SECRET).is_valid(
            "a=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )

    def test_tampered_body_is_rejected(self) -> None:
        headers = sign(SECRET, "text=a")
        assert not SignatureVerifier(SECRET).is_valid(
            "text=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )

    def test_stale_timestamp_is_rejected(self) -> None:
        stale = int(time.time()) - 6 * 60
        headers = sign(SECRET, "a=b", stale)
        assert headers["X-Slack-Request-Timestamp"] == str(stale)
        assert not SignatureVerifier(SECRET).is_valid(
            "a=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        )


def test_slash_command_body_has_every_field_slack_sends() -> None:
    body = slash_command_body(text="jane doe & co", response_url=RESPONSE_URL, trigger_id="1.2.3")
    assert form(body) == {
        "token": form(body)["token"],
        "team_id": "T0STANDIN",
        "team_domain": "standin",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": "U0AGENT1",
        "user_name": "agent",
        "command": "/activity",
        "text": "jane doe & co",
        "api_app_id": "A0ACTIVITY",
        "is_enterprise_install": "false",
        "response_url": RESPONSE_URL,
        "trigger_id": "1.2.3",
    }
    generated = form(slash_command_body(text="", response_url=RESPONSE_URL))["trigger_id"]
    assert len(generated.split(".")) == 3


def test_block_action_in_an_ephemeral_message() -> None:
    payload = action_payload(
        block_action_body(
            action_id="page_next",
            value="cursor-2",
            user_id="U0AGENT1",
            team_id="T0STANDIN",
            channel_id="C0GENERAL",
            response_url=RESPONSE_URL,
            message_ts="1700000000.000100",
        )
    )
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": "U0AGENT1",
        "username": "agent",
        "name": "agent",
        "team_id": "T0STANDIN",
    }
    assert payload["team"] == {"id": "T0STANDIN", "domain": "standin"}
    assert payload["api_app_id"] == "A0ACTIVITY"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0GENERAL",
        "is_ephemeral": True,
    }
    assert payload["channel"] == {"id": "C0GENERAL", "name": "general"}
    assert "message" not in payload  # Slack sends no message object for ephemeral messages
    assert payload["response_url"] == RESPONSE_URL
    assert payload["trigger_id"]
    (action,) = payload["actions"]
    assert action["type"] == "button"
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "page_next",
        "b1",
        "cursor-2",
    )
    assert action["text"]["type"] == "plain_text"
    assert float(action["action_ts"]) > 0


def test_block_action_in_a_channel_message_carries_the_message() -> None:
    payload = action_payload(
        block_action_body(
            action_id="a",
            value="v",
            response_url=RESPONSE_URL,
            message_ts="1700000000.000200",
            is_ephemeral=False,
        )
    )
    assert payload["container"]["is_ephemeral"] is False
    assert payload["message"]["ts"] == "1700000000.000200"


def test_block_action_in_app_home() -> None:
    view = {"id": "V0HOME", "type": "home", "blocks": []}
    payload = action_payload(block_action_body(action_id="refresh", value="1", view=view))
    assert payload["container"] == {"type": "view", "view_id": "V0HOME"}
    assert payload["view"] == view
    assert "response_url" not in payload and "channel" not in payload


def test_block_action_in_a_message_needs_a_response_url() -> None:
    with pytest.raises(ValueError, match="response_url"):
        block_action_body(action_id="a", value="v")


def test_event_callback_envelope() -> None:
    event = app_mention_event(text="jane doe", user="U0AGENT1", channel="C0GENERAL")
    envelope = json.loads(event_callback_body(event=event, event_time=1_700_000_000))
    assert envelope["type"] == "event_callback"
    assert envelope["event"] == event
    assert (envelope["team_id"], envelope["api_app_id"]) == ("T0STANDIN", "A0ACTIVITY")
    assert envelope["event_id"].startswith("Ev") and len(envelope["event_id"]) == 12
    assert envelope["event_time"] == 1_700_000_000
    assert envelope["token"]
    assert envelope["authorizations"] == [
        {
            "enterprise_id": None,
            "team_id": "T0STANDIN",
            "user_id": "U0BOT",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    again = json.loads(event_callback_body(event=event, event_id="Ev0FIXED"))
    assert again["event_id"] == "Ev0FIXED"
    assert new_event_id() != new_event_id()


def test_app_mention_event() -> None:
    event = app_mention_event(
        text="jane doe", user="U0AGENT1", channel="C0GENERAL", ts="1.000001", thread_ts="0.5"
    )
    assert event["type"] == "app_mention"
    assert event["text"] == "<@U0BOT> jane doe"
    assert (event["user"], event["channel"], event["ts"], event["event_ts"]) == (
        "U0AGENT1",
        "C0GENERAL",
        "1.000001",
        "1.000001",
    )
    assert event["thread_ts"] == "0.5"
    assert app_mention_event(text="hi <@U0BOT>")["text"] == "hi <@U0BOT>"
    assert "thread_ts" not in app_mention_event(text="x")


def test_app_home_opened_event() -> None:
    event = app_home_opened_event(user="U0AGENT1")
    assert (event["type"], event["user"], event["tab"]) == ("app_home_opened", "U0AGENT1", "home")
    assert event["channel"].startswith("D")
    assert app_home_opened_event(user="U0AGENT1", tab="messages")["tab"] == "messages"


def test_message_event_is_a_message_im_in_the_users_dm() -> None:
    event = message_event(text="jane doe", user="U0AGENT1", ts="1.000001")
    assert (event["type"], event["channel_type"], event["channel"]) == ("message", "im", "D0AGENT1")
    assert (event["user"], event["text"], event["ts"], event["event_ts"]) == (
        "U0AGENT1",
        "jane doe",
        "1.000001",
        "1.000001",
    )
    assert "subtype" not in event and "bot_id" not in event and "thread_ts" not in event
    assert message_event(text="x", thread_ts="0.5")["thread_ts"] == "0.5"
    bot = message_event(text="x", subtype="bot_message", bot_id="B0OTHER")
    assert (bot["subtype"], bot["bot_id"]) == ("bot_message", "B0OTHER")


def test_message_changed_event_nests_the_edit_as_slack_does() -> None:
    event = message_changed_event(text="new", previous_text="old", ts="1.000001")
    assert (event["type"], event["subtype"], event["hidden"]) == (
        "message",
        "message_changed",
        True,
    )
    assert "user" not in event and event["channel"] == "D0AGENT1"
    assert (event["message"]["text"], event["message"]["ts"]) == ("new", "1.000001")
    assert event["message"]["edited"]["user"] == "U0AGENT1"
    assert event["previous_message"]["text"] == "old"


def test_url_verification_body() -> None:
    body = json.loads(url_verification_body("3eZbrw1aB"))
    assert (body["type"], body["challenge"]) == ("url_verification", "3eZbrw1aB")


class Recorder:
    """An httpx transport that keeps what SlackSender sends."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, text="")

    def assert_signed(self, request: httpx.Request) -> None:
        assert SignatureVerifier(SECRET).is_valid(
            request.content,
            request.headers["X-Slack-Request-Timestamp"],
            request.headers["X-Slack-Signature"],
        )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def sender(recorder: Recorder, standin: SlackStandin):
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        yield SlackSender(http, "http://bot.test/slack/events", SECRET, standin=standin)


async def test_sender_command_creates_a_response_url(
    sender: SlackSender, recorder: Recorder, standin: SlackStandin
) -> None:
    sent = await sender.command("jane doe", channel_id="C0RANDOM")
    (request,) = recorder.requests
    recorder.assert_signed(request)
    assert request.headers["Content-Type"] == FORM_CONTENT_TYPE
    assert request.headers["User-Agent"].startswith("Slackbot")
    fields = form(request.content.decode())
    assert (fields["text"], fields["channel_id"]) == ("jane doe", "C0RANDOM")
    assert sent.response_url == fields["response_url"]
    assert sent.response_url.startswith(f"{standin.url}/response/")
    assert sent.body == request.content.decode()
    assert sent.response.status_code == 200 and sent.elapsed >= 0


async def test_sender_uses_a_given_response_url(sender: SlackSender, recorder: Recorder) -> None:
    sent = await sender.action("page_next", "2", response_url=RESPONSE_URL)
    payload = action_payload(recorder.requests[0].content.decode())
    assert payload["response_url"] == sent.response_url == RESPONSE_URL
    assert payload["actions"][0]["value"] == "2"


async def test_sender_app_home_action_has_no_response_url(
    sender: SlackSender, recorder: Recorder
) -> None:
    sent = await sender.action("refresh", "1", view={"id": "V1", "type": "home"})
    assert sent.response_url is None
    assert "response_url" not in action_payload(recorder.requests[0].content.decode())


async def test_sender_without_standin_needs_a_response_url(recorder: Recorder) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        sender = SlackSender(http, "http://bot.test/slack/events", SECRET)
        with pytest.raises(ValueError, match="response_url"):
            await sender.command("x")
        await sender.command("x", response_url=RESPONSE_URL)
    assert len(recorder.requests) == 1


async def test_sender_event_and_retry_headers(sender: SlackSender, recorder: Recorder) -> None:
    event = app_mention_event(text="hi")
    await sender.event(event, event_id="Ev0ONE")
    await sender.event(event, event_id="Ev0ONE", retry_num=2, retry_reason="http_error")
    first, retry = recorder.requests
    for request in (first, retry):
        recorder.assert_signed(request)
        assert request.headers["Content-Type"] == JSON_CONTENT_TYPE
        assert json.loads(request.content)["event_id"] == "Ev0ONE"
    assert "X-Slack-Retry-Num" not in first.headers
    assert retry.headers["X-Slack-Retry-Num"] == "2"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_error"


async def test_sender_dm_sends_a_signed_message_im(sender: SlackSender, recorder: Recorder) -> None:
    await sender.dm("jane doe", event_id="Ev0DM", thread_ts="0.5")
    (request,) = recorder.requests
    recorder.assert_signed(request)
    envelope = json.loads(request.content)
    assert (envelope["type"], envelope["event_id"], envelope["team_id"]) == (
        "event_callback",
        "Ev0DM",
        "T0STANDIN",
    )
    event = envelope["event"]
    assert (event["type"], event["channel_type"], event["user"]) == ("message", "im", "U0AGENT1")
    assert (event["text"], event["thread_ts"]) == ("jane doe", "0.5")


async def test_sender_post_can_break_the_signature(sender: SlackSender, recorder: Recorder) -> None:
    await sender.post("a=b", FORM_CONTENT_TYPE, timestamp=1_600_000_000)
    await sender.post("a=b", FORM_CONTENT_TYPE, signature="v0=bad")
    await sender.post("a=b", FORM_CONTENT_TYPE, signed=False)
    stale, bad, unsigned = recorder.requests
    assert stale.headers["X-Slack-Request-Timestamp"] == "1600000000"
    assert (
        stale.headers["X-Slack-Signature"]
        == sign(SECRET, "a=b", 1_600_000_000)["X-Slack-Signature"]
    )
    assert bad.headers["X-Slack-Signature"] == "v0=bad"
    assert "X-Slack-Signature" not in unsigned.headers
    assert "X-Slack-Request-Timestamp" not in unsigned.headers
