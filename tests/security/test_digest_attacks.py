"""Digests read or aimed where they shouldn't be ("Trust", items 2 and 4).

Item 2: a digest's "More" button used to carry `d1|<subscription>|<date>|<page>` and the click
was checked against the team only, so anyone could forge a value and page through a private
channel's "all contacts" digest from anywhere. Now the value is signed for its digest and
channel, and a page opens only for a click in the digest's own channel.

Item 4: `digest add` used to accept any channel: one the person isn't in, a private one the bot
can't post in, a Slack Connect channel, a person (`<@U…>` silently became the current channel),
a DM, any number of digests, and a whole book read with the workspace token. Each is refused now.

Every test here sends signed slash commands and clicks to the running bot over HTTP; the
stand-in Slack answers `conversations.info` / `conversations.members` for declared channels.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from activity.digests import MAX_PER_USER, run_pass, stored_digest
from devtools.sandbox import DEMO_ACCOUNT_ID
from devtools.slack_standin.messages import texts
from handlers.poster import SlackPoster
from storage import Connection, list_subscriptions, save_connection
from tests.helpers.stack import OAUTH_ENV, Stack, button

TEAM = "T0STANDIN"
AGENT, BOARD_MEMBER = "U0AGENT1", "U0BOARD1"  # the attacker, and a member of the private board
SALES, BOARD = "C0SALES", "C0BOARD"  # a channel the agent is in; a private one they aren't in
FILLER = tuple(f"U0FILL{n:03d}" for n in range(300))  # so finding the agent takes two pages
STALE = "out of date or damaged"


@pytest.fixture
def channels(stack: Stack) -> None:
    """The workspace's channels, as Slack would describe them to the bot."""
    slack = stack.slack
    slack.set_channel(SALES, name="sales", members=[*FILLER, AGENT, BOARD_MEMBER])
    slack.set_channel(BOARD, name="board", private=True, members=[BOARD_MEMBER])
    slack.set_channel("C0PUBLIC", name="open-house", members=[BOARD_MEMBER])
    slack.set_channel("C0SECRET", name="secret", private=True, bot_member=False, members=[AGENT])
    slack.set_channel("C0EXT", name="partner-agency", ext_shared=True, members=[AGENT])
    slack.set_channel("C0OLD", name="old", archived=True, members=[AGENT])


def link(channel_id: str) -> str:
    return f"<#{channel_id}|{channel_id[2:].lower()}>"


async def command(stack: Stack, text: str, **fields: Any) -> dict[str, Any]:
    """Run `/activity <text>` and return the reply."""
    return await stack.reply_to((await stack.sender.command(text, **fields)).response_url)


def stored(stack: Stack) -> int:
    db = stack.bot.services.db
    return db.execute("SELECT count(*) FROM digest_subscriptions").fetchone()[0]


async def run_digests(stack: Stack) -> None:
    services = stack.bot.services
    report = await run_pass(services, SlackPoster(stack.bot.bot_client, services))
    assert not report.errors, report.summary()


def posted_in(stack: Stack, channel_id: str) -> list[dict[str, Any]]:
    return [
        r.body
        for r in stack.slack.calls("chat.postMessage")
        if r.body.get("channel") == channel_id and r.ok
    ]


async def board_digest(stack: Stack) -> dict[str, Any]:
    """The board member subscribes the private board to a digest of all contacts; it posts."""
    reply = await command(
        stack, f"digest add {link(BOARD)} 07:00 all", user_id=BOARD_MEMBER, channel_id=BOARD
    )
    assert "Digest added" in texts(reply), texts(reply)
    await run_digests(stack)
    (digest,) = posted_in(stack, BOARD)
    return digest


def board_names(stack: Stack, day: str) -> list[str]:
    """Every contact name in the board's digest of `day`, as "More" would page through it."""
    services = stack.bot.services
    (subscription,) = list_subscriptions(services.db, TEAM, BOARD_MEMBER)
    digest = stored_digest(services, subscription, dt.date.fromisoformat(day))
    assert digest is not None and len(digest.entries) > 20
    return [entry.name for entry in digest.entries]


async def click(stack: Stack, value: str, *, user_id: str, channel_id: str) -> dict[str, Any]:
    clicked = await stack.sender.action(
        "digest_more",
        value,
        user_id=user_id,
        channel_id=channel_id,
        is_ephemeral=False,
        message_ts="1700000000.000100",
    )
    return await stack.reply_to(clicked.response_url)


