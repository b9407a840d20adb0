"""Adaptive contact search: rejected fields are dropped, strategies fall back, keys remember."""

from __future__ import annotations

import contextlib
import re

import httpx
import pytest

from spark import BadFilter, RateLimited
from spark.search import KNOWLEDGE_TTL_S, SearchMemory, SearchUnavailable, rejected_fields
from spark.sparkql import QueryKind
from tests.helpers.spark import spark_error, spark_ok

CHIDI = {"Id": "20240324034725613000300000", "DisplayName": "Chidi Okafor"}
JANE = {"Id": "20101230223226074201000000", "DisplayName": "Jane Doe", "GivenName": "Jane",
        "FamilyName": "Doe"}  # fmt: skip
FIELD = re.compile(r"\b([A-Z][A-Za-z]+) Eq\b")


class FakeSpark:
    """Answers /v1/contacts like a Flexmls that refuses some fields (400/1040 naming them)."""

    def __init__(
        self,
        refuse: set[str] = frozenset(),
        *,
        results: dict[str, list[dict]] | None = None,
        how: str = "tokens",
    ) -> None:
        self.refuse = set(refuse)
        self.results = results or {}
        self.how = how  # "tokens": SparkQLErrors; "message": only the message names the field
        self.filters: list[str] = []
        self.params: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        text = request.url.params.get("_filter", "")
        self.filters.append(text)
        self.params.append(request.url.params)
        used = set(FIELD.findall(text))
        refused = sorted(used & self.refuse)
        if refused:
            if self.how == "message":
                return spark_error(400, 1040, f"Field {refused[0]} is not searchable")
            errors = [
                {"Token": f, "Status": "Dropped", "Message": "not searchable"} for f in refused
            ]
            return spark_error(400, 1040, "Invalid filter", SparkQLErrors=errors)
        for marker, records in self.results.items():
            if marker in text:
                return spark_ok(records, {"TotalRows": len(records), "TotalPages": 1})
        return spark_ok([], {"TotalRows": 0, "TotalPages": 0})


async def test_no_orderby_is_ever_sent(make_client):
    spark = FakeSpark(results={"Jane": [JANE]})
    await make_client(spark).search_contacts("tok", "Jane Doe")
    assert all("_orderby" not in params for params in spark.params)


async def test_a_rejected_field_is_dropped_and_the_search_retried_once(make_client):
    spark = FakeSpark({"GivenName", "FamilyName"}, results={"'Jane Doe*'": [JANE]})
    page = await make_client(spark).search_contacts("tok", "Jane Doe")
    assert [c.id for c in page.items] == [JANE["Id"]]
    assert len(spark.filters) == 2
    assert "GivenName" in spark.filters[0]
    assert spark.filters[1] == "DisplayName Eq 'Jane Doe*'"


async def test_a_field_named_only_in_the_message_is_dropped_too(make_client):
    spark = FakeSpark({"FamilyName"}, results={"'Jane Doe*'": [JANE]}, how="message")
    page = await make_client(spark).search_contacts("tok", "Jane Doe")
    assert page.items and "FamilyName" not in spark.filters[-1]


async def test_what_a_key_taught_us_is_remembered_for_that_key_only(make_client):
    spark = FakeSpark({"GivenName", "FamilyName"}, results={"'Jane Doe*'": [JANE]})
    client = make_client(spark)
    await client.search_contacts("tok-a", "Jane Doe")
    assert len(spark.filters) == 2
    await client.search_contacts("tok-a", "Jane Doe")
    assert len(spark.filters) == 3  # no request spent on the known-bad fields
    assert spark.filters[2] == "DisplayName Eq 'Jane Doe*'"
    knowledge = client.contact_search.knowledge("tok-a")
    assert knowledge is not None
    assert knowledge.unfilterable == {"GivenName", "FamilyName"}
    assert "DisplayName" in knowledge.filterable
    # Another key (here: another personal token) learns for itself.
    await client.search_contacts("tok-b", "Jane Doe")
    assert len(spark.filters) == 5


async def test_a_surname_finds_a_display_name_only_contact(make_client):
    spark = FakeSpark(results={"'*Okafor*'": [CHIDI]})
    page = await make_client(spark).search_contacts("tok", "okafor")
    assert [c.display_name for c in page.items] == ["Chidi Okafor"]
    assert spark.filters == [
        "DisplayName Eq 'okafor*','Okafor*' Or GivenName Eq 'okafor*','Okafor*'"
        " Or FamilyName Eq 'okafor*','Okafor*'",
        "DisplayName Eq '*okafor*','*Okafor*'",
    ]


