"""Per-user Flexmls connections over real HTTP: OAuth, pasted tokens, status, refresh, privacy."""

from __future__ import annotations

import html
import io
import json
import logging
import urllib.parse

import httpx
import pytest

import redaction
from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, SECOND_AGENT_TOKEN
from devtools.slack_standin import app_home_opened_event
from devtools.slack_standin.messages import buttons, texts
from storage import get_connection
from tests.helpers.connect import LinkForms, paste
from tests.helpers.stack import OAUTH_ENV, SIGNING_SECRET, button

pytestmark = pytest.mark.parametrize("bot_env", [OAUTH_ENV])
AGENT, OTHER = "U0AGENT1", "U0AGENT2"


async def connect_url(stack, user_id: str = AGENT) -> str:
    reply = await stack.reply_to(
        (await stack.sender.command("connect", user_id=user_id)).response_url
    )
    return button(reply, "connect_oauth")["url"]


async def follow(url: str, **extra: str) -> httpx.Response:
    if extra:
        url += "&" + urllib.parse.urlencode(extra)
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def choose(bot_url: str, page: httpx.Response, choice: str = "Link") -> httpx.Response:
    """Press "Link" (or "Cancel") on the confirmation page, the way the browser posts it."""
    forms = LinkForms(page.text).forms
    assert choice in forms, f"no {choice} button on: {page.text[:200]}"
    action, token = forms[choice]
    async with httpx.AsyncClient() as http:
        return await http.post(
            urllib.parse.urljoin(bot_url, action), data={"form_token": token, "action": choice}
        )


async def sign_in(stack, user_id: str = AGENT) -> httpx.Response:
    """Click Connect, approve at Flexmls (the sandbox auto-consents), land on our callback."""
    authorize = await follow(await connect_url(stack, user_id))
    assert authorize.status_code == 302
    return await follow(authorize.headers["location"])


async def oauth_connect(stack, user_id: str = AGENT) -> httpx.Response:
    """Sign in at Flexmls, then press "Link" on the confirmation page."""
    confirm = await sign_in(stack, user_id)
    assert confirm.status_code == 200, confirm.text
    return await choose(stack.bot.url, confirm, "Link")


def page_text(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def status_text(stack, user_id: str = AGENT) -> str:
    return texts(
        await stack.reply_to((await stack.sender.command("status", user_id=user_id)).response_url)
    )


async def test_connect_through_flexmls_sign_in(stack, bot_env):
    url = await connect_url(stack)
    assert url.startswith(f"{stack.sandbox.url}/openid/authorize?")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["client_id"] == [DEMO_CLIENT_ID]
    confirm = await sign_in(stack)
    assert confirm.status_code == 200
    assert "Avery Agent" in page_text(confirm) and AGENT.lower() in page_text(confirm)
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )
    page = await choose(stack.bot.url, confirm, "Link")
    assert page.status_code == 200
    assert "Connected as Avery Agent" in page_text(page)
    assert page.headers["cache-control"] == "no-store"
    dm = await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert dm.body["channel"] == AGENT and "Avery Agent" in texts(dm.body)
    assert "/activity disconnect" in texts(dm.body)
    assert "Avery Agent" in await status_text(stack)
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"


async def test_a_replayed_callback_stores_nothing_more(stack, bot_env):
    authorize = await follow(await connect_url(stack))
    callback = authorize.headers["location"]
    assert (await follow(callback)).status_code == 200
    again = await follow(callback)
    assert again.status_code == 400
    assert "already used" in page_text(again)


async def test_cancel_on_the_confirmation_page_stores_nothing(stack, bot_env):
    confirm = await sign_in(stack)
    page = await choose(stack.bot.url, confirm, "Cancel")
    assert page.status_code == 200 and "Nothing was linked" in page_text(page)
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )
    assert stack.slack.calls("chat.postMessage") == []
    assert "connect" in (await status_text(stack)).lower()


async def test_connecting_again_with_the_same_account_is_fine(stack, bot_env):
    assert (await oauth_connect(stack)).status_code == 200
    stack.clock.advance(minutes=1)
    again = await oauth_connect(stack)
    assert again.status_code == 200 and "Connected as Avery Agent" in page_text(again)


async def test_an_expired_link_is_refused(stack, bot_env):
    url = await connect_url(stack)
    stack.clock.advance(minutes=11)
    callback = (await follow(url)).headers["location"]
    page = await follow(callback)
    assert page.status_code == 400 and "expired" in page_text(page)
    assert (
        "not connected" in (await status_text(stack)).lower()
        or "connect" in (await status_text(stack)).lower()
    )
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )


