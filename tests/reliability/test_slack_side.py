"""Slack misbehaving, or someone pretending to be Slack: forged and replayed requests, tampered
buttons, clicks from people without access, failing response URLs and Web API calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from activity.digests import run_pass
from devtools.slack_standin import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    app_home_opened_event,
    app_mention_event,
    block_action_body,
    event_callback_body,
    sign,
    slash_command_body,
)
from devtools.slack_standin.messages import buttons, texts
from handlers.poster import SlackPoster
from tests.helpers.reliability import ReliabilityStack, oauth_connect
from tests.helpers.stack import OAUTH_ENV, SIGNING_SECRET, button

AGENT, NOBODY = "U0AGENT1", "U0NOBODY"
SALES = "C0SALES"
STALE = "out of date or damaged"


# -- the suite's own yardstick ------------------------------------------------------------------------


async def test_settle_waits_for_the_listener_that_is_still_answering(stack):
    """Counting replies "after the work settles" relies on seeing the bot's listeners."""
    stack.sandbox.add_fault(kind="latency", route="/v1/contacts*", delay_ms=200, times=1)
    sent = await stack.sender.command("janet doe")
    assert stack.busy_listeners(), "settle() cannot see Bolt's listener tasks"
    assert stack.responses(sent.response_url) == []
    await stack.settle(grace=0)
    assert stack.busy_listeners() == []
    assert len(stack.responses(sent.response_url)) == 1  # the reply was sent before settle returned


# -- forged requests: bad, missing or stale signatures -------------------------------------------


def forged_body(stack: ReliabilityStack, kind: str) -> tuple[str, str, str | None]:
    """(body, content type, response URL) of a request of `kind` that would otherwise work."""
    if kind == "command":
        url = stack.slack.new_response_url()
        return slash_command_body(text="janet doe", response_url=url), FORM_CONTENT_TYPE, url
    if kind == "click":
        url = stack.slack.new_response_url()
        janet = stack.contact("janet_doe")
        body = block_action_body(action_id="open_card:1", value=janet.id, response_url=url)
        return body, FORM_CONTENT_TYPE, url
    event = app_mention_event(text="<@U0BOT> janet doe", ts="1700000400.000100")
    return event_callback_body(event=event), JSON_CONTENT_TYPE, None


def _bad_signature(body: str) -> dict[str, Any]:
    return {"signature": "v0=" + "0" * 64}


def _signed_for_another_body(body: str) -> dict[str, Any]:
    timestamp = int(time.time())
    other = sign(SIGNING_SECRET, body + "&", timestamp)["X-Slack-Signature"]  # one byte differs
    return {"signature": other, "timestamp": timestamp}


def _wrong_secret(body: str) -> dict[str, Any]:
    return {"signature": sign("not-the-secret", body)["X-Slack-Signature"]}


def _unsigned(body: str) -> dict[str, Any]:
    return {"signed": False}


def _signature_without_timestamp(body: str) -> dict[str, Any]:
    return {
        "signed": False,
        "extra_headers": {"X-Slack-Signature": sign(SIGNING_SECRET, body)["X-Slack-Signature"]},
    }


def _timestamp_without_signature(body: str) -> dict[str, Any]:
    return {"signed": False, "extra_headers": {"X-Slack-Request-Timestamp": str(int(time.time()))}}


def _six_minutes_old(body: str) -> dict[str, Any]:
    return {"timestamp": int(time.time()) - 6 * 60}


def _six_minutes_ahead(body: str) -> dict[str, Any]:
    return {"timestamp": int(time.time()) + 6 * 60}


FORGERIES: dict[str, Callable[[str], dict[str, Any]]] = {
    "bad-signature": _bad_signature,
    "signed-for-another-body": _signed_for_another_body,
    "wrong-secret": _wrong_secret,
    "missing-signature-and-timestamp": _unsigned,
    "missing-timestamp": _signature_without_timestamp,
    "missing-signature": _timestamp_without_signature,
    "timestamp-6-minutes-old": _six_minutes_old,
    "timestamp-6-minutes-ahead": _six_minutes_ahead,
}


@pytest.mark.parametrize("kind", ["command", "click", "event"])
@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_forged_request_is_refused_with_401_and_nothing_happens(stack, kind, forgery):
    body, content_type, response_url = forged_body(stack, kind)
    received, spark = len(stack.slack.received), len(stack.sandbox.requests)
    response = await stack.sender.post(body, content_type, **FORGERIES[forgery](body))
    assert response.status_code == 401
    await stack.settle()
    assert stack.slack.received[received:] == []  # no reply, no Web API call
    assert stack.sandbox.requests[spark:] == []  # and nothing read from Flexmls
    # The same request, properly signed, works: the refusal was about the signature only.
    if kind != "event":
        sent = await stack.sender.post(body, content_type)
        assert sent.status_code == 200
        assert "Janet Doe" in texts(await stack.reply_to(response_url))


