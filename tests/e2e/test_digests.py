"""Digests end to end: subscribe by slash command, advance the clock, deliver, click through."""

from __future__ import annotations

import datetime as dt

from activity.digests import run_pass, stored_digest
from devtools.sandbox import DEMO_ACCOUNT_ID
from devtools.slack_standin.messages import buttons, texts
from handlers.poster import SlackPoster
from modes import digest_now
from storage import list_subscriptions
from tests.helpers.stack import button

SALES = "<#C0SALES|sales>"


async def run_digests(stack):
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


async def subscribe(stack, words: str, user_id: str = "U0AGENT1") -> dict:
    return await stack.reply_to(
        (await stack.sender.command(f"digest add {words}", user_id=user_id)).response_url
    )


def stored_count(stack) -> int:
    db = stack.bot.services.db
    return db.execute("SELECT count(*) FROM digest_subscriptions").fetchone()[0]


def posted_digests(stack) -> list[dict]:
    return [
        r.body for r in stack.slack.calls("chat.postMessage") if r.body.get("channel") == "C0SALES"
    ]


async def test_subscribe_deliver_and_open_a_card_from_the_digest(stack):
    stack.sandbox.state.set_rate_limit({"limit": 1500, "window_s": 300})
    for name in ("janet doe", "jane.doe@example.org", "sean o'brien"):
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


# -- issue 13: a digest for a phone ------------------------------------------------------------


LINES = ("digest_heating_", "digest_cooling_", "digest_active_", "digest_mover_")


def named_in(message: dict) -> list[str]:
    """Each contact the post names: one per heating/cooling/mover/active line and table row."""
    names = []
    for block in message["blocks"]:
        role = block.get("block_id", "").split(".")[0]
        if block["type"] == "table":
            names += [row[0]["text"] for row in block["rows"][1:]]
            assert len(block["rows"][0]) <= 3  # narrow enough for a phone
        elif role.startswith(LINES) and not role.endswith("_title"):
            names.append(block["text"]["text"].split("*")[1])
    return names


async def test_a_digest_tells_one_story_and_names_each_contact_once(stack):
    for query in ("janet doe", "jane.doe@example.org", "sean o'brien", "priya patel", "zoe"):
        await stack.reply_to((await stack.sender.command(query)).response_url)
    stack.clock.advance(days=1)  # yesterday's snapshots: today shows who moved
    await subscribe(stack, f"{SALES} 09:00")
    stack.clock.advance(hours=1, minutes=1)
    assert (await run_digests(stack)).posted == 1
    (digest,) = posted_digests(stack)
    named = named_in(digest)
    assert named and len(named) == len(set(named)), named
    shown = texts(digest)
    assert "Heating up" in shown and "points" in shown and "view" in shown
    heating = [b for b in digest["blocks"] if b["block_id"].startswith("digest_heating_1")]
    assert heating and " view" in heating[0]["text"]["text"]  # what they did, units named
    assert "Heating up" in digest["text"] or "heating up" in digest["text"]


async def test_recent_covers_every_contact_looked_up_in_30_days_not_just_20(stack):
    book = stack.sandbox.state.brokerage.contacts_for(DEMO_ACCOUNT_ID)[:32]
    for contact in book:
        reply = await stack.reply_to((await stack.sender.command(contact.id)).response_url)
        assert reply["blocks"], texts(reply)
        stack.clock.advance(hours=20)  # 32 lookups over 27 days
    await subscribe(stack, f"{SALES} 00:00 recent")
    assert (await run_digests(stack)).posted == 1
    (digest,) = posted_digests(stack)
    assert "32 contacts" in digest["text"], digest["text"]
    services = stack.bot.services
    (subscription,) = list_subscriptions(services.db, "T0STANDIN")
    day = dt.date.fromisoformat(button(digest, "digest_more")["value"].split("|")[2])
    stored = stored_digest(services, subscription, day)
    assert stored is not None
    assert {e.contact_id for e in stored.entries} == {c.id for c in book}


async def test_a_tag_that_doesnt_exist_is_refused_with_the_tags_that_do(stack):
    reply = await subscribe(stack, f"{SALES} 08:00 tag:Nonexistent")
    said = texts(reply)
    assert "No contact is tagged “Nonexistent”" in said, said
    for tag in stack.sandbox.state.brokerage.tags_for(DEMO_ACCOUNT_ID):
        assert tag in said
    assert stored_count(stack) == 0
    reply = await subscribe(stack, f"{SALES} 08:00 tag:hot lead")
    assert "Digest added" in texts(reply) and "Hot Lead" in texts(reply), texts(reply)
    (subscription,) = list_subscriptions(stack.bot.services.db, "T0STANDIN")
    assert subscription.scope == "tag:Hot Lead"  # as Flexmls spells it


