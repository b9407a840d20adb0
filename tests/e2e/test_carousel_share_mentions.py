"""Carousel paging, sharing a card, and @-mentions, over real HTTP."""

from __future__ import annotations

import asyncio
import re

import pytest

from devtools.slack_standin import app_home_opened_event, app_mention_event
from devtools.slack_standin.messages import buttons, texts
from tests.helpers.stack import button


def page_numbers(message) -> tuple[int, int]:
    match = re.search(r"Page (\d+) of (\d+)", texts(message))
    assert match, texts(message)
    return int(match.group(1)), int(match.group(2))


async def test_carousel_walks_to_the_last_page_and_back(stack):
    heavy = stack.contact("heavy_viewer")
    sent = await stack.sender.command(f"viewed {heavy.primary_email}")
    page = await stack.reply_to(sent.response_url)
    assert any(b["type"] == "carousel" for b in page["blocks"])
    current, total = page_numbers(page)
    assert current == 1 and total > 3
    assert not [b for b in buttons(page) if b["action_id"] == "listings_page:prev"]
    # Jump straight to the last page by clicking Next through a couple of pages, then forge nothing:
    for expected in range(2, 5):
        nxt = button(page, "listings_page:next")
        clicked = await stack.sender.action(nxt["action_id"], nxt["value"])
        page = await stack.reply_to(clicked.response_url)
        assert page["replace_original"] is True
        assert page_numbers(page)[0] == expected
    # The last page: reached through the same value format the buttons use.
    last_value = nxt["value"].rsplit("|", 1)[0] + f"|{total}"
    clicked = await stack.sender.action("listings_page:next", last_value)
    page = await stack.reply_to(clicked.response_url)
    assert page_numbers(page) == (total, total)
    assert not [b for b in buttons(page) if b["action_id"] == "listings_page:next"]
    prev = button(page, "listings_page:prev")
    clicked = await stack.sender.action(prev["action_id"], prev["value"])
    assert page_numbers(await stack.reply_to(clicked.response_url))[0] == total - 1


@pytest.mark.parametrize("bot_env", [{"LISTING_LAYOUT": "sections"}])
async def test_sections_layout_renders_the_same_page_without_a_carousel(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    assert not any(b["type"] == "carousel" for b in page["blocks"])
    assert sum(b["type"] == "section" for b in page["blocks"]) >= 10


async def test_card_button_opens_the_shared_list_and_back_to_card(stack):
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    shared = button(card, "listings_page:shared")
    page = await stack.reply_to(
        (await stack.sender.action(shared["action_id"], shared["value"])).response_url
    )
    assert "shared" in texts(page).lower()
    back = button(page, "open_card")
    again = await stack.reply_to(
        (await stack.sender.action(back["action_id"], back["value"])).response_url
    )
    assert again["blocks"][0]["text"]["text"] == "Janet Doe"


async def test_an_empty_list_says_so(stack):
    quiet = stack.contact("zero_activity")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {quiet.primary_email}")).response_url
    )
    assert "hasn't viewed any listings" in texts(page)


async def test_sharing_posts_a_public_copy_without_buttons_and_keeps_the_private_one(stack):
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    share = button(card, "share_card")
    clicked = await stack.sender.action(share["action_id"], share["value"], user_id="U0SHARER")
    public = await stack.reply_to(clicked.response_url)
    assert public["response_type"] == "in_channel"
    assert public.get("replace_original") is False
    assert buttons(public) == []
    assert "<@U0SHARER>" in texts(public)


async def test_a_mention_in_a_thread_is_answered_ephemerally_in_that_thread(stack):
    event = app_mention_event(
        text="<@U0BOT> activity janet doe",
        user="U0AGENT1",
        channel="C0GENERAL",
        ts="1700000100.000200",
        thread_ts="1700000000.000100",
    )
    sent = await stack.sender.event(event)
    assert sent.response.status_code == 200
    posted = await stack.slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    assert posted.body["channel"] == "C0GENERAL"
    assert posted.body["user"] == "U0AGENT1"
    assert posted.body["thread_ts"] == "1700000000.000100"
    assert "Janet Doe" in texts(posted.body)


async def test_a_mention_outside_a_thread_answers_under_the_mention(stack):
    event = app_mention_event(text="<@U0BOT> janet doe", ts="1700000300.000100")
    await stack.sender.event(event)
    posted = await stack.slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    assert posted.body["thread_ts"] == "1700000300.000100"


async def test_a_retried_mention_is_answered_once(stack):
    event = app_mention_event(text="<@U0BOT> janet doe", ts="1700000200.000100")
    first = await stack.sender.event(event, event_id="Ev0RETRY1")
    retries = await asyncio.gather(
        stack.sender.event(event, event_id="Ev0RETRY1", retry_num=1),
        stack.sender.event(event, event_id="Ev0RETRY1", retry_num=2),
    )
    assert first.response.status_code == 200
    assert all(r.response.status_code == 200 for r in retries)
    await stack.slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    await asyncio.sleep(0.3)
    assert len(stack.slack.calls("chat.postEphemeral")) == 1


async def test_app_home_lists_recent_lookups_and_a_click_answers_in_a_dm(stack):
    await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    await stack.sender.event(app_home_opened_event(user="U0AGENT1"))
    published = await stack.slack.wait_for(lambda r: r.method == "views.publish")
    assert published.body["user_id"] == "U0AGENT1"
    view = published.body["view"]
    assert view["type"] == "home"
    opener = button(view, "open_card")
    assert "Janet Doe" in opener["text"]["text"]
    await stack.sender.action(
        opener["action_id"], opener["value"], view={"id": "V1", "type": "home"}
    )
    dm = await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert dm.body["channel"] == "U0AGENT1"
    assert "Janet Doe" in texts(dm.body)


async def test_from_the_card_the_viewed_list_keeps_the_contact_card_between_back_and_next(stack):
    heavy = stack.contact("heavy_viewer")
    card = await stack.reply_to((await stack.sender.command(heavy.primary_email)).response_url)
    viewed = button(card, "listings_page:viewed")
    page = await stack.reply_to(
        (await stack.sender.action(viewed["action_id"], viewed["value"])).response_url
    )
    (row,) = [b for b in page["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in row["elements"]] == [
        "listings_page:stay_prev",
        "open_card:back",
        "listings_page:next",
    ]
    back = button(page, "open_card")
    again = await stack.reply_to(
        (await stack.sender.action(back["action_id"], back["value"])).response_url
    )
    assert again["blocks"][0]["text"]["text"] == heavy.display_name
