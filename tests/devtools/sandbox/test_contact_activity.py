"""`_expand=ContactActivity` on the activity listings: the sandbox supports it with plausible
data (events, newest first, never in the future), omits it, or refuses it (400/1040)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from devtools.sandbox import Dialect, ManualClock, Sandbox
from tests.helpers.sandbox import assert_spark_error, results, spark_headers

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


async def listings(sandbox: Sandbox, contact_id: str, kind: str = "viewed", **params: str):
    async with httpx.AsyncClient(base_url=sandbox.url, headers=spark_headers()) as http:
        return await http.get(f"/v1/contacts/{contact_id}/activity/listings/{kind}", params=params)


@pytest.mark.parametrize("kind", ["viewed", "shared"])
async def test_supported_gives_each_listing_dated_events_of_its_kind(kind):
    async with Sandbox(clock=ManualClock(NOW)) as sandbox:
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        expand = "PrimaryPhoto,ContactActivity"
        rows = results(await listings(sandbox, heavy.id, kind, _expand=expand, _limit="25"))
        assert len(rows) == 25
        label = "Viewed" if kind == "viewed" else "Shared"
        for row in rows:
            events = row["ContactActivity"]
            assert events and all(e["Type"] == label for e in events)
            stamps = [dt.datetime.fromisoformat(e["Timestamp"]) for e in events]
            assert stamps == sorted(stamps, reverse=True)
            assert all(s <= NOW for s in stamps)
            assert "Photos" in row["StandardFields"]  # the other expansion still applies
        firsts = [r["ContactActivity"][-1]["Timestamp"][:10] for r in rows]
        assert firsts == sorted(firsts, reverse=True)  # Spark's order: by the day first seen
        lasts = [dt.datetime.fromisoformat(r["ContactActivity"][0]["Timestamp"]) for r in rows]
        if kind == "viewed":  # some were seen again: newest-first by last event differs
            assert lasts != sorted(lasts, reverse=True)


async def test_the_same_listing_keeps_its_events_from_page_to_page_and_day_to_day():
    clock = ManualClock(NOW)
    async with Sandbox(clock=clock) as sandbox:
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        expand = "ContactActivity"
        before = results(await listings(sandbox, heavy.id, _expand=expand, _limit="25"))
        clock.advance(days=1)
        after = results(await listings(sandbox, heavy.id, _expand=expand, _limit="25", _page="1"))
        by_id = {r["Id"]: r["ContactActivity"] for r in after}
        common = [r for r in before if r["Id"] in by_id]
        assert common
        for row in common:  # a day later: the same first event, maybe newer ones
            assert by_id[row["Id"]][-1] == row["ContactActivity"][-1]


async def test_not_asked_for_not_given():
    async with Sandbox(clock=ManualClock(NOW)) as sandbox:
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        rows = results(await listings(sandbox, heavy.id, _expand="PrimaryPhoto"))
        assert rows and all("ContactActivity" not in r for r in rows)


async def test_absent_accepts_the_expansion_and_adds_nothing():
    async with Sandbox(clock=ManualClock(NOW), dialect={"contact_activity": "absent"}) as sandbox:
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        rows = results(await listings(sandbox, heavy.id, _expand="PrimaryPhoto,ContactActivity"))
        assert rows and all("ContactActivity" not in r for r in rows)


async def test_refused_is_a_400_1040_naming_the_expansion():
    async with Sandbox(clock=ManualClock(NOW), dialect={"contact_activity": "refused"}) as sandbox:
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        response = await listings(sandbox, heavy.id, _expand="PrimaryPhoto,ContactActivity")
        d = assert_spark_error(response, 400, 1040)
        assert d["SparkQLErrors"][0]["Token"] == "ContactActivity"
        assert results(await listings(sandbox, heavy.id, _expand="PrimaryPhoto"))


def test_strict_refuses_it_and_the_mode_is_checked():
    assert Dialect.preset("strict").contact_activity == "refused"
    assert Dialect.preset("default").contact_activity == "supported"
    assert Dialect.coerce({"contact_activity": "absent"}).to_dict()["contact_activity"] == "absent"
    with pytest.raises(ValueError):
        Dialect.coerce({"contact_activity": "sometimes"})


async def test_the_admin_endpoint_switches_it():
    async with (
        Sandbox(clock=ManualClock(NOW)) as sandbox,
        httpx.AsyncClient(base_url=sandbox.url) as http,
    ):
        response = await http.post("/_sandbox/dialect", json={"contact_activity": "refused"})
        assert response.json()["contact_activity"] == "refused"
        heavy = sandbox.state.brokerage.notable["heavy_viewer"]
        assert_spark_error(await listings(sandbox, heavy.id, _expand="ContactActivity"), 400, 1040)
