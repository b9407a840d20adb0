"""`SparkClient.contact_tags`: the tag list `digest add tag:<Tag>` checks against."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from devtools.sandbox import DEMO_TOKEN, ManualClock, Sandbox
from spark import BadFilter, PermissionDenied, RetryPolicy, SparkClient
from spark.client import parse_tags

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
async def sandbox():
    async with Sandbox(clock=ManualClock(START)) as running:
        yield running


@pytest.fixture
async def spark(sandbox):
    async with httpx.AsyncClient() as http:
        retry = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, deadline=2)
        yield SparkClient(http, base_url=sandbox.url, user_agent="ActivityBotTests", retry=retry)


async def test_the_tags_of_the_tokens_contacts_in_one_request(spark, sandbox):
    sandbox.state.reset_stats()
    tags = await spark.contact_tags(DEMO_TOKEN)
    assert {"Buyer", "Seller", "Hot Lead"} <= set(tags)
    assert list(tags) == sorted(tags, key=str.casefold)
    assert [r.path for r in sandbox.state.recorded()] == ["/v1/contacts/tags"]


@pytest.mark.parametrize(
    ("status", "code", "error"), [(403, 1500, PermissionDenied), (400, 1040, BadFilter)]
)
async def test_a_key_that_may_not_list_tags_raises_a_typed_error(
    spark, sandbox, status, code, error
):
    sandbox.add_fault(kind="status", route="/v1/contacts/tags", status=status, code=code)
    with pytest.raises(error):
        await spark.contact_tags(DEMO_TOKEN)


def test_tags_are_read_defensively():
    results = [
        {"Tag": "Seller", "ResourceUri": "/v1/contacts/tags/Seller"},
        {"Tag": "buyer"},
        {"Tag": "Buyer"},  # the same tag twice, in another case: kept once
        {"Tag": None},
        {"Tag": "  "},
        {"Tag": "x" * 101},
        {"ResourceUri": "/v1/contacts/tags/Nameless"},
        "Investor",
        7,
    ]
    assert parse_tags(results) == ("buyer", "Investor", "Seller")
    assert parse_tags({"Tag": "Buyer"}) == ()
    assert parse_tags(None) == ()