async def test_the_words_search_runs_only_when_the_prefix_search_finds_nothing(make_client):
    spark = FakeSpark(results={"'Jane*'": [JANE], "'*Jane*'": [CHIDI]})
    page = await make_client(spark).search_contacts("tok", "jane doe")
    assert [c.id for c in page.items] == [JANE["Id"]] and len(spark.filters) == 1


async def test_a_one_word_name_also_finds_display_name_only_contacts(make_client):
    spark = FakeSpark(results={"'Okafor*'": [JANE], "'*Okafor*'": [CHIDI, JANE]})
    page = await make_client(spark).search_contacts("tok", "okafor")
    assert [c.id for c in page.items] == [JANE["Id"], CHIDI["Id"]]  # merged, no duplicate
    assert len(spark.filters) == 2


async def test_values_echoed_in_an_error_cannot_switch_off_fields_for_the_key(make_client):
    """A user's text naming our fields, echoed back by Spark, must not teach anything."""
    typed = "DisplayName GivenName FamilyName"
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["_filter"])
        if len(calls) <= 2:
            return spark_error(
                400,
                1040,
                f"Bad value '{typed}*'",
                SparkQLErrors=[{"Token": f"'{typed}*'", "Status": "Dropped"}],
            )
        return httpx.Response(200, json={"D": {"Success": True, "Results": [JANE]}})

    client = make_client(handler)
    with pytest.raises(BadFilter):
        await client.search_contacts("tok", typed)
    knowledge = client.contact_search.knowledge("tok")
    assert knowledge is not None and knowledge.unfilterable == set()
    page = await client.search_contacts("tok", "jane")  # colleagues' searches are unharmed
    assert page.items


async def test_a_field_seen_working_is_not_switched_off_by_one_rejection(make_client):
    spark = FakeSpark(results={"'Jane*'": [JANE]})
    client = make_client(spark)
    await client.search_contacts("tok", "jane doe")  # DisplayName/GivenName/FamilyName work
    spark.refuse = {"GivenName"}
    with contextlib.suppress(BadFilter, SearchUnavailable):
        await client.search_contacts("tok", "jane doe")
    knowledge = client.contact_search.knowledge("tok")
    assert knowledge is not None and "GivenName" not in knowledge.unfilterable


def test_what_a_key_taught_is_forgotten_after_an_hour():
    now = [0.0]
    memory = SearchMemory(clock=lambda: now[0])
    memory.get("k").unfilterable.add("GivenName")
    now[0] += KNOWLEDGE_TTL_S - 1
    assert memory.get("k").unfilterable == {"GivenName"}
    now[0] += KNOWLEDGE_TTL_S + 1
    assert memory.get("k").unfilterable == set()


async def test_when_every_name_field_but_display_name_is_refused_name_lookups_still_work(
    make_client,
):
    spark = FakeSpark({"GivenName", "FamilyName"}, results={"'*Okafor*'": [CHIDI]})
    client = make_client(spark)
    page = await client.search_contacts("tok", "Okafor")
    assert [c.id for c in page.items] == [CHIDI["Id"]]
    assert spark.filters[1] == "DisplayName Eq 'Okafor*'"
    assert spark.filters[2] == "DisplayName Eq '*Okafor*'"


async def test_a_refused_phone_field_is_a_search_unavailable_error_remembered(make_client):
    spark = FakeSpark({"PrimaryPhoneNumber"})
    client = make_client(spark)
    with pytest.raises(SearchUnavailable) as caught:
        await client.search_contacts("tok", "303 555 0142")
    assert caught.value.kind is QueryKind.PHONE
    assert len(spark.filters) == 1
    with pytest.raises(SearchUnavailable):
        await client.search_contacts("tok", "(303) 555-0199")
    assert len(spark.filters) == 1  # known: not asked again


async def test_no_name_field_at_all_says_name_search_is_unavailable(make_client):
    spark = FakeSpark({"DisplayName", "GivenName", "FamilyName"})
    with pytest.raises(SearchUnavailable) as caught:
        await make_client(spark).search_contacts("tok", "Jane Doe")
    assert caught.value.kind is QueryKind.NAME
    assert len(spark.filters) == 1  # all three named at once: no request for the words search


async def test_a_value_error_is_raised_at_once_and_teaches_nothing(make_client):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["_filter"])
        return spark_error(400, 2001, "Value not allowed")

    client = make_client(handler)
    for _ in range(3):  # however often a user's odd value is refused
        with pytest.raises(BadFilter):
            await client.search_contacts("tok", "Jane")
    assert len(calls) == 3  # one request each: no fallback burnt on a value problem
    knowledge = client.contact_search.knowledge("tok")
    assert knowledge is not None and not knowledge.dead and not knowledge.unfilterable


