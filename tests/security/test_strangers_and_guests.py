"""Only members of the installed workspace are served; guests only with their own connection.

Before the fix, a command, click or mention from another organisation (a Slack Connect channel)
or from a guest was answered with the workspace-wide `SPARK_ACCESS_TOKEN`: the brokerage's
contacts, read for someone who is not part of it. Each attack below goes to the running bot as
a signed request and checks what came back, and that Flexmls was never asked.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse

import httpx
import pytest

from blocks import token_modal
from devtools.sandbox import SECOND_ACCOUNT_ID, SECOND_AGENT_TOKEN
from devtools.sandbox.faults import token_fingerprint
from devtools.slack_standin import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE
from devtools.slack_standin.messages import texts
from devtools.slack_standin.requests import (
    app_home_opened_event,
    app_mention_event,
    block_action_body,
    event_callback_body,
)
from handlers.people import PEOPLE_TTL_S
from storage import Connection, get_connection, save_connection
from tests.helpers.connect import submission_body

OUTSIDER_TEAM = "T0OUTSIDE"
GUEST = "U0GUEST1"
REFUSED = "only works for members of this workspace"


def spark_calls(stack) -> int:
    return sum(r.path.startswith("/v1/") for r in stack.sandbox.requests)


def connect_directly(stack, user_id: str) -> None:
    """Give `user_id` their own Flexmls connection (Blake's account), as a paste would."""
    services = stack.bot.services
    now = stack.clock()
    save_connection(
        services.db,
        services.cipher,
        Connection(
            team_id="T0STANDIN",
            user_id=user_id,
            access_token=SECOND_AGENT_TOKEN,
            refresh_token=None,
            expires_at=None,
            spark_user_id=SECOND_ACCOUNT_ID,
            spark_user_name="Blake Broker",
            kind="personal",
            status="ok",
            connected_at=now,
            updated_at=now,
        ),
    )


async def test_a_command_from_another_team_is_refused_without_asking_flexmls(stack):
    before = spark_calls(stack)
    sent = await stack.sender.command("janet doe", team_id=OUTSIDER_TEAM, user_id="U0OUTSIDE")
    reply = await stack.reply_to(sent.response_url)
    assert REFUSED in texts(reply)
    assert "Janet" not in texts(reply)
    assert spark_calls(stack) == before


async def test_even_help_is_refused_to_another_team(stack):
    sent = await stack.sender.command("help", team_id=OUTSIDER_TEAM, user_id="U0OUTSIDE")
    assert REFUSED in texts(await stack.reply_to(sent.response_url))


async def test_a_click_by_a_user_of_another_team_is_refused(stack):
    # In a Slack Connect channel the payload's team can be ours while the user's is theirs.
    url = stack.slack.new_response_url()
    body = block_action_body(
        action_id="open_card:1",
        value=stack.contact("janet_doe").id,
        response_url=url,
        user_id="U0OUTSIDE",
    )
    payload = json.loads(urllib.parse.parse_qs(body)["payload"][0])
    payload["user"]["team_id"] = OUTSIDER_TEAM
    before = spark_calls(stack)
    response = await stack.sender.post(
        urllib.parse.urlencode({"payload": json.dumps(payload)}), FORM_CONTENT_TYPE
    )
    assert response.status_code == 200
    reply = await stack.reply_to(url)
    assert REFUSED in texts(reply)
    assert spark_calls(stack) == before


async def test_a_mention_from_another_team_gets_a_private_refusal(stack):
    event = app_mention_event(text="janet doe", user="U0OUTSIDE", team=OUTSIDER_TEAM)
    event["user_team"] = OUTSIDER_TEAM
    before = spark_calls(stack)
    response = await stack.sender.post(event_callback_body(event=event), JSON_CONTENT_TYPE)
    assert response.status_code == 200
    posted = await stack.slack.wait_for(lambda r: r.method == "chat.postEphemeral")
    assert posted.body["user"] == "U0OUTSIDE"
    assert REFUSED in texts(posted.body)
    assert spark_calls(stack) == before


async def test_a_user_whose_home_team_is_another_is_refused(stack):
    # Nothing in the payload says so, but Slack's users.info does.
    stack.slack.set_user("U0SHARED", team_id=OUTSIDER_TEAM)
    before = spark_calls(stack)
    sent = await stack.sender.command("janet doe", user_id="U0SHARED")
    assert REFUSED in texts(await stack.reply_to(sent.response_url))
    assert spark_calls(stack) == before


@pytest.mark.parametrize("kind", ["is_restricted", "is_ultra_restricted"])
async def test_a_guest_is_not_served_with_the_workspace_token(stack, kind):
    stack.slack.set_user(GUEST, **{kind: True})
    before = spark_calls(stack)
    sent = await stack.sender.command("janet doe", user_id=GUEST)
    reply = texts(await stack.reply_to(sent.response_url))
    assert "Guests need their own Flexmls connection" in reply
    assert "/activity connect" in reply
    assert "Janet" not in reply
    assert spark_calls(stack) == before


async def test_a_guest_click_is_not_served_with_the_workspace_token(stack):
    stack.slack.set_user(GUEST, is_restricted=True)
    janet = stack.contact("janet_doe")
    before = spark_calls(stack)
    clicked = await stack.sender.action("open_card:1", janet.id, user_id=GUEST)
    assert "Guests need their own Flexmls connection" in texts(
        await stack.reply_to(clicked.response_url)
    )
    assert spark_calls(stack) == before


async def test_a_guest_with_their_own_connection_is_served_with_it(stack):
    stack.slack.set_user(GUEST, is_restricted=True)
    connect_directly(stack, GUEST)
    blakes = stack.sandbox.state.brokerage.contacts_for(SECOND_ACCOUNT_ID)[0]
    sent = await stack.sender.command(blakes.display_name, user_id=GUEST)
    reply = await stack.reply_to(sent.response_url)
    assert blakes.display_name in texts(reply)
    used = {
        r.token_fingerprint for r in stack.sandbox.requests if r.path.startswith("/v1/contacts")
    }
    assert used == {token_fingerprint(SECOND_AGENT_TOKEN)}


async def test_when_slack_cannot_say_who_asks_the_workspace_token_is_not_used(stack):
    stack.slack.add_fault(method="users.info", error="fatal_error", times=10)
    before = spark_calls(stack)
    sent = await stack.sender.command("janet doe", user_id="U0UNKNOWN1")
    reply = texts(await stack.reply_to(sent.response_url))
    assert "couldn't check your Slack account" in reply
    assert spark_calls(stack) == before


async def test_members_are_still_served_and_asked_about_once(stack):
    for _ in range(2):
        sent = await stack.sender.command("janet doe")
        assert "Janet Doe" in texts(await stack.reply_to(sent.response_url))
    assert len(stack.slack.calls("users.info")) == 1  # cached between requests


async def test_a_stranger_cannot_store_a_token(stack):
    response = await stack.sender.post(
        submission_body(SECOND_AGENT_TOKEN, user_id="U0OUTSIDE").replace(
            "T0STANDIN", OUTSIDER_TEAM
        ),
        FORM_CONTENT_TYPE,
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert REFUSED in json.dumps(answer)
    services = stack.bot.services
    assert get_connection(services.db, services.cipher, OUTSIDER_TEAM, "U0OUTSIDE") is None


@pytest.mark.parametrize("verb", ["connect", "status", "digest list", "help", ""])
async def test_a_stranger_known_only_to_users_info_is_refused_on_every_verb(stack, verb):
    stack.slack.set_user("U0SHARED", team_id=OUTSIDER_TEAM)
    sent = await stack.sender.command(verb, user_id="U0SHARED")
    assert REFUSED in texts(await stack.reply_to(sent.response_url))


async def test_a_stranger_known_only_to_users_info_cannot_paste_a_token(stack):
    stack.slack.set_user("U0SHARED", team_id=OUTSIDER_TEAM)
    # The modal as it was opened for them before they were known to be a stranger.
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            stack.slack.api_url + "views.open",
            headers={"Authorization": f"Bearer {stack.slack.bot_token}"},
            json={"trigger_id": "1337.42.abcd", "view": token_modal()},
        )
    view_id = opened.json()["view"]["id"]
    response = await stack.sender.post(
        submission_body(SECOND_AGENT_TOKEN, user_id="U0SHARED", view_id=view_id), FORM_CONTENT_TYPE
    )
    assert response.status_code == 200
    updated = await stack.slack.wait_for(
        lambda r: r.method == "views.update" and REFUSED in json.dumps(r.body)
    )
    assert updated is not None
    services = stack.bot.services
    assert get_connection(services.db, services.cipher, "T0STANDIN", "U0SHARED") is None
    assert not any(r.path == "/v1/my/account" for r in stack.sandbox.requests)


@pytest.mark.parametrize(
    "fields",
    [{"is_stranger": True}, {"deleted": True}, {"team_id": None}, {"team_id": ""}],
    ids=["is_stranger", "deleted", "no-team", "empty-team"],
)
async def test_only_a_certain_member_gets_the_workspace_token(stack, fields):
    stack.slack.set_user("U0ODD", **fields)
    before = spark_calls(stack)
    sent = await stack.sender.command("janet doe", user_id="U0ODD")
    reply = texts(await stack.reply_to(sent.response_url))
    assert "Janet Doe" not in reply
    assert spark_calls(stack) == before


async def test_a_member_made_guest_loses_the_workspace_token_and_past_lookups(stack):
    sent = await stack.sender.command("janet doe", user_id="U0DEMOTED")
    assert "Janet Doe" in texts(await stack.reply_to(sent.response_url))
    stack.slack.set_user("U0DEMOTED", is_restricted=True)
    stack.clock.advance(minutes=PEOPLE_TTL_S / 60 + 1)  # what Slack said about them is stale
    for verb in ("", "janet doe"):
        sent = await stack.sender.command(verb, user_id="U0DEMOTED")
        reply = texts(await stack.reply_to(sent.response_url))
        assert "Guests need their own Flexmls connection" in reply
        assert "Janet" not in reply


async def test_the_home_tab_hides_past_lookups_from_a_member_made_guest(stack):
    sent = await stack.sender.command("janet doe", user_id="U0DEMOTED")
    assert "Janet Doe" in texts(await stack.reply_to(sent.response_url))
    await stack.sender.event(app_home_opened_event(user="U0DEMOTED"))
    first = await stack.slack.wait_for(lambda r: r.method == "views.publish")
    assert "Janet Doe" in json.dumps(first.body)  # a member sees their recent lookups
    stack.slack.set_user("U0DEMOTED", is_restricted=True)
    stack.clock.advance(minutes=PEOPLE_TTL_S / 60 + 1)
    await stack.sender.event(app_home_opened_event(user="U0DEMOTED"))
    (_, second) = await stack.slack.wait_for_count(lambda r: r.method == "views.publish", 2)
    assert "Janet Doe" not in json.dumps(second.body)


async def test_the_home_tab_is_not_published_for_a_stranger(stack):
    stack.slack.set_user("U0SHARED", team_id=OUTSIDER_TEAM)
    await stack.sender.event(app_home_opened_event(user="U0SHARED"))
    await stack.slack.wait_for(lambda r: r.method == "users.info")
    await asyncio.sleep(0.3)
    assert stack.slack.calls("views.publish") == []
