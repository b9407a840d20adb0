"""Requests exactly as Slack sends them to an app's Request URL, signed with its signing secret.

* `sign()` computes Slack's `X-Slack-Signature` / `X-Slack-Request-Timestamp` headers
  (`v0=` + HMAC-SHA256 of `v0:{timestamp}:{raw body}`).
* Payload builders return the exact wire body (a str): `slash_command_body()` (form-encoded
  fields), `block_action_body()` (form-encoded `payload=<json>`), `event_callback_body()` and
  `url_verification_body()` (JSON), with `app_mention_event()` / `app_home_opened_event()` /
  `message_event()` / `message_changed_event()` for the inner events.
* `SlackSender` posts them to the bot's events URL through an `httpx.AsyncClient`, creating a
  fresh response URL on a `SlackStandin` when given one, and returns a `Sent`.

The defaults (team, users, channel, app) match `slack_standin.server.SlackStandin`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

DEFAULT_TEAM_ID = "T0STANDIN"
DEFAULT_TEAM_DOMAIN = "standin"
DEFAULT_USER_ID = "U0AGENT1"
DEFAULT_USER_NAME = "agent"
DEFAULT_CHANNEL_ID = "C0GENERAL"
DEFAULT_API_APP_ID = "A0ACTIVITY"
DEFAULT_BOT_USER_ID = "U0BOT"
DEFAULT_COMMAND = "/activity"
# Slack still sends the deprecated verification token in payloads; apps must not rely on it.
VERIFICATION_TOKEN = "standin-deprecated-verification-token"
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
RETRY_REASONS = (
    "http_timeout",
    "too_many_redirects",
    "connection_failed",
    "ssl_error",
    "http_error",
    "unknown_error",
)

_KNOWN_CHANNEL_NAMES: Mapping[str, str] = {
    "C0GENERAL": "general",
    "C0RANDOM": "random",
    "C0CONSOLE": "console",
}
_ID_ALPHABET = string.ascii_uppercase + string.digits


def channel_name(channel_id: str) -> str:
    """The name Slack would report for a stand-in channel id ("C0GENERAL" -> "general")."""
    if channel_id in _KNOWN_CHANNEL_NAMES:
        return _KNOWN_CHANNEL_NAMES[channel_id]
    if channel_id[:1] == "D":
        return "directmessage"
    return channel_id.lower()


_channel_name = channel_name  # a builder parameter of the same name shadows the function


def dm_channel_id(user_id: str) -> str:
    """The stand-in's id for the bot's DM channel with a user ("U0AGENT1" -> "D0AGENT1")."""
    return "D" + user_id[1:]


def sign(signing_secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for `body` at `timestamp` (Unix seconds, default now)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    raw = body.encode("utf-8") if isinstance(body, str) else body
    digest = hmac.new(
        signing_secret.encode("utf-8"), b"v0:" + ts.encode("ascii") + b":" + raw, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's (`<digits>.<digits>.<hex>`)."""
    return (
        f"{secrets.randbelow(10**13):013d}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(16)}"
    )


def new_event_id() -> str:
    """An Events API `event_id` shaped like Slack's (`Ev` + 10 upper-case alphanumerics)."""
    return "Ev" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def _slack_ts(moment: float | None = None) -> str:
    return f"{time.time() if moment is None else moment:.6f}"


def slash_command_body(
    *,
    text: str,
    response_url: str,
    user_id: str = DEFAULT_USER_ID,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    command: str = DEFAULT_COMMAND,
    trigger_id: str | None = None,
    user_name: str = DEFAULT_USER_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    channel_name: str | None = None,
) -> str:
    """A slash command invocation, form-encoded with every field Slack sends."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    )


def block_action_body(
    *,
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    response_url: str | None = None,
    block_id: str = "b1",
    message_ts: str | None = None,
    is_ephemeral: bool = True,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    user_name: str = DEFAULT_USER_NAME,
    api_app_id: str = DEFAULT_API_APP_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    button_text: str | None = None,
    message: Mapping[str, Any] | None = None,
) -> str:
    """A button click (`block_actions`), form-encoded as `payload=<json>`.

    In a message (no `view`): container type "message", `channel` and a `response_url`
    (required). Slack omits the `message` object for ephemeral messages, so it is included
    only when `message_ts` is given and `is_ephemeral` is False (as `{"type": "message",
    "ts": ...}`, or pass the full `message`). In App Home (`view` given): container type
    "view", the `view` object, and no channel, message or response URL.
    """
    action_ts = _slack_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    if view is not None:
        payload.update(_in_view(view))
    else:
        payload.update(_in_message(channel_id, response_url, message_ts, is_ephemeral, message))
    payload["actions"] = [
        {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "action_ts": action_ts,
            "text": {"type": "plain_text", "text": button_text or action_id, "emoji": True},
        }
    ]
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _in_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a click in App Home: the view container and the view itself."""
    return {"container": {"type": "view", "view_id": view.get("id", "")}, "view": dict(view)}