async def test_denied_consent_stores_nothing(stack, bot_env):
    authorize = await follow(await connect_url(stack), sandbox_deny="1")
    page = await follow(authorize.headers["location"])
    assert "wasn't connected" in page_text(page)
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )


async def test_a_forged_state_is_refused(stack, bot_env):
    page = await follow(f"{stack.bot.url}/spark/oauth/callback?state=abc.def&code=xyz")
    assert page.status_code == 400 and "isn't valid" in page_text(page)


async def test_without_a_connection_the_user_is_asked_to_connect(stack, bot_env):
    # Per-user connections are configured, so the workspace token is not shared by default.
    reply = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "/activity connect" in texts(reply)


async def test_paste_button_opens_the_token_modal(stack, bot_env):
    prompt = await stack.reply_to((await stack.sender.command("connect")).response_url)
    paste_button = button(prompt, "connect_paste")
    await stack.sender.action(
        paste_button["action_id"], paste_button["value"], trigger_id="1337.42.abcd"
    )
    opened = await stack.slack.wait_for(lambda r: r.method == "views.open")
    assert opened.body["trigger_id"] == "1337.42.abcd"
    assert opened.body["view"]["callback_id"] == "connect_token"


async def test_a_whitespace_padded_valid_token_connects(stack, bot_env):
    ack = await paste(stack, f"  {SECOND_AGENT_TOKEN}\n ")
    assert ack.status_code == 200
    assert ack.json()["response_action"] == "update"
    updated = await stack.slack.wait_for(lambda r: r.method == "views.update")
    assert "Blake Broker" in json.dumps(updated.body["view"])
    dm = await stack.slack.wait_for(lambda r: r.method == "chat.postMessage")
    assert dm.body["channel"] == AGENT
    status = await status_text(stack)
    assert "Blake Broker" in status and "personal access token" in status


async def test_an_invalid_token_keeps_the_modal_open_with_an_inline_error(stack, bot_env):
    ack = await paste(stack, "not-a-real-token")
    assert ack.json()["response_action"] == "update"
    updated = await stack.slack.wait_for(lambda r: r.method == "views.update")
    view = updated.body["view"]
    assert view["callback_id"] == "connect_token"
    assert "didn't accept" in json.dumps(view)
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )


@pytest.mark.parametrize("text", ["", "   ", "two words", "x" * 600])
async def test_text_that_cannot_be_a_token_is_refused_inline_at_once(stack, bot_env, text):
    ack = await paste(stack, text)
    body = ack.json()
    assert body["response_action"] == "errors" and "token_input" in body["errors"]
    assert stack.slack.calls("views.update") == []


async def test_disconnect_forgets_the_tokens(stack, bot_env):
    await paste(stack, DEMO_TOKEN)
    await stack.slack.wait_for(lambda r: r.method == "views.update")
    reply = await stack.reply_to((await stack.sender.command("disconnect")).response_url)
    assert "Disconnected" in texts(reply)
    assert (
        get_connection(stack.bot.services.db, stack.bot.services.cipher, "T0STANDIN", AGENT) is None
    )
    again = await stack.reply_to((await stack.sender.command("disconnect")).response_url)
    assert "weren't connected" in texts(again)


async def test_an_expired_token_is_refreshed_before_use(stack, bot_env):
    await oauth_connect(stack)
    stack.clock.advance(days=2)  # well past expires_in
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
    assert sum(r.path == "/openid/token" for r in stack.sandbox.requests) == 2  # code + refresh


async def test_a_token_spark_expires_early_is_refreshed_and_the_request_replayed(stack, bot_env):
    await oauth_connect(stack)
    services = stack.bot.services
    token = get_connection(services.db, services.cipher, "T0STANDIN", AGENT).access_token
    stack.sandbox.add_fault(kind="expire_token", token=token)
    card = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
    assert get_connection(services.db, services.cipher, "T0STANDIN", AGENT).access_token != token


async def test_a_revoked_refresh_token_asks_the_user_to_reconnect(stack, bot_env):
    await oauth_connect(stack)
    services = stack.bot.services
    stored = get_connection(services.db, services.cipher, "T0STANDIN", AGENT)
    async with httpx.AsyncClient() as http:  # someone else uses (and so rotates) the refresh token
        rotated = await http.post(
            f"{stack.sandbox.url}/v1/oauth2/grant",
            json={
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "grant_type": "refresh_token",
                "refresh_token": stored.refresh_token,
            },
        )
    assert rotated.status_code == 200
    stack.clock.advance(days=2)
    first = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "/activity connect" in texts(first)
    assert get_connection(services.db, services.cipher, "T0STANDIN", AGENT).status == "broken"
    second = await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    assert "stopped working" in texts(second)
    assert "stopped working" in await status_text(stack)


