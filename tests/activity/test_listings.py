"""Listing pages: content, paging to the end, prefetch, and isolation between tokens."""

from __future__ import annotations

import asyncio

import pytest

from activity.listings import LISTING_PAGE_SIZE
from activity.models import Access
from devtools.sandbox import DEMO_TOKEN, SECOND_AGENT_TOKEN
from spark import NotFound

TEAM, USER = "T1", "U1"


async def test_pages_walk_to_the_end_and_prefetch_the_next(services, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    first = await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", 1)
    assert first.contact_name == heavy.display_name
    assert len(first.page.items) == LISTING_PAGE_SIZE
    total = first.page.total_pages
    await asyncio.sleep(0.05)
    assert services.listings.cached(DEMO_TOKEN, heavy.id, "viewed", 2)
    second = await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", 2)
    assert second.page.current_page == 2
    assert {item.id for item in second.page.items}.isdisjoint(item.id for item in first.page.items)
    last = await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", total)
    assert not last.page.has_next and last.page.has_prev


async def test_a_prefetched_page_costs_no_request(services, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]

    def page_two_requests():
        return [
            r
            for r in sandbox.requests
            if r.path.endswith("/viewed") and r.query.get("_page") == "2"
        ]

    await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", 1)
    await asyncio.sleep(0.1)
    assert len(page_two_requests()) == 1  # the prefetch
    await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", 2)
    assert len(page_two_requests()) == 1  # the click was served from the prefetch


async def test_empty_list(services, sandbox):
    quiet = sandbox.state.brokerage.notable["zero_activity"]
    view = await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), quiet.id, "viewed", 1)
    assert view.page.items == () and not view.page.has_next


async def test_pages_cached_for_one_token_are_not_served_to_another(services, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    await services.listings.page(Access(TEAM, USER, DEMO_TOKEN), heavy.id, "viewed", 1)
    with pytest.raises(NotFound):
        await services.listings.page(Access(TEAM, USER, SECOND_AGENT_TOKEN), heavy.id, "viewed", 1)
