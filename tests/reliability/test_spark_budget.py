"""Issue 11 §1–§2 end to end: one Spark budget per API key, shared fairly, and errors as Spark
documents them. The bot runs over real HTTP against the sandbox with its per-key limit on and,
where it matters, the strict dialect (no `Retry-After` on 429, spark_api.md §9)."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Any

import httpx
import pytest

from devtools.sandbox import SECOND_ACCOUNT_ID
from devtools.slack_standin.messages import texts
from tests.helpers.connect import LinkForms
from tests.helpers.reliability import ReliabilityStack, oauth_connect
from tests.helpers.stack import OAUTH_ENV, button

AGENT, COLLEAGUE = "U0AGENT1", "U0AGENT2"
DATA = "/v1/contacts*"


def data_requests(stack: ReliabilityStack) -> list[Any]:
    return [r for r in stack.sandbox.requests if r.path.startswith("/v1/contacts")]


def refreshes(stack: ReliabilityStack) -> int:
    return sum(r.path in ("/openid/token", "/v1/oauth2/grant") for r in stack.sandbox.requests)


def is_card(message: dict[str, Any], name: str) -> bool:
    blocks = message.get("blocks") or [{}]
    return (blocks[0].get("text") or {}).get("text") == name


async def connect_second_account(stack: ReliabilityStack, user_id: str) -> None:
    """Connect `user_id` through OAuth as the sandbox's second Flexmls account."""
    sent = await stack.sender.command("connect", user_id=user_id)
    url = button(await stack.reply_to(sent.response_url), "connect_oauth")["url"]
    url += "&" + urllib.parse.urlencode({"sandbox_account": SECOND_ACCOUNT_ID})
    async with httpx.AsyncClient() as http:
        authorize = await http.get(url)
        page = await http.get(authorize.headers["location"])
        action, token = LinkForms(page.text).forms["Link"]
        linked = await http.post(
            urllib.parse.urljoin(stack.bot.url, action),
            data={"form_token": token, "action": "Link"},
        )
        assert linked.status_code == 200, linked.text


def own_contact(stack: ReliabilityStack) -> Any:
    """A contact of the second account, with an e-mail."""
    contacts = stack.sandbox.state.brokerage.contacts_for(SECOND_ACCOUNT_ID)
    return next(c for c in contacts if c.primary_email)


SKEW_S = 0.2  # how much later than our send time a request may reach Spark, on a busy machine


async def per_key_limit(stack: ReliabilityStack, limit: int, window_s: float) -> None:
    """The sandbox's limit for the key, as the bot's is configured, less the network's skew.

    The bot's budget counts a request when it sends it; Spark counts it when it arrives. As the
    README advises, the bot is set a little below the key's real limit: here the sandbox's
    window is `SKEW_S` shorter. The requests made while connecting (counted against the OAuth
    key by Spark, before the bot knew the token's key) are let out of the window first.
    """
    await asyncio.sleep(window_s)
    stack.sandbox.state.set_rate_limit({"limit": limit, "window_s": window_s - SKEW_S})
    stack.sandbox.state.set_retry_after(False)  # strict: as documented
    stack.sandbox.state.reset_stats()


# -- one quota per key ----------------------------------------------------------------------------


ENV = {  # settings per test (by name); the others run with the workspace token alone
    "test_two_agents_on_one_oauth_key_share_its_quota_with_no_429": {
        **OAUTH_ENV, "SPARK_RATE_LIMIT": "8/2",
    },
    "test_a_hammering_agent_does_not_make_a_colleague_wait_behind_them": {
        **OAUTH_ENV, "SPARK_RATE_LIMIT": "4/2",
    },
    "test_1000_on_an_oauth_token_refreshes_once_then_answers": OAUTH_ENV,
}  # fmt: skip


@pytest.fixture
def bot_env(request) -> dict[str, str]:
    return dict(ENV.get(request.node.originalname, {}))


async def test_two_agents_on_one_oauth_key_share_its_quota_with_no_429(stack):
    await oauth_connect(stack, AGENT)
    await connect_second_account(stack, COLLEAGUE)
    await per_key_limit(stack, 8, 2)  # the sandbox counts per OAuth client id, like Spark
    janet, blakes = stack.contact("janet_doe"), own_contact(stack)
    asks = [(AGENT, janet), (COLLEAGUE, blakes)] * 3
    sent = await asyncio.gather(
        *(stack.sender.command(c.primary_email, user_id=u) for u, c in asks)
    )
    for s in sent:
        await stack.reply_to(s.response_url, timeout=15)
    await stack.settle(timeout=20)
    for s, (_, contact) in zip(sent, asks, strict=True):
        (reply,) = stack.responses(s.response_url)
        assert is_card(reply, contact.display_name), texts(reply)[:200]
    assert len(data_requests(stack)) > 8  # the quota was really exercised
    assert stack.sandbox.stats["rate_limited"] == 0