async def test_another_agent_cannot_read_a_contact_through_a_forged_button(stack, bot_env):
    await paste(stack, DEMO_TOKEN, AGENT)  # Avery's token
    await paste(stack, SECOND_AGENT_TOKEN, OTHER)  # Blake's token
    await stack.slack.wait_for_count(
        lambda r: r.method == "views.update" and "Connected" in json.dumps(r.body), 2
    )
    card = await stack.reply_to(
        (await stack.sender.command("janet doe", user_id=AGENT)).response_url
    )
    janet_id = button(card, "refresh_card")["value"]
    for action_id, value in (
        ("open_card:1", janet_id),
        ("listings_page:viewed", f"v1|viewed|{janet_id}|1"),
        ("share_card", janet_id),
    ):
        clicked = await stack.sender.action(action_id, value, user_id=OTHER)
        reply = await stack.reply_to(clicked.response_url)
        assert "isn't available" in texts(reply)
        assert "Janet" not in texts(reply)


async def test_app_home_for_a_new_user_and_for_one_with_history(stack, bot_env):
    await stack.sender.event(app_home_opened_event(user=OTHER))
    fresh = await stack.slack.wait_for(
        lambda r: r.method == "views.publish" and r.body["user_id"] == OTHER
    )
    assert "haven't looked anyone up" in json.dumps(fresh.body["view"])
    assert [b for b in buttons(fresh.body["view"]) if b["action_id"].startswith("connect_paste")]
    await paste(stack, DEMO_TOKEN, AGENT)
    await stack.slack.wait_for(lambda r: r.method == "views.update")
    await stack.reply_to((await stack.sender.command("janet doe")).response_url)
    await stack.sender.event(app_home_opened_event(user=AGENT))
    home = await stack.slack.wait_for(
        lambda r: r.method == "views.publish" and r.body["user_id"] == AGENT
    )
    view = json.dumps(home.body["view"])
    assert "Janet Doe" in view and "Avery Agent" in view
    disconnect = button(home.body["view"], "disconnect")
    await stack.sender.action(
        disconnect["action_id"], disconnect["value"], view={"id": "V1", "type": "home"}
    )
    republished = await stack.slack.wait_for_count(
        lambda r: r.method == "views.publish" and r.body["user_id"] == AGENT, 2
    )
    assert "Avery Agent" not in json.dumps(republished[-1].body["view"])


async def test_no_token_in_the_database_or_the_logs_after_a_full_session(stack, bot_env, tmp_path):
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    settings = stack.bot.services.settings
    redaction.install(
        [settings.slack_bot_token, settings.slack_signing_secret, settings.spark_client_secret]
    )
    refresh_tokens: set[str] = set()
    try:
        await oauth_connect(stack, AGENT)
        refresh_tokens |= set(stack.sandbox.state.refresh_tokens)
        await paste(stack, f" {SECOND_AGENT_TOKEN} ", OTHER)
        await stack.slack.wait_for(
            lambda r: r.method == "views.update" and "Connected" in json.dumps(r.body)
        )
        await stack.reply_to((await stack.sender.command("janet doe", user_id=AGENT)).response_url)
        stack.clock.advance(days=2)
        await stack.reply_to((await stack.sender.command("janet doe", user_id=AGENT)).response_url)
        await stack.reply_to((await stack.sender.command("jane doe", user_id=OTHER)).response_url)
        refresh_tokens |= set(stack.sandbox.state.refresh_tokens)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    services = stack.bot.services
    issued = list(stack.sandbox.state.tokens)  # every access token the sandbox issued
    secrets = [SECOND_AGENT_TOKEN, DEMO_TOKEN, settings.slack_bot_token, SIGNING_SECRET, DEMO_CLIENT_SECRET,
               *[t for t in issued if t.startswith("sbx-")], *refresh_tokens]  # fmt: skip
    logs = stream.getvalue()
    assert "Spark" in logs or "slack" in logs.lower()  # the session did log at DEBUG
    assert len(refresh_tokens) >= 2  # connected, then refreshed
    for secret in secrets:
        assert secret not in logs, f"a token reached the logs: {secret[:8]}…"
    services.db.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("activity.db*"))
    for secret in secrets:
        assert secret.encode() not in raw
