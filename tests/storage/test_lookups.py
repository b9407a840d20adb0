"""Recent lookups per agent, and the per-agent query -> contact cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlite_utils import Database

from storage import (
    RecentLookup,
    cache_contact_query,
    cached_contact_id,
    forget_contact_cache,
    normalise_query,
    prune_contact_cache,
    recent_contact_ids,
    recent_lookups,
    record_lookup,
)
from storage.lookups import KEEP_WITHIN, lookups_since

from .support import NOW

MINUTE = timedelta(minutes=1)


def look_up(
    db: Database,
    contact: str,
    minutes: int = 0,
    *,
    user: str = "U1",
    team: str = "T1",
    cap: int = 20,
    name: str | None = None,
    query: str | None = None,
    keep_within: timedelta = timedelta(0),
) -> None:
    """A lookup `minutes` after NOW; by default only the cap keeps it (`keep_within` 0)."""
    record_lookup(
        db,
        team_id=team,
        user_id=user,
        contact_id=contact,
        display_name=name or f"Name {contact}",
        query=query or contact.lower(),
        now=NOW + minutes * MINUTE,
        cap=cap,
        keep_within=keep_within,
    )


def ids(db: Database, user: str = "U1", team: str = "T1", limit: int = 10) -> list[str]:
    return [r.contact_id for r in recent_lookups(db, team, user, limit=limit)]


# --- recent lookups -------------------------------------------------------------------------


def test_recent_lookups_are_newest_first(db: Database) -> None:
    for minute, contact in enumerate(["A", "B", "C"]):
        look_up(db, contact, minute)
    assert recent_lookups(db, "T1", "U1") == [
        RecentLookup("T1", "U1", "C", "Name C", "c", NOW + 2 * MINUTE),
        RecentLookup("T1", "U1", "B", "Name B", "b", NOW + MINUTE),
        RecentLookup("T1", "U1", "A", "Name A", "a", NOW),
    ]


def test_looking_up_again_moves_to_the_top_and_updates_name_and_query(db: Database) -> None:
    look_up(db, "A", 0)
    look_up(db, "B", 1)
    look_up(db, "A", 2, name="Jane Q. Doe", query="jane doe")
    assert ids(db) == ["A", "B"]
    top = recent_lookups(db, "T1", "U1")[0]
    assert (top.display_name, top.query, top.looked_up_at) == (
        "Jane Q. Doe",
        "jane doe",
        NOW + 2 * MINUTE,
    )


def test_lookups_in_the_same_instant_keep_the_order_they_happened(db: Database) -> None:
    for contact in ["A", "B", "C", "A"]:
        look_up(db, contact, 0)
    assert ids(db) == ["A", "C", "B"]


@pytest.mark.parametrize(
    ("cap", "looked_up", "kept"), [(1, 3, 1), (3, 3, 3), (3, 5, 3), (20, 25, 20)]
)
def test_only_the_newest_cap_lookups_are_kept(
    db: Database, cap: int, looked_up: int, kept: int
) -> None:
    for n in range(looked_up):
        look_up(db, f"C{n}", n, cap=cap)
    expected = [f"C{n}" for n in reversed(range(looked_up))][:kept]
    assert ids(db, limit=100) == expected
    assert db.table("recent_lookups").count == kept


def test_cap_applies_per_user(db: Database) -> None:
    for n in range(3):
        look_up(db, f"A{n}", n, user="U1", cap=2)
        look_up(db, f"B{n}", n, user="U2", cap=2)
    assert ids(db, user="U1") == ["A2", "A1"]
    assert ids(db, user="U2") == ["B2", "B1"]


def test_a_refreshed_old_lookup_survives_the_cap(db: Database) -> None:
    look_up(db, "A", 0, cap=2)
    look_up(db, "B", 1, cap=2)
    look_up(db, "A", 2, cap=2)
    look_up(db, "C", 3, cap=2)
    assert ids(db) == ["C", "A"]


DAY_MINUTES = 24 * 60


def test_every_lookup_of_the_last_30_days_is_kept_whatever_the_cap(db: Database) -> None:
    """The "recent" digest covers 30 days: 45 contacts looked up over 45 days, with the
    default cap of 20 and window, keep the 31 looked up in the last 30 days (and a day)."""
    for day in range(45):
        look_up(db, f"C{day}", day * DAY_MINUTES, keep_within=KEEP_WITHIN)
    kept = ids(db, limit=100)
    assert kept == [f"C{day}" for day in reversed(range(13, 45))]  # days 13..44: within 31 days
    since = NOW + 44 * DAY_MINUTES * MINUTE - timedelta(days=30)
    assert [r.contact_id for r in lookups_since(db, "T1", "U1", since)] == kept[:31]
    assert lookups_since(db, "T1", "U1", since)[0].display_name == "Name C44"


def test_beyond_the_window_the_cap_still_applies(db: Database) -> None:
    for day in range(3):
        look_up(db, f"Old{day}", day * DAY_MINUTES, cap=2, keep_within=KEEP_WITHIN)
    for n in range(5):  # forty days later, five lookups in one afternoon
        look_up(db, f"New{n}", 40 * DAY_MINUTES + n, cap=2, keep_within=KEEP_WITHIN)
    assert ids(db, limit=100) == ["New4", "New3", "New2", "New1", "New0"]


def test_never_more_than_max_kept(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storage.lookups.MAX_KEPT", 5)
    for n in range(8):
        look_up(db, f"C{n}", n, cap=2, keep_within=KEEP_WITHIN)
    assert ids(db, limit=100) == ["C7", "C6", "C5", "C4", "C3"]


def test_invalid_cap_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="cap"):
        look_up(db, "A", cap=0)


@pytest.mark.parametrize(("team", "user"), [("T1", "U2"), ("T2", "U1")])
def test_lookups_are_isolated_per_team_and_user(db: Database, team: str, user: str) -> None:
    look_up(db, "A")
    assert recent_lookups(db, team, user) == []
    assert recent_contact_ids(db, team, user, NOW - MINUTE) == []


def test_limit(db: Database) -> None:
    for n in range(12):
        look_up(db, f"C{n}", n)
    assert len(recent_lookups(db, "T1", "U1")) == 10
    assert ids(db, limit=3) == ["C11", "C10", "C9"]


def test_recent_contact_ids_since(db: Database) -> None:
    for minute, contact in enumerate(["A", "B", "C", "D"]):
        look_up(db, contact, minute)
    assert recent_contact_ids(db, "T1", "U1", NOW + 2 * MINUTE) == ["D", "C"]
    assert recent_contact_ids(db, "T1", "U1", NOW) == ["D", "C", "B", "A"]
    assert recent_contact_ids(db, "T1", "U1", NOW + 10 * MINUTE) == []


# --- query normalisation and cache ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Jane Doe", "jane doe"),
        ("  jane   doe  ", "jane doe"),
        ("JANE\tDOE\n", "jane doe"),
        ("Jane\u00a0Doe", "jane doe"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("Jose\u0301", "jos\u00e9"),
        ("Ｊａｎｅ", "jane"),
        ("jane@Example.COM", "jane@example.com"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise_query(typed: str, normalised: str) -> None:
    assert normalise_query(typed) == normalised


@given(st.text())
def test_normalise_query_is_idempotent(text: str) -> None:
    once = normalise_query(text)
    assert normalise_query(once) == once
    assert once == once.strip()
    assert "  " not in once


def cache(db: Database, query: str, contact: str, *, user: str = "U1", minutes: int = 0) -> None:
    cache_contact_query(
        db, team_id="T1", user_id=user, query=query, contact_id=contact, now=NOW + minutes * MINUTE
    )


@pytest.mark.parametrize("asked", ["Jane Doe", "jane doe", "  JANE   DOE ", "Jane\tDoe"])
def test_cached_query_matches_any_spelling_that_normalises_the_same(
    db: Database, asked: str
) -> None:
    cache(db, "Jane  Doe", "C1")
    assert cached_contact_id(db, "T1", "U1", asked, NOW) == "C1"


def test_cache_miss(db: Database) -> None:
    cache(db, "jane doe", "C1")
    assert cached_contact_id(db, "T1", "U1", "john doe", NOW) is None


def test_cache_is_per_user(db: Database) -> None:
    cache(db, "jane", "C1", user="U1")
    cache(db, "jane", "C2", user="U2")
    assert cached_contact_id(db, "T1", "U1", "jane", NOW) == "C1"
    assert cached_contact_id(db, "T1", "U2", "jane", NOW) == "C2"
    assert cached_contact_id(db, "T2", "U1", "jane", NOW) is None


def test_caching_again_replaces_the_contact_and_refreshes_the_age(db: Database) -> None:
    cache(db, "jane", "C1")
    cache(db, "JANE", "C2", minutes=60 * 24 * 6)
    assert cached_contact_id(db, "T1", "U1", "jane", NOW + timedelta(days=10)) == "C2"
    assert db.table("contact_cache").count == 1


@pytest.mark.parametrize(
    ("age", "hit"),
    [
        (timedelta(0), True),
        (timedelta(days=7) - timedelta(microseconds=1), True),
        (timedelta(days=7), False),
        (timedelta(days=30), False),
    ],
)
def test_cache_entries_expire_after_max_age(db: Database, age: timedelta, hit: bool) -> None:
    cache(db, "jane", "C1")
    assert (cached_contact_id(db, "T1", "U1", "jane", NOW + age) == "C1") is hit


def test_custom_max_age(db: Database) -> None:
    cache(db, "jane", "C1")
    later = NOW + timedelta(hours=2)
    assert cached_contact_id(db, "T1", "U1", "jane", later, max_age=timedelta(hours=1)) is None
    assert cached_contact_id(db, "T1", "U1", "jane", later, max_age=timedelta(hours=3)) == "C1"


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_not_cached(db: Database, query: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        cache(db, query, "C1")


def test_forget_contact_cache_drops_only_that_users_entries(db: Database) -> None:
    cache(db, "jane", "C1", user="U1")
    cache(db, "john", "C3", user="U1")
    cache(db, "jane", "C2", user="U2")
    assert forget_contact_cache(db, "T1", "U1") == 2
    assert cached_contact_id(db, "T1", "U1", "jane", NOW) is None
    assert cached_contact_id(db, "T1", "U2", "jane", NOW) == "C2"


def test_prune_contact_cache(db: Database) -> None:
    cache(db, "old", "C1")
    cache(db, "new", "C2", minutes=60 * 24 * 5)
    assert prune_contact_cache(db, NOW + timedelta(days=7)) == 1
    assert cached_contact_id(db, "T1", "U1", "new", NOW + timedelta(days=7)) == "C2"
