"""Digests re-check who and where at delivery time; `digest list` shows only your own.

Reviewer's item 1 (medium): `digest add` checked the channel and the person once, and every
later pass posted regardless. An agent adds a digest of the whole book to #sales with the
workspace token; #sales then becomes Slack Connect, the agent leaves it, is made a guest or is
deactivated: the next pass still posted the book there. Now every delivery asks Slack again,
before anything is read from Flexmls, and a refusal skips the day once, with one DM to the
subscriber. When Slack can't answer, nothing is posted and a later pass asks again.

Reviewer's item 2 (low): `digest list` showed anyone every digest in the team, tags and
channels included. Now it shows the viewer's own; workspace admins and owners see them all.

Every test subscribes with a signed slash command to the running bot, changes what the
stand-in Slack says (`set_channel`, `set_user`, `add_fault`), runs a delivery pass with the
injected clock, and asserts on what reached Slack and the Spark sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest

from activity.digests import PassReport, run_pass
from devtools.sandbox import DEMO_ACCOUNT_ID
from devtools.slack_standin.messages import texts
from handlers.poster import SlackPoster
from storage import Connection, save_connection
from tests.helpers.stack import Stack

TEAM = "T0STANDIN"
AGENT, TEAMMATE, ADMIN = "U0AGENT1", "U0MATE01", "U0ADMIN1"
SALES, LISTINGS = "C0SALES", "C0LISTING"
CHECKS = ("users.info", "conversations.info", "conversations.members")


@pytest.fixture
def workspace(stack: Stack) -> None:
    """Three members of the installed team, and two channels they are all in."""
    slack = stack.slack
    for user in (AGENT, TEAMMATE):
        slack.set_user(user)
    slack.set_user(ADMIN, is_admin=True)
    for channel in (SALES, LISTINGS):
        slack.set_channel(channel, members=[AGENT, TEAMMATE, ADMIN])


async def command(stack: Stack, text: str, *, user_id: str = AGENT) -> dict[str, Any]:
    sent = await stack.sender.command(text, user_id=user_id, channel_id=SALES)
    return await stack.reply_to(sent.response_url)


async def subscribe_sales(stack: Stack) -> None:
    """AGENT adds a digest of the whole book to #sales, due now (08:00 in Denver)."""
    reply = await command(stack, f"digest add <#{SALES}|sales> 08:00 all")
    assert "Digest added" in texts(reply), texts(reply)


async def run_digests(stack: Stack) -> PassReport:
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


def posted_in(stack: Stack, channel_id: str) -> list[dict[str, Any]]:
    return [
        r.body
        for r in stack.slack.calls("chat.postMessage")
        if r.body.get("channel") == channel_id and r.ok
    ]


def spark_requests(stack: Stack) -> int:
    return len(stack.sandbox.requests)


def slack_checks(stack: Stack) -> int:
    return sum(len(stack.slack.calls(method)) for method in CHECKS)


async def assert_held_back(stack: Stack, *, dms: int, says: str = "") -> None:
    """A pass posts nothing to #sales and reads nothing from Flexmls; a second pass the same
    day doesn't ask Slack again or DM again (the day is skipped, not retried every minute)."""
    before = spark_requests(stack)
    report = await run_digests(stack)
    assert report.posted == 0 and report.skipped == 1, report.summary()
    assert posted_in(stack, SALES) == []
    assert spark_requests(stack) == before, "Flexmls was read for a digest that won't be posted"
    told = posted_in(stack, AGENT)
    assert len(told) == dms, [texts(m) for m in told]
    if dms:
        assert says in texts(told[0]), texts(told[0])
        assert "/activity digest remove 1" in texts(told[0])

    checks = slack_checks(stack)
    stack.clock.advance(minutes=5)
    report = await run_digests(stack)
    assert report.due == 0 and report.posted == 0, report.summary()
    assert slack_checks(stack) == checks  # nobody asked Slack again today
    assert posted_in(stack, SALES) == [] and len(posted_in(stack, AGENT)) == dms


def connect_directly(stack: Stack, user_id: str) -> None:
    """Store an OAuth connection for `user_id`, as a finished connect flow would."""
    services = stack.bot.services
    tokens = stack.sandbox.state.issue_tokens(DEMO_ACCOUNT_ID)
    now = stack.clock()
    save_connection(
        services.db,
        services.cipher,
        Connection(
            team_id=TEAM,
            user_id=user_id,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            expires_at=None,
            spark_user_id=DEMO_ACCOUNT_ID,
            spark_user_name="Avery Agent",
            kind="oauth",
            status="ok",
            connected_at=now,
            updated_at=now,
        ),
    )


# -- the normal case ------------------------------------------------------------------------------


@pytest.mark.usefixtures("workspace")
async def test_a_digest_whose_subscriber_and_channel_are_still_fine_posts_once(stack):
    await subscribe_sales(stack)
    people, channels = (
        len(stack.slack.calls("users.info")),
        len(stack.slack.calls("conversations.info")),
    )
    report = await run_digests(stack)
    assert report.posted == 1 and not report.errors, report.summary()
    assert len(posted_in(stack, SALES)) == 1
    assert posted_in(stack, AGENT) == []  # no DM
    # It asked Slack about the person and the channel at delivery time, not only at `add`.
    asked = stack.slack.calls("users.info")[people:]
    assert [c.body.get("user") for c in asked] == [AGENT]
    looked = stack.slack.calls("conversations.info")[channels:]
    assert [c.body.get("channel") for c in looked] == [SALES]
    assert (await run_digests(stack)).posted == 0  # once a day
    assert len(posted_in(stack, SALES)) == 1


