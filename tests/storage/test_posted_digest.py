"""The entries a posted digest stores, for paging through it later ("More")."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlite_utils import Database

from storage import (
    PostedDigest,
    add_subscription,
    claim_delivery,
    complete_delivery,
    encode_entries,
    posted_digest,
)

from .support import NOW

DAY = date(2026, 3, 14)
ENTRIES = [
    {"contact_id": "C1", "name": "Jane “JD” Doe 🏡", "summary": {"listings_viewed": 3},
     "engagement": {"score": 42.5, "band": "hot", "explanation": "x"}, "previous_score": None},
    {"contact_id": "C2", "name": "Sean", "summary": {}, "engagement": None, "day": None},
]  # fmt: skip


@pytest.fixture
def subscription_id(db: Database) -> int:
    sub = add_subscription(
        db,
        team_id="T1",
        user_id="U1",
        channel_id="C100",
        local_time="08:00",
        timezone="America/Denver",
        scope="recent",
        now=NOW,
    )
    return sub.id


def post(db: Database, subscription_id: int, *, outcome: str = "posted", entries=ENTRIES) -> None:
    claim_delivery(db, subscription_id, DAY, NOW)
    complete_delivery(
        db,
        subscription_id,
        DAY,
        NOW + timedelta(seconds=5),
        message_ts="1.0",
        late=True,
        failed_contacts=2,
        outcome=outcome,
        entries=None if entries is None else encode_entries(entries),
    )


def test_posted_entries_read_back_in_order_with_the_counts(db, subscription_id):
    post(db, subscription_id)
    assert posted_digest(db, subscription_id, DAY) == PostedDigest(
        entries=ENTRIES, failed_contacts=2, late=True
    )


def test_entries_are_compact_json_and_what_json_cant_hold_is_text():
    text = encode_entries([{"day": DAY, "n": 1}])
    assert text == '[{"day":"2026-03-14","n":1}]'
    assert json.loads(encode_entries(iter(ENTRIES))) == ENTRIES  # any iterable of mappings


@pytest.mark.parametrize(("outcome", "entries"), [("skipped", ENTRIES), ("posted", None)])
def test_nothing_to_page_through_unless_a_digest_was_posted_with_entries(
    db, subscription_id, outcome, entries
):
    post(db, subscription_id, outcome=outcome, entries=entries)
    assert posted_digest(db, subscription_id, DAY) is None


def test_no_delivery_that_day_is_nothing_to_page_through(db, subscription_id):
    assert posted_digest(db, subscription_id, DAY) is None
    claim_delivery(db, subscription_id, DAY, NOW)  # claimed, not posted yet
    assert posted_digest(db, subscription_id, DAY) is None


def test_a_digest_posted_with_no_contacts_reads_back_empty(db, subscription_id):
    post(db, subscription_id, entries=[])
    assert posted_digest(db, subscription_id, DAY) == PostedDigest([], 2, True)
