""" "Active now" DM with the newest viewed listings: compact lines, inert text, valid Block Kit."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.alerts import ActiveNow
from blocks.alerts import active_now_message, listing_line
from spark.models import Listing
from tests.helpers.blocks import assert_no_formatting_from, assert_valid_message, buttons

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
CONTACT = "20150726201640439000015000"


def alert(*listings: Listing) -> ActiveNow:
    return ActiveNow("U0AGENT1", CONTACT, "Zoë", 5, T0, T0 + dt.timedelta(minutes=40),
                     listings=listings)  # fmt: skip


def listings_text(blocks) -> str:
    (block,) = [b for b in blocks if b["block_id"].startswith("alert_listings.")]
    return block["text"]["text"]


def test_the_newest_listings_show_as_compact_lines_in_order():
    newest = Listing("L1", price=450000, street="12 Oak St", city="Springfield", state="IL")
    older = Listing("L2", price=None, mls_number="77")
    message = active_now_message(alert(newest, older))
    assert_valid_message(message)
    section = listings_text(message.blocks)
    assert (
        section == "*Newest viewed*\n• $450,000 · 12 Oak St, Springfield, IL\n• Price n/a · MLS #77"
    )
    assert len(buttons(message)) == 4
    assert "Newest" not in message.text  # the notification stays one line


def test_without_listings_the_dm_is_as_before():
    message = active_now_message(alert())
    assert_valid_message(message)
    assert "Newest viewed" not in str(message.blocks)


@pytest.mark.parametrize(
    "street", ["<!channel> *bold* <https://evil|x>", "x" * 5000, "🔥" * 400, "", "`code` ~s~"]
)
def test_hostile_addresses_stay_inert_and_within_limits(street):
    listings = tuple(Listing(f"L{i}", price=1e12, street=street, city=street) for i in range(3))
    message = active_now_message(alert(*listings))
    assert_valid_message(message)
    if street.strip():
        assert_no_formatting_from(street, message)
    assert listing_line(listings[0]).startswith("• $1,000,000,000,000 · ")
