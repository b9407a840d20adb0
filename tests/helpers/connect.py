"""Connecting a Flexmls account the way a browser and Slack do it.

`LinkForms` reads the "Link this Flexmls account?" page the OAuth callback shows; `paste` drives
`/activity connect` → "Paste a token" → submit the modal, with the `view_submission` body Slack
sends (`submission_body`); `paste_and_wait` also waits for the bot's answer in the modal.
"""

from __future__ import annotations

import json
import urllib.parse
from html.parser import HTMLParser

import httpx

from devtools.slack_standin import FORM_CONTENT_TYPE
from tests.helpers.stack import Stack, button

AGENT = "U0AGENT1"


class LinkForms(HTMLParser):
    """The forms of the "Link this Flexmls account?" page: {button value: (action, form_token)}."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, tuple[str, str]] = {}
        self._action = self._token = ""
        self.feed(source)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._action, self._token = values.get("action", ""), ""
        elif tag == "input" and values.get("name") == "form_token":
            self._token = values.get("value", "")
        elif tag == "button" and values.get("name") == "action":
            self.forms[values["value"]] = (self._action, self._token)


def submission_body(token_text: str, user_id: str = AGENT, view_id: str = "V0TOKEN") -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user_id, "team_id": "T0STANDIN", "username": "agent"},
        "api_app_id": "A0ACTIVITY",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": view_id, "type": "modal", "callback_id": "connect_token", "team_id": "T0STANDIN",
            "state": {"values": {"token_input": {"token": {"type": "plain_text_input", "value": token_text}}}},
        },
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def open_token_modal(stack: Stack, user_id: str = AGENT) -> str:
    """Click "Paste a token" under `/activity connect`; the id of the modal Slack opened."""
    prompt = await stack.reply_to(
        (await stack.sender.command("connect", user_id=user_id)).response_url
    )
    paste_button = button(prompt, "connect_paste")
    opened_before = len(stack.slack.calls("views.open"))
    await stack.sender.action(
        paste_button["action_id"], paste_button["value"], user_id=user_id, trigger_id="1337.42.abcd"
    )
    await stack.slack.wait_for_count(lambda r: r.method == "views.open", opened_before + 1)
    return stack.slack.views()[-1]["id"]


async def paste(stack: Stack, token_text: str, user_id: str = AGENT) -> httpx.Response:
    """Submit `token_text` in the token modal; the bot's answer to the submission (the ack)."""
    view_id = await open_token_modal(stack, user_id)
    return await stack.sender.post(submission_body(token_text, user_id, view_id), FORM_CONTENT_TYPE)


async def paste_and_wait(stack: Stack, token_text: str, user_id: str = AGENT) -> httpx.Response:
    """`paste`, then wait until the bot has answered in the modal (its `views.update`)."""
    view_id = await open_token_modal(stack, user_id)
    updated = len(stack.slack.calls("views.update"))
    ack = await stack.sender.post(submission_body(token_text, user_id, view_id), FORM_CONTENT_TYPE)
    await stack.slack.wait_for_count(lambda r: r.method == "views.update", updated + 1)
    return ack
