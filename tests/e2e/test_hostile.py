"""Hostile and odd input: every request gets one clear answer and nothing reaches Spark broken."""

from __future__ import annotations

import asyncio

import pytest

from devtools.sandbox import SECOND_ACCOUNT_ID
from devtools.slack_standin.messages import texts

ODD_TEXT = [
    "",
    "   \t  ",
    "x" * 5000,
    "'",
    '"Jane Doe"',
    "O'Brien",
    "😀🏡",
    "שלום עולם",
    "\u202ejane\u202c",
    "<@U0SOMEONE>",
    "<@U0SOMEONE|someone> ",
    "' Or '1' Eq '1",
    "x' Or DisplayName Eq '*",
    "\\' Or \\'",
    "<!channel> jane",
    "*bold* _it_ ~strike~ `code`",
    "jane\ndoe",
    "%00%27",
]


@pytest.mark.parametrize("text", ODD_TEXT)
async def test_odd_command_text_gets_exactly_one_clear_reply(stack, text):
    sent = await stack.sender.command(text)
    assert sent.response.status_code == 200
    reply = await stack.reply_to(sent.response_url)
    body = texts(reply)
    assert body.strip()
    assert "Traceback" not in body and "Exception" not in body
    assert "<!channel>" not in body
    await asyncio.sleep(0.1)
    assert len(stack.slack.responses(sent.response_url)) == 1
    spark_errors = [r for r in stack.sandbox.requests if r.status and r.status >= 400]
    assert spark_errors == [], [(r.path, r.query, r.status) for r in spark_errors]


async def test_a_very_long_query_is_refused_kindly_without_calling_spark(stack):
    reply = await stack.reply_to((await stack.sender.command("jane " * 1000)).response_url)
    assert "characters" in texts(reply)
    assert [r for r in stack.sandbox.requests if r.path == "/v1/contacts"] == []


FORGED = [
    ("listings_page:next", ""),
    ("listings_page:next", "garbage"),
    ("listings_page:next", "v1|viewed|../../my/account|2"),
    ("listings_page:next", "v1|viewed|2015072620164043900001"),  # truncated
    ("listings_page:next", "v1|viewed|20150726201640439000015000|0"),
    ("listings_page:next", "v1|stolen|20150726201640439000015000|2"),
    ("listings_page:next", "v1|viewed|20150726201640439000015000|99999999999"),
    ("contact_pick", "../../my/account"),
    ("share_card", "x" * 3000),
    ("open_card:1", "20150726201640439000015000?x=1"),
]


@pytest.mark.parametrize(("action_id", "value"), FORGED)
async def test_forged_or_truncated_button_values_get_a_stale_button_message(
    stack, action_id, value
):
    before = len(stack.sandbox.requests)
    clicked = await stack.sender.action(action_id, value)
    assert clicked.response.status_code == 200
    reply = await stack.reply_to(clicked.response_url)
    assert "out of date or damaged" in texts(reply)
    assert reply.get("replace_original") is False  # what the user was looking at stays
    assert len(stack.sandbox.requests) == before  # nothing reached Spark


async def test_a_button_pointing_at_another_agents_contact_reveals_nothing(stack):
    # The workspace token is Avery's; a contact of Blake's must not be readable through it.
    blakes = stack.sandbox.state.brokerage.contacts_for(SECOND_ACCOUNT_ID)[0]
    clicked = await stack.sender.action("open_card:1", blakes.id)
    reply = await stack.reply_to(clicked.response_url)
    assert "isn't available" in texts(reply)
    assert blakes.display_name not in texts(reply)
