"""Resolving typed text to a card, a picker or a no-match; deltas; caching; prefetch."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from activity.lookup import contact_card, rank_contacts, resolve
from activity.models import LIST_KINDS, Access, Candidates, ContactCard, NoMatch
from devtools.sandbox import DEMO_TOKEN, SECOND_AGENT_TOKEN
from spark import Contact, InvalidQuery, NotFound
from storage import recent_lookups, snapshot_on
from tests.helpers.sandbox import spark_paths

TEAM, USER = "T1", "U1"


def first_pages_cached(services, contact_id: str) -> int:
    return sum(services.listings.cached(DEMO_TOKEN, contact_id, kind, 1) for kind in LIST_KINDS)


async def test_namesakes_give_a_picker_exact_matches_first(services):
    result = await resolve(services, Access(TEAM, USER, DEMO_TOKEN), "jane doe")
    assert isinstance(result, Candidates)
    names = [c.display_name for c in result.contacts]
    assert names[:2] == ["Jane Doe", "Jane Doe"]
    assert set(names[2:]) == {"Jane Doerr", "Janet Doe"}
    assert result.total == 4


async def test_one_match_gives_the_card_and_records_snapshot_and_lookup(services, sandbox, clock):
    janet = sandbox.state.brokerage.notable["janet_doe"]
    card = await resolve(services, Access(TEAM, USER, DEMO_TOKEN), "janet doe")
    assert isinstance(card, ContactCard)
    assert card.contact.id == janet.id
    expected = sandbox.state.brokerage.activity(janet.id, clock().date())
    assert card.summary.listings_viewed == expected.listings_viewed
    assert card.delta is None  # first lookup: nothing to compare with
    assert (
        snapshot_on(services.db, janet.id, clock().date()).listings_viewed
        == expected.listings_viewed
    )
    assert [r.contact_id for r in recent_lookups(services.db, TEAM, USER)] == [janet.id]


async def test_next_day_shows_the_change_since_yesterday(services, sandbox, clock):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    first = await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=heavy.id)
    clock.advance(days=1)
    second = await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=heavy.id)
    assert second.baseline_day == first.looked_up_at.date()
    assert (
        second.delta.listings_viewed
        == second.summary.listings_viewed - first.summary.listings_viewed
    )
    assert second.delta.listings_viewed >= 0


async def test_no_match(services):
    result = await resolve(services, Access(TEAM, USER, DEMO_TOKEN), "Zebediah Quux")
    assert result == NoMatch("Zebediah Quux")


@pytest.mark.parametrize("text", ["", "   ", "x" * 5000, "\u202e\x00"])
async def test_unsearchable_text_is_refused_before_any_request(services, sandbox, text):
    with pytest.raises(InvalidQuery):
        await resolve(services, Access(TEAM, USER, DEMO_TOKEN), text)
    assert spark_paths(sandbox) == []


async def test_a_repeated_query_skips_the_search(services, sandbox):
    await resolve(services, Access(TEAM, USER, DEMO_TOKEN), "janet doe")
    await asyncio.sleep(0.05)  # let the prefetches land
    sandbox.state.reset_stats()
    before = len(spark_paths(sandbox))
    card = await resolve(services, Access(TEAM, USER, DEMO_TOKEN), "  Janet   DOE ")
    paths = spark_paths(sandbox)[before:]
    assert isinstance(card, ContactCard)
    assert not any(p == "/v1/contacts" for p in paths)  # no search
    assert sum(p.endswith("/activity") for p in paths) == 1


async def test_the_card_prefetches_the_first_listing_pages(services, sandbox):
    heavy = sandbox.state.brokerage.notable["heavy_viewer"]
    await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=heavy.id)
    for _ in range(50):
        if first_pages_cached(services, heavy.id) == 2:
            break
        await asyncio.sleep(0.02)
    assert first_pages_cached(services, heavy.id) == 2


async def test_another_agents_contact_is_not_found_even_if_cached_for_someone_else(
    services, sandbox
):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=jane.id)
    with pytest.raises(NotFound):
        await contact_card(services, Access(TEAM, "U2", SECOND_AGENT_TOKEN), contact_id=jane.id)


def test_ranking_is_exact_then_prefix_then_others_accent_insensitive():
    contacts = [
        Contact("3", "Joseph Núñez"),
        Contact("2", "José Núñez Jr"),
        Contact("1", "José Núñez"),
        Contact("4", "Ana José", given_name="Ana", family_name="José"),
    ]
    assert [c.id for c in rank_contacts("jose nunez", contacts)] == [
        "1",
        "2",
        "3",  # every typed word starts a word of the name
        "4",
    ]  # the rest by name


def test_ranking_finds_a_surname_in_a_display_name_only_contact():
    contacts = [
        Contact("1", "Okafor Holdings LLC"),
        Contact("2", "Chidi Okafor"),
        Contact("3", "Amara Nokafor"),
    ]
    assert [c.id for c in rank_contacts("okafor", contacts)] == ["1", "2", "3"]
    assert [c.id for c in rank_contacts("Okafor, Chidi", contacts)] == ["2", "3", "1"]


DENVER = "America/Denver"


async def test_a_second_lookup_the_same_local_day_compares_with_the_first_across_utc_midnight(
    services, sandbox, clock
):
    """A Denver agent looks Jane up at 09:14 and again at 23:30 local (06:30 UTC the next day)."""
    jane = sandbox.state.brokerage.notable["jane_doe"]
    access = Access(TEAM, USER, DEMO_TOKEN, tz=DENVER)
    clock.set(dt.datetime(2026, 3, 2, 16, 14, tzinfo=dt.UTC))  # 09:14 MST
    morning = await contact_card(services, access, contact_id=jane.id)
    assert morning.earlier_today is None
    assert morning.local_now.isoformat() == "2026-03-02T09:14:00-07:00"
    clock.set(dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC))  # 23:30 MST, still 2 March
    night = await contact_card(services, access, contact_id=jane.id)
    assert night.today == dt.date(2026, 3, 2)
    assert night.earlier_today is not None
    assert (night.earlier_today.at.hour, night.earlier_today.at.minute) == (9, 14)
    grown = night.summary.listings_viewed - morning.summary.listings_viewed
    assert grown > 0 and night.earlier_today.delta.listings_viewed == grown
    assert night.last_active == dt.date(2026, 3, 2)  # "today" in Denver, though 3 March in UTC
    assert night.delta is None  # nothing was read before the viewer's midnight

    # The same two moments for a viewer in UTC are two different days: no "since 9:14" then.
    utc = await contact_card(services, Access(TEAM, "U2", DEMO_TOKEN), contact_id=jane.id)
    assert utc.earlier_today is None and utc.today == dt.date(2026, 3, 3)
    assert utc.baseline_day == dt.date(2026, 3, 2)


async def test_since_yesterday_is_the_viewers_yesterday(services, sandbox, clock):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    access = Access(TEAM, USER, DEMO_TOKEN, tz=DENVER)
    # 03:00 UTC on 3 March is 20:00 on 2 March in Denver: the viewer's yesterday evening,
    # though the same UTC day as the next lookup (which a UTC day would not compare with).
    clock.set(dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.UTC))
    first = await contact_card(services, access, contact_id=jane.id)
    clock.set(dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC))  # 08:00 on 3 March in Denver
    card = await contact_card(services, access, contact_id=jane.id)
    assert card.baseline_day == dt.date(2026, 3, 2)
    assert card.earlier_today is None  # a new local day
    assert (
        card.delta.listings_viewed == card.summary.listings_viewed - first.summary.listings_viewed
    )


async def test_an_unknown_time_zone_is_read_as_utc(services, sandbox, clock):
    jane = sandbox.state.brokerage.notable["jane_doe"]
    card = await contact_card(
        services, Access(TEAM, USER, DEMO_TOKEN, tz="Mars/Olympus"), contact_id=jane.id
    )
    assert card.local_now.utcoffset() == dt.timedelta(0)


async def test_a_first_lookup_has_a_band_from_todays_totals(services, sandbox):
    janet = sandbox.state.brokerage.notable["janet_doe"]
    card = await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=janet.id)
    assert card.trend.engagement.provisional
    assert card.last_active is None and card.flexmls_url is None


@pytest.mark.parametrize("env", [{"FLEXMLS_CONTACT_URL": "https://crm.example/c/{id}"}])
async def test_the_card_carries_the_flexmls_link_when_configured(services, sandbox):
    janet = sandbox.state.brokerage.notable["janet_doe"]
    card = await contact_card(services, Access(TEAM, USER, DEMO_TOKEN), contact_id=janet.id)
    assert card.flexmls_url == f"https://crm.example/c/{janet.id}"
