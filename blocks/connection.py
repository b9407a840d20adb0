"""Connecting an agent's own Flexmls account: the prompt, the status, the paste-token modal.

The connection wording (`connection_lines`) is shared by `/activity status` and the App Home
tab, so both surfaces describe a connection the same way. Modals are returned as `View` dicts
(validated by `slack_sdk`); the token input never carries an `initial_value`, so a token is
never sent back to Slack.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from activity.models import ConnectionStatus
from blocks.actions import (
    CONNECT_OAUTH,
    CONNECT_PASTE,
    DISCONNECT,
    TOKEN_INPUT_ACTION,
    TOKEN_INPUT_BLOCK,
    TOKEN_MODAL_CALLBACK,
    button,
)
from blocks.message import Message, finish, identified
from blocks.text import as_utc, plain, user_mrkdwn

AUTHORIZE_URL = 3000  # Slack's limit for a button `url`
NAME_LIMIT = 200
ERROR_LIMIT = 500
TOKEN_MAX_LENGTH = 500
DISCONNECT_VALUE = "me"
PASTE_VALUE = "paste"
MODAL_TITLE = "Connect Flexmls"

KIND_WORDS = {"oauth": "signed in with Flexmls", "personal": "personal access token"}
PRIVACY = (
    "Activity bot reads contact activity with your own Flexmls access. "
    "Replies about contacts stay private to you."
)
LINK_NOTE = "The link works once and expires in 10 minutes."
NO_LINK_NOTE = "Signing in with Flexmls isn't available right now; paste a token instead."
PASTE_ONLY_NOTE = "Paste a personal access token from your Flexmls API key."
WORKSPACE_LINE = "Lookups use the workspace's shared Flexmls token."
UNTIL_THEN_LINE = "Until then, lookups use the workspace's shared Flexmls token."
NOTHING_LINE = "Connect to look contacts up."
TRY_LINE = "Try `/activity jane doe`."
TOKEN_HELP = (
    "Paste a Flexmls *personal access token*. The owner of your Flexmls API key gets it "
    "from FBS or your MLS; the key needs the *Private* role for *Contacts: Activity*."
)
TOKEN_PRIVACY = "Stored encrypted; never shown again, never logged."
TOKEN_ERROR_FALLBACK = "That token didn't work."


def slack_day(moment: dt.datetime) -> str:
    """`<!date^…^{date_short_pretty}|2026-11-24>`: the reader's own date format."""
    utc = as_utc(moment)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}}|{utc.date().isoformat()}>"


def _fallback(mrkdwn: str) -> str:
    """Our own mrkdwn (no user text in it) as fallback text: code spans lose their backticks."""
    return mrkdwn.replace("`", "")


def connection_lines(status: ConnectionStatus) -> tuple[str, str]:
    """(mrkdwn, fallback text) describing the connection; the Flexmls name is escaped in both."""
    name = user_mrkdwn(status.spark_user_name, NAME_LIMIT)
    as_name = f" as {name}" if name else ""
    if status.broken:
        reconnect = (
            "Flexmls no longer accepts the saved sign-in; reconnect with `/activity connect`."
        )
        text = f"*Your Flexmls connection{as_name} stopped working.* {reconnect}"
        fallback = f"Your Flexmls connection{as_name} stopped working. {_fallback(reconnect)}"
        if status.uses_workspace_token:
            text += f"\n{UNTIL_THEN_LINE}"
            fallback += f" {UNTIL_THEN_LINE}"
        return text, fallback
    if status.connected:
        words = KIND_WORDS.get(status.kind or "")
        how = f" ({words})" if words else ""
        if status.since is None:
            return f"*Connected to Flexmls*{as_name}{how}.", f"Connected to Flexmls{as_name}{how}."
        day = as_utc(status.since).date().isoformat()
        return (
            f"*Connected to Flexmls*{as_name}{how} since {slack_day(status.since)}.",
            f"Connected to Flexmls{as_name}{how} since {day}.",
        )
    line = WORKSPACE_LINE if status.uses_workspace_token else NOTHING_LINE
    return f"*Not connected.* {line}", f"Not connected. {line}"


def _status_hint(status: ConnectionStatus) -> str:
    if status.broken:
        return "Type `/activity connect` to reconnect."
    if status.connected:
        return "To connect a different Flexmls account, type `/activity connect`."
    if status.uses_workspace_token:
        return "To use your own Flexmls access, type `/activity connect`."
    return "Type `/activity connect` to connect your Flexmls account."


