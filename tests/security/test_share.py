""" "Share in channel" asks first, naming the channel, and the public copy keeps contact details private.

Before the fix one tap posted the card publicly with no confirmation, and the copy carried the
contact's e-mail and phone and the agent-only notes of a first lookup ("changes since yesterday
show from tomorrow").
"""

from __future__ import annotations

import json

import pytest

from devtools.slack_standin.messages import texts
from tests.helpers.stack import button


async def card_in(stack, channel_id: str, channel_name: str) -> dict:
    sent = await stack.sender.command("janet doe", channel_id=channel_id, channel_name=channel_name)
    return await stack.reply_to(sent.response_url)


@pytest.mark.parametrize(
    ("channel_id", "channel_name", "place"),
    [
        ("C0GENERAL", "general", "#general"),
        ("G0PRIVATE", "privategroup", "this private channel"),
        ("D0AGENT1", "directmessage", "this conversation"),
    ],
)
async def test_share_asks_first_and_names_the_channel(stack, channel_id, channel_name, place):
    card = await card_in(stack, channel_id, channel_name)
    confirm = button(card, "share_card").get("confirm")
    assert confirm is not None, "Share in channel posts without asking"
    assert confirm["title"]["text"] == f"Share in {place}?"
    assert place in confirm["text"]["text"]
    assert "e-mail and phone number are left out" in confirm["text"]["text"]
    assert confirm["confirm"]["text"] == "Share" and confirm["deny"]["text"] == "Cancel"


async def test_the_shared_copy_leaves_out_email_phone_and_first_day_notes(stack):
    janet = stack.contact("janet_doe")
    card = await card_in(stack, "C0GENERAL", "general")
    private = json.dumps(card)
    assert janet.primary_email in private and janet.primary_phone in private  # the agent's own
    share = button(card, "share_card")
    clicked = await stack.sender.action(share["action_id"], share["value"], user_id="U0SHARER")
    public = await stack.reply_to(clicked.response_url)
    assert public["response_type"] == "in_channel"
    copy = json.dumps(public)
    assert janet.primary_email not in copy
    assert janet.primary_phone not in copy
    assert "First lookup" not in texts(public)
    assert "score appears after" not in texts(public)
    assert "Janet Doe" in texts(public) and "<@U0SHARER>" in texts(public)