def assert_refused(reply: dict[str, Any], names: list[str]) -> None:
    shown = texts(reply)
    assert STALE in shown, shown
    assert "page 1 of" not in shown.lower()
    leaked = [name for name in names if name and name in shown]
    assert leaked == [], f"digest content leaked: {leaked[:5]}"


# -- item 2: "More" on a digest ----------------------------------------------------------------


@pytest.mark.usefixtures("channels")
async def test_a_forged_more_value_does_not_read_a_private_channels_digest(stack):
    more = button(await board_digest(stack), "digest_more")
    day = more["value"].split("|")[2]
    names = board_names(stack, day)
    # The attacker guesses the subscription id and the date: the old, unsigned format...
    forged_old = f"d1|1|{day}|1"
    # ...or the new shape with a made-up signature.
    forged_new = f"d2|1|{day}|1|" + "A" * 43
    for forged in (forged_old, forged_new):
        for where in (SALES, BOARD):  # from their own channel, and pretending to be in the board
            reply = await click(stack, forged, user_id=AGENT, channel_id=where)
            assert_refused(reply, names)


@pytest.mark.usefixtures("channels")
async def test_a_genuine_more_value_clicked_from_another_channel_is_refused(stack):
    more = button(await board_digest(stack), "digest_more")
    names = board_names(stack, more["value"].split("|")[2])
    # The value leaked (copied out of the board by someone): it works only in the board.
    reply = await click(stack, more["value"], user_id=AGENT, channel_id=SALES)
    assert_refused(reply, names)


def tamper(value: str, part: str, day_before: str) -> str:
    parts = value.split("|")
    if part == "page":
        parts[3] = "2"
    elif part == "date":
        parts[2] = day_before
    elif part == "subscription":
        parts[1] = str(int(parts[1]) + 1)
    elif part == "signature" and len(parts) == 5:
        parts[4] = parts[4][:-1] + ("A" if parts[4][-1] != "A" else "B")
    return "|".join(parts)


@pytest.mark.usefixtures("channels")
@pytest.mark.parametrize("part", ["signature", "date", "page", "subscription"])
async def test_a_tampered_more_value_is_refused_even_in_the_right_channel(stack, part):
    await board_digest(stack)  # day 1
    first_day = button(posted_in(stack, BOARD)[0], "digest_more")["value"].split("|")[2]
    # A second digest in the board, so that every tampered value points at something real.
    reply = await command(
        stack, f"digest add {link(BOARD)} 07:00 all", user_id=BOARD_MEMBER, channel_id=BOARD
    )
    assert "Digest added" in texts(reply), texts(reply)
    stack.clock.advance(days=1)
    await run_digests(stack)
    # Day 2's posts: subscription 1, then 2; tampering moves day 2's value of #1 to a page of
    # #1 on day 1, to page 2, or to #2: all real pages of this channel, none signed for this.
    second = button(posted_in(stack, BOARD)[1], "digest_more")["value"]

    reply = await click(
        stack, tamper(second, part, first_day), user_id=BOARD_MEMBER, channel_id=BOARD
    )
    assert STALE in texts(reply), texts(reply)
    assert "page" not in texts(reply).lower()


@pytest.mark.usefixtures("channels")
async def test_the_genuine_more_click_in_the_digests_channel_pages_through(stack):
    more = button(await board_digest(stack), "digest_more")
    page = await click(stack, more["value"], user_id=BOARD_MEMBER, channel_id=BOARD)
    assert "page 1 of" in texts(page).lower(), texts(page)
    nxt = button(page, "digest_more:next")
    clicked = await stack.sender.action(
        nxt["action_id"], nxt["value"], user_id=BOARD_MEMBER, channel_id=BOARD
    )
    second = await stack.reply_to(clicked.response_url)
    assert "page 2 of" in texts(second).lower() and second["replace_original"] is True
    # The Next button of that page is bound to the board too.
    assert_refused(await click(stack, nxt["value"], user_id=AGENT, channel_id=SALES), [])


# -- item 4: where a digest may go -------------------------------------------------------------


