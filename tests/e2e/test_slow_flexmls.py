"""Flexmls slow or hanging, over real HTTP: "Still asking Flexmls…" early, the answer in its
place, and past the deadline a clear end, with the work cancelled cleanly.

The bot's patience is shortened for these tests (the product waits 3 s and 15 s); the Spark
client keeps its real timeouts, so a hang would otherwise mean half a minute of silence.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import handlers.turn
from blocks.waiting import STILL_ASKING
from devtools.slack_standin import app_mention_event
from devtools.slack_standin.messages import texts
from devtools.slack_standin.requests import dm_channel_id
from handlers.patience import Patience
from tests.helpers.reliability import ReliabilityStack
from tests.helpers.stack import button

NOTICE_AFTER, DEADLINE = 0.4, 2.0
SEARCH = "/v1/contacts"  # a lookup by name: the contact search
TOO_LONG = "Flexmls is taking too long"
DM = dm_channel_id("U0AGENT1")


@pytest.fixture(autouse=True)
def short_patience(monkeypatch):
    monkeypatch.setattr(handlers.turn, "PATIENCE", Patience(NOTICE_AFTER, DEADLINE))


def slow(stack, route: str = SEARCH, seconds: float = 1.2) -> None:
    stack.sandbox.add_fault(kind="latency", route=route, delay_ms=int(seconds * 1000), times=1)


def summary(bodies: list[dict]) -> list[tuple[str, object]]:
    return [(texts(b).split("\n")[0][:40], b.get("replace_original")) for b in bodies]


async def test_a_slow_lookup_says_still_asking_then_the_card_replaces_it(stack):
    slow(stack)
    sent = await stack.sender.command("janet doe")
    notice, card = await stack.replies_to(sent.response_url, 2)
    assert texts(notice).startswith(STILL_ASKING) and notice["replace_original"] is False
    assert "Janet Doe" in texts(card) and card["replace_original"] is True, summary([notice, card])


async def test_a_quick_lookup_gets_no_notice(stack):
    sent = await stack.sender.command("janet doe")
    card = await stack.reply_to(sent.response_url)
    await asyncio.sleep(NOTICE_AFTER + 0.3)
    assert len(stack.slack.responses(sent.response_url)) == 1
    assert "Janet Doe" in texts(card) and card["replace_original"] is False


async def test_a_slow_page_flip_shows_the_notice_in_place_of_the_page(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    nxt = button(page, "listings_page:next")
    slow(stack, route=f"/v1/contacts/{heavy.id}/activity/listings/viewed")
    stack.bot.services.listings._cache._entries.clear()  # no prefetched page: Flexmls is asked
    clicked = await stack.sender.action(nxt["action_id"], nxt["value"])
    notice, flipped = await stack.replies_to(clicked.response_url, 2)
    assert texts(notice).startswith(STILL_ASKING) and notice["replace_original"] is True
    assert "Page 2 of" in texts(flipped) and flipped["replace_original"] is True


async def test_a_slow_dm_answer_is_posted_and_the_notice_deleted(stack):
    slow(stack)
    await stack.sender.dm("janet doe")
    await stack.slack.wait_for(lambda r: r.method == "chat.delete")
    posted = [c.body for c in stack.slack.calls("chat.postMessage")]
    assert [texts(p).split(" ")[0] for p in posted] == ["Still", "Janet"]
    deleted = stack.slack.calls("chat.delete")[0].body
    remaining = stack.slack.messages(DM)
    assert [m["ts"] for m in remaining] != [] and deleted["ts"] not in [m["ts"] for m in remaining]
    assert ["Janet Doe" in texts(m) for m in remaining] == [True]


async def test_a_slow_mention_keeps_its_notice_and_answers_after_it(stack):
    slow(stack)
    await stack.sender.event(app_mention_event(text="janet doe", ts="1700000300.000100"))
    found = await stack.slack.wait_for_count(lambda r: r.method == "chat.postEphemeral", 2)
    notice, card = (r.body for r in found)
    assert texts(notice).startswith(STILL_ASKING) and "Janet Doe" in texts(card)
    assert notice["thread_ts"] == card["thread_ts"] == "1700000300.000100"


async def test_a_retry_notice_and_the_still_asking_notice_never_both_show(stack, monkeypatch):
    monkeypatch.setattr(handlers.turn, "PATIENCE", Patience(NOTICE_AFTER, 6.0))
    stack.sandbox.add_fault(kind="rate_limit", route=SEARCH, retry_after=2, times=1)
    sent = await stack.sender.command("janet doe")
    await stack.replies_to(sent.response_url, 2, timeout=8)
    await asyncio.sleep(NOTICE_AFTER)
    replies = [r.body for r in stack.slack.responses(sent.response_url)]
    assert len(replies) == 2, summary(replies)
    assert "rate-limiting" in texts(replies[0]) and STILL_ASKING not in texts(replies[0])
    assert "Janet Doe" in texts(replies[1]) and replies[1]["replace_original"] is True


async def test_a_hang_ends_with_a_clear_message_at_the_deadline_and_nothing_left_running(
    stack, caplog
):
    stack.sandbox.add_fault(kind="hang", route=SEARCH, delay_ms=60_000, times=1)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    sent = await stack.sender.command("janet doe")
    notice, end = await stack.replies_to(sent.response_url, 2, timeout=DEADLINE + 3)
    waited = time.monotonic() - started
    assert DEADLINE <= waited < DEADLINE + 1.0, waited
    assert texts(notice).startswith(STILL_ASKING)
    assert TOO_LONG in texts(end) and "Try again" in texts(end) and end["replace_original"] is True
    await asyncio.sleep(0.2)
    assert ReliabilityStack.busy_listeners() == []  # the request's work is over, not leaked
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == [], [r.getMessage() for r in problems]
    assert any("given up" in r.getMessage() for r in caplog.records)  # a warning, no traceback
    budget = stack.bot.services.spark.limiter
    assert all(b.waiting() == 0 for b in budget._budgets.values())
    # Flexmls answers again: the next lookup goes through at once.
    again = await stack.sender.command("janet doe")
    assert "Janet Doe" in texts(await stack.reply_to(again.response_url))
