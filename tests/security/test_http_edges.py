"""Slack's endpoint checks the signature on the raw bytes before anything parses the body.

Before the fix the body was decoded and parsed first (by Bolt's request object), so an
unsigned body that wasn't UTF-8 or JSON, or a signature header with a non-numeric timestamp,
ended in an HTTP 500 with a traceback in the log; and bodies up to 1 MiB were read.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from devtools.slack_standin import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE
from devtools.slack_standin.requests import sign
from runtime import MAX_SLACK_BODY
from tests.helpers.stack import SIGNING_SECRET

UNPARSEABLE = [
    (b"\xff\xfe\x00garbage", FORM_CONTENT_TYPE),
    (b"{not json", JSON_CONTENT_TYPE),
    (b"payload=%7Bnot-json", FORM_CONTENT_TYPE),
    (b"payload=%FF%FE", FORM_CONTENT_TYPE),
    (b"", JSON_CONTENT_TYPE),
    (b"[]", JSON_CONTENT_TYPE),
    (b'"str"', JSON_CONTENT_TYPE),
    (b"payload=%5B%5D", FORM_CONTENT_TYPE),
    (b"payload=null", FORM_CONTENT_TYPE),
    (b'payload={"type":"view_submission","view":7,"user":"x"}', FORM_CONTENT_TYPE),
]


def answered(stack) -> list:
    """What the bot sent to Slack beyond its start-up `auth.test`."""
    return [r for r in stack.slack.received if r.method != "auth.test"]


async def post_raw(stack, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{stack.bot.url}/slack/events", content=body, headers=headers)


@pytest.mark.parametrize(("body", "content_type"), UNPARSEABLE)
async def test_an_unsigned_malformed_body_is_refused_with_401(stack, body, content_type, caplog):
    with caplog.at_level(logging.ERROR):
        response = await post_raw(stack, body, {"Content-Type": content_type})
    assert response.status_code == 401
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


@pytest.mark.parametrize(("body", "content_type"), UNPARSEABLE)
async def test_a_signed_malformed_body_is_a_400_or_a_quiet_refusal(
    stack, body, content_type, caplog
):
    headers = {"Content-Type": content_type, **sign(SIGNING_SECRET, body)}
    with caplog.at_level(logging.ERROR):
        response = await post_raw(stack, body, headers)
    assert response.status_code in (400, 401, 404)  # never 500
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
    assert answered(stack) == []  # nothing was answered on anyone's behalf


@pytest.mark.parametrize("timestamp", ["soon", "", "1e9", "-", "0x10"])
async def test_a_timestamp_that_is_not_a_number_is_a_401(stack, timestamp, caplog):
    body = b"command=%2Factivity&text=help"
    headers = {
        "Content-Type": FORM_CONTENT_TYPE,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(SIGNING_SECRET, body)["X-Slack-Signature"],
    }
    with caplog.at_level(logging.ERROR):
        response = await post_raw(stack, body, headers)
    assert response.status_code == 401
    assert "Traceback" not in caplog.text


async def test_a_body_larger_than_slack_sends_is_refused_unread(stack):
    body = b"text=" + b"a" * (MAX_SLACK_BODY + 1)
    headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(SIGNING_SECRET, body)}
    response = await post_raw(stack, body, headers)
    assert response.status_code == 413
    assert answered(stack) == []


def test_the_size_limit_is_a_few_hundred_kib():
    assert 128 * 1024 <= MAX_SLACK_BODY <= 1024 * 1024 // 2


async def test_a_stale_but_well_signed_request_is_a_401(stack):
    body = b"command=%2Factivity&text=help"
    headers = {"Content-Type": FORM_CONTENT_TYPE, **sign(SIGNING_SECRET, body, time.time() - 400)}
    assert (await post_raw(stack, body, headers)).status_code == 401


async def test_a_genuine_command_still_works(stack):
    sent = await stack.sender.command("help")
    assert sent.response.status_code == 200
    await stack.reply_to(sent.response_url)
