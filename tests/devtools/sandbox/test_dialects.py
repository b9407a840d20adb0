"""The sandbox's dialect switches for what Spark's docs leave open (spark_api.md §9)."""

from __future__ import annotations

import httpx
import pytest

from devtools.sandbox import Dialect, Sandbox
from tests.helpers.sandbox import assert_spark_error, results, spark_headers


async def get(sandbox: Sandbox, path: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sandbox.url, headers=spark_headers()) as http:
        return await http.get(path, params=params)


async def test_default_accepts_orderby_and_sorts():
    async with Sandbox() as sandbox:
        rows = results(await get(sandbox, "/v1/contacts", _orderby="-DisplayName", _limit="25"))
        names = [r["DisplayName"].casefold() for r in rows]
        assert names == sorted(names, reverse=True)


async def test_rejected_orderby_is_a_1040_naming_it():
    async with Sandbox(dialect={"orderby": "rejected"}) as sandbox:
        d = assert_spark_error(
            await get(sandbox, "/v1/contacts", _orderby="DisplayName"), 400, 1040
        )
        assert "_orderby" in d["Message"]
        assert d["SparkQLErrors"][0]["Token"] == "_orderby"
        results(await get(sandbox, "/v1/contacts"))  # without it, fine


async def test_an_unfilterable_field_is_a_1040_naming_it():
    async with Sandbox(dialect={"unfilterable": ["GivenName"]}) as sandbox:
        d = assert_spark_error(
            await get(sandbox, "/v1/contacts", _filter="GivenName Eq 'Jane*'"), 400, 1040
        )
        assert [e["Token"] for e in d["SparkQLErrors"]] == ["GivenName"]
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'Jane*'"))
        assert_spark_error(await get(sandbox, "/v1/contacts", _orderby="GivenName"), 400, 1040)


async def test_case_sensitive_eq():
    async with Sandbox(dialect={"case_sensitive": True}) as sandbox:
        assert not results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'jane*'"))
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'Jane*'"))
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'jane*','Jane*'"))


async def test_accent_sensitive_eq():
    async with Sandbox(dialect={"accent_sensitive": True}) as sandbox:
        assert not results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'jose n*'"))
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'josé n*'"))
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'J* N*'"))
    async with Sandbox() as sandbox:  # the default ignores accents, like many collations
        assert results(await get(sandbox, "/v1/contacts", _filter="DisplayName Eq 'jose nunez'"))


async def test_display_name_only_contacts():
    async with Sandbox(dialect={"display_name_only": True}) as sandbox:
        rows = results(await get(sandbox, "/v1/contacts", _limit="25"))
        assert rows and all("GivenName" not in r and "FamilyName" not in r for r in rows)
        assert all(r["DisplayName"] for r in rows)
        one = results(await get(sandbox, f"/v1/contacts/{rows[0]['Id']}"))[0]
        assert "GivenName" not in one
        # The field exists in the grammar but no record carries it any more.
        assert not results(await get(sandbox, "/v1/contacts", _filter="GivenName Eq 'Jane'"))


async def test_chidi_okafor_carries_only_a_display_name_in_every_dialect():
    async with Sandbox() as sandbox:
        chidi = sandbox.state.brokerage.notable["display_only"]
        record = results(await get(sandbox, f"/v1/contacts/{chidi.id}"))[0]
        assert record["DisplayName"] == "Chidi Okafor"
        assert "GivenName" not in record and "FamilyName" not in record


def test_strict_combines_the_strictest_choices():
    strict = Dialect.preset("strict")
    assert strict.orderby == "rejected" and strict.case_sensitive and strict.display_name_only
    assert strict.accent_sensitive and not Dialect().accent_sensitive
    assert {"DisplayName", "PrimaryEmail"} <= strict.filter_fields
    assert "GivenName" not in strict.filter_fields
    assert Dialect.coerce({"preset": "strict", "case_sensitive": False}).case_sensitive is False


@pytest.mark.parametrize(
    "bad",
    [
        {"orderby": "maybe"},
        {"unfilterable": ["Nope"]},
        {"colour": 1},
        {"accent_sensitive": "yes"},
        "lenient",
        3,
    ],
)
def test_bad_dialects_are_refused(bad):
    with pytest.raises(ValueError):
        Dialect.coerce(bad)


async def test_the_admin_endpoint_switches_the_dialect():
    async with Sandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.url) as http:
        response = await http.post("/_sandbox/dialect", json={"preset": "strict"})
        assert response.status_code == 200 and response.json()["orderby"] == "rejected"
        assert (await http.get("/_sandbox/dialect")).json()["case_sensitive"] is True
        assert (await http.get("/_sandbox/dialect")).json()["accent_sensitive"] is True
        assert_spark_error(await get(sandbox, "/v1/contacts", _orderby="DisplayName"), 400, 1040)
        refused = await http.post("/_sandbox/dialect", json={"orderby": "sometimes"})
        assert refused.status_code == 400