@pytest.mark.usefixtures("channels")
@pytest.mark.parametrize(
    ("words", "typed_in", "says"),
    [
        # A public channel the agent isn't in (the bot could post there).
        (f"{link('C0PUBLIC')} 08:00", SALES, "channel you're in"),
        # A private channel the bot isn't in: named, or typed in.
        (f"{link('C0SECRET')} 08:00", SALES, "invite me first"),
        ("08:00", "C0SECRET", "invite me first"),
        # A channel that doesn't exist (or that Slack hides from the bot).
        (f"{link('C0NOWHERE')} 08:00", SALES, "invite me first"),
        # Slack Connect: shared with another organisation.
        (f"{link('C0EXT')} 08:00", SALES, "Slack Connect"),
        # Archived: nobody would read it.
        (f"{link('C0OLD')} 08:00", SALES, "archived"),
        # A person, not a channel: used to subscribe the channel the command was typed in.
        ("<@U0BOARD1> 08:00", SALES, "not to people"),
        ("<@U0BOARD1|board1> all", SALES, "not to people"),
        # A DM: typed in one, or linked as if it were a channel.
        ("08:00", "D0AGENT1", "not to people"),
        ("<#D0AGENT1> 08:00", SALES, "not to people"),
        # `me` is the asker's own DM (tests/security/test_digest_dm.py); not with a channel.
        (f"me {link(SALES)} 08:00", SALES, "not both"),
    ],
)
async def test_digests_go_only_to_channels_the_person_and_the_bot_are_in(
    stack, words, typed_in, says
):
    reply = await command(stack, f"digest add {words}", user_id=AGENT, channel_id=typed_in)
    assert says in texts(reply), texts(reply)
    assert reply["response_type"] == "ephemeral"
    assert stored(stack) == 0


@pytest.mark.usefixtures("channels")
async def test_adding_to_a_channel_checks_membership_across_pages(stack):
    """The agent is the 302nd member of #sales: the bot follows Slack's cursor to find them."""
    reply = await command(stack, f"digest add {link(SALES)} 08:00", user_id=AGENT)
    assert "Digest added" in texts(reply), texts(reply)
    pages = [c for c in stack.slack.calls("conversations.members") if c.body["channel"] == SALES]
    assert len(pages) >= 2 and all(c.ok for c in pages)
    # A public channel the bot isn't in is fine: chat:write.public posts there.
    stack.slack.set_channel("C0LOBBY", members=[AGENT], bot_member=False)
    reply = await command(stack, f"digest add {link('C0LOBBY')}", user_id=AGENT)
    assert "Digest added" in texts(reply), texts(reply)
    assert stored(stack) == 2


@pytest.mark.usefixtures("channels")
@pytest.mark.parametrize("bot_env", [{"DIGEST_CHANNELS": "C0EXT,C0SALES"}])
async def test_a_slack_connect_channel_the_admin_listed_is_allowed(stack):
    reply = await command(stack, f"digest add {link('C0EXT')} 08:00", user_id=AGENT)
    assert "Digest added" in texts(reply), texts(reply)
    assert stored(stack) == 1


@pytest.mark.usefixtures("channels")
async def test_each_person_has_at_most_ten_digests(stack):
    for n in range(MAX_PER_USER):
        reply = await command(stack, f"digest add {link(SALES)} 08:{n:02d}", user_id=AGENT)
        assert "Digest added" in texts(reply), texts(reply)
    reply = await command(stack, f"digest add {link(SALES)} 09:00", user_id=AGENT)
    assert "already have 10 digests" in texts(reply), texts(reply)
    assert stored(stack) == MAX_PER_USER
    # Someone else still may.
    reply = await command(stack, f"digest add {link(SALES)} 09:00", user_id=BOARD_MEMBER)
    assert "Digest added" in texts(reply), texts(reply)


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


@pytest.mark.usefixtures("channels")
@pytest.mark.parametrize("bot_env", [{**OAUTH_ENV, "WORKSPACE_TOKEN_FOR_ALL": "true"}])
@pytest.mark.parametrize("scope", ["all", "tag:Buyer"])
async def test_a_whole_book_digest_needs_the_persons_own_connection(stack, scope):
    """OAuth is set up and the operator lets members look up with the workspace token; a
    digest of a whole book (or a tag) still needs the subscriber's own Flexmls connection."""
    assert (await command(stack, "janet doe", user_id=AGENT))["blocks"]  # the token works
    reply = await command(stack, f"digest add {link(SALES)} 08:00 {scope}", user_id=AGENT)
    refusal = texts(reply)
    assert "with your own account" in refusal and "/activity connect" in refusal, refusal
    assert stored(stack) == 0
    reply = await command(stack, f"digest add {link(SALES)} 08:00 recent", user_id=AGENT)
    assert "Digest added" in texts(reply), texts(reply)  # their own lookups: fine
    connect_directly(stack, AGENT)
    reply = await command(stack, f"digest add {link(SALES)} 08:00 {scope}", user_id=AGENT)
    assert "Digest added" in texts(reply), texts(reply)
    assert stored(stack) == 2