def disconnect_button() -> ButtonElement:
    """ "Disconnect", in red, behind a confirmation dialog."""
    element = button("Disconnect", DISCONNECT, DISCONNECT_VALUE, style="danger")
    element.confirm = ConfirmObject(
        title=PlainTextObject(text="Disconnect Flexmls?"),
        text=MarkdownTextObject(
            text="Activity bot will forget your Flexmls tokens. "
            "You can connect again any time with `/activity connect`."
        ),
        confirm=PlainTextObject(text="Disconnect"),
        deny=PlainTextObject(text="Cancel"),
        style="danger",
    )
    return element


def paste_button(*, primary: bool = False) -> ButtonElement:
    """ "Paste a token": opens the paste-token modal."""
    return button(
        "Paste a token",
        CONNECT_PASTE,
        PASTE_VALUE,
        style="primary" if primary else None,
        accessibility_label="Paste a Flexmls personal access token",
    )


def _usable_url(url: str | None) -> str | None:
    if not url or len(url) > AUTHORIZE_URL or not url.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return url


def connect_prompt(authorize_url: str | None, *, oauth_available: bool) -> Message:
    """`/activity connect`: why, a "Connect Flexmls" link when there is one, and paste-a-token."""
    url = _usable_url(authorize_url)
    elements: list[ButtonElement] = []
    if url is not None:
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Connect Flexmls", emoji=True),
                action_id=CONNECT_OAUTH,
                url=url,
                style="primary",
                accessibility_label="Sign in with Flexmls in your browser",
            )
        )
    elements.append(paste_button())
    if url is not None:
        note = LINK_NOTE
    elif oauth_available:
        note = NO_LINK_NOTE
    else:
        note = PASTE_ONLY_NOTE
    text = f"Connect Flexmls. {PRIVACY} {note}"
    return finish(
        text,
        (
            "connect_intro",
            SectionBlock(text=MarkdownTextObject(text=f"*Connect Flexmls*\n{PRIVACY}")),
        ),
        ("connect_actions", ActionsBlock(elements=elements)),
        ("connect_note", ContextBlock(elements=[PlainTextObject(text=note)])),
    )


