"""Raising a contact's counters from today on (for alert tests and demos), in process and over
the admin endpoint, without changing the generated data otherwise."""

from __future__ import annotations

import httpx
import pytest

from devtools.sandbox import Brokerage, ManualClock, Sandbox
from tests.helpers.sandbox import results


async def viewed(client: httpx.AsyncClient, contact_id: str) -> int:
    rows = results(await client.get(f"/v1/contacts/{contact_id}/activity"))
    return rows[0]["ListingsViewed"]


async def test_added_views_count_from_today_on_and_lengthen_the_viewed_list(
    client: httpx.AsyncClient, sandbox: Sandbox, brokerage: Brokerage, clock: ManualClock
) -> None:
    zoe = brokerage.notable["zoe_obrien"]
    before = await viewed(client, zoe.id)
    generated_today = brokerage.activity(zoe.id, clock().date()).listings_viewed
    assert before == generated_today
    sandbox.state.add_activity(zoe.id, listings_viewed=5)
    assert await viewed(client, zoe.id) == before + 5
    page = await client.get(
        f"/v1/contacts/{zoe.id}/activity/listings/viewed", params={"_pagination": "count"}
    )
    assert page.json()["D"]["Pagination"]["TotalRows"] == min(before + 5, len(brokerage.listings))
    clock.advance(days=1)  # later days keep the added views on top of their own growth
    tomorrow = brokerage.activity(zoe.id, clock().date()).listings_viewed
    assert await viewed(client, zoe.id) == tomorrow + 5
    assert brokerage.activity(zoe.id, clock().date()).listings_viewed == tomorrow  # unchanged


async def test_the_admin_endpoint_adds_activity_and_refuses_nonsense(
    client: httpx.AsyncClient, bare_client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    priya = brokerage.notable["heavy_viewer"]
    before = await viewed(client, priya.id)
    added = await bare_client.post(
        "/_sandbox/activity", json={"contact_id": priya.id, "listings_viewed": 3}
    )
    assert added.status_code == 200 and added.json()["ListingsViewed"] == before + 3
    assert await viewed(client, priya.id) == before + 3
    for body in (
        {"contact_id": "nobody", "listings_viewed": 1},
        {"contact_id": priya.id, "listings_viewed": -1},
        {"contact_id": priya.id, "listings_viewed": "5"},
        {"contact_id": priya.id, "bananas": 1},
        ["not", "an", "object"],
    ):
        refused = await bare_client.post("/_sandbox/activity", json=body)
        assert refused.status_code == 400, body
    assert await viewed(client, priya.id) == before + 3


def test_a_fresh_sandbox_has_no_added_activity(sandbox: Sandbox) -> None:
    assert sandbox.state.added_activity == {}
    with pytest.raises(ValueError):
        sandbox.state.add_activity("nobody", listings_viewed=1)
