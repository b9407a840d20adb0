"""Findings of the outside attack review of the phone-first release (issue 13), kept as tests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from activity.digests import PREVIEW_MAX_CONTACTS
from devtools.slack_standin.messages import texts
from devtools.slack_standin.requests import dm_channel_id
from settings import fill_link, load_settings
from spark.models import parse_listing
from storage import record_lookup

REFUSED = "only works for members of this workspace"


def spark_calls(stack) -> int:
    return sum(r.path.startswith("/v1/") for r in stack.sandbox.requests)


async def test_one_typed_preview_of_a_big_digest_costs_no_spark_request(stack):
    services = stack.bot.services
    now = services.clock()
    for i, contact in enumerate(stack.sandbox.state.brokerage.contacts[:100]):
        record_lookup(services.db, team_id=stack.sender.team_id, user_id="U0AGENT1",
                      contact_id=contact.id, display_name=f"C{i}", query=f"q{i}",
                      now=now - dt.timedelta(minutes=i))  # fmt: skip
    await stack.reply_to(
        (await stack.sender.command("digest add <#C0SALES|sales> 07:00")).response_url
    )
    before = spark_calls(stack)
    shown = await stack.reply_to((await stack.sender.command("digest preview 1")).response_url)
    assert f"more than {PREVIEW_MAX_CONTACTS} contacts" in texts(shown)
    assert spark_calls(stack) == before


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_a_link_value_that_is_a_dot_segment_gets_no_link(value):
    assert fill_link("https://flexmls.example/listing/{id}/view", id=value) is None


@pytest.mark.parametrize("value", ["..%2F", "a/..", "../x"])
def test_other_odd_values_stay_inside_their_path_segment(value):
    link = fill_link("https://flexmls.example/listing/{id}/view", id=value)
    assert link is not None and "/../" not in link and link.endswith("/view")


def test_plain_ids_and_mls_numbers_still_get_their_link():
    assert fill_link("https://f.example/l/{id}?m={mls}", id="2024012345", mls="IR-1.5") == (
        "https://f.example/l/2024012345?m=IR-1.5"
    )


def test_a_contact_id_with_dot_segments_gets_no_flexmls_button():
    settings = load_settings(
        {"FLEXMLS_CONTACT_URL": "https://flexmls.example/contacts/{id}/summary"}
    )
    assert settings.flexmls_contact_link("..") is None
    assert (
        settings.flexmls_contact_link("20250101")
        == "https://flexmls.example/contacts/20250101/summary"
    )


def test_a_huge_count_in_contact_activity_is_ignored_not_a_crash():
    record = json.loads(
        '{"Id": "L1", "StandardFields": {"ListingId": "1"}, '
        '"ContactActivity": {"Count": 1' + "0" * 400 + "}}"
    )
    listing = parse_listing(record, kind="viewed")
    assert (
        listing.activity is None or listing.activity.count is None or listing.activity.count < 1e16
    )


@pytest.mark.parametrize("verb", ["connect", "help", "digest list", "status"])
async def test_a_dm_from_another_team_is_refused_even_when_slack_cant_say_who(stack, verb):
    """users.info doesn't know U0SHARED; the event's own team is enough to refuse."""
    await stack.sender.dm(verb, user="U0SHARED", team="T0OUTSIDE")
    found = await stack.slack.wait_for_count(
        lambda r: r.method == "chat.postMessage" and r.body["channel"] == dm_channel_id("U0SHARED"),
        1,
    )
    assert REFUSED in texts(found[0].body)