# -- the same event delivered more than once -----------------------------------------------------


@pytest.mark.parametrize("overlapping", [False, True], ids=["one-after-another", "overlapping"])
async def test_an_event_delivered_three_times_is_answered_once(stack, overlapping):
    if overlapping:  # Slack retries while the first delivery is still being answered
        stack.sandbox.add_fault(kind="latency", route="/v1/contacts*", delay_ms=300, times=1)
    event = app_mention_event(text="<@U0BOT> janet doe", ts="1700000500.000100")
    deliveries = [
        stack.sender.event(event, event_id="Ev0THRICE", retry_num=n, retry_reason="http_timeout")
        for n in (None, 1, 2)
    ]
    if overlapping:
        sent = await asyncio.gather(*deliveries)
    else:
        sent = [await d for d in deliveries]
        await stack.settle()
    assert [s.response.status_code for s in sent] == [200, 200, 200]
    assert all(s.elapsed < 3 for s in sent)
    await stack.slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    await stack.settle()
    answers = stack.slack.calls("chat.postEphemeral")
    assert len(answers) == 1, [texts(a.body)[:60] for a in answers]
    assert "Janet Doe" in texts(answers[0].body)
    searches = [r for r in stack.sandbox.requests if r.path == "/v1/contacts"]
    assert len(searches) == 1  # the retries did no work at all


# -- tampered button values ----------------------------------------------------------------------

