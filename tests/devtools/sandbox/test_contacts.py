"""Contacts, tags and account routes over real HTTP: paging, selection, filters, isolation."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.sandbox import (
    DEMO_ACCOUNT_ID,
    NO_ROLE_TOKEN,
    SECOND_ACCOUNT_ID,
    SECOND_AGENT_TOKEN,
    Brokerage,
    SandboxThread,
)
from tests.helpers.sandbox import assert_spark_error, results, spark_headers


async def test_list_defaults_to_ten_without_pagination(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    response = await client.get("/v1/contacts")
    rows = results(response)
    assert len(rows) == 10
    assert "Pagination" not in response.json()["D"]
    owned = [c.id for c in brokerage.contacts_for(DEMO_ACCOUNT_ID)]
    assert [r["Id"] for r in rows] == owned[:10]
    first = rows[0]
    assert first["ResourceUri"] == f"/v1/contacts/{first['Id']}"
    assert {"DisplayName", "PrimaryEmail", "Tags", "ModificationTimestamp"} <= set(first)


async def test_pages_cover_every_contact_once(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    owned = [c.id for c in brokerage.contacts_for(DEMO_ACCOUNT_ID)]
    pages = math.ceil(len(owned) / 25)
    seen: list[str] = []
    for page in range(1, pages + 1):
        response = await client.get(
            "/v1/contacts", params={"_limit": 25, "_page": page, "_pagination": 1}
        )
        rows = results(response)
        assert response.json()["D"]["Pagination"] == {
            "TotalRows": len(owned),
            "PageSize": 25,
            "TotalPages": pages,
            "CurrentPage": page,
        }
        expected = 25 if page < pages else len(owned) - 25 * (pages - 1)
        assert len(rows) == expected
        seen += [r["Id"] for r in rows]
    assert seen == owned
    beyond = await client.get("/v1/contacts", params={"_limit": 25, "_page": pages + 1})
    assert results(beyond) == []


async def test_pagination_count_returns_only_counts(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    response = await client.get("/v1/contacts", params={"_pagination": "count", "_limit": 7})
    assert results(response) == []
    total = len(brokerage.contacts_for(DEMO_ACCOUNT_ID))
    assert response.json()["D"]["Pagination"] == {
        "TotalRows": total,
        "PageSize": 7,
        "TotalPages": math.ceil(total / 7),
        "CurrentPage": 1,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"_limit": "26"},
        {"_limit": "0"},
        {"_limit": "ten"},
        {"_limit": "-1"},
        {"_page": "0"},
        {"_page": "x"},
        {"_page": "100001"},
        {"_pagination": "yes"},
    ],
)
async def test_bad_paging_parameters_are_1053(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    d = assert_spark_error(await client.get("/v1/contacts", params=params), 400, 1053)
    assert list(d["Details"][0]) == list(params)


async def test_limit_over_25_names_the_rule(client: httpx.AsyncClient) -> None:
    d = assert_spark_error(await client.get("/v1/contacts", params={"_limit": 30}), 400, 1053)
    assert d["Details"] == [{"_limit": [{"RuleName": "MaxValue", "Value": 30, "RuleValue": 25}]}]


async def test_select_keeps_id_and_resource_uri(client: httpx.AsyncClient) -> None:
    rows = results(await client.get("/v1/contacts", params={"_select": "DisplayName, Tags"}))
    assert all(set(r) == {"Id", "ResourceUri", "DisplayName", "Tags"} for r in rows)
    rows = results(await client.get("/v1/contacts", params={"_select": "Id"}))
    assert all(set(r) == {"Id", "ResourceUri"} for r in rows)


async def test_get_one_contact(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    jane = brokerage.notable["jane_doe"]
    rows = results(await client.get(f"/v1/contacts/{jane.id}"))
    assert rows == [jane.to_json()]
    rows = results(await client.get(f"/v1/contacts/{jane.id}", params={"_select": "PrimaryEmail"}))
    assert rows == [
        {
            "Id": jane.id,
            "ResourceUri": jane.to_json()["ResourceUri"],
            "PrimaryEmail": jane.primary_email,
        }
    ]


async def test_unknown_contact_is_404(client: httpx.AsyncClient) -> None:
    assert_spark_error(await client.get("/v1/contacts/20990101000000000000000000"), 404, 404)


# -- filters --------------------------------------------------------------------------------


async def filter_ids(client: httpx.AsyncClient, text: str) -> set[str]:
    response = await client.get("/v1/contacts", params={"_filter": text, "_limit": 25})
    return {r["Id"] for r in results(response)}


async def test_filter_namesakes(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    janes = {c.id for c in brokerage.contact_by_name("Jane Doe")}
    assert len(janes) == 2
    assert await filter_ids(client, "DisplayName Eq 'jane doe'") == janes
    doerr = {c.id for c in brokerage.contact_by_name("Jane Doerr")}
    janet = {c.id for c in brokerage.contact_by_name("Janet Doe")}
    assert await filter_ids(client, "DisplayName Eq 'Jane Doe*'") == janes | doerr
    both = "GivenName Eq 'Jane','Janet' And FamilyName Eq 'Doe'"
    assert await filter_ids(client, both) == janes | janet


async def test_filter_precedence_and_parentheses(
    client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    sean = brokerage.notable["sean_obrien"].id
    zoe = brokerage.notable["zoe_obrien"].id
    doerr = brokerage.notable["jane_doerr"].id
    text = "FamilyName Eq 'O\\'Brien' Or GivenName Eq 'Jane' And FamilyName Eq 'Doerr'"
    assert await filter_ids(client, text) == {sean, zoe, doerr}
    grouped = "(FamilyName Eq 'O\\'Brien' Or GivenName Eq 'Jane') And FamilyName Eq 'Doerr'"
    assert await filter_ids(client, grouped) == {doerr}


async def test_filter_accents_and_email(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    jose = brokerage.notable["jose_nunez"]
    assert await filter_ids(client, "DisplayName Eq 'JOSÉ NÚÑEZ'") == {jose.id}
    assert await filter_ids(client, "DisplayName Eq 'Jose Nunez'") == {jose.id}  # default
    by_email = f"PrimaryEmail Eq '{jose.primary_email.upper()}'"
    assert await filter_ids(client, by_email) == {jose.id}
    phone = f"PrimaryPhoneNumber Eq '{jose.primary_phone}'"
    assert await filter_ids(client, phone) == {jose.id}


async def test_filter_unknown_field_is_1040_with_sparkql_errors(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/contacts", params={"_filter": "Nickname Eq 'JD'"})
    d = assert_spark_error(response, 400, 1040)
    assert d["SparkQLErrors"] == [
        {"Token": "Nickname", "Status": "Dropped", "Message": d["SparkQLErrors"][0]["Message"]}
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DisplayName Eq 'Jane", 1040),
        ("DisplayName Eq 'Jane' And", 1040),
        ("DisplayName Like 'Jane'", 1040),
        ("%%% garbage", 1040),
        ("DisplayName Eq '" + "x" * 2000 + "'", 1041),
        ("(" * 9 + "Id Eq '1'" + ")" * 9, 1041),
    ],
)
async def test_filter_errors(client: httpx.AsyncClient, text: str, code: int) -> None:
    d = assert_spark_error(await client.get("/v1/contacts", params={"_filter": text}), 400, code)
    assert d["SparkQLErrors"]


async def test_blank_filter_means_no_filter(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/contacts", params={"_filter": "  ", "_pagination": 1})
    assert response.json()["D"]["Pagination"]["TotalRows"] > 250


@pytest.fixture(scope="module")
def threaded_client() -> Iterator[httpx.Client]:
    with (
        SandboxThread() as running,
        httpx.Client(
            verify=False, base_url=running.url, headers=spark_headers(), timeout=5.0
        ) as http,
    ):
        yield http


FILTER_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            [
                "DisplayName",
                "Tags",
                "Eq",
                "Ne",
                "And",
                "Or",
                "Not",
                "(",
                ")",
                ",",
                "'a*'",
                "'O\\'B'",
                "'",
                "\\",
                "Zip",
                "Bt",
                "'é'",
                "*",
                "%",
                "&",
                "#",
                "+",
            ]
        ),
        max_size=30,
    ).map(" ".join),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=FILTER_TEXT)
def test_arbitrary_filter_text_never_yields_5xx(threaded_client: httpx.Client, text: str) -> None:
    response = threaded_client.get("/v1/contacts", params={"_filter": text})
    assert response.status_code in (200, 400), response.text
    d = response.json()["D"]
    if response.status_code == 400:
        assert d["Code"] in (1040, 1041)


# -- tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["IDX%20Lead", "idx%20lead", "IDX Lead"])
async def test_contacts_by_tag(client: httpx.AsyncClient, brokerage: Brokerage, tag: str) -> None:
    expected = [c.id for c in brokerage.contacts_for(DEMO_ACCOUNT_ID) if "IDX Lead" in c.tags]
    assert len(expected) > 25
    response = await client.get(f"/v1/contacts/tags/{tag}", params={"_limit": 25, "_pagination": 1})
    rows = results(response)
    assert [r["Id"] for r in rows] == expected[:25]
    assert all("IDX Lead" in r["Tags"] for r in rows)
    assert response.json()["D"]["Pagination"]["TotalRows"] == len(expected)


async def test_unknown_tag_is_empty(client: httpx.AsyncClient) -> None:
    assert results(await client.get("/v1/contacts/tags/Nobody")) == []


async def test_tag_list(client: httpx.AsyncClient) -> None:
    rows = results(await client.get("/v1/contacts/tags"))
    tags = {r["Tag"] for r in rows}
    assert {"Buyer", "Seller", "IDX Lead", "Hot Lead", "Past Client"} <= tags
    assert {"ResourceUri": "/v1/contacts/tags/IDX%20Lead", "Tag": "IDX Lead"} in rows


# -- ownership and account ------------------------------------------------------------------


async def test_agents_only_see_their_own_contacts(
    bare_client: httpx.AsyncClient, brokerage: Brokerage
) -> None:
    blake = spark_headers(SECOND_AGENT_TOKEN)
    response = await bare_client.get(
        "/v1/contacts", headers=blake, params={"_limit": 25, "_pagination": 1}
    )
    ids = {r["Id"] for r in results(response)}
    assert ids == {c.id for c in brokerage.contacts_for(SECOND_ACCOUNT_ID)}
    assert response.json()["D"]["Pagination"]["TotalRows"] == len(ids)

    jane = brokerage.notable["jane_doe"].id
    for path in (
        f"/v1/contacts/{jane}",
        f"/v1/contacts/{jane}/activity",
        f"/v1/contacts/{jane}/activity/listings/viewed",
    ):
        assert_spark_error(await bare_client.get(path, headers=blake), 404, 404)
    found = await bare_client.get(
        "/v1/contacts", headers=blake, params={"_filter": "DisplayName Eq 'Jane Doe'"}
    )
    assert results(found) == []


@pytest.mark.parametrize(
    ("token", "name", "account_id"),
    [
        (None, "Avery Agent", DEMO_ACCOUNT_ID),
        (SECOND_AGENT_TOKEN, "Blake Broker", SECOND_ACCOUNT_ID),
        (NO_ROLE_TOKEN, "Avery Agent", DEMO_ACCOUNT_ID),
    ],
)
async def test_my_account(
    client: httpx.AsyncClient, token: str | None, name: str, account_id: str
) -> None:
    headers = spark_headers(token) if token else None
    rows = results(await client.get("/v1/my/account", headers=headers))
    assert len(rows) == 1
    account = rows[0]
    assert account["Id"] == account_id
    assert account["Name"] == name
    assert account["UserType"] == "Member"
    assert account["Emails"][0]["Address"].endswith("@example.com")
    assert account["Office"] and "OfficeName" not in account
