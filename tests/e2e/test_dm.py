"""A DM to the bot (the Messages tab), over real HTTP: signed `message.im` events in, the answer
posted in the DM (chat.postMessage) out; everything that is not a person typing is left alone."""

from __future__ import annotations

import asyncio

import pytest

from blocks import Message
from devtools.slack_standin import DEFAULT_BOT_ID, DEFAULT_BOT_USER_ID, message_changed_event
from devtools.slack_standin.messages import texts
from devtools.slack_standin.requests import dm_channel_id
from tests.helpers.blocks import assert_valid_message
from tests.helpers.stack import button

AGENT = "U0AGENT1"
DM = dm_channel_id(AGENT)  # the stand-in's DM channel between the agent and the bot
REFUSED = "only works for members of this workspace"


def valid(posted: dict) -> None:
    assert_valid_message(Message(posted["text"], tuple(posted["blocks"])))


def posts(stack, channel: str = DM) -> list[dict]:
    return [c.body for c in stack.slack.calls("chat.postMessage") if c.body["channel"] == channel]


def spark_calls(stack) -> int:
    return sum(r.path.startswith("/v1/") for r in stack.sandbox.requests)


async def answered(stack, n: int = 1, channel: str = DM) -> list[dict]:
    """The first `n` messages the bot posted in `channel`."""
    found = await stack.slack.wait_for_count(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == channel, n
    )
    return [r.body for r in found]


async def nothing_more_than(stack, n: int) -> None:
    """Let the bot finish what it was sent (a `help` DM answered after it), then count."""
    await stack.sender.dm("help")
    await answered(stack, n + 1)
    await asyncio.sleep(0.2)
    everywhere = [c.body for c in stack.slack.calls("chat.postMessage")]
    assert len(everywhere) == n + 1, [texts(p)[:60] for p in everywhere]


async def test_a_name_typed_in_the_dm_gets_the_card_in_the_dm(stack):
    sent = await stack.sender.dm("janet doe")
    assert sent.response.status_code == 200
    (card,) = await answered(stack)
    assert "Janet Doe" in texts(card)
    assert card.get("thread_ts") is None  # a message of the DM, not a thread
    valid(card)
    assert button(card, "listings_page")  # the card works in a DM: its buttons are there
    assert stack.slack.calls("chat.postEphemeral") == []


async def test_help_in_the_dm_lists_the_grammar(stack):
    await stack.sender.dm("help")
    (message,) = await answered(stack)
    assert "/activity viewed <contact>" in texts(message).replace("&lt;", "<").replace("&gt;", ">")


async def test_any_verb_works_without_the_slash(stack):
    heavy = stack.contact("heavy_viewer")
    await stack.sender.dm(f"viewed {heavy.primary_email}")
    (page,) = await answered(stack)
    assert "Page 1 of" in texts(page)


async def test_a_reply_in_a_thread_of_the_dm_is_answered_in_that_thread(stack):
    await stack.sender.dm("janet doe", thread_ts="1700000000.000100", ts="1700000100.000100")
    (card,) = await answered(stack)
    assert card["thread_ts"] == "1700000000.000100"
    assert "Janet Doe" in texts(card)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"user": DEFAULT_BOT_USER_ID, "bot_id": DEFAULT_BOT_ID}, id="own-message"),
        pytest.param({"subtype": "bot_message", "bot_id": "B0OTHER"}, id="bot_message"),
        pytest.param({"bot_id": "B0OTHER", "user": "U0OTHERBOT"}, id="another-bot"),
        pytest.param({"subtype": "file_share"}, id="file-share"),
        pytest.param({"subtype": "message_deleted", "hidden": True}, id="deletion"),
        pytest.param({"channel_type": "channel", "channel": "C0GENERAL"}, id="in-a-channel"),
        pytest.param({"text": "   "}, id="blank"),
    ],
)
async def test_what_no_person_typed_gets_no_answer(stack, fields):
    text = fields.pop("text", "janet doe")
    await stack.sender.dm(text, **fields)
    await nothing_more_than(stack, 0)
    assert stack.slack.calls("chat.postEphemeral") == []


async def test_an_edited_message_is_not_answered_again(stack):
    await stack.sender.dm("janet doe", ts="1700000100.000100")
    await answered(stack)
    edit = message_changed_event(
        text="janet doe please", previous_text="janet doe", ts="1700000100.000100"
    )
    await stack.sender.event(edit)
    await nothing_more_than(stack, 1)


async def test_a_delivery_slack_retries_is_answered_once(stack):
    first = await stack.sender.dm("janet doe", event_id="Ev0DMRETRY")
    again = await asyncio.gather(
        stack.sender.dm("janet doe", event_id="Ev0DMRETRY"),
        stack.sender.dm("janet doe", event_id="Ev0DMRETRY"),
    )
    assert first.response.status_code == 200
    assert all(sent.response.status_code == 200 for sent in again)
    await answered(stack)
    await nothing_more_than(stack, 1)


async def test_a_stranger_dming_the_bot_is_refused_without_asking_flexmls(stack):
    stack.slack.set_user("U0SHARED", team_id="T0OUTSIDE")  # only users.info says so
    before = spark_calls(stack)
    await stack.sender.dm("janet doe", user="U0SHARED")
    (refusal,) = await answered(stack, channel=dm_channel_id("U0SHARED"))
    assert REFUSED in texts(refusal)
    assert "Janet" not in texts(refusal)
    assert spark_calls(stack) == before


async def test_a_guest_dming_the_bot_is_not_served_with_the_workspace_token(stack):
    stack.slack.set_user("U0GUEST1", is_restricted=True)
    before = spark_calls(stack)
    await stack.sender.dm("janet doe", user="U0GUEST1")
    (refusal,) = await answered(stack, channel=dm_channel_id("U0GUEST1"))
    assert "Guests need their own Flexmls connection" in texts(refusal)
    assert spark_calls(stack) == before


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("x" * 5000, "at most 200", id="oversized"),
        pytest.param("jan' or Id eq '*", "No contact", id="sparkql-injection"),
        pytest.param("<@U0AGENT2>", "Slack member", id="a-slack-member"),
    ],
)
async def test_bad_input_in_a_dm_gets_a_friendly_answer(stack, typed, expected):
    await stack.sender.dm(typed)
    (message,) = await answered(stack)
    assert expected.lower() in texts(message).lower(), texts(message)
    assert "Traceback" not in texts(message)
    valid(message)