def _in_message(
    channel_id: str,
    response_url: str | None,
    message_ts: str | None,
    is_ephemeral: bool,
    message: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The fields of a click in a message: container, channel, maybe the message, the (empty)
    state and the response URL, in the order Slack sends them."""
    if not response_url:
        raise ValueError("a block action in a message always carries a response_url")
    container: dict[str, Any] = {
        "type": "message",
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    if message_ts is not None:
        container["message_ts"] = message_ts
    fields: dict[str, Any] = {
        "container": container,
        "channel": {"id": channel_id, "name": channel_name(channel_id)},
    }
    if message is not None:
        fields["message"] = dict(message)
    elif message_ts is not None and not is_ephemeral:
        fields["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
    fields["state"] = {"values": {}}
    fields["response_url"] = response_url
    return fields


def event_callback_body(
    *,
    event: Mapping[str, Any],
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_API_APP_ID,
    event_time: int | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> str:
    """An Events API delivery: the JSON `event_callback` envelope around `event`."""
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or new_event_id(),
            "event_time": int(time.time()) if event_time is None else event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }
    )


def app_mention_event(
    *,
    text: str,
    user: str = DEFAULT_USER_ID,
    channel: str = DEFAULT_CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> dict[str, Any]:
    """An `app_mention` event. Slack's text always contains the mention, so `<@bot> ` is
    prepended when `text` does not mention `bot_user_id` already."""
    mention = f"<@{bot_user_id}>"
    if mention not in text:
        text = f"{mention} {text}".rstrip()
    ts = ts or _slack_ts()
    event: dict[str, Any] = {
        "type": "app_mention",
        "client_msg_id": str(uuid.uuid4()),
        "user": user,
        "text": text,
        "ts": ts,
        "team": team,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_event(
    *,
    text: str,
    user: str = DEFAULT_USER_ID,
    channel: str | None = None,
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = DEFAULT_TEAM_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A `message` event (`message.im` by default: in `user`'s DM with the bot).

    `extra` adds or overrides fields as Slack sends them for other kinds of message, e.g.
    `subtype="bot_message"`, `bot_id="B0BOT"` (a bot's post), `subtype="file_share"`.
    """
    ts = ts or _slack_ts()
    event: dict[str, Any] = {
        "type": "message",
        "client_msg_id": str(uuid.uuid4()),
        "user": user,
        "text": text,
        "ts": ts,
        "team": team,
        "channel": channel or dm_channel_id(user),
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def message_changed_event(
    *,
    text: str,
    previous_text: str,
    user: str = DEFAULT_USER_ID,
    channel: str | None = None,
    channel_type: str = "im",
    ts: str | None = None,
) -> dict[str, Any]:
    """A `message_changed` event: `user` edited their message `ts` from `previous_text` to
    `text`. Slack sends the edited message nested, with no `user` at the top level."""
    ts = ts or _slack_ts()
    edited_at = _slack_ts()
    channel = channel or dm_channel_id(user)
    original = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "channel_type": channel_type,
        "ts": edited_at,
        "event_ts": edited_at,
        "message": {**original, "text": text, "edited": {"user": user, "ts": edited_at}},
        "previous_message": original,
    }


def app_home_opened_event(
    *,
    user: str = DEFAULT_USER_ID,
    tab: str = "home",
    view: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An `app_home_opened` event (`view` is the home view last published, if any)."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": dm_channel_id(user),
        "tab": tab,
        "event_ts": _slack_ts(),
    }
    if view is not None:
        event["view"] = dict(view)
    return event


def url_verification_body(challenge: str) -> str:
    """The JSON Slack sends once to verify an Events API Request URL."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


class ResponseUrlSource(Protocol):
    """Anything that hands out response URLs (`SlackStandin`, `SlackStandinThread`)."""

    def new_response_url(self) -> str: ...


@dataclass(frozen=True)
class Sent:
    """What a `SlackSender` call sent and got back."""

    response: httpx.Response
    response_url: str | None
    elapsed: float
    body: str


class SlackSender:
    """Sends signed Slack requests to the bot's events URL (`.../slack/events`).

    `standin`, when given, creates a fresh response URL for each command and message action
    that is not given one. The keyword defaults (user, team, channel, app, command) apply to
    every request unless a call overrides them.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        events_url: str,
        signing_secret: str,
        *,
        standin: ResponseUrlSource | None = None,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        team_id: str = DEFAULT_TEAM_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        api_app_id: str = DEFAULT_API_APP_ID,
        command: str = DEFAULT_COMMAND,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        timeout: float = 10.0,
    ) -> None:
        self.http = http
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.user_id = user_id
        self.user_name = user_name
        self.team_id = team_id
        self.channel_id = channel_id
        self.api_app_id = api_app_id
        self.command_name = command
        self.bot_user_id = bot_user_id
        self.timeout = timeout

    async def post(
        self,
        body: str | bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        signed: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a raw body. `timestamp` (default now) is signed and sent; `signature` replaces
        the computed one; `signed=False` sends neither signature nor timestamp header."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": content_type, "User-Agent": SLACK_USER_AGENT}
        if signed:
            headers.update(sign(self.signing_secret, raw, timestamp))
            if signature is not None:
                headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        return await self.http.post(
            self.events_url, content=raw, headers=headers, timeout=self.timeout
        )

    def _response_url(self, response_url: str | None) -> str:
        if response_url is not None:
            return response_url
        if self.standin is None:
            raise ValueError("pass response_url=..., or create the SlackSender with standin=...")
        return self.standin.new_response_url()

    async def _send(
        self, body: str, content_type: str, response_url: str | None, **post: Any
    ) -> Sent:
        started = time.perf_counter()
        response = await self.post(body, content_type, **post)
        return Sent(response, response_url, time.perf_counter() - started, body)

    async def command(
        self,
        text: str,
        *,
        response_url: str | None = None,
        timestamp: int | None = None,
        **fields: Any,
    ) -> Sent:
        """Run the slash command (`/activity` by default) with `text`.

        `fields` go to `slash_command_body` (user_id, channel_id, command, trigger_id...).
        """
        url = self._response_url(response_url)
        options: dict[str, Any] = {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
            "api_app_id": self.api_app_id,
            "command": self.command_name,
            **fields,
        }
        body = slash_command_body(text=text, response_url=url, **options)
        return await self._send(body, FORM_CONTENT_TYPE, url, timestamp=timestamp)

    async def action(
        self,
        action_id: str,
        value: str,
        *,
        response_url: str | None = None,
        timestamp: int | None = None,
        **fields: Any,
    ) -> Sent:
        """Click a button. With `view=...` (App Home) no response URL is created or sent.

        `fields` go to `block_action_body` (message_ts, is_ephemeral, block_id, view...).
        """
        url = None if fields.get("view") is not None else self._response_url(response_url)
        options: dict[str, Any] = {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "team_id": self.team_id,
            "channel_id": self.channel_id,
            "api_app_id": self.api_app_id,
            **fields,
        }
        body = block_action_body(action_id=action_id, value=value, response_url=url, **options)
        return await self._send(body, FORM_CONTENT_TYPE, url, timestamp=timestamp)

    async def event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        *,
        timestamp: int | None = None,
        **fields: Any,
    ) -> Sent:
        """Deliver an Events API event; `retry_num` marks it as Slack's n-th retry.

        `fields` go to `event_callback_body` (event_time, team_id...).
        """
        options: dict[str, Any] = {
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "bot_user_id": self.bot_user_id,
            **fields,
        }
        body = event_callback_body(event=event, event_id=event_id, **options)
        headers = None
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._send(
            body, JSON_CONTENT_TYPE, None, timestamp=timestamp, extra_headers=headers
        )

    async def dm(self, text: str, *, event_id: str | None = None, **fields: Any) -> Sent:
        """A person types `text` in their DM with the bot (a `message.im` event).

        `fields` go to `message_event` (user, thread_ts, subtype, bot_id...); the user defaults
        to the sender's.
        """
        fields.setdefault("user", self.user_id)
        fields.setdefault("team", self.team_id)
        return await self.event(message_event(text=text, **fields), event_id=event_id)

    async def url_verification(self, challenge: str = "standin-challenge") -> Sent:
        """Slack's one-off Request URL check (the app must echo the challenge)."""
        return await self._send(url_verification_body(challenge), JSON_CONTENT_TYPE, None)
