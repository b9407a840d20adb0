"""/activity over real HTTP: the lookup, the picker, no match, help, recent lookups, errors."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devtools.sandbox import NO_ROLE_TOKEN, Dialect
from devtools.slack_standin import slash_command_body
from devtools.slack_standin.messages import buttons, texts
from tests.helpers.stack import button

# Every lookup test runs against the lenient sandbox and the strictest dialect (no `_orderby`,
# only DisplayName/PrimaryEmail filterable, case-sensitive `Eq`, contacts with DisplayName only;
# sandbox.sparkql.Dialect), strict also sending 429 without `Retry-After` as production documents.
pytestmark = pytest.mark.parametrize(
    "stack",
    [{"dialect": "default"}, {"dialect": "strict", "retry_after": False}],
    indirect=True,
    ids=["default", "strict"],
)


def is_strict(stack) -> bool:
    return stack.sandbox.state.dialect == Dialect.preset("strict")


async def test_ack_is_an_empty_200_and_the_card_arrives_at_the_response_url(stack):
    janet = stack.contact("janet_doe")
    sent = await stack.sender.command("janet doe")
    assert sent.response.status_code == 200
    assert sent.response.text == ""
    card = await stack.reply_to(sent.response_url)
    assert card["response_type"] == "ephemeral"
    assert card["blocks"][0]["type"] == "header"
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
    assert "listings viewed" in texts(card)
    assert janet.primary_email in texts(card)
    labels = [b["text"]["text"] for b in buttons(card)]
    assert any(label.startswith("Viewed") for label in labels)
    assert "Share in channel" in labels


async def test_several_matches_give_a_picker_and_choosing_replaces_it_with_the_card(stack):
    sent = await stack.sender.command("jane doe")
    picker = await stack.reply_to(sent.response_url)
    # Strict: GivenName/FamilyName can't be filtered, so "Janet Doe" (GivenName Jane*, FamilyName
    # Doe*) is not found; the DisplayName prefix still finds both Jane Does and Jane Doerr.
    expected = 3 if is_strict(stack) else 4
    assert f"{expected} contacts match" in texts(picker)
    choices = [b for b in buttons(picker) if b["action_id"].startswith("contact_pick")]
    assert len(choices) == expected
    clicked = await stack.sender.action(choices[0]["action_id"], choices[0]["value"])
    assert clicked.response.status_code == 200
    card = await stack.reply_to(clicked.response_url)
    assert card["replace_original"] is True
    assert card["blocks"][0]["text"]["text"] == "Jane Doe"


async def test_no_match_says_so_with_tips(stack):
    sent = await stack.sender.command("Zebediah Quux")
    reply = await stack.reply_to(sent.response_url)
    assert "No contact matches" in texts(reply)
    assert "Zebediah Quux" in texts(reply)


async def test_help_lists_the_grammar(stack):
    reply = await stack.reply_to((await stack.sender.command("help")).response_url)
    for usage in (
        "/activity viewed",
        "/activity shared",
        "/activity connect",
        "/activity digest add",
    ):
        assert usage in texts(reply)


async def test_bare_command_lists_recent_lookups_as_buttons(stack):
    first = await stack.reply_to((await stack.sender.command("")).response_url)
    assert "haven't looked anyone up" in texts(first)
    await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    recent = await stack.reply_to((await stack.sender.command("   ")).response_url)
    opener = button(recent, "open_card")
    assert "Janet Doe" in opener["text"]["text"]
    clicked = await stack.sender.action(opener["action_id"], opener["value"])
    card = await stack.reply_to(clicked.response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"


async def test_refresh_replaces_the_card(stack):
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    refresh = button(card, "refresh_card")
    clicked = await stack.sender.action(refresh["action_id"], refresh["value"])
    again = await stack.reply_to(clicked.response_url)
    assert again["replace_original"] is True and again["blocks"][0]["text"]["text"] == "Janet Doe"


async def test_changes_since_yesterday_appear_the_next_day(stack):
    await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    stack.clock.advance(days=1)
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "yesterday" in texts(card).lower()
    assert "First lookup" not in texts(card)


async def test_fifty_concurrent_commands_are_all_acked_and_answered_once(stack):
    sends = await asyncio.gather(*(stack.sender.command("janet doe") for _ in range(50)))
    assert all(s.response.status_code == 200 for s in sends)
    for sent in sends:
        await stack.reply_to(sent.response_url, timeout=15)
    await asyncio.sleep(0.2)
    for sent in sends:
        assert len(stack.slack.responses(sent.response_url)) == 1


@pytest.mark.parametrize("bot_env", [{"SPARK_ACCESS_TOKEN": NO_ROLE_TOKEN}])
async def test_a_key_without_the_private_role_is_explained(stack):
    reply = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "Private role" in texts(reply)


@pytest.mark.parametrize("bot_env", [{"SPARK_ACCESS_TOKEN": ""}])
async def test_without_any_token_the_user_is_told_how_to_connect(stack):
    reply = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "/activity connect" in texts(reply)


async def test_flexmls_down_is_explained_not_a_traceback(stack):
    stack.sandbox.add_fault(kind="status", route="/v1/contacts", status=500)
    reply = await stack.reply_to((await stack.sender.command("janet doe")).response_url, timeout=10)
    assert "Flexmls isn't answering" in texts(reply)
    assert "Traceback" not in texts(reply)


async def test_rate_limiting_is_announced_then_answered(stack):
    stack.sandbox.add_fault(kind="rate_limit", route="/v1/contacts", retry_after=2, times=1)
    sent = await stack.sender.command("janet doe")
    notice, card = await stack.replies_to(sent.response_url, 2, timeout=10)
    assert "rate-limiting" in texts(notice)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"


async def test_a_bad_signature_is_refused(stack):
    body = slash_command_body(text="janet doe", response_url=stack.slack.new_response_url())
    response = await stack.sender.post(
        body, "application/x-www-form-urlencoded", signature="v0=deadbeef"
    )
    assert response.status_code == 401
    missing = await stack.sender.post(body, "application/x-www-form-urlencoded", signed=False)
    assert missing.status_code == 401


async def test_a_stale_timestamp_is_refused(stack):
    sent = await stack.sender.command("janet doe", timestamp=int(time.time()) - 6 * 60)
    assert sent.response.status_code == 401
    await asyncio.sleep(0.2)
    assert stack.slack.responses(sent.response_url) == []


async def test_healthz(stack):
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{stack.bot.url}/healthz")
    assert response.status_code == 200 and response.text == "ok"


async def test_a_surname_finds_a_contact_that_has_only_a_display_name(stack):
    # Surname first: no name starts with it, so each word is looked for inside DisplayName.
    card = await stack.reply_to((await stack.sender.command("okafor chidi")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Chidi Okafor"
    assert stack.contact("display_only").given_name is None
    filters = [
        r.query.get("_filter", "") for r in stack.sandbox.requests if r.path == "/v1/contacts"
    ]
    assert any("'*okafor*'" in f and "'*chidi*'" in f for f in filters)
    assert not any("_orderby" in r.query for r in stack.sandbox.requests)


async def test_a_phone_search_refused_by_flexmls_is_explained(stack):
    janet = stack.contact("janet_doe")
    reply = await stack.reply_to((await stack.sender.command(janet.primary_phone)).response_url)
    if is_strict(stack):
        assert "Searching by phone number isn't available on your Flexmls" in texts(reply)
    else:
        assert reply["blocks"][0]["text"]["text"] == "Janet Doe"