def status_message(status: ConnectionStatus) -> Message:
    """`/activity status`: connected (as whom, how, since), broken, workspace token, or nothing."""
    body, fallback = connection_lines(status)
    blocks: list[tuple[str, Block]] = [
        ("status", SectionBlock(text=MarkdownTextObject(text=body, verbatim=True)))
    ]
    if status.has_connection:
        blocks.append(("status_actions", ActionsBlock(elements=[disconnect_button()])))
    hint = _status_hint(status)
    blocks.append(("status_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])))
    return finish(fallback, *blocks)


def disconnected(*, was_connected: bool, digests_paused: int = 0) -> Message:
    """After `/activity disconnect` (or the Disconnect button); says which digests it paused."""
    if was_connected:
        line = "Disconnected: Activity bot has forgotten your Flexmls tokens."
        hint = "Type `/activity connect` to connect again."
        if digests_paused:
            plural = "s" if digests_paused != 1 else ""
            line += f" {digests_paused} digest{plural} paused."
            verb = "resume" if plural else "resumes"
            hint = f"Type `/activity connect` to connect again; your digest{plural} {verb} then."
    else:
        line = "You weren't connected."
        hint = "Type `/activity connect` to connect your Flexmls account."
    return finish(
        f"{line} {_fallback(hint)}",
        ("disconnected", SectionBlock(text=MarkdownTextObject(text=line))),
        ("disconnected_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])),
    )


def connected_dm(spark_user_name: str, kind: str) -> Message:
    """The DM sent once a connection works: as whom, and what to try first."""
    name = user_mrkdwn(spark_user_name, NAME_LIMIT)
    line = f"You're connected to Flexmls as {name}." if name else "You're connected to Flexmls."
    words = KIND_WORDS.get(kind)
    how = f"{words[0].upper()}{words[1:]}. " if words else ""
    hint = f"{how}{TRY_LINE} Replies about contacts stay private to you."
    return finish(
        f"{line} {_fallback(TRY_LINE)}",
        ("connected", SectionBlock(text=MarkdownTextObject(text=line, verbatim=True))),
        ("connected_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])),
    )


def linked_dm(spark_user_name: str) -> Message:
    """The DM sent whenever a Flexmls account is linked to this Slack user (and what if not you)."""
    name = user_mrkdwn(spark_user_name, NAME_LIMIT)
    account = f"Flexmls account {name}" if name else "a Flexmls account"
    line = f"Your Slack account was linked to {account}."
    warning = "If this wasn't you, run `/activity disconnect`."
    hint = f"{TRY_LINE} Replies about contacts stay private to you."
    return finish(
        f"{line} {_fallback(warning)}",
        ("linked", SectionBlock(text=MarkdownTextObject(text=f"{line}\n{warning}", verbatim=True))),
        ("linked_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])),
    )


SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _mention(user_id: str) -> str:
    """`<@U…>` for a well-formed Slack user id; anything else as plain, escaped text."""
    return f"<@{user_id}>" if SLACK_USER_ID.match(user_id) else user_mrkdwn(user_id, 40)


def linked_elsewhere_dm(spark_user_name: str, linked_user_id: str) -> Message:
    """To the member whose e-mail the Flexmls account has, when someone else linked it."""
    name = user_mrkdwn(spark_user_name, NAME_LIMIT)
    account = f"Your Flexmls account {name}" if name else "A Flexmls account with your e-mail"
    who = _mention(linked_user_id)
    line = f"{account} was just linked to Slack user {who} in Activity bot."
    advice = (
        f"If that wasn't you, tell a workspace admin; {who} can remove it "
        "with `/activity disconnect`."
    )
    return finish(
        f"{line} {_fallback(advice)}",
        (
            "linked_elsewhere",
            SectionBlock(text=MarkdownTextObject(text=f"{line}\n{advice}", verbatim=True)),
        ),
    )


def _modal(
    blocks: list[tuple[str, Block] | Block],
    *,
    submit: str | None = None,
    close: str = "Cancel",
) -> dict[str, Any]:
    """A modal of the connect flow; (role, block) pairs get content ids, bare blocks keep theirs."""
    roles = [item[0] for item in blocks if isinstance(item, tuple)]
    if len(set(roles)) != len(roles):
        raise ValueError(f"block roles must be unique within a view: {roles}")
    rendered = [
        identified(*item).to_dict() if isinstance(item, tuple) else item.to_dict()
        for item in blocks
    ]
    return View(
        type="modal",
        callback_id=TOKEN_MODAL_CALLBACK,
        title=plain(MODAL_TITLE, 24),
        submit=plain(submit, 24) if submit else None,
        close=plain(close, 24),
        blocks=rendered,
    ).to_dict()


def token_modal(*, error: str | None = None) -> dict[str, Any]:
    """The paste-token modal; with `error`, the same form with an inline warning under the input.

    The input keeps its fixed block id (`TOKEN_INPUT_BLOCK`) so handlers can read
    `state.values`; the other blocks' ids come from their content, so the error variant differs.
    """
    blocks: list[tuple[str, Block] | Block] = [
        ("token_help", SectionBlock(text=MarkdownTextObject(text=TOKEN_HELP))),
        InputBlock(
            block_id=TOKEN_INPUT_BLOCK,
            label=PlainTextObject(text="Personal access token"),
            element=PlainTextInputElement(
                action_id=TOKEN_INPUT_ACTION,
                placeholder=PlainTextObject(text="Paste the token here"),
                max_length=TOKEN_MAX_LENGTH,
            ),
        ),
    ]
    if error is not None and error != "":
        message = user_mrkdwn(error, ERROR_LIMIT, fallback=TOKEN_ERROR_FALLBACK)
        blocks.append(
            ("token_error", ContextBlock(elements=[MarkdownTextObject(text=f"⚠️ {message}")]))
        )
    blocks.append(("token_privacy", ContextBlock(elements=[PlainTextObject(text=TOKEN_PRIVACY)])))
    return _modal(blocks, submit="Connect", close="Cancel")


def checking_modal() -> dict[str, Any]:
    """Shown while the pasted token is checked with Flexmls (no submit button)."""
    line = "Checking your token with Flexmls…"
    return _modal(
        [("token_checking", SectionBlock(text=MarkdownTextObject(text=f"⏳ {line}")))],
        close="Close",
    )


def connected_modal(spark_user_name: str) -> dict[str, Any]:
    """The modal once the token works: as whom, and that the window can be closed."""
    name = user_mrkdwn(spark_user_name, NAME_LIMIT)
    who = f"Connected as {name}." if name else "Connected to Flexmls."
    line = f"✅ {who} You can close this window."
    return _modal(
        [("token_connected", SectionBlock(text=MarkdownTextObject(text=line, verbatim=True)))],
        close="Done",
    )
