"""Private digests (`digest add me`) go only to the subscriber's own DM with the bot.

`digest add me` asks Slack for the asker's DM with the bot (`conversations.open` with
users=<the asker>: it can only name that one DM), and every delivery asks again before
anything is read from Flexmls, so a digest never reaches anyone else's DM: not by naming a DM
or a person, not by typing the command inside someone else's DM, not by a subscription whose
stored channel was changed. A "More" click on a private digest pages only for its subscriber,
even when a forged payload claims to come from the subscriber's DM.

Every test sends signed slash commands and clicks to the running bot over HTTP and asserts on
what reached the stand-in Slack, the Spark sandbox and the database.
"""

from __future__ import annotations

from typing import Any

import pytest

from activity.digests import run_pass
from devtools.slack_standin.messages import buttons, texts
from handlers.poster import SlackPoster
from tests.helpers.stack import Stack, button

AGENT, OTHER = "U0AGENT1", "U0OTHER1"
AGENT_DM, OTHER_DM = "D0AGENT1", "D0OTHER1"  # the stand-in's DMs of each with the bot
STALE = "out of date or damaged"


async def command(stack: Stack, text: str, **fields: Any) -> dict[str, Any]:
    return await stack.reply_to((await stack.sender.command(text, **fields)).response_url)


def stored(stack: Stack) -> list[tuple[str, str]]:
    db = stack.bot.services.db
    return [tuple(r) for r in db.execute("SELECT user_id, channel_id FROM digest_subscriptions")]


async def run_digests(stack: Stack) -> None:
    services = stack.bot.services
    report = await run_pass(services, SlackPoster(stack.bot.bot_client, services))
    assert not [e for e in report.errors if "not_your_dm" not in e], report.summary()


def posts_to(stack: Stack, channel: str) -> list[dict[str, Any]]:
    return [r.body for r in stack.slack.calls("chat.postMessage") if r.body["channel"] == channel]


@pytest.mark.parametrize(
    ("words", "typed_in", "says"),
    [
        (f"<#{OTHER_DM}> 08:00", "C0SALES", "not to people"),  # a DM linked as a channel
        (f"<@{OTHER}> 08:00", "C0SALES", "not to people"),  # a person
        (f"me <@{OTHER}> 08:00", "C0SALES", "not to people"),  # me, and them
        ("08:00", OTHER_DM, "digest add me"),  # typed inside someone else's DM
        ("08:00", "D0AGENTOTHER", "digest add me"),  # a DM between two people
        (f"me <#{OTHER_DM}>", "C0SALES", "not to people"),
    ],
)
async def test_nobody_can_point_a_digest_at_someone_elses_dm(stack, words, typed_in, says):
    reply = await command(stack, f"digest add {words}", user_id=AGENT, channel_id=typed_in)
    assert says in texts(reply), texts(reply)
    assert stored(stack) == []
    opened = [c.body.get("users") for c in stack.slack.calls("conversations.open")]
    assert all(users == AGENT for users in opened), opened


async def test_me_typed_anywhere_means_the_askers_own_dm(stack):
    """Typed in #sales, or in someone else's DM: the digest still goes to the asker's DM."""
    for typed_in in ("C0SALES", OTHER_DM):
        reply = await command(stack, "digest add me 08:00", user_id=AGENT, channel_id=typed_in)
        assert "Private digest added" in texts(reply), texts(reply)
    assert stored(stack) == [(AGENT, AGENT_DM), (AGENT, AGENT_DM)]


async def test_a_stored_dm_that_isnt_the_subscribers_gets_nothing(stack):
    """Someone changed the stored channel of a private digest to another person's DM: the
    delivery asks Slack, finds it isn't the subscriber's own, posts nothing there and reads
    nothing from Flexmls."""
    await command(stack, "janet doe", user_id=AGENT)
    reply = await command(stack, "digest add me 08:00", user_id=AGENT)
    assert "Private digest added" in texts(reply)
    db = stack.bot.services.db
    db.execute("UPDATE digest_subscriptions SET channel_id = ?", [OTHER_DM])
    db.conn.commit()
    before = len(stack.sandbox.requests)
    await run_digests(stack)
    assert posts_to(stack, OTHER_DM) == [] and posts_to(stack, OTHER) == []
    assert len(stack.sandbox.requests) == before
    (told,) = posts_to(stack, AGENT)  # the subscriber hears why, in their own DM
    assert "wasn't posted" in texts(told)


async def private_digest_with_more(stack: Stack) -> dict[str, Any]:
    """AGENT's private digest of the whole book (more than ten contacts: a More button)."""
    reply = await command(stack, "digest add me 08:00 all", user_id=AGENT)
    assert "Private digest added" in texts(reply), texts(reply)
    await run_digests(stack)
    (dm,) = posts_to(stack, AGENT_DM)
    assert dm["text"].startswith("Who to call today")
    assert len([b for b in buttons(dm) if b["action_id"].startswith("digest_open")]) == 10
    return dm


async def click_more(stack: Stack, value: str, user_id: str, channel_id: str) -> dict[str, Any]:
    clicked = await stack.sender.action(
        "digest_more", value, user_id=user_id, channel_id=channel_id, is_ephemeral=False
    )
    return await stack.reply_to(clicked.response_url)


async def test_more_on_a_private_digest_pages_only_for_its_subscriber(stack):
    more = button(await private_digest_with_more(stack), "digest_more")
    # A forged payload: another member, claiming the click came from the agent's DM.
    refused = await click_more(stack, more["value"], OTHER, AGENT_DM)
    assert STALE in texts(refused) and "page 1 of" not in texts(refused).lower()
    # From the other member's own DM: the value isn't signed for it.
    refused = await click_more(stack, more["value"], OTHER, OTHER_DM)
    assert STALE in texts(refused)
    page = await click_more(stack, more["value"], AGENT, AGENT_DM)
    assert "page 1 of" in texts(page).lower(), texts(page)
