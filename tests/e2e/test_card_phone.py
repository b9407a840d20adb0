"""The card as a phone shows it, over real HTTP: the notification, the viewer's own day, links."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from devtools.slack_standin.messages import buttons, texts

BANDS = "(🔥 Hot|🌤 Warm|🧊 Cold)"


def block(card: dict, role: str) -> dict:
    (found,) = [b for b in card["blocks"] if b["block_id"].startswith(role + ".")]
    return found


def change_text(card: dict) -> str:
    return " ".join(e["text"] for e in block(card, "card_change")["elements"])


async def lookup(stack, text: str) -> dict:
    return await stack.reply_to((await stack.sender.command(text)).response_url)


async def test_two_lookups_the_same_local_day_show_what_changed_since_the_first(stack):
    """The agent is in Denver (the stand-in's default zone): 09:14, then 23:30 local, which is
    06:30 UTC the next day; both are the agent's 2 March."""
    jane = stack.contact("jane_doe")
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 14, tzinfo=dt.UTC))
    morning = await lookup(stack, jane.primary_email)
    assert re.fullmatch(f"Jane Doe · {BANDS}, from today's totals", morning["text"])
    assert "Band from today's totals" in texts(morning)
    assert "second day" not in texts(morning)

    stack.clock.set(dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC))
    night = await lookup(stack, jane.primary_email)
    first_at = int(dt.datetime(2026, 3, 2, 16, 14, tzinfo=dt.UTC).timestamp())
    # Singular and plural side by side: "+1 e-mail opened", "+2 subscription e-mails sent".
    assert change_text(night) == (
        "+3 viewed, +1 e-mail sent, +1 e-mail opened, +2 subscription e-mails sent"
        f" since <!date^{first_at}^{{time}}|9:14>"
    )
    assert night["text"] == "Jane Doe · 🌤 Warm · last active today"
    glance = block(night, "card_glance")["text"]["text"]
    assert glance.startswith("*🌤 Warm* · 10 points · last active today\n")
    read = " ".join(e["text"] for e in block(night, "card_read")["elements"])
    assert read.endswith("|Mon 2 Mar 23:30 MST>")


async def test_a_viewer_in_another_zone_gets_their_own_day(stack):
    stack.slack.set_user(stack.sender.user_id, tz="Asia/Tokyo")
    jane = stack.contact("jane_doe")
    stack.clock.set(dt.datetime(2026, 3, 2, 16, 14, tzinfo=dt.UTC))  # 01:14 on 3 March in Tokyo
    await lookup(stack, jane.primary_email)
    stack.clock.set(dt.datetime(2026, 3, 3, 6, 30, tzinfo=dt.UTC))  # 15:30 on 3 March in Tokyo
    card = await lookup(stack, jane.primary_email)
    assert change_text(card).endswith("since <!date^1772468040^{time}|1:14>")


async def test_the_email_is_a_mailto_link_and_the_phone_a_tel_link(stack):
    janet = stack.contact("janet_doe")
    card = await lookup(stack, "janet doe")
    reach = block(card, "card_reach")["text"]["text"]
    assert f"<mailto:{janet.primary_email}|{janet.primary_email}>" in reach
    digits = "".join(ch for ch in janet.primary_phone if ch.isdigit())
    assert f"<tel:{digits}|" in reach
    assert "open_flexmls" not in [b["action_id"] for b in buttons(card)]


@pytest.mark.parametrize(
    "bot_env", [{"FLEXMLS_CONTACT_URL": "https://crm.flexmls.example/contacts/{id}"}]
)
async def test_open_in_flexmls_when_configured_and_its_click_is_acked(stack):
    janet = stack.contact("janet_doe")
    card = await lookup(stack, "janet doe")
    (link,) = [b for b in buttons(card) if b["action_id"] == "open_flexmls"]
    assert link["url"] == f"https://crm.flexmls.example/contacts/{janet.id}"
    labels = [b["text"]["text"] for b in buttons(card)]
    assert labels[:3] == [labels[0], labels[1], "Open in Flexmls"]
    assert labels[0].startswith("Viewed") and labels[1].startswith("Shared")
    clicked = await stack.sender.action("open_flexmls", "")
    assert clicked.response.status_code == 200
