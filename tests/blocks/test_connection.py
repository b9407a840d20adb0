"""Connecting Flexmls: the prompt, `/activity status`, disconnecting, the token modal, App Home."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from activity.models import ConnectionStatus
from blocks import (
    CONNECT_OAUTH,
    CONNECT_OAUTH_RE,
    CONNECT_PASTE,
    CONNECT_PASTE_RE,
    DISCONNECT,
    DISCONNECT_RE,
    TOKEN_INPUT_ACTION,
    TOKEN_INPUT_BLOCK,
    TOKEN_MODAL_CALLBACK,
    checking_modal,
    connect_prompt,
    connected_dm,
    connected_modal,
    disconnected,
    home_view,
    status_message,
    token_modal,
)
from storage.digests import Subscription
from storage.lookups import RecentLookup
from tests.helpers.blocks import (
    HOSTILE_NAMES,
    NOW,
    all_texts,
    assert_no_formatting_from,
    assert_no_formatting_in_view,
    assert_valid_message,
    assert_valid_view,
    block_types,
    buttons,
    view_buttons,
    view_mrkdwn_texts,
)

SINCE = dt.datetime(2026, 11, 1, 15, 4, tzinfo=dt.UTC)
SINCE_MARKUP = "<!date^1793545440^{date_short_pretty}|2026-11-01>"
AUTHORIZE_URL = "https://sparkplatform.com/openid/authorize?client_id=abc&state=s1"

CONNECTED = ConnectionStatus(
    connected=True, spark_user_name="Avery Agent", kind="oauth", since=SINCE, oauth_available=True
)
PERSONAL = ConnectionStatus(
    connected=True, spark_user_name="Avery Agent", kind="personal", since=SINCE
)
BROKEN = ConnectionStatus(spark_user_name="Avery Agent", kind="oauth", since=SINCE, broken=True)
BROKEN_WITH_WORKSPACE = ConnectionStatus(
    broken=True,
    workspace_token_available=True,
    workspace_token_allowed=True,
    oauth_available=True,
)
WORKSPACE = ConnectionStatus(
    workspace_token_available=True, workspace_token_allowed=True, oauth_available=True
)
WORKSPACE_NOT_ALLOWED = ConnectionStatus(workspace_token_available=True)
NOTHING = ConnectionStatus()
NOTHING_WITH_OAUTH = ConnectionStatus(oauth_available=True)

# (status, words the status must say, has Disconnect, uses the workspace token)
STATES = {
    "connected-oauth": (
        CONNECTED,
        f"*Connected to Flexmls* as Avery Agent (signed in with Flexmls) since {SINCE_MARKUP}.",
        True,
        False,
    ),
    "connected-personal": (
        PERSONAL,
        f"*Connected to Flexmls* as Avery Agent (personal access token) since {SINCE_MARKUP}.",
        True,
        False,
    ),
    "connected-unknown": (
        ConnectionStatus(connected=True),
        "*Connected to Flexmls*.",
        True,
        False,
    ),
    "broken": (BROKEN, "*Your Flexmls connection as Avery Agent stopped working.*", True, False),
    "broken-with-workspace": (
        BROKEN_WITH_WORKSPACE,
        "Until then, lookups use the workspace's shared Flexmls token.",
        True,
        True,
    ),
    "workspace": (
        WORKSPACE,
        "*Not connected.* Lookups use the workspace's shared Flexmls token.",
        False,
        True,
    ),
    "workspace-not-allowed": (
        WORKSPACE_NOT_ALLOWED,
        "*Not connected.* Connect to look contacts up.",
        False,
        False,
    ),
    "nothing": (NOTHING, "*Not connected.* Connect to look contacts up.", False, False),
    "nothing-with-oauth": (
        NOTHING_WITH_OAUTH,
        "*Not connected.* Connect to look contacts up.",
        False,
        False,
    ),
}
STATE_PARAMS = [pytest.param(*values, id=name) for name, values in STATES.items()]


def lookup(name: str, contact_id: str) -> RecentLookup:
    return RecentLookup(
        team_id="T1",
        user_id="U1",
        contact_id=contact_id,
        display_name=name,
        query=name.lower(),
        looked_up_at=NOW,
    )


def subscription(n: int, **overrides: Any) -> Subscription:
    values: dict[str, Any] = {
        "id": n,
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": f"C{n:05d}",
        "local_time": "08:00",
        "timezone": "America/Denver",
        "scope": "recent",
        "created_at": NOW,
    }
    values.update(overrides)
    return Subscription(**values)


def find_keys(value: Any, key: str) -> list[Any]:
    """Every value stored under `key` anywhere in a nested dict/list."""
    found: list[Any] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                found.append(v)
            found += find_keys(v, key)
    elif isinstance(value, list):
        for item in value:
            found += find_keys(item, key)
    return found


def assert_disconnect_is_confirmed(button: dict[str, Any]) -> None:
    assert button["action_id"] == DISCONNECT
    assert button["value"] == "me"
    assert button["style"] == "danger"
    confirm = button["confirm"]
    assert confirm["title"]["text"] == "Disconnect Flexmls?"
    assert confirm["confirm"]["text"] == "Disconnect"
    assert confirm["deny"]["text"] == "Cancel"
    assert "forget your Flexmls tokens" in confirm["text"]["text"]


# --- the data -------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "words", "has_disconnect", "workspace"), STATE_PARAMS)
def test_uses_workspace_token(
    status: ConnectionStatus, words: str, has_disconnect: bool, workspace: bool
) -> None:
    assert status.uses_workspace_token is workspace


def test_a_broken_connection_falls_back_to_the_workspace_token_even_if_flagged_connected() -> None:
    status = ConnectionStatus(
        connected=True, broken=True, workspace_token_available=True, workspace_token_allowed=True
    )
    assert status.uses_workspace_token
    assert not CONNECTED.uses_workspace_token


@pytest.mark.parametrize(
    ("action", "pattern"),
    [
        (CONNECT_OAUTH, CONNECT_OAUTH_RE),
        (CONNECT_PASTE, CONNECT_PASTE_RE),
        (DISCONNECT, DISCONNECT_RE),
    ],
)
def test_action_patterns_match_the_id_and_its_suffixes_only(action: str, pattern: Any) -> None:
    assert pattern.match(action)
    assert pattern.match(f"{action}:home")
    assert not pattern.match(f"{action}x")
    assert not pattern.match(f"{action}\n")
    assert not pattern.match(f"x{action}")


def test_modal_constants() -> None:
    assert (TOKEN_MODAL_CALLBACK, TOKEN_INPUT_BLOCK, TOKEN_INPUT_ACTION) == (
        "connect_token",
        "token_input",
        "token",
    )


# --- /activity connect ----------------------------------------------------------------------


def test_connect_prompt_with_a_sign_in_link() -> None:
    message = connect_prompt(AUTHORIZE_URL, oauth_available=True)
    assert_valid_message(message)
    assert block_types(message) == ["section", "actions", "context"]
    intro = message.blocks[0]["text"]["text"]
    assert "your own Flexmls access" in intro and "private" in intro
    link, paste = buttons(message)
    assert link["action_id"] == CONNECT_OAUTH
    assert link["url"] == AUTHORIZE_URL
    assert link["style"] == "primary"
    assert link["text"]["text"] == "Connect Flexmls"
    assert paste["action_id"] == CONNECT_PASTE
    assert paste["text"]["text"] == "Paste a token"
    assert "url" not in paste and "style" not in paste
    assert message.blocks[-1]["elements"][0]["text"] == (
        "The link works once and expires in 10 minutes."
    )
    assert message.text.startswith("Connect Flexmls. Activity bot reads contact activity")
    assert "expires in 10 minutes" in message.text


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://sparkplatform.com/?" + "x" * (3001 - len("https://sparkplatform.com/?")),
        "javascript:alert(1)",
        "https://sparkplatform.com/a b",
    ],
    ids=["none", "empty", "3001-chars", "not-http", "whitespace"],
)
def test_connect_prompt_without_a_usable_link_offers_only_the_paste_button(
    url: str | None,
) -> None:
    message = connect_prompt(url, oauth_available=True)
    assert_valid_message(message)
    assert [b["action_id"] for b in buttons(message)] == [CONNECT_PASTE]
    assert "expires" not in " ".join(all_texts(message))
    assert "paste a token instead" in message.blocks[-1]["elements"][0]["text"]


def test_a_3000_char_link_is_still_used() -> None:
    url = "https://sparkplatform.com/?" + "x" * (3000 - len("https://sparkplatform.com/?"))
    message = connect_prompt(url, oauth_available=True)
    assert_valid_message(message)
    assert buttons(message)[0]["url"] == url


def test_connect_prompt_when_oauth_is_not_configured() -> None:
    message = connect_prompt(None, oauth_available=False)
    assert_valid_message(message)
    assert [b["action_id"] for b in buttons(message)] == [CONNECT_PASTE]
    assert message.blocks[-1]["elements"][0]["text"] == (
        "Paste a personal access token from your Flexmls API key."
    )
    assert "personal access token" in message.text


# --- /activity status -----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "words", "has_disconnect", "workspace"), STATE_PARAMS)
def test_status_in_every_state(
    status: ConnectionStatus, words: str, has_disconnect: bool, workspace: bool
) -> None:
    message = status_message(status)
    assert_valid_message(message)
    assert words in message.blocks[0]["text"]["text"]
    found = buttons(message)
    if has_disconnect:
        assert len(found) == 1
        assert_disconnect_is_confirmed(found[0])
    else:
        assert found == []
    # Connecting is typed, never a button here; the hint says so.
    assert message.blocks[-1]["type"] == "context"
    assert "`/activity connect`" in message.blocks[-1]["elements"][0]["text"]
    assert "<" not in message.text  # the fallback carries a plain date, no markup
    assert "`" not in message.text


def test_status_fallback_text_reads_plainly() -> None:
    assert status_message(CONNECTED).text == (
        "Connected to Flexmls as Avery Agent (signed in with Flexmls) since 2026-11-01."
    )
    assert status_message(BROKEN).text == (
        "Your Flexmls connection as Avery Agent stopped working. Flexmls no longer accepts the "
        "saved sign-in; reconnect with /activity connect."
    )
    assert status_message(WORKSPACE).text == (
        "Not connected. Lookups use the workspace's shared Flexmls token."
    )
    assert status_message(NOTHING).text == "Not connected. Connect to look contacts up."


def test_status_date_of_a_naive_datetime_is_taken_as_utc() -> None:
    status = ConnectionStatus(connected=True, since=SINCE.replace(tzinfo=None))
    assert SINCE_MARKUP in status_message(status).blocks[0]["text"]["text"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("state", [CONNECTED, BROKEN], ids=["connected", "broken"])
def test_status_with_a_hostile_flexmls_name(name: str, state: ConnectionStatus) -> None:
    status = ConnectionStatus(**{**state.__dict__, "spark_user_name": name})
    message = status_message(status)
    assert_valid_message(message)
    assert_no_formatting_from(name, message)


# --- disconnect and the connected DM -------------------------------------------------------


def test_disconnected() -> None:
    message = disconnected(was_connected=True)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == (
        "Disconnected: Activity bot has forgotten your Flexmls tokens."
    )
    assert "`/activity connect`" in message.blocks[-1]["elements"][0]["text"]
    assert message.text == (
        "Disconnected: Activity bot has forgotten your Flexmls tokens. "
        "Type /activity connect to connect again."
    )


def test_disconnected_when_not_connected() -> None:
    message = disconnected(was_connected=False)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "You weren't connected."
    assert "`/activity connect`" in message.blocks[-1]["elements"][0]["text"]
    assert buttons(message) == []


@pytest.mark.parametrize(
    ("kind", "words"),
    [("oauth", "Signed in with Flexmls."), ("personal", "Personal access token.")],
)
def test_connected_dm(kind: str, words: str) -> None:
    message = connected_dm("Avery Agent", kind)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "You're connected to Flexmls as Avery Agent."
    hint = message.blocks[-1]["elements"][0]["text"]
    assert hint.startswith(words)
    assert "Try `/activity jane doe`" in hint
    assert message.text == "You're connected to Flexmls as Avery Agent. Try /activity jane doe."


def test_connected_dm_without_a_name() -> None:
    message = connected_dm("  ", "unknown")
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "You're connected to Flexmls."


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_connected_dm_with_a_hostile_name(name: str) -> None:
    message = connected_dm(name, "oauth")
    assert_valid_message(message)
    assert_no_formatting_from(name, message)


# --- the paste-token modal ------------------------------------------------------------------


def test_token_modal() -> None:
    view = token_modal()
    assert_valid_view(view, kind="modal")
    assert view["callback_id"] == TOKEN_MODAL_CALLBACK
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "Connect Flexmls",
        "Connect",
        "Cancel",
    )
    assert [b["type"] for b in view["blocks"]] == ["section", "input", "context"]
    help_text = view["blocks"][0]["text"]["text"]
    assert "personal access token" in help_text and "Private" in help_text
    assert "Contacts: Activity" in help_text
    field = view["blocks"][1]
    assert field["block_id"] == TOKEN_INPUT_BLOCK
    assert field["element"]["type"] == "plain_text_input"
    assert field["element"]["action_id"] == TOKEN_INPUT_ACTION
    assert field["element"]["max_length"] == 500
    assert field["element"]["placeholder"]["text"]
    assert view["blocks"][-1]["elements"][0]["text"] == (
        "Stored encrypted; never shown again, never logged."
    )


@pytest.mark.parametrize("error", [None, "That token isn't valid.", "tok_SECRET <x>"])
def test_the_token_is_never_echoed_back(error: str | None) -> None:
    view = token_modal(error=error)
    assert find_keys(view, "initial_value") == []
    assert find_keys(view, "private_metadata") == []


def test_token_modal_with_an_error_shows_it_under_the_input() -> None:
    view = token_modal(error="Flexmls didn't accept that token.")
    assert_valid_view(view, kind="modal")
    assert [b["type"] for b in view["blocks"]] == ["section", "input", "context", "context"]
    assert view["blocks"][1]["block_id"] == TOKEN_INPUT_BLOCK
    assert view["blocks"][2]["elements"][0]["text"] == "⚠️ Flexmls didn't accept that token."


def test_error_and_no_error_variants_have_different_block_ids() -> None:
    def ids(view: dict[str, Any]) -> set[str]:
        return {b["block_id"] for b in view["blocks"]}

    plain_ids = ids(token_modal())
    first = ids(token_modal(error="That token isn't valid."))
    second = ids(token_modal(error="Flexmls isn't answering."))
    assert plain_ids != first != second
    assert first - plain_ids and second - plain_ids and first - second
    assert ids(token_modal(error="That token isn't valid.")) == first  # deterministic


def test_a_blank_error_still_says_something() -> None:
    view = token_modal(error=" \n ")
    assert_valid_view(view, kind="modal")
    assert view["blocks"][2]["elements"][0]["text"] == "⚠️ That token didn't work."


@pytest.mark.parametrize("error", HOSTILE_NAMES)
def test_token_modal_with_a_hostile_error(error: str) -> None:
    view = token_modal(error=error)
    assert_valid_view(view, kind="modal")
    assert_no_formatting_in_view(error, view)


def test_checking_modal() -> None:
    view = checking_modal()
    assert_valid_view(view, kind="modal")
    assert "submit" not in view
    assert view["callback_id"] == TOKEN_MODAL_CALLBACK
    assert view_mrkdwn_texts(view) == ["⏳ Checking your token with Flexmls…"]


def test_connected_modal() -> None:
    view = connected_modal("Avery Agent")
    assert_valid_view(view, kind="modal")
    assert "submit" not in view
    assert view["close"]["text"] == "Done"
    assert view_mrkdwn_texts(view) == ["✅ Connected as Avery Agent. You can close this window."]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_connected_modal_with_a_hostile_name(name: str) -> None:
    view = connected_modal(name)
    assert_valid_view(view, kind="modal")
    assert_no_formatting_in_view(name, view)


# --- App Home -------------------------------------------------------------------------------

COMMANDS = [("/activity help", "this help"), ("/activity connect", "connect Flexmls")]


@pytest.mark.parametrize(("status", "words", "has_disconnect", "workspace"), STATE_PARAMS)
def test_home_connection_section_in_every_state(
    status: ConnectionStatus, words: str, has_disconnect: bool, workspace: bool
) -> None:
    view = home_view([], COMMANDS, status=status)
    assert_valid_view(view, kind="home")
    assert view["blocks"][0]["type"] == "header"
    assert view["blocks"][0]["text"]["text"] == "Activity bot"
    assert words in view["blocks"][1]["text"]["text"]
    assert view["blocks"][1]["text"]["text"] == status_message(status).blocks[0]["text"]["text"]
    found = view_buttons(view)
    assert all("url" not in b for b in found)  # no single-use sign-in link on Home
    ids = [b["action_id"] for b in found]
    if has_disconnect:
        assert_disconnect_is_confirmed(next(b for b in found if b["action_id"] == DISCONNECT))
    else:
        assert DISCONNECT not in ids
    needs_connecting = not status.connected or status.broken
    assert (CONNECT_PASTE in ids) is needs_connecting
    hint = "Or type `/activity connect` to sign in with Flexmls."
    assert (hint in view_mrkdwn_texts(view)) is (needs_connecting and status.oauth_available)


def test_home_with_no_data_at_all() -> None:
    view = home_view([], [], status=NOTHING)
    assert_valid_view(view, kind="home")
    texts = view_mrkdwn_texts(view)
    assert "You haven't looked anyone up yet. Try `/activity jane doe`." in texts
    assert "No digests yet. `/activity digest add` posts one every morning." in texts


def test_home_lists_digests_with_channel_mentions() -> None:
    subs = [
        subscription(1, channel_id="C0123ABC"),
        subscription(2, channel_id="G0123ABC", local_time="17:30", scope="hot"),
    ]
    view = home_view([lookup("Jane Doe", "C1")], COMMANDS, status=CONNECTED, subscriptions=subs)
    assert_valid_view(view, kind="home")
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == [
        "Activity bot",
        "Your recent lookups",
        "Your digests",
        "How to use /activity",
    ]
    assert (
        "• <#C0123ABC> at 08:00 America/Denver · recent\n"
        "• <#G0123ABC> at 17:30 America/Denver · hot"
    ) in view_mrkdwn_texts(view)
    open_card = [b for b in view_buttons(view) if b["action_id"].startswith("open_card")]
    assert [b["value"] for b in open_card] == ["C1"]


@pytest.mark.parametrize("channel_id", ["<!channel>", "C123|general", "c0123abc", "C1", "U0123ABC"])
def test_home_never_mentions_a_malformed_channel_id(channel_id: str) -> None:
    view = home_view([], [], status=NOTHING, subscriptions=[subscription(1, channel_id=channel_id)])
    assert_valid_view(view, kind="home")
    assert not any("<#" in text for text in view_mrkdwn_texts(view))


@pytest.mark.parametrize("text", HOSTILE_NAMES)
def test_home_with_hostile_text_everywhere(text: str) -> None:
    status = ConnectionStatus(connected=True, spark_user_name=text, kind="personal", since=SINCE)
    subs = [subscription(1, timezone=text, scope=text, local_time=text, channel_id=text)]
    # Help usages sit inside a code span (see test_help_with_hostile_text); descriptions don't.
    commands = [("/activity x", text)]
    view = home_view([lookup(text, "C1")], commands, status=status, subscriptions=subs)
    assert_valid_view(view, kind="home")
    assert_no_formatting_in_view(text, view)


def test_home_with_lots_of_everything_stays_within_100_blocks() -> None:
    recent = [lookup(f"Contact number {i}", f"C{i}") for i in range(30)]
    subs = [
        subscription(i, timezone="America/Argentina/ComodRivadavia", scope="s" * 200)
        for i in range(30)
    ]
    commands = [(f"/activity cmd{i} " + "u" * 150, "d" * 690) for i in range(300)]
    view = home_view(recent, commands, status=BROKEN_WITH_WORKSPACE, subscriptions=subs)
    assert_valid_view(view, kind="home")
    assert len(view["blocks"]) <= 100
    digests = next(t for t in view_mrkdwn_texts(view) if t.startswith("• <#C00000>"))
    assert len(digests.splitlines()) == 20
    assert "<#C00019>" in digests and "<#C00020>" not in digests
    assert {"type": "plain_text", "text": "and 10 more"} in [
        e for b in view["blocks"] if b["type"] == "context" for e in b["elements"]
    ]
    assert len([b for b in view_buttons(view) if b["action_id"].startswith("open_card")]) == 10


def test_exactly_20_digests_need_no_more_line() -> None:
    view = home_view([], [], status=NOTHING, subscriptions=[subscription(i) for i in range(20)])
    assert_valid_view(view, kind="home")
    contexts = [e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert not any(text.startswith("and ") for text in contexts)
    digests = next(t for t in view_mrkdwn_texts(view) if t.startswith("• <#C00000>"))
    assert len(digests.splitlines()) == 20
