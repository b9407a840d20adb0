"""The demo's head start: a month of snapshots from the demo brokerage's own counters."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from console.demo import DEMO_CONTACTS, HISTORY_DAYS, demo_hint, seed_history
from devtools.sandbox import DEMO_ACCOUNT_ID
from devtools.sandbox.data import cached_brokerage
from storage import open_memory_database, snapshot_history

TODAY = dt.date(2026, 12, 1)


def test_a_month_of_snapshots_for_every_demo_contact_once():
    db = open_memory_database()
    brokerage = cached_brokerage()
    contacts = brokerage.contacts_for(DEMO_ACCOUNT_ID)
    assert seed_history(db, brokerage, DEMO_ACCOUNT_ID, TODAY) == len(contacts) * HISTORY_DAYS
    assert seed_history(db, brokerage, DEMO_ACCOUNT_ID, TODAY) == 0  # a later run adds nothing
    heavy = brokerage.notable["heavy_viewer"]
    days = snapshot_history(db, heavy.id, TODAY - dt.timedelta(days=HISTORY_DAYS), TODAY)
    assert [day for day, _ in days] == [
        TODAY - dt.timedelta(days=back) for back in range(HISTORY_DAYS, 0, -1)
    ]
    viewed = [counters.listings_viewed for _, counters in days]
    assert viewed == sorted(viewed) and viewed[-1] > viewed[0]  # running totals that grew
    yesterday = asdict(brokerage.activity(heavy.id, TODAY - dt.timedelta(days=1)))
    assert asdict(days[-1][1]) == yesterday  # exactly what the sandbox serves for that day


def test_the_hint_names_five_contacts_that_exist_in_the_demo():
    brokerage = cached_brokerage()
    names = {c.display_name.casefold() for c in brokerage.contacts_for(DEMO_ACCOUNT_ID)}
    assert len(DEMO_CONTACTS) == 5
    for typed, _ in DEMO_CONTACTS:
        if "'" not in typed:  # accents and apostrophes are the search's business
            assert typed in names
        assert typed in demo_hint()
