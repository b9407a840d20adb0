"""Listing pages newest first by the `ContactActivity` dates, with "View listing" links."""

from __future__ import annotations

import datetime as dt

from activity.listings import listing_links, newest_first
from activity.models import Access
from devtools.sandbox import DEMO_TOKEN
from spark.models import Listing, ListingActivity

TEAM, USER = "T1", "U1"


def at(day: int | None, n: int) -> Listing:
    last = dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC) if day else None
    return Listing(id=f"L{n}", activity=ListingActivity(1, last) if day or n % 2 else None)


def test_dated_listings_come_newest_first_and_undated_keep_sparks_order_after_them():
    listings = (at(3, 1), at(None, 2), at(12, 3), at(None, 4), at(7, 5), at(12, 6), at(None, 7))
    assert [x.id for x in newest_first(listings)] == ["L3", "L6", "L5", "L1", "L2", "L4", "L7"]


def test_without_any_date_sparks_order_stands():
    listings = tuple(at(None, n) for n in range(1, 6))
    assert newest_first(listings) == listings


def test_links_only_for_listings_that_have_what_the_template_needs():
    listings = (Listing(id="L1", mls_number="24-1"), Listing(id="L2", mls_number=None))
    assert listing_links(None, listings) == {}
    assert listing_links("https://x.example/l/{mls}", listings) == {
        "L1": "https://x.example/l/24-1"
    }
    assert listing_links("https://x.example/l/{id}", listings) == {
        "L1": "https://x.example/l/L1",
        "L2": "https://x.example/l/L2",
    }


async def test_a_page_from_the_sandbox_is_newest_first_with_links(services, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    view = await services.listings.page(
        Access(TEAM, USER, DEMO_TOKEN),
        heavy.id,
        "viewed",
        1,
        link_template="https://flexmls.example/listing/{id}",
        today=dt.date(2026, 3, 2),
    )
    dates = [x.activity.last for x in view.page.items if x.activity and x.activity.last]
    assert len(dates) == len(view.page.items) > 1
    assert dates == sorted(dates, reverse=True)
    assert view.links == {x.id: f"https://flexmls.example/listing/{x.id}" for x in view.page.items}
    assert view.today == dt.date(2026, 3, 2)