# -- the channel changed -------------------------------------------------------------------------


@pytest.mark.usefixtures("workspace")
async def test_a_channel_that_became_slack_connect_gets_nothing_and_the_subscriber_one_dm(stack):
    await subscribe_sales(stack)
    stack.slack.set_channel(SALES, ext_shared=True, members=[AGENT, TEAMMATE, ADMIN])
    await assert_held_back(stack, dms=1, says="Slack Connect")


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"members": [TEAMMATE, ADMIN]}, "no longer in that channel"),  # the agent left
        ({"members": [AGENT], "pending_ext_shared": True}, "Slack Connect"),  # invitation out
        ({"members": [AGENT], "archived": True}, "archived"),
        ({"members": [AGENT], "private": True, "bot_member": False}, "invite me back"),
    ],
    ids=["subscriber-left", "pending-slack-connect", "archived", "bot-removed-from-private"],
)
async def test_a_channel_the_digest_may_no_longer_go_to_gets_nothing(stack, change, says):
    await subscribe_sales(stack)
    stack.slack.set_channel(SALES, **change)
    await assert_held_back(stack, dms=1, says=says)


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize("bot_env", [{"DIGEST_CHANNELS": SALES}])
async def test_a_slack_connect_channel_the_admin_listed_still_gets_its_digest(stack):
    await subscribe_sales(stack)
    stack.slack.set_channel(SALES, ext_shared=True, members=[AGENT])
    report = await run_digests(stack)
    assert report.posted == 1, report.summary()


# -- the subscriber changed ----------------------------------------------------------------------


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize("kind", ["is_restricted", "is_ultra_restricted"])
async def test_a_subscriber_made_a_guest_gets_nothing_read_with_the_workspace_token(stack, kind):
    await subscribe_sales(stack)
    stack.slack.set_user(AGENT, **{kind: True})
    await assert_held_back(stack, dms=1, says="/activity connect")


@pytest.mark.usefixtures("workspace")
async def test_a_guest_with_their_own_connection_still_gets_their_digest(stack):
    await subscribe_sales(stack)
    stack.slack.set_user(AGENT, is_restricted=True)
    connect_directly(stack, AGENT)
    report = await run_digests(stack)
    assert report.posted == 1, report.summary()
    assert posted_in(stack, AGENT) == []


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize(
    "change",
    [{"deleted": True}, {"is_stranger": True}, {"team_id": "T0ELSEWHERE"}],
    ids=["deactivated", "stranger", "other-team"],
)
async def test_a_subscriber_no_longer_in_the_team_gets_nothing_posted(stack, change):
    await subscribe_sales(stack)
    stack.slack.set_user(AGENT, **change)
    await assert_held_back(stack, dms=0)  # and nothing sent outside the workspace either


# -- Slack can't answer ---------------------------------------------------------------------------


@pytest.mark.usefixtures("workspace")
@pytest.mark.parametrize(
    ("method", "status"),
    [("conversations.info", 500), ("users.info", 503), ("conversations.members", 429)],
)
async def test_when_slack_cant_answer_nothing_is_posted_and_a_later_pass_retries(
    stack, method, status
):
    await subscribe_sales(stack)
    # Failing through the bot's own retries, for as long as the outage lasts.
    stack.slack.add_fault(method=method, status=status, retry_after=0, times=None)
    before = spark_requests(stack)
    report = await run_digests(stack)
    assert report.posted == 0 and report.retry_later == 1 and report.skipped == 0, report.summary()
    assert posted_in(stack, SALES) == [] and posted_in(stack, AGENT) == []
    assert spark_requests(stack) == before
    stack.clock.advance(minutes=1)
    assert (await run_digests(stack)).retry_later == 1  # still down: still nothing
    assert posted_in(stack, SALES) == []

    stack.slack.clear_faults()
    stack.clock.advance(minutes=1)
    report = await run_digests(stack)
    assert report.posted == 1, report.summary()
    assert len(posted_in(stack, SALES)) == 1 and posted_in(stack, AGENT) == []


# -- digest list -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("workspace")
async def test_digest_list_shows_your_own_and_an_admin_sees_all(stack):
    await subscribe_sales(stack)
    reply = await command(
        stack, f"digest add <#{LISTINGS}|listings> 07:00 tag:Past Client", user_id=TEAMMATE
    )
    assert "Digest added" in texts(reply), texts(reply)

    mine = texts(await command(stack, "digest list"))
    assert "#1" in mine and f"<#{SALES}>" in mine
    assert "Past Client" not in mine and f"<#{LISTINGS}>" not in mine and "#2" not in mine
    theirs = texts(await command(stack, "digest list", user_id=TEAMMATE))
    assert "Past Client" in theirs and f"<#{SALES}>" not in theirs

    everything = texts(await command(stack, "digest list", user_id=ADMIN))
    assert "#1" in everything and "#2" in everything and "Past Client" in everything

    # Removing keeps its rules: the owner or an admin.
    refused = texts(await command(stack, "digest remove 2"))
    assert "Only the person who added" in refused
    removed = texts(await command(stack, "digest remove 2", user_id=ADMIN))
    assert "removed" in removed.lower(), removed