async def test_a_field_error_naming_no_field_moves_on_and_twice_gives_up(make_client):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["_filter"])
        return spark_error(400, 1040, "Invalid filter")

    client = make_client(handler)
    with pytest.raises(BadFilter):
        await client.search_contacts("tok", "Jane")
    assert len(calls) == 2  # prefix, then words
    knowledge = client.contact_search.knowledge("tok")
    assert knowledge is not None and not knowledge.dead  # one odd answer proves nothing
    with pytest.raises(SearchUnavailable):
        await client.search_contacts("tok", "Jane")  # twice unexplained: given up for the key


async def test_other_errors_pass_through_and_teach_nothing(make_client):
    def handler(request: httpx.Request) -> httpx.Response:
        return spark_error(429, 1550, "Over the limit", headers={"Retry-After": "999"})

    client = make_client(handler)
    with pytest.raises(RateLimited):
        await client.search_contacts("tok", "Jane")
    knowledge = client.contact_search.knowledge("tok")
    assert knowledge is None or (not knowledge.unfilterable and not knowledge.dead)


async def test_later_pages_stay_with_the_first_strategy(make_client):
    spark = FakeSpark(results={"'*Jane*'": [CHIDI]})
    page = await make_client(spark).search_contacts("tok", "jane", page=2)
    assert page.items == () and len(spark.filters) == 1


@pytest.mark.parametrize("digits", ["123456789012345678901234", "12345678901234567890123456"])
async def test_ids_of_24_and_26_digits_are_fetched_directly(make_client, digits):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return spark_ok([{"Id": digits, "DisplayName": "Contact One"}])

    page = await make_client(handler).search_contacts("tok", digits)
    assert seen == [f"/v1/contacts/{digits}"] and page.items[0].id == digits


def test_rejected_fields_reads_tokens_and_message_but_only_fields_we_used():
    error = BadFilter(
        "Field GivenName is not searchable",
        details=[{"Token": "FamilyName", "Status": "Dropped"}, {"Token": "Bogus"}],
    )
    assert rejected_fields(error, ["GivenName", "FamilyName", "DisplayName"]) == {
        "GivenName",
        "FamilyName",
    }
    assert rejected_fields(BadFilter("Invalid filter"), ["DisplayName"]) == set()


async def test_seven_digits_ask_once_for_numbers_ending_in_them(make_client):
    spark = FakeSpark(results={"'*555-0142'": [JANE]})
    page = await make_client(spark).search_contacts("tok", "555-0142")
    assert [c.id for c in page.items] == [JANE["Id"]]
    empty = await make_client(FakeSpark()).search_contacts("tok", "555-0199")
    assert empty.items == ()  # the ending search is final: no second, narrower request


async def test_seven_digits_fall_back_to_exact_spellings_if_the_leading_star_is_refused(
    make_client,
):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        text = request.url.params["_filter"]
        calls.append(text)
        if "'*" in text:
            return spark_error(400, 1040, "Invalid filter")  # names no field
        return spark_ok([JANE], {"TotalRows": 1, "TotalPages": 1})

    client = make_client(handler)
    page = await client.search_contacts("tok", "5550142")
    assert page.items and calls[-1] == "PrimaryPhoneNumber Eq '5550142','555-0142'"
    await client.search_contacts("tok", "5550142")  # once more, then the ending is given up
    calls.clear()
    await client.search_contacts("tok", "5550142")
    assert calls == ["PrimaryPhoneNumber Eq '5550142','555-0142'"]


async def test_ten_digits_search_the_exact_spellings_only(make_client):
    spark = FakeSpark()
    await make_client(spark).search_contacts("tok", "(303) 555-0142")
    assert len(spark.filters) == 1 and "'*" not in spark.filters[0]


async def test_the_initials_widening_is_one_request_on_display_name(make_client):
    from spark.sparkql import classify, widened

    spark = FakeSpark(results={"'J* N*'": [JANE]})
    wider = widened(classify("jose nunez"))
    assert wider is not None
    page = await make_client(spark).search_contacts("tok", wider)
    assert page.items and spark.filters == ["DisplayName Eq 'j* n*','J* N*'"]
    refused = FakeSpark({"DisplayName"})
    with pytest.raises(SearchUnavailable):
        await make_client(refused).search_contacts("tok", wider)
