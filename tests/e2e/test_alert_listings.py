""" "Active now" DMs list the contact's newest viewed listings: one extra Spark request (the first
page, with the watcher's token), made only when a DM is posted or updated; when Flexmls refuses
or stalls, the DM still goes out without them."""

from __future__ import annotations

import pytest

import activity.alerts
from tests.blocks.test_alert_listings import listings_text
from tests.e2e.test_alerts import AGENT, alert_dms, alert_posts, next_checks, poll_until_alert
from tests.e2e.test_alerts import watch as watch_contact

LISTINGS_ROUTE = "/v1/contacts/*/activity/listings/viewed"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60"}


def listing_reads(stack) -> list:
    return [r for r in stack.sandbox.requests if r.path.endswith("/activity/listings/viewed")]


async def test_the_dm_lists_the_newest_viewed_listings_for_one_extra_request(stack):
    priya = stack.contact("heavy_viewer")
    await watch_contact(stack, "priya patel")
    await next_checks(stack, priya.id)
    await next_checks(stack, priya.id)
    assert listing_reads(stack) == []  # checks that alert nobody read no listings

    stack.sandbox.state.add_activity(priya.id, listings_viewed=5)
    await poll_until_alert(stack, priya.id)
    (read,) = listing_reads(stack)
    assert read.path == f"/v1/contacts/{priya.id}/activity/listings/viewed"
    assert read.query.get("_page") == "1" and read.status == 200
    (dm,) = alert_dms(stack)
    # What the sandbox serves first (read now, after the counting, with the bot's own client).
    services = stack.bot.services
    page = await services.spark.listings(services.settings.spark_access_token, priya.id, "viewed")
    section = listings_text(dm["blocks"])
    assert section.startswith("*Newest viewed*\n• ")
    assert section.count("\n• ") == 3
    newest = activity.alerts.newest_first(page.items)[0]
    assert newest.street and newest.street in section.split("\n")[1]

    stack.sandbox.state.add_activity(priya.id, listings_viewed=2)
    await next_checks(stack, priya.id)
    (dm,) = alert_dms(stack)
    assert "viewed 7 listings" in dm["text"] and "*Newest viewed*" in listings_text(dm["blocks"])
    assert len(listing_reads(stack)) == 3  # the update's one read (+ this test's own)
    assert len(alert_posts(stack)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 403, "code": 1500},
        {"kind": "status", "status": 400, "code": 1040},
        {"kind": "rate_limit", "retry_after": 30},
        {"kind": "hang", "delay_ms": 5000},
    ],
    ids=["403", "1040", "429", "timeout"],
)
async def test_the_dm_goes_out_without_listings_when_flexmls_refuses(stack, fault, monkeypatch):
    monkeypatch.setattr(activity.alerts, "LISTINGS_WAIT_S", 1.0)
    priya = stack.contact("heavy_viewer")
    await watch_contact(stack, "priya patel")
    stack.sandbox.add_fault(route=LISTINGS_ROUTE, times=None, **fault)
    stack.sandbox.state.add_activity(priya.id, listings_viewed=4)
    await poll_until_alert(stack, priya.id)
    (dm,) = alert_dms(stack, AGENT)
    assert "Priya Patel is active now: viewed 4 listings" in dm["text"]
    assert "Newest viewed" not in str(dm["blocks"])
    assert [b["text"]["text"] for b in dm["blocks"][1]["elements"]][0] == "Card"
    assert 1 <= len(listing_reads(stack)) <= 2  # a 1040 costs the client's one retry
