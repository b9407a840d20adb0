"""Contact activity over real HTTP: counters, listing pages, expansion, roles, moving days."""

from __future__ import annotations

import re

import httpx
import pytest

from devtools.sandbox import ACTIVITY_EPOCH, NO_ROLE_TOKEN, Brokerage, ManualClock, Sandbox
from tests.helpers.sandbox import assert_spark_error, results, spark_headers

COUNTERS = (
    "ManualEmailsSent",
    "ManualEmailsOpened",
    "SubscriptionEmailsSent",
    "SubscriptionEmailsOpened",
    "ListingsViewed",
    "ListingsShared",
)


async def summary(client: httpx.AsyncClient, contact_id: str) -> dict[str, int]:
    rows = results(await client.get(f"/v1/contacts/{contact_id}/activity"))
    assert len(rows) == 1
    return rows[0]


async def total_rows(client: httpx.AsyncClient, contact_id: str, kind: str) -> int:
    response = await client.get(
        f"/v1/contacts/{contact_id}/activity/listings/{kind}", params={"_pagination": "count"}
    )
    assert results(response) == []
    return response.json()["D"]["Pagination"]["TotalRows"]


async def test_summary_has_six_integer_counters(
    client: httpx.AsyncClient, brokerage: Brokerage, clock: ManualClock
) -> None:
    jane = brokerage.notable["jane_doe"]
    counters = await summary(client, jane.id)
    assert tuple(counters) == COUNTERS
    assert all(type(v) is int and v >= 0 for v in counters.values())
    assert counters == brokerage.activity(jane.id, clock().date()).to_json()


async def test_counters_never_decrease_and_lists_match_day_by_day(
    client: httpx.AsyncClient, brokerage: Brokerage, clock: ManualClock
) -> None:
    jane = brokerage.notable["jane_doe"].id
    history = []
    for _ in range(8):
        counters = await summary(client, jane)
        assert counters["ManualEmailsOpened"] <= counters["ManualEmailsSent"]
        assert counters["SubscriptionEmailsOpened"] <= counters["SubscriptionEmailsSent"]
        assert await total_rows(client, jane, "viewed") == counters["ListingsViewed"]
        assert await total_rows(client, jane, "shared") == counters["ListingsShared"]
        history.append(counters)
        clock.advance(days=1)
    for before, after in zip(history, history[1:], strict=False):
        assert all(after[k] >= before[k] for k in COUNTERS)
    assert history[-1] != history[0]  # a hot lead moves within a week


async def test_viewed_pages_list_exactly_the_counter(
    client: httpx.AsyncClient, brokerage: Brokerage, clock: ManualClock
) -> None:
    contact = next(
        c
        for c in brokerage.contacts
        if 30 <= brokerage.activity(c.id, clock().date()).listings_viewed <= 60
    )
    count = (await summary(client, contact.id))["ListingsViewed"]
    ids: list[str] = []
    page = 1
    while True:
        response = await client.get(
            f"/v1/contacts/{contact.id}/activity/listings/viewed",
            params={"_page": page, "_limit": 25, "_pagination": 1},
        )
        rows = results(response)
        pagination = response.json()["D"]["Pagination"]
        assert pagination["TotalRows"] == count
        ids += [r["Id"] for r in rows]
        if page >= pagination["TotalPages"]:
            break
        page += 1
    assert len(ids) == count == len(set(ids))


