"""The listings carousel on a phone, over real HTTP: `viewed <name>` through the picker keeps its
intent, Back/Card/Next keep their places, each card says when and how often, closed listings are
marked, "View listing" links, and the ContactActivity expansion supported or refused."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from devtools.slack_standin.messages import buttons, texts
from tests.helpers.stack import button

STALE = "That button is out of date or damaged."
LISTING_URL = "https://flexmls.example/listing/{id}?mls={mls}"


def listing_requests(stack, kind: str = "viewed") -> list[Any]:
    return [r for r in stack.sandbox.requests if r.path.endswith(f"/activity/listings/{kind}")]


def cards(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for b in message["blocks"] if b["type"] == "carousel" for card in b["elements"]]


def nav(message: dict[str, Any]) -> list[tuple[str, str]]:
    (row,) = [b for b in message["blocks"] if b["type"] == "actions"]
    return [(e["text"]["text"], e["action_id"]) for e in row["elements"]]


def page_number(message: dict[str, Any]) -> int:
    match = re.search(r"Page (\d+) of (\d+)", texts(message))
    assert match, texts(message)
    return int(match.group(1))


async def click(stack, message: dict[str, Any], action_prefix: str) -> dict[str, Any]:
    b = button(message, action_prefix)
    clicked = await stack.sender.action(b["action_id"], b["value"])
    return await stack.reply_to(clicked.response_url)


# -- `viewed jane doe` → picker → the viewed listings (not the card) -------------------------


@pytest.mark.parametrize(
    ("kind", "title"), [("viewed", "Listings Jane Doe viewed"), ("shared", "Listings shared with")]
)
async def test_a_list_command_that_needs_a_picker_opens_that_list_when_a_contact_is_chosen(
    stack, kind, title
):
    sent = await stack.sender.command(f"{kind} jane doe")
    picker = await stack.reply_to(sent.response_url)
    assert "contacts match" in texts(picker)
    assert (
        f"see the listings {'they viewed' if kind == 'viewed' else 'shared with them'}"
        in (picker["text"])
    )
    jane_ids = {stack.contact("jane_doe").id, stack.contact("jane_doe_2").id}
    choices = [b for b in buttons(picker) if b["action_id"] == "contact_pick"]
    (choice,) = [b for b in choices if b["value"].split("|")[-1] == stack.contact("jane_doe").id]
    assert choice["value"] == f"p1|{kind}|{stack.contact('jane_doe').id}"
    before = len(stack.sandbox.requests)
    clicked = await stack.sender.action(choice["action_id"], choice["value"], user_id="U0AGENT2")
    page = await stack.reply_to(clicked.response_url)
    assert page["replace_original"] is True
    assert page["blocks"][0]["text"]["text"].startswith(title)
    assert "Page 1 of" in texts(page)
    spark = stack.sandbox.requests[before:]
    paths = [r.path for r in spark]
    contact = stack.contact("jane_doe").id
    assert f"/v1/contacts/{contact}/activity/listings/{kind}" in paths
    assert f"/v1/contacts/{contact}/activity" not in paths  # no card was read
    assert not any(p.endswith(tuple(jane_ids - {contact})) for p in paths)


async def test_a_plain_lookup_picker_still_opens_the_card(stack):
    picker = await stack.reply_to((await stack.sender.command("jane doe")).response_url)
    choice = button(picker, "contact_pick")
    assert "|" not in choice["value"]
    card = await click(stack, picker, "contact_pick")
    assert card["blocks"][0]["text"]["text"] == "Jane Doe"


@pytest.mark.parametrize(
    "value",
    [
        "p1|card|{id}",
        "p1|liked|{id}",
        "p1|VIEWED|{id}",
        "p2|viewed|{id}",
        "p1|viewed|{id}|2",
        "p1|viewed|../../my/account",
        "p1|viewed|{id}' Or '1' Eq '1",
        "p1|viewed",
        "v1|viewed|{id}|1",
        "p1|viewed|" + "9" * 65,
    ],
)
async def test_a_forged_pick_gets_the_out_of_date_message_and_reads_nothing(stack, value):
    value = value.format(id=stack.contact("jane_doe").id)
    before = len(stack.sandbox.requests)
    clicked = await stack.sender.action("contact_pick", value)
    assert clicked.response.status_code == 200
    reply = await stack.reply_to(clicked.response_url)
    assert STALE in texts(reply)
    await asyncio.sleep(0.05)
    assert stack.sandbox.requests[before:] == []


# -- Back / Contact card / Next stay in their places ----------------------------------------


async def test_back_and_next_keep_their_places_from_the_first_page_to_the_last(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    total = int(re.search(r"Page 1 of (\d+)", texts(page)).group(1))
    assert total > 3
    assert nav(page) == [
        ("◁ Back", "listings_page:stay_prev"),
        ("Contact card", "open_card:back"),
        ("Next ▶", "listings_page:next"),
    ]
    page = await click(stack, page, "listings_page:next")
    assert page_number(page) == 2
    assert nav(page) == [
        ("◀ Back", "listings_page:prev"),
        ("Contact card", "open_card:back"),
        ("Next ▶", "listings_page:next"),
    ]
    # The last page, through the cursor format the buttons use.
    last = button(page, "listings_page:next")["value"].rsplit("|", 1)[0] + f"|{total}"
    clicked = await stack.sender.action("listings_page:next", last)
    page = await stack.reply_to(clicked.response_url)
    assert page_number(page) == total
    assert nav(page) == [
        ("◀ Back", "listings_page:prev"),
        ("Contact card", "open_card:back"),
        ("Next ▷", "listings_page:stay_next"),
    ]
    page = await click(stack, page, "listings_page:prev")  # Back: the first button, as always
    assert page_number(page) == total - 1


async def test_the_placeholder_at_the_end_shows_the_same_page_again_from_the_cache(stack):
    heavy = stack.contact("heavy_viewer")
    first = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    await asyncio.sleep(0.1)  # the prefetch of page 2
    before = len(listing_requests(stack))
    again = await click(stack, first, "listings_page:stay_prev")
    assert again["replace_original"] is True and page_number(again) == 1
    assert cards(again) == cards(first)
    assert len(listing_requests(stack)) == before  # served from the page cache


# -- each card: when and how often, status, active count, link -----------------------------


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.mark.parametrize("bot_env", [{"FLEXMLS_LISTING_URL": "https://flexmls.example/l/{id}"}])
async def test_cards_say_when_and_how_often_newest_first_with_the_active_count(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    bodies = [card.get("body", {}).get("text", "") for card in cards(page)]
    lines = [body.rsplit("\n", 1)[-1] for body in bodies]
    pattern = r"viewed (once|\d+×) · (\d{1,2}) ([A-Z][a-z]{2})( \d{4})?"
    found = [re.fullmatch(pattern, line) for line in lines]
    assert all(found), lines
    assert re.search(
        r"Page 1 of \d+ · [\d,]+ listings · \d+ of 10 on this page still active", texts(page)
    )
    assert "still active" in page["text"]  # the phone notification says it too
    # Newest first by the last view, while Spark (the sandbox) lists by the first view.
    days = [(int(m.group(4) or 2026), MONTHS.index(m.group(3)), int(m.group(2))) for m in found]
    assert days == sorted(days, reverse=True)
    shown = [card["actions"][0]["url"].rsplit("/", 1)[-1] for card in cards(page)]
    brokerage = stack.sandbox.state.brokerage
    spark_order = [
        x.id
        for x in brokerage.activity_listings(heavy.id, "viewed", stack.sandbox.state.today())[:10]
    ]
    assert sorted(shown) == sorted(spark_order) and shown != spark_order


async def test_closed_listings_are_marked(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    for _ in range(6):  # a closed listing within a few pages (about one in five is closed)
        bodies = [card.get("body", {}).get("text", "") for card in cards(page)]
        if any("Closed" in body for body in bodies):
            break
        page = await click(stack, page, "listings_page:next")
    closed = [body for body in bodies if "Closed" in body]
    assert closed and all("⛔ Closed" in body for body in closed)


@pytest.mark.parametrize("bot_env", [{"FLEXMLS_LISTING_URL": LISTING_URL}])
async def test_view_listing_links_to_flexmls_and_its_click_is_only_acked(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    links = [b for b in buttons(page) if b["action_id"].startswith("listing_link")]
    assert links
    listing_ids = {x.id for x in stack.sandbox.state.brokerage.listings}
    for link in links:
        match = re.fullmatch(r"https://flexmls\.example/listing/(\d+)\?mls=([\w%-]+)", link["url"])
        assert match and match.group(1) in listing_ids, link["url"]
    received = len(stack.slack.received)
    clicked = await stack.sender.action(links[0]["action_id"], "")
    assert clicked.response.status_code == 200
    await asyncio.sleep(0.1)
    assert stack.slack.received[received:] == []


# -- the ContactActivity expansion: supported costs nothing, refused costs one retry once ----


@pytest.mark.parametrize("stack", [{"dialect": {"contact_activity": "supported"}}], indirect=True)
async def test_supported_expansion_costs_no_extra_request(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    await asyncio.sleep(0.1)
    assert [r.query["_page"] for r in listing_requests(stack)] == ["1", "2"]  # page + prefetch
    assert all("ContactActivity" in r.query["_expand"] for r in listing_requests(stack))
    assert "viewed " in cards(page)[0]["body"]["text"]


@pytest.mark.parametrize(
    "stack",
    [{"dialect": {"contact_activity": "refused"}}, {"dialect": "strict"}],
    indirect=True,
    ids=["refused", "strict"],
)
async def test_refused_expansion_degrades_quietly_and_is_not_asked_again(stack):
    heavy = stack.contact("heavy_viewer")
    page = await stack.reply_to(
        (await stack.sender.command(f"viewed {heavy.primary_email}")).response_url
    )
    assert len(cards(page)) == 10
    assert not any("viewed " in card.get("body", {}).get("text", "") for card in cards(page))
    assert "Page 1 of" in texts(page)
    await asyncio.sleep(0.1)
    page = await click(stack, page, "listings_page:next")
    page = await click(stack, page, "listings_page:next")
    assert page_number(page) == 3
    asked = [
        ("ContactActivity" in r.query["_expand"], r.query["_page"]) for r in listing_requests(stack)
    ]
    # One refused request, then each page (and prefetch) once, without it.
    assert asked[0] == (True, "1") and asked[1] == (False, "1")
    assert [a for a, _ in asked[2:]] == [False] * len(asked[2:])
    assert [p for _, p in asked[2:]] == ["2", "3", "4"]
