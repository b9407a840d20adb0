"""Resolving typed text to a card, a picker or a no-match; deltas; caching; prefetch."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from activity.lookup import (
    _fold,
    _same_number,
    closeness,
    contact_card,
    find,
    loosely_matches,
    rank_contacts,
    resolve,
    suggestions,
)
from activity.models import LIST_KINDS, Access, Candidates, ContactCard, NoMatch
from devtools.sandbox import DEMO_TOKEN, SECOND_AGENT_TOKEN, Dialect
from spark import Contact, InvalidQuery, NotFound, Page
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


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zoë O’Brien", "zoe obrien"),
        ("Zoë O'Brien", "zoe obrien"),
        ("“José  Núñez”", "jose nunez"),
        ("Mary-Kate Smith–Jones", "mary kate smith jones"),
        ("Søren Łukasz Ærø", "soren lukasz aero"),
        ("J.R. Smith", "jr smith"),
    ],
)
def test_fold_ignores_case_accents_apostrophes_and_hyphens(text, folded):
    assert _fold(text) == folded


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("zoe obrien", "Zoë O'Brien", True),
        ("jose nunez", "José Núñez", True),
        ("nunez jose", "José Núñez", True),
        ("mary kate smith jones", "Mary-Kate Smith-Jones", True),
        ("marykate", "Mary-Kate Smith-Jones", True),
        ("zoe mueller", "Zoë Müller", False),  # a different spelling is a suggestion, not a match
        ("jose nunez", "Jason Nelson", False),
        ("jo nu", "José Núñez", True),
    ],
)
def test_loose_matching(query, name, expected):
    assert loosely_matches(query, Contact("1", name)) is expected


def test_ranking_puts_folded_exact_names_first():
    contacts = [Contact("2", "Zoë Oberlin"), Contact("1", "Zoë O'Brien")]
    assert [c.id for c in rank_contacts("zoe o’brien", contacts)] == ["1", "2"]


def test_suggestions_are_close_names_at_most_three_recent_first_on_ties():
    recent = [Contact("r1", "Janet Doe"), Contact("r2", "Priya Patel")]
    nearby = [Contact("r1", "Janet Doe"), Contact("n2", "Jane Doerr"), Contact("n3", "Janet Dow")]
    found = suggestions("janet dow", recent, nearby)
    assert [c.id for c in found] == ["n3", "r1", "n2"]  # Janet Doe (r1) is offered once
    assert suggestions("zebediah quux", recent, nearby) == ()
    assert closeness("smiht", "John Smith") >= 0.6  # one word: against each word too


@pytest.mark.parametrize(
    ("typed", "stored", "same"),
    [
        ("5550142", "303-555-0142", True),
        ("3035550142", "+1 (303) 555-0142", True),
        ("13035550142", "303.555.0142", True),
        ("3035550142", "555-0142", True),  # stored without the area code
        ("3035550142", "720-555-0142", False),  # same 7 digits, another number
        ("3035550142", None, False),
        ("3035550142", "0142", False),
    ],
)
def test_same_number(typed, stored, same):
    assert _same_number(typed, stored) is same


async def test_a_miss_costs_one_widening_and_finds_the_accented_contact(services, sandbox):
    sandbox.state.dialect = Dialect.preset("strict")
    zoe = sandbox.state.brokerage.notable["zoe_obrien"]
    found = await find(services, Access(TEAM, USER, DEMO_TOKEN), "zoe obrien")
    assert getattr(found, "contact_id", None) == zoe.id
    filters = [r.query["_filter"] for r in sandbox.requests if r.path == "/v1/contacts"]
    # prefix (refused: GivenName), prefix again without it, words, then the one widening.
    assert len(filters) == 4 and filters[-1] == "DisplayName Eq 'z* o*','Z* O*'"


async def test_an_exact_find_spends_nothing_on_widening(services, sandbox):
    await find(services, Access(TEAM, USER, DEMO_TOKEN), "janet doe")
    assert spark_paths(sandbox) == ["/v1/contacts"]


async def test_a_widening_flexmls_refuses_leaves_a_plain_no_match(services, sandbox):
    sandbox.state.dialect = Dialect.coerce({"unfilterable": ["DisplayName"]})
    found = await find(services, Access(TEAM, USER, DEMO_TOKEN), "zebediah quux")
    assert isinstance(found, NoMatch) and found.suggestions == ()


async def test_recent_lookups_feed_did_you_mean(services, sandbox):
    access = Access(TEAM, USER, DEMO_TOKEN)
    janet = sandbox.state.brokerage.notable["janet_doe"]
    await resolve(services, access, "janet doe")
    # "tanet doe": the widening (T* D*) can't reach Janet; only the agent's history can.
    found = await find(services, access, "tanet doe")
    assert isinstance(found, NoMatch)
    assert janet.id in [c.id for c in found.suggestions]
    stranger = await find(services, Access(TEAM, "U2", DEMO_TOKEN), "tanet doe")
    assert isinstance(stranger, NoMatch)
    assert janet.id not in [c.id for c in stranger.suggestions]  # U1's history stays U1's


async def test_a_full_number_stored_in_another_spelling_is_found_by_its_last_seven(services):
    asked = []

    async def search_contacts(token, query, **kw):
        asked.append(query.value)
        if len(query.value) > 7:
            return Page(items=(), current_page=1, page_size=25, total_rows=0, total_pages=0)
        items = (
            Contact("1", "Right Number", phone="+1 (983) 555 0138"),
            Contact("2", "Other Area", phone="720-555-0138"),
        )
        return Page(items=items, current_page=1, page_size=25, total_rows=2, total_pages=1)

    services.spark.search_contacts = search_contacts
    found = await find(services, Access(TEAM, USER, DEMO_TOKEN), "983-555-0138")
    assert asked == ["9835550138", "5550138"]
    assert getattr(found, "contact_id", None) == "1"


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
