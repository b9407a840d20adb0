"""The stand-in's Web API, driven by the real slack_sdk `AsyncWebClient`."""

from __future__ import annotations

import json

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devtools.slack_standin import DEFAULT_BOT_TOKEN, SlackStandin
from tests.helpers.standin import api_error

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Jane Doe* viewed 3 listings"}}]
HOME = {"type": "home", "blocks": BLOCKS}
MODAL = {
    "type": "modal",
    "callback_id": "connect",
    "title": {"type": "plain_text", "text": "Connect"},
    "blocks": BLOCKS,
}


async def test_healthz(standin: SlackStandin) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{standin.url}/healthz")
    assert response.status_code == 200


async def test_urls_use_the_bound_port(standin: SlackStandin) -> None:
    port = int(standin.url.rsplit(":", 1)[1])
    assert port > 0
    assert standin.url == f"http://127.0.0.1:{port}"
    assert standin.api_url == f"http://127.0.0.1:{port}/api/"


async def test_not_started_has_no_url() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = SlackStandin().api_url


async def test_auth_test_describes_the_bot(standin: SlackStandin, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == "T0STANDIN"
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"]
    assert response["url"].startswith("https://")
    (call,) = standin.calls("auth.test")
    assert call.kind == "api" and call.ok
    assert "Authorization" not in call.headers and "authorization" not in call.headers
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


async def test_post_message_records_the_decoded_body(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C0GENERAL", text="hello", blocks=BLOCKS)
    second = await client.chat_postMessage(channel="C0GENERAL", text="again")
    assert first["channel"] == "C0GENERAL"
    assert first["message"]["text"] == "hello"
    assert first["message"]["blocks"] == BLOCKS
    assert first["ts"] != second["ts"]
    assert float(second["ts"]) > float(first["ts"])
    call = standin.calls("chat.postMessage")[0]
    assert call.body == {"channel": "C0GENERAL", "text": "hello", "blocks": BLOCKS}
    history = standin.messages("C0GENERAL")
    assert [m["ts"] for m in history] == [first["ts"], second["ts"]]
    assert history[0]["blocks"] == BLOCKS


async def test_json_strings_in_form_bodies_are_decoded(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    attachments = [{"text": "old style", "color": "#36a64f"}]
    await client.api_call(
        "chat.postMessage",
        data={
            "channel": "C0GENERAL",
            "text": "form",
            "blocks": json.dumps(BLOCKS),
            "attachments": json.dumps(attachments),
        },
    )
    await client.api_call("views.publish", data={"user_id": "U0AGENT1", "view": json.dumps(HOME)})
    posted = standin.calls("chat.postMessage")[0]
    assert posted.body["blocks"] == BLOCKS
    assert posted.body["attachments"] == attachments
    assert standin.calls("views.publish")[0].body["view"] == HOME
    assert standin.messages("C0GENERAL")[0]["blocks"] == BLOCKS


async def test_query_string_and_get_arguments_are_read(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="bye")
    await client.chat_delete(channel="C0GENERAL", ts=posted["ts"])  # POST with a query string
    await client.users_info(user="U0AGENT1")  # GET
    assert standin.calls("chat.delete")[0].body["ts"] == posted["ts"]
    assert standin.calls("users.info")[0].body == {"user": "U0AGENT1"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "", "text": "hi"}, "channel_not_found"),
        ({"channel": "C0GENERAL"}, "no_text"),
        ({"channel": "C0GENERAL", "text": "x", "blocks": BLOCKS * 51}, "invalid_blocks"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_errors(client: AsyncWebClient, kwargs: dict, error: str) -> None:
    assert await api_error(client.chat_postMessage(**kwargs)) == error


async def test_posting_to_a_user_lands_in_the_dm(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    response = await client.chat_postMessage(channel="U0AGENT1", text="your digest")
    opened = await client.conversations_open(users="U0AGENT1")
    assert response["channel"] == opened["channel"]["id"] == "D0AGENT1"
    assert [m["text"] for m in standin.messages("U0AGENT1")] == ["your digest"]
    assert standin.messages("D0AGENT1") == standin.messages("U0AGENT1")


async def test_post_ephemeral(standin: SlackStandin, client: AsyncWebClient) -> None:
    response = await client.chat_postEphemeral(channel="C0GENERAL", user="U0AGENT1", text="psst")
    assert response["message_ts"]
    assert await api_error(client.chat_postEphemeral(channel="C0GENERAL", user="", text="x")) == (
        "user_not_found"
    )
    assert await api_error(client.chat_postEphemeral(channel="", user="U0AGENT1", text="x")) == (
        "channel_not_found"
    )
    (ephemeral,) = standin.ephemerals("C0GENERAL", user="U0AGENT1")
    assert ephemeral["text"] == "psst"
    assert standin.messages("C0GENERAL") == []  # ephemeral messages are not channel history


async def test_update_and_delete(standin: SlackStandin, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="page 1")
    updated = await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="page 2")
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "page 2"
    assert [m["text"] for m in standin.messages("C0GENERAL")] == ["page 2"]
    await client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert standin.messages("C0GENERAL") == []
    assert await api_error(client.chat_delete(channel="C0GENERAL", ts=posted["ts"])) == (
        "message_not_found"
    )


async def test_update_of_an_unknown_ts(client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C0GENERAL", text="real")
    error = await api_error(client.chat_update(channel="C0GENERAL", ts="1.000001", text="x"))
    assert error == "message_not_found"
    error = await api_error(client.chat_update(channel="C0OTHER", ts="1.000001", text="x"))
    assert error == "message_not_found"


async def test_views_publish_and_home_view(standin: SlackStandin, client: AsyncWebClient) -> None:
    first = await client.views_publish(user_id="U0AGENT1", view=HOME)
    again = await client.views_publish(user_id="U0AGENT1", view={**HOME, "blocks": []})
    assert first["view"]["id"] == again["view"]["id"]
    assert first["view"]["type"] == "home"
    assert first["view"]["blocks"] == BLOCKS
    assert standin.home_view("U0AGENT1")["blocks"] == []
    assert standin.calls("views.publish")[0].body == {"user_id": "U0AGENT1", "view": HOME}
    assert await api_error(client.views_publish(user_id="U0AGENT1", view=MODAL)) == (
        "invalid_arguments"
    )


async def test_views_open_update_push(standin: SlackStandin, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id="123.456.abc", view=MODAL)
    view_id = opened["view"]["id"]
    assert view_id.startswith("V")
    updated = await client.views_update(view_id=view_id, view={**MODAL, "blocks": []})
    assert updated["view"]["id"] == view_id
    assert standin.view(view_id)["blocks"] == []
    pushed = await client.views_push(trigger_id="123.456.abc", view=MODAL)
    assert pushed["view"]["id"] != view_id
    assert await api_error(client.views_update(view_id="V0NOPE", view=MODAL)) == "not_found"
    assert await api_error(client.views_open(trigger_id="", view=MODAL)) == "invalid_arguments"
    stale_hash = opened["view"]["hash"] + "x"
    assert await api_error(client.views_update(view_id=view_id, view=MODAL, hash=stale_hash)) == (
        "hash_conflict"
    )


async def test_users_info_defaults_to_a_denver_user(client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0AGENT1"))["user"]
    assert user["id"] == "U0AGENT1"
    assert user["tz"] == "America/Denver"
    assert user["tz_offset"] in (-7 * 3600, -6 * 3600)
    assert user["tz_label"] in ("Mountain Standard Time", "Mountain Daylight Time")
    assert user["real_name"] and user["is_admin"] is False
    assert await api_error(client.users_info(user="not-a-user")) == "user_not_found"


async def test_users_info_from_the_given_directory() -> None:
    users = {"U0LONDON": {"tz": "Europe/London", "real_name": "Ada", "is_admin": True}}
    async with SlackStandin(users=users) as standin:
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=standin.api_url)
        user = (await client.users_info(user="U0LONDON"))["user"]
        assert (user["tz"], user["real_name"], user["is_admin"]) == ("Europe/London", "Ada", True)
        assert user["tz_offset"] in (0, 3600)
        assert await api_error(client.users_info(user="U0AGENT1")) == "user_not_found"
        assert (await client.users_info(user="U0BOT"))["user"]["is_bot"] is True
        standin.set_user("U0AGENT1", tz="America/New_York")
        assert (await client.users_info(user="U0AGENT1"))["user"]["tz"] == "America/New_York"


async def test_conversations(client: AsyncWebClient) -> None:
    assert await api_error(client.conversations_open(users=[])) == "users_list_not_supplied"
    info = (await client.conversations_info(channel="C0GENERAL"))["channel"]
    assert (info["id"], info["name"], info["is_channel"]) == ("C0GENERAL", "general", True)
    dm = (await client.conversations_info(channel="D0AGENT1"))["channel"]
    assert dm["is_im"] is True and dm["user"] == "U0AGENT1"
    assert await api_error(client.conversations_info(channel="nope")) == "channel_not_found"


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), (None, "not_authed")])
async def test_authentication(standin: SlackStandin, token: str | None, error: str) -> None:
    client = AsyncWebClient(token=token, base_url=standin.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="hi")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert standin.messages("C0GENERAL") == []
    (call,) = standin.calls("chat.postMessage")
    assert call.error == error and not call.ok


async def test_unknown_method(standin: SlackStandin, client: AsyncWebClient) -> None:
    assert await api_error(client.api_call("chat.nope")) == "unknown_method"
    assert standin.calls("chat.nope")[0].error == "unknown_method"


async def test_add_method_serves_extra_methods(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    standin.add_method("reactions.add", lambda args: {"added": args["name"]})
    response = await client.reactions_add(channel="C0GENERAL", name="eyes", timestamp="1.0")
    assert response["added"] == "eyes"


async def test_calls_accepts_patterns_and_clear_forgets(
    standin: SlackStandin, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="a")
    await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="b")
    await client.auth_test()
    assert [c.method for c in standin.calls("chat.*")] == ["chat.postMessage", "chat.update"]
    assert [r.method for r in standin.received] == ["chat.postMessage", "chat.update", "auth.test"]
    standin.clear()
    assert standin.received == []
    assert standin.messages("C0GENERAL")  # history survives clear()