TAMPERINGS: dict[str, Callable[[str], str]] = {
    "quote-appended": lambda v: v + "'",
    "fullwidth-digit": lambda v: v.replace("0", "\uff10", 1),
    "trailing-newline": lambda v: v + "\n",
    "path-prefix": lambda v: "../" + v,
    "cut-and-piped": lambda v: v[: len(v) // 2] + "|",
    "wrapped-in-json": lambda v: json.dumps({"id": v}),
    "sparkql-appended": lambda v: v + "' Or '1' Eq '1",
    "emptied": lambda v: "",
}


async def real_values(stack: ReliabilityStack) -> dict[str, str]:
    """A genuine value for every action that carries state, taken from real messages."""
    janet, heavy = stack.contact("janet_doe"), stack.contact("heavy_viewer")
    card = await stack.reply_to((await stack.sender.command(janet.primary_email)).response_url)
    picker = await stack.reply_to((await stack.sender.command("jane doe")).response_url)
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    return {
        "open_card:1": button(page, "open_card")["value"],
        "refresh_card": button(card, "refresh_card")["value"],
        "share_card": button(card, "share_card")["value"],
        "contact_pick:0": button(picker, "contact_pick")["value"],
        "listings_page:next": button(page, "listings_page:next")["value"],
        "digest_open:1": janet.id,  # documented formats (no digest is needed to forge one)
        "digest_more:next": "d1|1|2026-03-02|2",
    }


async def test_a_tampered_button_value_gets_one_stale_button_message_and_reads_nothing(stack):
    values = await real_values(stack)
    await stack.settle()
    for action_id, value in values.items():
        for name, tamper in TAMPERINGS.items():
            forged = tamper(value)
            spark = len(stack.sandbox.requests)
            clicked = await stack.sender.action(action_id, forged, message_ts="1700000000.000300")
            assert clicked.response.status_code == 200
            await stack.reply_to(clicked.response_url)
            await stack.settle(grace=0.02)
            replies = stack.responses(clicked.response_url)
            where = f"{action_id} {name}: {forged[:60]!r}"
            assert len(replies) == 1, where
            assert STALE in texts(replies[0]), where
            assert replies[0].get("replace_original") is False, where
            assert "Traceback" not in texts(replies[0])
            assert stack.sandbox.requests[spark:] == [], where  # nothing reached Flexmls


# -- a click by someone without a Flexmls connection ---------------------------------------------


@pytest.mark.parametrize("bot_env", [OAUTH_ENV])
async def test_a_click_by_a_user_with_no_connection_asks_them_to_connect(stack, bot_env):
    await oauth_connect(stack, AGENT)
    heavy = stack.contact("heavy_viewer")
    card = await stack.reply_to((await stack.sender.command(heavy.primary_email)).response_url)
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    await stack.settle()
    clickable = [b for b in buttons(card) + buttons(page) if "value" in b and "url" not in b]
    assert {b["action_id"].split(":")[0] for b in clickable} >= {
        "listings_page",
        "share_card",
        "refresh_card",
        "open_card",
    }
    for b in clickable:
        spark = len(stack.sandbox.requests)
        clicked = await stack.sender.action(b["action_id"], b["value"], user_id=NOBODY)
        await stack.reply_to(clicked.response_url)
        await stack.settle(grace=0.02)
        (reply,) = stack.responses(clicked.response_url)
        body = texts(reply)
        assert "/activity connect" in body, (b["action_id"], body)
        assert heavy.display_name not in body and heavy.primary_email not in body
        assert reply.get("replace_original") is False  # the card they clicked on stays
        assert stack.sandbox.requests[spark:] == []  # the agent's token was not used for them


# -- response URLs that fail ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
async def test_a_failing_response_url_does_not_break_the_bot(stack, status):
    fault = stack.slack.add_fault(method="response", status=status, times=1)
    failed = await stack.sender.command("janet doe")
    assert failed.response.status_code == 200
    await stack.slack.wait_for(lambda r: r.kind == "response" and r.status == status)
    await stack.settle()
    assert fault.applied == 1
    assert len(stack.slack.responses(failed.response_url)) == 1  # no retry storm, no crash
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
    clicked = await stack.sender.action("refresh_card", button(card, "refresh_card")["value"])
    assert (await stack.reply_to(clicked.response_url))["replace_original"] is True


@pytest.mark.parametrize("status", [404, 500])
async def test_a_reply_the_response_url_refused_is_logged(stack, status, caplog):
    caplog.set_level(logging.WARNING)
    stack.slack.add_fault(method="response", status=status, times=1)
    await stack.sender.command("janet doe")
    await stack.slack.wait_for(lambda r: r.kind == "response" and r.status == status)
    await stack.settle()
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert logged, "the lost reply left no trace in the logs"


# -- the Web API rate-limits a digest post --------------------------------------------------------


async def subscribe_and_run(stack: ReliabilityStack):
    sent = await stack.sender.command(f"digest add <#{SALES}|sales> 08:00")
    await stack.reply_to(sent.response_url)
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


def digest_posts(stack: ReliabilityStack) -> list[Any]:
    return [r for r in stack.slack.calls("chat.postMessage") if r.body.get("channel") == SALES]


async def test_a_rate_limited_digest_post_is_retried_after_retry_after_and_posts_once(stack):
    stack.slack.add_fault(method="chat.postMessage", status=429, retry_after=1, times=1)
    started = time.monotonic()
    report = await subscribe_and_run(stack)
    assert report.posted == 1, report.summary()
    attempts = digest_posts(stack)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After was honoured
    assert time.monotonic() - started < 5
    services = stack.bot.services
    assert (await run_pass(services, SlackPoster(stack.bot.bot_client, services))).posted == 0
    assert len([a for a in digest_posts(stack) if a.ok]) == 1


async def test_a_digest_post_still_rate_limited_after_the_retries_waits_for_the_next_pass(stack):
    stack.slack.add_fault(method="chat.postMessage", status=429, retry_after=0, times=3)
    report = await subscribe_and_run(stack)
    assert report.posted == 0 and report.retry_later == 1, report.summary()
    assert [a.status for a in digest_posts(stack)] == [429, 429, 429]  # 1 try + 2 retries
    stack.clock.advance(minutes=1)
    services = stack.bot.services
    poster = SlackPoster(stack.bot.bot_client, services)
    assert (await run_pass(services, poster)).posted == 1
    assert (await run_pass(services, poster)).posted == 0
    assert len([a for a in digest_posts(stack) if a.ok]) == 1


# -- views.publish fails on app_home_opened --------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "times": 2},  # the client retries a 5xx once
        {"error": "internal_error"},  # HTTP 200 with ok: false is not retried
        {"status": 429, "retry_after": 0, "times": 3},  # the client retries a 429 twice
    ],
    ids=["http-500-twice", "ok-false", "rate-limited-thrice"],
)
async def test_a_failing_home_publish_is_logged_and_later_events_still_work(stack, failure, caplog):
    caplog.set_level(logging.WARNING)
    fault = stack.slack.add_fault(method="views.publish", **failure)
    sent = await stack.sender.event(app_home_opened_event(user=AGENT))
    assert sent.response.status_code == 200
    await stack.slack.wait_for(lambda r: r.method == "views.publish" and not r.ok)
    await stack.settle()
    assert fault.exhausted
    assert stack.slack.home_view(AGENT) is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the failed publish was not logged"
    assert all(stack.slack.bot_token not in r.getMessage() for r in caplog.records)
    # The next time the Home tab opens it is published; commands still work.
    await stack.sender.event(app_home_opened_event(user=AGENT))
    await stack.slack.wait_for(lambda r: r.method == "views.publish" and r.ok)
    assert stack.slack.home_view(AGENT) is not None
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