async def test_a_hammering_agent_does_not_make_a_colleague_wait_behind_them(stack):
    await oauth_connect(stack, AGENT)
    await connect_second_account(stack, COLLEAGUE)
    await per_key_limit(stack, 4, 2)
    janet, heavy = stack.contact("janet_doe"), own_contact(stack)
    hammer = [
        asyncio.ensure_future(stack.sender.command(janet.primary_email, user_id=AGENT))
        for _ in range(8)
    ]
    await asyncio.sleep(0.3)  # the hammering is under way (the window is full)
    started = time.monotonic()
    mine = await stack.sender.command(heavy.primary_email, user_id=COLLEAGUE)
    reply = await stack.reply_to(mine.response_url, timeout=15)
    waited = time.monotonic() - started
    await asyncio.gather(*hammer)
    await stack.settle(timeout=30)
    assert is_card(reply, heavy.display_name), texts(reply)[:200]
    # The colleague needs ~2 requests; served fairly that is under one window (measured
    # ~1.8 s). Served in arrival order, behind ~16 hammering requests at 4 per 2 s, it is
    # over 4 s (measured with the owner choice replaced by first-come).
    assert waited < 3.0, waited
    assert stack.sandbox.stats["rate_limited"] == 0


# -- 429 without Retry-After ----------------------------------------------------------------------


async def test_429_without_retry_after_cools_the_key_down_and_says_busy_once(stack):
    stack.sandbox.add_fault(kind="rate_limit", route=DATA)  # no Retry-After: as documented
    janet = stack.contact("janet_doe")
    first = await stack.sender.command(janet.primary_email)
    await stack.reply_to(first.response_url)
    await stack.settle()
    (message,) = stack.responses(first.response_url)
    assert "Flexmls is busy" in texts(message) and "~30 s" in texts(message), texts(message)
    assert len(data_requests(stack)) == 1  # no burst of quick retries
    # The key is cooling down: the next lookup isn't even sent.
    again = await stack.sender.command(janet.primary_email)
    await stack.reply_to(again.response_url)
    await stack.settle()
    (message,) = stack.responses(again.response_url)
    assert "Flexmls is busy" in texts(message)
    assert len(data_requests(stack)) == 1


# -- errors as documented -------------------------------------------------------------------------

FORBIDDEN = {
    1013: "way of signing in",
    1015: "no active Flexmls access",
    1019: "locked to other servers",
    1021: "replication server",
    1030: "only answers over HTTPS",
    1100: "no Flexmls portal",
    1500: "Private role",
    1505: "turned this Flexmls feature off",
    1999: "code 1999",
}


@pytest.mark.parametrize(("code", "expected"), FORBIDDEN.items(), ids=str)
async def test_each_403_code_gets_its_own_message(stack, code, expected):
    stack.sandbox.add_fault(
        kind="status", status=403, code=code, route=DATA, message="Spark's own words"
    )
    janet = stack.contact("janet_doe")
    sent = await stack.sender.command(janet.primary_email)
    await stack.reply_to(sent.response_url)
    await stack.settle()
    (message,) = stack.responses(sent.response_url)
    assert expected in texts(message), texts(message)
    assert ("Spark's own words" in texts(message)) is (code == 1999)


async def test_1516_is_not_retried_and_asks_to_narrow_the_search(stack):
    stack.sandbox.add_fault(kind="unavailable", code=1516, route="/v1/contacts")
    sent = await stack.sender.command("jan")
    await stack.reply_to(sent.response_url)
    await stack.settle()
    (message,) = stack.responses(sent.response_url)
    assert "Narrow it down" in texts(message), texts(message)
    assert len([r for r in stack.sandbox.requests if r.path == "/v1/contacts"]) == 1


async def test_1000_on_an_oauth_token_refreshes_once_then_answers(stack):
    await oauth_connect(stack, AGENT)
    before = refreshes(stack)
    stack.sandbox.add_fault(kind="status", status=401, code=1000, route=DATA, times=1)
    janet = stack.contact("janet_doe")
    sent = await stack.sender.command(janet.primary_email, user_id=AGENT)
    await stack.reply_to(sent.response_url)
    await stack.settle()
    (message,) = stack.responses(sent.response_url)
    assert is_card(message, janet.display_name), texts(message)[:200]
    assert refreshes(stack) == before + 1
