"""Digests end to end: subscribe by slash command, advance the clock, deliver, click through."""

from __future__ import annotations

from activity.digests import run_pass
from devtools.slack_standin.messages import texts
from handlers.poster import SlackPoster
from modes import digest_now
from tests.helpers.stack import button

SALES = "<#C0SALES|sales>"


async def run_digests(stack):
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


async def subscribe(stack, words: str, user_id: str = "U0AGENT1") -> dict:
    return await stack.reply_to(
        (await stack.sender.command(f"digest add {words}", user_id=user_id)).response_url
    )


def posted_digests(stack) -> list[dict]:
    return [
        r.body for r in stack.slack.calls("chat.postMessage") if r.body.get("channel") == "C0SALES"
    ]


async def test_subscribe_deliver_and_open_a_card_from_the_digest(stack):
    stack.sandbox.state.set_rate_limit({"limit": 1500, "window_s": 300})
    for name in ("janet doe", "jane.doe@example.org", "O'Brien"):
        await stack.reply_to((await stack.sender.command(name)).response_url)
    stack.clock.advance(days=1)  # the lookups left yesterday's snapshots: today shows movement
    confirmation = await subscribe(stack, f"{SALES} 09:00")
    assert "Everyone in" in texts(confirmation) and "<#C0SALES>" in texts(confirmation)
    assert "America/Denver" in texts(confirmation)  # the subscriber's Slack time zone

    report = await run_digests(stack)  # 08:00 in Denver: not yet
    assert report.posted == 0 and posted_digests(stack) == []
    stack.clock.advance(hours=1, minutes=1)
    report = await run_digests(stack)
    assert report.posted == 1, report.summary()
    (digest,) = posted_digests(stack)
    assert "Morning digest" in texts(digest)
    assert "Jane Doe" in texts(digest)  # she moved; the others show under "and 2 more"
    assert (await run_digests(stack)).posted == 0  # once a day

    card_button = button(digest, "digest_open")
    clicked = await stack.sender.action(
        card_button["action_id"],
        card_button["value"],
        user_id="U0AGENT2",
        is_ephemeral=False,
        message_ts="1700000000.000100",
    )
    card = await stack.reply_to(clicked.response_url)
    assert card["response_type"] == "ephemeral" and card["replace_original"] is False
    assert card["blocks"][0]["type"] == "header"

    stack.clock.advance(days=1)
    await run_digests(stack)
    assert len(posted_digests(stack)) == 2
    assert stack.sandbox.stats["rate_limited"] == 0


async def test_a_big_book_pages_with_more(stack):
    await subscribe(stack, f"{SALES} 08:30 all")
    stack.clock.advance(hours=1)
    await run_digests(stack)
    (digest,) = posted_digests(stack)
    more = button(digest, "digest_more")
    assert more["text"]["text"] == "More"
    clicked = await stack.sender.action(
        more["action_id"],
        more["value"],
        channel_id="C0SALES",
        is_ephemeral=False,
        message_ts="1700000000.000200",
    )
    page = await stack.reply_to(clicked.response_url)
    assert "page 1 of" in texts(page).lower()
    nxt = button(page, "digest_more:next")  # on the ephemeral page, in the same channel
    clicked = await stack.sender.action(nxt["action_id"], nxt["value"], channel_id="C0SALES")
    second = await stack.reply_to(clicked.response_url)
    assert "page 2 of" in texts(second).lower() and second["replace_original"] is True


async def test_list_and_remove_only_by_the_subscriber_or_an_admin(stack):
    await subscribe(stack, f"{SALES} 07:00")
    listing = await stack.reply_to((await stack.sender.command("digest list")).response_url)
    assert "#1" in texts(listing)
    refused = await stack.reply_to(
        (await stack.sender.command("digest remove 1", user_id="U0INTRUDER")).response_url
    )
    assert "Only the person who added" in texts(refused)
    stack.slack.set_user("U0ADMIN", is_admin=True)
    removed = await stack.reply_to(
        (await stack.sender.command("digest remove 1", user_id="U0ADMIN")).response_url
    )
    assert "removed" in texts(removed).lower(), texts(removed)
    empty = await stack.reply_to((await stack.sender.command("digest list")).response_url)
    assert "No digests yet" in texts(empty)


async def test_bad_digest_arguments_get_a_hint(stack):
    for words, hint in (
        ("banana", "don't understand"),
        ("25:00", "25:00"),
        ("#notachannel", "Slack's suggestions"),
        ("tag:", "Say which tag"),
    ):
        reply = await subscribe(stack, words)
        assert hint in texts(reply), texts(reply)
    assert (
        stack.bot.services.db.execute("SELECT count(*) FROM digest_subscriptions").fetchone()[0]
        == 0
    )


async def test_the_digest_defaults_to_this_channel_at_eight(stack):
    reply = await stack.reply_to(
        (await stack.sender.command("digest add", channel_id="C0HERE")).response_url
    )
    assert "<#C0HERE>" in texts(reply) and "08:00" in texts(reply)


async def test_digest_now_runs_one_pass_and_prints_a_summary(stack, capsys):
    await subscribe(stack, f"{SALES} 00:00")  # due whatever the real time of day
    rc = await digest_now(stack.bot.services.settings)
    assert rc == 0
    out = capsys.readouterr().out
    assert "1 posted" in out and "contacts read" in out
    assert len(posted_digests(stack)) == 1
    assert await digest_now(stack.bot.services.settings) == 0
    assert "0 due" in capsys.readouterr().out  # exactly once, even across processes' passes
    assert len(posted_digests(stack)) == 1
