"""The generated brokerage: deterministic, realistic, and with activity that only grows."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from devtools.sandbox import (
    ACTIVITY_EPOCH,
    DEMO_ACCOUNT_ID,
    SECOND_ACCOUNT_ID,
    Brokerage,
    build_brokerage,
    cached_brokerage,
)

ID = re.compile(r"[0-9]{26}")
PHONE = re.compile(r"[0-9]{3}-555-01[0-9]{2}")
DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def demo() -> Brokerage:
    return cached_brokerage(2026)


def test_same_seed_builds_identical_data() -> None:
    first, second = build_brokerage(7), build_brokerage(7)
    assert first.contacts == second.contacts
    assert first.listings == second.listings
    assert first.profiles == second.profiles
    assert first.activity(first.contacts[5].id, DAY) == second.activity(second.contacts[5].id, DAY)


def test_another_seed_builds_different_data() -> None:
    first, second = build_brokerage(7), build_brokerage(8)
    assert [c.id for c in first.contacts] != [c.id for c in second.contacts]
    assert [listing.id for listing in first.listings] != [listing.id for listing in second.listings]


def test_build_is_fast_and_cached_per_seed() -> None:
    started = time.perf_counter()
    build_brokerage(99)
    assert time.perf_counter() - started < 2.0
    assert cached_brokerage(99) is cached_brokerage(99)


def test_two_agents_with_their_own_contacts(demo: Brokerage) -> None:
    assert demo.accounts[DEMO_ACCOUNT_ID].name == "Avery Agent"
    assert demo.accounts[SECOND_ACCOUNT_ID].name == "Blake Broker"
    avery, blake = demo.contacts_for(DEMO_ACCOUNT_ID), demo.contacts_for(SECOND_ACCOUNT_ID)
    assert 280 <= len(avery) <= 320
    assert 20 <= len(blake) <= 30
    assert not {c.id for c in avery} & {c.id for c in blake}


@pytest.mark.parametrize(
    ("name", "at_least"),
    [
        ("Jane Doe", 2),
        ("Jane Doerr", 1),
        ("Janet Doe", 1),
        ("Seán O'Brien", 1),
        ("José Núñez", 1),
        ("Zoë Müller", 1),
        ("Zoë O'Brien", 1),
        ("Renée Lefèvre", 1),
    ],
)
def test_namesakes_apostrophes_and_accents(demo: Brokerage, name: str, at_least: int) -> None:
    matches = demo.contact_by_name(name, owner_id=DEMO_ACCOUNT_ID)
    assert len(matches) >= at_least
    assert all(c.display_name == name for c in matches)


def test_awkward_contacts_exist(demo: Brokerage) -> None:
    avery = demo.contacts_for(DEMO_ACCOUNT_ID)
    assert any("D'Angelo" in c.display_name for c in avery)
    assert any("-" in (c.family_name or "") for c in avery)
    assert any(" " not in c.display_name for c in avery)
    no_email = [c for c in avery if c.primary_email is None]
    no_phone = [c for c in avery if c.primary_phone is None]
    assert len(no_email) == 1 and "PrimaryEmail" not in no_email[0].to_json()
    assert len(no_phone) == 1 and "PrimaryPhoneNumber" not in no_phone[0].to_json()
    assert demo.notable["no_email"] == no_email[0]


def test_contact_fields_are_well_formed(demo: Brokerage) -> None:
    emails = [c.primary_email for c in demo.contacts if c.primary_email]
    phones = [c.primary_phone for c in demo.contacts if c.primary_phone]
    assert len(emails) == len(set(emails))
    assert len(phones) == len(set(phones))
    assert all(e == e.lower() and "@" in e for e in emails)
    assert all(PHONE.fullmatch(p) for p in phones)
    for contact in demo.contacts:
        record = contact.to_json()
        assert ID.fullmatch(record["Id"])
        assert record["ResourceUri"] == f"/v1/contacts/{contact.id}"
        assert dt.datetime.fromisoformat(record["ModificationTimestamp"]).tzinfo is not None
        assert isinstance(record["Tags"], list)
    assert any("IDX Lead" in c.tags for c in demo.contacts)


def test_ids_are_unique_across_kinds(demo: Brokerage) -> None:
    ids = [c.id for c in demo.contacts] + [listing.id for listing in demo.listings]
    ids += [p.id for listing in demo.listings for p in listing.photos]
    assert len(ids) == len(set(ids))
    assert all(ID.fullmatch(i) for i in ids)


def test_listings_have_messy_realistic_fields(demo: Brokerage) -> None:
    assert len(demo.listings) == 3000
    fields = [listing.standard_fields for listing in demo.listings]
    assert all(
        f["ListingKey"] == listing.id for f, listing in zip(fields, demo.listings, strict=True)
    )
    assert all(re.fullmatch(r"[0-9]{2}-[0-9]+", f["ListingId"]) for f in fields)
    prices = [f["ListPrice"] for f in fields]
    numbers = sum(isinstance(p, float) for p in prices)
    strings = sum(isinstance(p, str) and p != "********" for p in prices)
    assert numbers > 2500
    assert 50 <= strings <= 250  # ~5%
    assert "********" in prices and None in prices
    assert all(float(p) > 0 for p in prices if isinstance(p, str) and p != "********")
    assert any(f["PropertyType"].endswith(" ") for f in fields)
    assert {f.get("MlsStatus") for f in fields} == {
        None,  # some records carry no MlsStatus, as real ones do
        "Active",
        "Pending",
        "Closed",
        "Active Under Contract",
    }
    baths = [f["BathsTotal"] for f in fields]
    assert any(isinstance(b, str) for b in baths) and None in baths
    unparsed = [f["UnparsedFirstLineAddress"] for f in fields if "UnparsedFirstLineAddress" in f]
    assert all(line[0].isdigit() for line in unparsed)
    # The address only in parts, as in FBS's own fixtures (spark_api.md §5).
    parts_only = [f for f in fields if "UnparsedFirstLineAddress" not in f]
    assert 500 <= len(parts_only) <= 1000
    assert all(f["StreetNumber"] and f["StreetName"] for f in parts_only)
    assert any(f.get("StreetAdditionalInfo") for f in parts_only)


def test_photos_one_primary_and_some_listings_without(demo: Brokerage) -> None:
    without = sum(1 for listing in demo.listings if not listing.photos)
    assert 0.05 * 3000 <= without <= 0.11 * 3000
    for listing in demo.listings:
        if listing.photos:
            assert 1 <= len(listing.photos) <= 6
            assert sum(p.primary for p in listing.photos) == 1
    photo = next(listing for listing in demo.listings if listing.photos).photos[0]
    rendered = photo.to_json("http://h:1")
    assert set(rendered) >= {"Id", "ResourceUri", "Name", "Caption", "Primary", "UriThumb"}
    assert rendered["Uri640"] == f"http://h:1/photos/{photo.listing_key}/{photo.number}-640.png"


def test_counters_never_decrease_and_opened_never_exceeds_sent(demo: Brokerage) -> None:
    changed = 0
    for contact in demo.contacts:
        previous = demo.activity(contact.id, DAY).as_tuple()
        for offset in range(1, 31):
            current = demo.activity(contact.id, DAY + dt.timedelta(days=offset)).as_tuple()
            assert all(c >= p for c, p in zip(current, previous, strict=True))
            assert current[1] <= current[0] and current[3] <= current[2]
            changed += current != previous
            previous = current
    assert changed > 1000  # activity really moves day to day


def test_activity_is_base_before_epoch_and_grows_after(demo: Brokerage) -> None:
    jane = demo.notable["jane_doe"]
    early = demo.activity(jane.id, ACTIVITY_EPOCH - dt.timedelta(days=30))
    assert early == demo.activity(jane.id, ACTIVITY_EPOCH - dt.timedelta(days=1))
    assert demo.activity(jane.id, ACTIVITY_EPOCH + dt.timedelta(days=90)) != early


def test_zero_and_heavy_contacts(demo: Brokerage) -> None:
    zero = demo.notable["zero_activity"]
    for day in (DAY, DAY + dt.timedelta(days=400)):
        assert demo.activity(zero.id, day).as_tuple() == (0, 0, 0, 0, 0, 0)
    heavy = demo.activity(demo.notable["heavy_viewer"].id, DAY)
    assert heavy.listings_viewed >= 300
    zeros = [c for c in demo.contacts if demo.activity(c.id, DAY).as_tuple() == (0,) * 6]
    assert len(zeros) >= 5


def test_listing_lists_match_counters_and_grow_at_the_front(demo: Brokerage) -> None:
    contact = demo.notable["jane_doe"]
    today, later = DAY, DAY + dt.timedelta(days=20)
    for kind, index in (("viewed", 4), ("shared", 5)):
        now_list = demo.activity_listings(contact.id, kind, today)
        later_list = demo.activity_listings(contact.id, kind, later)
        assert len(now_list) == demo.activity(contact.id, today).as_tuple()[index]
        assert len(later_list) == demo.activity(contact.id, later).as_tuple()[index]
        assert len({listing.id for listing in later_list}) == len(later_list)
        # Most recent first: what was seen before is the tail of the longer list.
        assert later_list[len(later_list) - len(now_list) :] == now_list