async def test_heavy_viewer_has_hundreds(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    heavy = brokerage.notable["heavy_viewer"].id
    count = (await summary(client, heavy))["ListingsViewed"]
    assert count >= 300
    last_page = -(-count // 25)
    response = await client.get(
        f"/v1/contacts/{heavy}/activity/listings/viewed",
        params={"_page": last_page, "_limit": 25},
    )
    assert len(results(response)) == count - 25 * (last_page - 1)


async def test_zero_activity_contact(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    zero = brokerage.notable["zero_activity"].id
    assert set((await summary(client, zero)).values()) == {0}
    response = await client.get(
        f"/v1/contacts/{zero}/activity/listings/shared", params={"_pagination": 1}
    )
    assert results(response) == []
    assert response.json()["D"]["Pagination"]["TotalRows"] == 0


async def test_listing_record_shape_without_expansion(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    jane = brokerage.notable["jane_doe"].id
    rows = results(await client.get(f"/v1/contacts/{jane}/activity/listings/viewed"))
    assert len(rows) == 10
    for row in rows:
        assert set(row) == {"ResourceUri", "Id", "StandardFields"}
        assert re.fullmatch(r"[0-9]{26}", row["Id"])
        assert row["ResourceUri"] == f"/v1/listings/{row['Id']}"
        fields = row["StandardFields"]
        assert fields["ListingKey"] == row["Id"]
        assert "Photos" not in fields
        assert {"ListingId", "MlsStatus", "ListPrice", "UnparsedFirstLineAddress"} <= set(fields)


async def test_select_applies_to_standard_fields(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    jane = brokerage.notable["jane_doe"].id
    response = await client.get(
        f"/v1/contacts/{jane}/activity/listings/shared",
        params={"_select": "ListPrice,City", "_expand": "PrimaryPhoto"},
    )
    for row in results(response):
        assert set(row) == {"ResourceUri", "Id", "StandardFields"}
        assert set(row["StandardFields"]) == {"ListPrice", "City", "Photos"}


async def test_expand_primary_photo_and_all_photos(
    client: httpx.AsyncClient, sandbox: Sandbox, brokerage: Brokerage
) -> None:
    heavy = brokerage.notable["heavy_viewer"].id
    path = f"/v1/contacts/{heavy}/activity/listings/viewed"
    primary_rows = results(await client.get(path, params={"_expand": "PrimaryPhoto", "_limit": 25}))
    all_rows = results(await client.get(path, params={"_expand": "Photos", "_limit": 25}))
    with_photos = 0
    for primary_row, all_row in zip(primary_rows, all_rows, strict=True):
        listing = brokerage.listing(primary_row["Id"])
        assert listing is not None
        primary, photos = (
            primary_row["StandardFields"]["Photos"],
            all_row["StandardFields"]["Photos"],
        )
        assert len(photos) == len(listing.photos)
        if listing.photos:
            with_photos += 1
            assert len(primary) == 1 and primary[0]["Primary"] is True
            assert [p for p in photos if p["Primary"]] == primary
            assert primary[0]["Uri300"].startswith(f"{sandbox.url}/photos/{listing.id}/")
        else:
            assert primary == []
    assert with_photos > 15


async def test_activity_needs_the_private_role(
    bare_client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    jane = brokerage.notable["jane_doe"].id
    headers = spark_headers(NO_ROLE_TOKEN)
    for path in (
        f"/v1/contacts/{jane}/activity",
        f"/v1/contacts/{jane}/activity/listings/viewed",
        f"/v1/contacts/{jane}/activity/listings/shared",
    ):
        d = assert_spark_error(await bare_client.get(path, headers=headers), 403, 1500)
        assert "service level" in d["Message"]
    assert results(await bare_client.get(f"/v1/contacts/{jane}", headers=headers))
    assert results(await bare_client.get("/v1/contacts", headers=headers))


async def test_unknown_activity_list_is_404(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    jane = brokerage.notable["jane_doe"].id
    response = await client.get(f"/v1/contacts/{jane}/activity/listings/liked")
    assert_spark_error(response, 404, 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_activity_is_read_only(
    client: httpx.AsyncClient, brokerage: Brokerage, method: str
) -> None:
    jane = brokerage.notable["jane_doe"].id
    for path in (
        f"/v1/contacts/{jane}/activity",
        f"/v1/contacts/{jane}/activity/listings/viewed",
        "/v1/contacts",
        f"/v1/contacts/{jane}",
        "/v1/my/account",
    ):
        assert_spark_error(await client.request(method, path), 405, 405)


async def test_days_before_the_epoch_do_not_move(
    client: httpx.AsyncClient, brokerage: Brokerage, clock: ManualClock
) -> None:
    jane = brokerage.notable["jane_doe"].id
    clock.set(clock().replace(year=ACTIVITY_EPOCH.year - 1, month=6))
    before = await summary(client, jane)
    clock.advance(days=30)
    assert await summary(client, jane) == before
