"""`ALERTS_ENABLED=false`: nothing new is watched and every surface says alerts are off, instead
of promising DMs that will never come."""

from __future__ import annotations

import pytest

from devtools.slack_standin.messages import texts
from storage.alerts import active_watches
from tests.e2e.test_alerts import AGENT, command
from tests.e2e.test_home_alerts import open_home, text_of

TEAM = "T0STANDIN"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERTS_ENABLED": "false"}


@pytest.mark.parametrize("text", ["watch priya patel", "watch tag:Buyer"])
async def test_watching_is_refused_and_reads_nothing(stack, text):
    said = texts(await command(stack, text))
    assert "Alerts are turned off for this workspace" in said, said
    assert not [r for r in stack.sandbox.requests if r.path.startswith("/v1/contacts")]
    assert active_watches(stack.bot.services.db, TEAM, AGENT, stack.clock()) == []


async def test_the_settings_and_the_home_say_alerts_are_off(stack):
    assert "Alerts are turned off for this workspace" in texts(await command(stack, "alerts"))
    assert "turned off for this workspace" in text_of(await open_home(stack))


async def test_a_pickers_watch_choice_is_refused_too_and_reads_nothing(stack):
    priya = stack.contact("heavy_viewer")
    clicked = await stack.sender.action("contact_pick", f"p1|watch|{priya.id}", user_id=AGENT)
    said = texts(await stack.reply_to(clicked.response_url))
    assert "Alerts are turned off for this workspace" in said, said
    assert active_watches(stack.bot.services.db, TEAM, AGENT, stack.clock()) == []
