"""Pages of viewed/shared listings: carousel and sections layouts, paging buttons."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from blocks import ListingsCursor, decode_contact_id, decode_cursor, listings_message
from blocks.listings import activity_line
from spark.models import ListingActivity
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    assert_no_formatting_from,
    assert_valid_message,
    block_types,
    buttons,
    make_listing,
    make_view,
)

CONTACT_ID = "20090816141725963238000000"
LAYOUTS = ["carousel", "sections"]
KINDS = ["viewed", "shared"]


def nav(message) -> dict[str, str]:
    return {b["action_id"]: b["value"] for b in buttons(message)}


def test_typical_carousel_page() -> None:
    message = listings_message(make_view())
    assert_valid_message(message)
    assert block_types(message) == ["header", "context", "carousel", "actions"]
    assert message.blocks[0]["text"]["text"] == "Listings Jane Doe viewed"
    assert message.blocks[1]["elements"][0]["text"] == (
        "Page 2 of 15 · 143 listings · 10 of 10 on this page still active"
    )
    cards = message.blocks[2]["elements"]
    assert len(cards) == 10
    first = cards[0]
    assert first["title"]["text"] == "$451,000"
    assert first["subtitle"]["text"] == "1234 W Maple Ave, Denver, CO 80202"
    assert first["body"]["text"] == "3 bd · 2.5 ba · 1,850 sq ft · Active · MLS #24-1187"
    assert first["hero_image"] == {
        "type": "image",
        "image_url": "https://photos.example/1.jpg",
        "alt_text": "Photo of 1234 W Maple Ave, Denver, CO 80202",
    }
    assert message.text.startswith(
        "Listings Jane Doe viewed, page 2 of 15, 10 of 10 on this page still active: "
        "$451,000 1234 W Maple Ave, Denver, CO 80202; "
    )


def test_typical_sections_page() -> None:
    message = listings_message(make_view(), layout="sections")
    assert_valid_message(message)
    assert block_types(message) == ["header", "context"] + ["section"] * 10 + ["actions"]
    first = message.blocks[2]
    assert first["text"]["text"] == (
        "*$451,000*\n1234 W Maple Ave, Denver, CO 80202\n3 bd · 2.5 ba · 1,850 sq ft\n"
        "Active · MLS #24-1187"
    )
    assert first["accessory"]["type"] == "image"
    assert first["accessory"]["alt_text"] == "Photo of 1234 W Maple Ave, Denver, CO 80202"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("page", "total_pages", "expected"),
    [
        (1, 15, ["listings_page:stay_prev", "open_card:back", "listings_page:next"]),
        (2, 15, ["listings_page:prev", "open_card:back", "listings_page:next"]),
        (15, 15, ["listings_page:prev", "open_card:back", "listings_page:stay_next"]),
        (1, 1, ["open_card:back"]),
    ],
)
def test_paging_buttons(
    layout: str, kind: str, page: int, total_pages: int, expected: list[str]
) -> None:
    message = listings_message(
        make_view(kind=kind, page=page, total_pages=total_pages),
        layout=layout,  # type: ignore[arg-type]
    )
    assert_valid_message(message)
    values = nav(message)
    assert list(values) == expected
    if "listings_page:prev" in values:
        assert decode_cursor(values["listings_page:prev"]) == ListingsCursor(
            kind,
            CONTACT_ID,
            page - 1,  # type: ignore[arg-type]
        )
    if "listings_page:next" in values:
        assert decode_cursor(values["listings_page:next"]) == ListingsCursor(
            kind,
            CONTACT_ID,
            page + 1,  # type: ignore[arg-type]
        )
    for stay in ("listings_page:stay_prev", "listings_page:stay_next"):
        if stay in values:  # the placeholder shows the same page again
            assert decode_cursor(values[stay]) == ListingsCursor(kind, CONTACT_ID, page)  # type: ignore[arg-type]
    assert decode_contact_id(values["open_card:back"]) == CONTACT_ID
    title = "Listings Jane Doe viewed" if kind == "viewed" else "Listings shared with Jane Doe"
    assert message.blocks[0]["text"]["text"] == title
    assert f"page {page} of {total_pages}" in message.text


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("viewed", "Jane Doe hasn't viewed any listings yet."),
        ("shared", "No listings have been shared with Jane Doe yet."),
    ],
)
def test_empty_list(layout: str, kind: str, line: str) -> None:
    view = make_view((), kind=kind, page=1, total_pages=0, total_rows=0)
    message = listings_message(view, layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert block_types(message) == ["header", "section", "actions"]
    assert message.blocks[1]["text"]["text"] == line
    assert list(nav(message)) == ["open_card:back"]
    assert message.text == line


def test_empty_page_past_the_end_offers_the_first_page() -> None:
    message = listings_message(make_view((), page=16, total_pages=15))
    assert_valid_message(message)
    assert list(nav(message)) == [
        "listings_page:first",
        "open_card:back",
        "listings_page:stay_next",
    ]
    assert decode_cursor(nav(message)["listings_page:first"]).page == 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_single_listing_page(layout: str) -> None:
    message = listings_message(
        make_view((make_listing(),), page=1, total_pages=1, total_rows=1),
        layout=layout,  # type: ignore[arg-type]
    )
    assert_valid_message(message)
    assert (
        message.blocks[1]["elements"][0]["text"] == "Page 1 of 1 · 1 listing · 1 of 1 still active"
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_missing_photo_price_address_and_facts(layout: str) -> None:
    bare = make_listing(
        photo_url=None,
        price=None,
        street=None,
        city=None,
        state=None,
        postal_code=None,
        mls_number=None,
        status=None,
        beds=None,
        baths=None,
        area=None,
    )
    message = listings_message(make_view((bare,)), layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert "image" not in str(message.blocks)
    if layout == "carousel":
        card = message.blocks[2]["elements"][0]
        assert card["title"]["text"] == "Price n/a"
        assert card["subtitle"]["text"] == "Address not available"
        assert "body" not in card and "hero_image" not in card
    else:
        assert message.blocks[2]["text"]["text"] == "*Price n/a*\nAddress not available"
        assert "accessory" not in message.blocks[2]


def test_partial_facts_are_omitted() -> None:
    listing = make_listing(beds=None, area=None, status=None)
    message = listings_message(make_view((listing,)))
    assert message.blocks[2]["elements"][0]["body"]["text"] == "2.5 ba · MLS #24-1187"


def test_unusable_photo_urls_are_dropped() -> None:
    listings = (
        make_listing(1, photo_url="https://photos.example/" + "x" * 3000),
        make_listing(2, photo_url="javascript:alert(1)"),
    )
    message = listings_message(make_view(listings))
    assert_valid_message(message)
    assert all("hero_image" not in c for c in message.blocks[2]["elements"])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_hostile_addresses_statuses_and_names(layout: str, text: str) -> None:
    listing = make_listing(street=text, city=text, status=text, mls_number=text)
    message = listings_message(make_view((listing,) * 10, name=text), layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert_no_formatting_from(text, message)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_oversized_page_stays_within_slack_limits(layout: str) -> None:
    listings = tuple(make_listing(i) for i in range(1, 61))
    message = listings_message(make_view(listings), layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert "Showing the first 40 of 60 on this page." in str(message.blocks)


def test_block_ids_change_with_the_page() -> None:
    page_2 = listings_message(make_view(page=2))
    page_3 = listings_message(make_view(page=3))
    ids_2 = {b["block_id"] for b in page_2.blocks}
    ids_3 = {b["block_id"] for b in page_3.blocks}
    assert ids_2.isdisjoint(ids_3)
    assert any(".p2." in i for i in ids_2)


def test_contact_id_unfit_for_a_button_gives_no_buttons() -> None:
    message = listings_message(make_view(contact_id="bad id"))
    assert_valid_message(message)
    assert buttons(message) == []


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError):
        listings_message(make_view(), layout="grid")  # type: ignore[arg-type]


def test_a_listing_with_its_address_only_in_parts_shows_its_street() -> None:
    from spark.models import parse_listing

    listing = parse_listing(
        {
            "Id": "20200101000000000000000007",
            "StandardFields": {
                "StreetNumber": "77",
                "StreetDirPrefix": "S",
                "StreetName": "Quebec",
                "StreetSuffix": "St",
                "City": "Denver",
                "StateOrProvince": "CO",
                "PostalCode": "80220",
                "ListPrice": 500000,
                "ListingId": "24-77",
            },
        }
    )
    message = listings_message(make_view((listing,), page=1, total_pages=1, total_rows=1))
    assert_valid_message(message)
    assert "77 S Quebec St, Denver, CO 80220" in str(message.blocks)


# -- the phone glance: activity per listing, status, active count, links, fixed buttons ----

MDT = dt.timezone(dt.timedelta(hours=-7))
NOV_12 = dt.datetime(2026, 11, 12, 18, 5, tzinfo=MDT)


def seen(count: int | None = 3, last: dt.datetime | None = NOV_12) -> ListingActivity:
    return ListingActivity(count=count, last=last)


@pytest.mark.parametrize(
    ("kind", "activity", "today", "line"),
    [
        ("viewed", seen(3), dt.date(2026, 11, 24), "viewed 3× · 12 Nov"),
        ("viewed", seen(1), dt.date(2026, 11, 24), "viewed once · 12 Nov"),
        ("viewed", seen(1200), None, "viewed 1,200× · 12 Nov"),
        ("shared", seen(2), dt.date(2026, 11, 24), "shared 2× · 12 Nov"),
        ("viewed", seen(3), dt.date(2027, 1, 3), "viewed 3× · 12 Nov 2026"),
        ("viewed", seen(None), dt.date(2026, 11, 24), "viewed 12 Nov"),
        ("viewed", seen(4, None), dt.date(2026, 11, 24), "viewed 4×"),
        ("viewed", None, dt.date(2026, 11, 24), ""),
    ],
)
def test_activity_line(kind, activity, today, line):
    assert activity_line(make_listing(activity=activity), kind, today) == line


def test_the_card_shows_when_and_how_often_under_the_facts() -> None:
    view = replace(make_view((make_listing(activity=seen()),)), today=dt.date(2026, 11, 24))
    message = listings_message(view)
    assert_valid_message(message)
    body = message.blocks[2]["elements"][0]["body"]["text"]
    assert body == "3 bd · 2.5 ba · 1,850 sq ft · Active · MLS #24-1187\nviewed 3× · 12 Nov"
    sections = listings_message(view, layout="sections")
    assert sections.blocks[2]["text"]["text"].endswith("Active · MLS #24-1187\nviewed 3× · 12 Nov")


def test_a_long_card_body_keeps_the_activity_line_whole() -> None:
    listing = make_listing(status="S" * 300, mls_number="9" * 300, activity=seen())
    message = listings_message(make_view((listing,)))
    assert_valid_message(message)
    body = message.blocks[2]["elements"][0]["body"]["text"]
    assert len(body) <= 200 and body.endswith("…\nviewed 3× · 12 Nov")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("status", ["Closed", "Expired", "Withdrawn", "Sold"])
def test_off_market_listings_are_marked(layout: str, status: str) -> None:
    message = listings_message(make_view((make_listing(status=status),)), layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert f"⛔ {status}" in str(message.blocks)
    active = listings_message(make_view((make_listing(status="Active"),)), layout=layout)  # type: ignore[arg-type]
    assert "⛔" not in str(active.blocks)


@pytest.mark.parametrize(
    ("statuses", "total_rows", "line"),
    [
        (["Active", "Closed", "Pending", "Expired", "Active Under Contract"], 143,
         "Page 2 of 15 · 143 listings · 2 of 5 on this page still active"),
        (["Active", "Closed"], 2, "Page 2 of 15 · 2 listings · 1 of 2 still active"),
        (["Closed", "Sold"], 143, "Page 2 of 15 · 143 listings · 0 of 2 on this page still active"),
        ([None, None], 143, "Page 2 of 15 · 143 listings"),  # no status: no claim
        (["Active", None], 143, "Page 2 of 15 · 143 listings · 1 of 2 on this page still active"),
    ],
)  # fmt: skip
def test_the_header_says_how_many_are_still_active(statuses, total_rows, line) -> None:
    listings = tuple(make_listing(i, status=s) for i, s in enumerate(statuses, start=1))
    message = listings_message(make_view(listings, total_rows=total_rows))
    assert message.blocks[1]["elements"][0]["text"] == line
    if "still active" in line:
        assert line.split(" · ")[-1] in message.text  # and the phone notification says it too


LINK = "https://flexmls.example/listing/"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_view_listing_is_a_url_button_on_listings_that_have_a_link(layout: str) -> None:
    listings = tuple(make_listing(i) for i in range(1, 4))
    view = replace(make_view(listings), links={"L1": LINK + "L1", "L3": LINK + "L3"})
    message = listings_message(view, layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    links = [b for b in buttons(message) if b["action_id"].startswith("listing_link")]
    assert [b["url"] for b in links] == [LINK + "L1", LINK + "L3"]
    assert all(b["text"]["text"] == "View listing" and "value" not in b for b in links)
    assert len({b["action_id"] for b in links}) == 2
    if layout == "carousel":
        cards = message.blocks[2]["elements"]
        assert [len(c.get("actions", [])) for c in cards] == [1, 0, 1]


@pytest.mark.parametrize(
    "url",
    ["http://flexmls.example/l/1", "javascript:alert(1)", "https://x.example/" + "x" * 3000, ""],
)
def test_a_link_that_is_not_a_plain_https_url_is_left_out(url: str) -> None:
    view = replace(make_view((make_listing(1),)), links={"L1": url})
    message = listings_message(view)
    assert_valid_message(message)
    assert not [b for b in buttons(message) if "url" in b]


def test_sections_with_links_stay_within_fifty_blocks() -> None:
    listings = tuple(make_listing(i) for i in range(1, 61))
    view = replace(make_view(listings), links={x.id: LINK + x.id for x in listings})
    message = listings_message(view, layout="sections")
    assert_valid_message(message)
    assert "Showing the first 23 of 60 on this page." in str(message.blocks)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_hostile_text_next_to_activity_and_links(layout: str, text: str) -> None:
    listing = make_listing(street=text, status=text, mls_number=text, activity=seen())
    view = replace(make_view((listing,) * 10, name=text), links={"L1": LINK + "L1"})
    message = listings_message(view, layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert_no_formatting_from(text, message)


def nav_labels(message) -> list[tuple[str, str]]:
    (row,) = [b for b in message.blocks if b["type"] == "actions"]
    return [(e["text"]["text"], e["action_id"]) for e in row["elements"]]


@pytest.mark.parametrize("total_pages", [2, 3, 7])
def test_back_card_next_keep_their_places_on_every_page(total_pages: int) -> None:
    rows = [
        nav_labels(listings_message(make_view(page=p, total_pages=total_pages)))
        for p in range(1, total_pages + 1)
    ]
    for page, row in enumerate(rows, start=1):
        (back, back_id), card, (forward, forward_id) = row
        assert card == ("Contact card", "open_card:back")
        assert back_id.startswith("listings_page:") and forward_id.startswith("listings_page:")
        # Back is always first, Next always last; each is live except at its end of the list
        assert (back, back_id) == (
            ("◀ Back", "listings_page:prev") if page > 1 else ("◁ Back", "listings_page:stay_prev")
        )
        assert (forward, forward_id) == (
            ("Next ▶", "listings_page:next")
            if page < total_pages
            else ("Next ▷", "listings_page:stay_next")
        )
