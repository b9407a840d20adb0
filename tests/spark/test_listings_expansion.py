"""`SparkClient.listings` asks for `ContactActivity` on the same request, and when a key's
Flexmls refuses it (400), retries once without it and remembers that for the key."""

from __future__ import annotations

import httpx
import pytest

from spark import BadFilter, PermissionDenied, SparkUnavailable
from spark.budget import TokenKey
from tests.helpers.spark import Recorder, spark_error, spark_ok

CONTACT_ID = "20101230223226074201000000"
EVENT = {"Type": "Viewed", "Timestamp": "2026-11-12T18:05:00-06:00"}
PAGE = {"TotalRows": 1, "PageSize": 10, "TotalPages": 1, "CurrentPage": 1}


def expands(request: httpx.Request) -> list[str]:
    return request.url.params["_expand"].split(",")


def by_expansion(request: httpx.Request) -> httpx.Response:
    """A Flexmls that refuses the expansion (400/1040 naming it) and serves the rest."""
    if "ContactActivity" in expands(request):
        return spark_error(
            400,
            1040,
            "Invalid _expand value: ContactActivity",
            SparkQLErrors=[{"Token": "ContactActivity", "Status": "Fatal"}],
        )
    return spark_ok([{"Id": "L1", "StandardFields": {"ListPrice": 1}}], PAGE)


async def test_supported_costs_one_request_and_gives_each_listing_its_activity(make_client):
    record = {"Id": "L1", "StandardFields": {"ListPrice": 1}, "ContactActivity": [EVENT, EVENT]}
    seen = Recorder(spark_ok([record], PAGE))
    page = await make_client(seen).listings("tok", CONTACT_ID, "viewed")
    assert len(seen.requests) == 1
    assert expands(seen.requests[0]) == ["PrimaryPhoto", "ContactActivity"]
    activity = page.items[0].activity
    assert activity is not None and activity.count == 2
    assert activity.last is not None and activity.last.isoformat() == "2026-11-12T18:05:00-06:00"


async def test_silently_absent_costs_nothing_more_and_listings_have_no_activity(make_client):
    seen = Recorder(spark_ok([{"Id": "L1", "StandardFields": {}}], PAGE))
    client = make_client(seen)
    page = await client.listings("tok", CONTACT_ID, "viewed")
    await client.listings("tok", CONTACT_ID, "viewed", page=2)
    assert page.items[0].activity is None
    assert [expands(r) for r in seen.requests] == [["PrimaryPhoto", "ContactActivity"]] * 2


async def test_refused_retries_once_without_it_then_remembers_it_for_the_key(make_client):
    seen = Recorder(by_expansion)
    client = make_client(seen)
    first = await client.listings("tok", CONTACT_ID, "viewed")
    assert first.items[0].price == 1.0 and first.items[0].activity is None
    assert [expands(r) for r in seen.requests] == [
        ["PrimaryPhoto", "ContactActivity"],
        ["PrimaryPhoto"],
    ]
    for page in (2, 3):  # the next pages (and the other list) cost one request each
        await client.listings("tok", CONTACT_ID, "viewed", page=page)
    await client.listings("tok", CONTACT_ID, "shared")
    assert [expands(r) for r in seen.requests[2:]] == [["PrimaryPhoto"]] * 3


async def test_the_refusal_is_remembered_per_api_key_not_for_everyone(make_client):
    seen = Recorder(by_expansion)
    keys = {"tok-a": TokenKey("oauth:key-1", oauth=True), "tok-b": TokenKey("oauth:key-1", oauth=True),
            "tok-c": TokenKey("token:other")}  # fmt: skip
    client = make_client(seen, key_of=keys.__getitem__)
    await client.listings("tok-a", CONTACT_ID, "viewed")
    await client.listings("tok-b", CONTACT_ID, "viewed")  # same key: already known
    await client.listings("tok-c", CONTACT_ID, "viewed")  # another key: asks again
    assert [len(expands(r)) for r in seen.requests] == [2, 1, 1, 2, 1]


async def test_the_refusal_is_forgotten_after_an_hour(make_client, clock):
    seen = Recorder(by_expansion)
    client = make_client(seen)
    await client.listings("tok", CONTACT_ID, "viewed")
    clock.now += 3601
    await client.listings("tok", CONTACT_ID, "viewed")
    assert [len(expands(r)) for r in seen.requests] == [2, 1, 2, 1]


async def test_when_the_retry_fails_too_its_error_is_raised_and_nothing_is_learnt(make_client):
    seen = Recorder(spark_error(400, 1040, "Invalid _page"))
    client = make_client(seen)
    with pytest.raises(BadFilter):
        await client.listings("tok", CONTACT_ID, "viewed")
    assert len(seen.requests) == 2
    seen.queue = [spark_ok([], PAGE)]
    await client.listings("tok", CONTACT_ID, "viewed")
    assert expands(seen.requests[-1]) == ["PrimaryPhoto", "ContactActivity"]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (spark_error(403, 1500, "Private role needed"), PermissionDenied),
        (spark_error(500, None, "boom"), SparkUnavailable),
    ],
)
async def test_other_failures_are_not_blamed_on_the_expansion(make_client, response, error):
    seen = Recorder(response)
    client = make_client(seen)
    with pytest.raises(error):
        await client.listings("tok", CONTACT_ID, "viewed")
    assert all("ContactActivity" in expands(r) for r in seen.requests)
    assert not client.expansions.refused(client.key_of("tok").name, "ContactActivity")