async def test_a_key_that_may_not_list_tags_gets_the_digest_with_a_note(stack):
    stack.sandbox.add_fault(kind="status", route="/v1/contacts/tags", status=403, code=1500)
    reply = await subscribe(stack, f"{SALES} 08:00 tag:Byuer")
    assert "Digest added" in texts(reply) and "couldn't check that tag with Flexmls" in texts(reply)
    assert stored_count(stack) == 1


async def test_digest_add_me_sends_who_to_call_today_to_the_subscribers_dm(stack):
    for query in ("janet doe", "sean o'brien", "priya patel"):
        await stack.reply_to((await stack.sender.command(query)).response_url)
    stack.clock.advance(days=1)
    reply = await subscribe(stack, "me 08:00")
    assert texts(reply).startswith("Private digest added"), texts(reply)
    assert "Only you see it" in texts(reply) and reply["response_type"] == "ephemeral"
    (opened,) = stack.slack.calls("conversations.open")
    assert opened.body["users"] == "U0AGENT1"

    assert (await run_digests(stack)).posted == 1
    (dm,) = [
        r.body for r in stack.slack.calls("chat.postMessage") if r.body["channel"] == "D0AGENT1"
    ]
    assert dm["text"].startswith("Who to call today")
    cards = [b for b in buttons(dm) if b["action_id"].startswith("digest_open")]
    assert len(cards) == 3
    assert posted_digests(stack) == []  # nothing in a channel

    clicked = await stack.sender.action(
        cards[0]["action_id"], cards[0]["value"], channel_id="D0AGENT1", is_ephemeral=False
    )
    card = await stack.reply_to(clicked.response_url)
    assert card["response_type"] == "ephemeral" and card["blocks"][0]["type"] == "header"


async def command(stack, text: str, user_id: str = "U0AGENT1") -> dict:
    return await stack.reply_to((await stack.sender.command(text, user_id=user_id)).response_url)


async def test_digest_preview_shows_what_would_post_privately_and_posts_nothing(stack):
    for name in ("janet doe", "jane.doe@example.org"):
        await command(stack, name)
    await subscribe(stack, f"{SALES} 07:00")
    posts_before = len(stack.slack.calls("chat.postMessage"))
    shown = await command(stack, "digest preview 1")
    assert "Preview of digest #1" in texts(shown) and "Nothing was posted" in texts(shown)
    assert "Janet Doe" in texts(shown)
    assert shown.get("response_type", "ephemeral") == "ephemeral"
    assert not any(b["action_id"].startswith("digest_more") for b in buttons(shown))
    assert len(stack.slack.calls("chat.postMessage")) == posts_before  # nothing went out
    db = stack.bot.services.db
    assert db.execute("SELECT count(*) FROM digest_deliveries").fetchone()[0] == 0


async def test_digest_preview_refuses_other_peoples_digests_and_bad_numbers(stack):
    await subscribe(stack, f"{SALES} 07:00")
    calls_before = len(stack.sandbox.requests)
    for text, user, hint in (
        ("digest preview 1", "U0INTRUDER", "only your own digests"),
        ("digest preview 99", "U0AGENT1", "There is no digest #99"),
        ("digest preview", "U0AGENT1", "Say which digest"),
        ("digest preview 1; DROP TABLE", "U0AGENT1", "Say which digest"),
        ("digest preview " + "9" * 400, "U0AGENT1", "Say which digest"),
    ):
        reply = await command(stack, text, user_id=user)
        assert hint in texts(reply), (text, texts(reply))
    assert len(stack.sandbox.requests) == calls_before  # nothing was read for a refusal


async def test_a_digest_too_big_to_preview_says_so_before_reading_anything(stack, monkeypatch):
    import activity.digests

    monkeypatch.setattr(activity.digests, "PREVIEW_MAX_CONTACTS", 2)
    for name in ("janet doe", "jane.doe@example.org", "priya patel"):
        await command(stack, name)
    await subscribe(stack, f"{SALES} 07:00")
    before = [r.path for r in stack.sandbox.requests]
    reply = await command(stack, "digest preview 1")
    assert "more than 2 contacts" in texts(reply)
    assert [r.path for r in stack.sandbox.requests] == before  # "recent" needs no Spark listing
