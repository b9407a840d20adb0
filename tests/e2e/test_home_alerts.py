"""The App Home's Alerts panel over real HTTP: a signed `app_home_opened` event → `views.publish`
at the stand-in Slack with the agent's alert settings and watch list; signed Home clicks that
change only the clicker's own settings and watches, and re-publish the Home."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.slack_standin import app_home_opened_event
from devtools.slack_standin.messages import texts
from storage.alerts import add_watch, alert_settings, get_watch, pause_agent
from tests.helpers.blocks import assert_valid_view, view_buttons, view_mrkdwn_texts

AGENT, OTHER, OUTSIDER = "U0AGENT1", "U0AGENT2", "U0SHARED"
TEAM = "T0STANDIN"
HOME = {"id": "V0HOME", "type": "home"}
STALE = "out of date or damaged"


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ALERT_POLL_MIN_S": "60"}


def is_publish(user_id: str):  # type: ignore[no-untyped-def]
    return lambda r: r.method == "views.publish" and r.body["user_id"] == user_id


def publishes(stack, user_id: str = AGENT) -> list[Any]:
    return [r for r in stack.slack.received if is_publish(user_id)(r)]


async def next_publish(stack, user_id: str, before: int) -> dict[str, Any]:
    found = await stack.slack.wait_for_count(is_publish(user_id), before + 1)
    view = found[-1].body["view"]
    assert_valid_view(view, kind="home")
    return view


async def open_home(stack, user_id: str = AGENT) -> dict[str, Any]:
    before = len(publishes(stack, user_id))
    await stack.sender.event(app_home_opened_event(user=user_id))
    return await next_publish(stack, user_id, before)


async def click_in_home(stack, button: dict[str, Any], user_id: str = AGENT) -> dict[str, Any]:
    """Click a Home button (no response URL) and return the re-published Home."""
    before = len(publishes(stack, user_id))
    await stack.sender.action(button["action_id"], button["value"], user_id=user_id, view=HOME)
    return await next_publish(stack, user_id, before)


async def refused_in_home(stack, action_id: str, value: str, user_id: str) -> str:
    """A Home click that must be refused: the one DM it gets (and no Home is re-published)."""
    dm_before = len(stack.slack.messages(user_id))
    home_before = len(publishes(stack, user_id))
    await stack.sender.action(action_id, value, user_id=user_id, view=HOME)
    await stack.slack.wait_for_count(
        lambda r: r.method == "chat.postMessage" and r.body.get("channel") == user_id,
        dm_before + 1,
    )
    assert len(publishes(stack, user_id)) == home_before
    return texts(stack.slack.messages(user_id)[-1])


def setting_button(view: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [b for b in view_buttons(view) if b["action_id"] == f"alert_setting:{name}"]
    return found


def stop_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view_buttons(view) if b["action_id"].startswith("alert_stop:home_")]


def text_of(view: dict[str, Any]) -> str:
    return "\n".join(view_mrkdwn_texts(view))


async def command(stack, text: str, user_id: str = AGENT) -> dict[str, Any]:
    return await stack.reply_to((await stack.sender.command(text, user_id=user_id)).response_url)


async def test_home_shows_settings_in_the_agents_zone_and_who_they_watch(stack):
    stack.slack.set_user(AGENT, tz="Europe/Paris")
    stack.slack.set_user(OTHER)
    assert "Watching" in texts(await command(stack, "watch priya patel"))
    assert "Watching" in texts(await command(stack, "watch janet doe", OTHER))  # not AGENT's
    view = await open_home(stack)
    text = text_of(view)
    assert "*Alerts:* on" in text
    assert "*Quiet hours:* 9 pm to 7:30 am, your time (Europe/Paris)" in text
    assert "*Active now:* 3 or more listings viewed" in text
    assert "*Who you watch* · 1 of at most 50" in text
    assert "*Priya Patel* · " in text and "checked every" in text and "Janet" not in text
    (stop,) = stop_buttons(view)
    assert stop["value"] == f"a1|{AGENT}|{stack.contact('heavy_viewer').id}"
    assert "Paused" not in text


async def test_setting_buttons_change_the_clickers_own_settings_and_republish(stack):
    db = stack.bot.services.db
    view = await open_home(stack)
    dms_before = len(stack.slack.messages(AGENT))

    view = await click_in_home(stack, setting_button(view, "alerts"))
    assert alert_settings(db, TEAM, AGENT).enabled is False
    assert "*Alerts:* off" in text_of(view)
    assert setting_button(view, "alerts")["text"]["text"] == "Turn alerts on"

    view = await click_in_home(stack, setting_button(view, "quiet"))
    assert alert_settings(db, TEAM, AGENT).quiet is False
    assert "*Quiet hours:* off" in text_of(view)
    view = await click_in_home(stack, setting_button(view, "quiet"))
    on = alert_settings(db, TEAM, AGENT)
    assert (on.quiet_start, on.quiet_end) == ("21:00", "07:30")  # back to the default

    view = await click_in_home(stack, setting_button(view, "email"))  # opt-in, off by default
    assert alert_settings(db, TEAM, AGENT).email is True
    assert "*E-mail alerts:* on" in text_of(view)
    view = await click_in_home(stack, setting_button(view, "auto"))  # on by default
    assert alert_settings(db, TEAM, AGENT).auto_watch is False
    assert "*Auto-watch:* off" in text_of(view)
    assert len(stack.slack.messages(AGENT)) == dms_before  # the Home is the answer: no DM

    # The same click again (a stale Home, a double click) keeps the agent's own quiet hours.
    await command(stack, "alerts quiet 22:00-06:30")
    stale = {"action_id": "alert_setting:quiet", "value": f"s1|{AGENT}|quiet|on"}
    view = await click_in_home(stack, stale)
    assert alert_settings(db, TEAM, AGENT).quiet_start == "22:00"
    assert "10 pm to 6:30 am" in text_of(view)
    assert alert_settings(db, TEAM, OTHER).enabled is True  # nobody else's changed


async def test_forged_setting_values_are_refused_and_change_nothing(stack):
    db = stack.bot.services.db
    view = await open_home(stack)
    agents_value = setting_button(view, "alerts")["value"]  # s1|U0AGENT1|alerts|off
    # Someone else clicking the agent's value (forwarded, or typed by hand).
    assert STALE in await refused_in_home(stack, "alert_setting:alerts", agents_value, OTHER)
    # The agent forging a value that names someone else, or a setting that doesn't exist.
    for value in (f"s1|{OTHER}|alerts|off", f"s1|{AGENT}|admin|on", f"s1|{AGENT}|alerts|yes"):
        assert STALE in await refused_in_home(stack, "alert_setting:alerts", value, AGENT)
    assert alert_settings(db, TEAM, AGENT).enabled is True
    assert alert_settings(db, TEAM, OTHER).enabled is True


async def test_another_teams_user_gets_no_home_and_changes_nothing(stack):
    stack.slack.set_user(OUTSIDER, team_id="T0OUTSIDE")  # only users.info says so
    db = stack.bot.services.db
    await stack.sender.event(app_home_opened_event(user=OUTSIDER))
    reply = await refused_in_home(
        stack, "alert_setting:alerts", f"s1|{OUTSIDER}|alerts|off", OUTSIDER
    )
    assert "only works for members of this workspace" in reply
    assert publishes(stack, OUTSIDER) == []
    assert alert_settings(db, TEAM, OUTSIDER).enabled is True


async def test_stop_watching_in_the_home_stops_only_the_clickers_watch(stack):
    db = stack.bot.services.db
    priya, janet = stack.contact("heavy_viewer"), stack.contact("janet_doe")
    await command(stack, "watch priya patel")
    await command(stack, "watch janet doe")
    await command(stack, "watch priya patel", OTHER)
    view = await open_home(stack)
    assert len(stop_buttons(view)) == 2
    priya_stop = next(b for b in stop_buttons(view) if priya.id in b["value"])

    # Forged: another agent clicking this one's Stop, or this one naming another agent.
    assert STALE in await refused_in_home(stack, "alert_stop:home_1", priya_stop["value"], OTHER)
    forged = f"a1|{OTHER}|{priya.id}"
    assert STALE in await refused_in_home(stack, "alert_stop:home_1", forged, AGENT)
    assert not get_watch(db, TEAM, OTHER, priya.id).stopped

    dms_before = len(stack.slack.messages(AGENT))
    view = await click_in_home(stack, priya_stop)
    assert get_watch(db, TEAM, AGENT, priya.id).stopped
    assert not get_watch(db, TEAM, OTHER, priya.id).stopped
    assert not get_watch(db, TEAM, AGENT, janet.id).stopped
    assert "Priya" not in text_of(view) and "*Janet Doe*" in text_of(view)
    assert len(stack.slack.messages(AGENT)) == dms_before
    assert "Janet Doe" in texts(await command(stack, "watch"))


async def test_paused_polling_shows_reconnect(stack):
    await command(stack, "watch priya patel")
    db = stack.bot.services.db
    pause_agent(db, TEAM, AGENT, token_key="k", reason="revoked", now=stack.clock())
    text = text_of(await open_home(stack))
    assert "Paused" in text and "`/activity connect`" in text and "*Priya Patel*" in text


async def test_fifty_watches_fit_the_home(stack):
    db = stack.bot.services.db
    for i in range(50):
        add_watch(db, team_id=TEAM, user_id=AGENT, contact_id=f"C{i:02d}",
                  display_name=f"Contact {i} " + "🔥" * 90, access="workspace",
                  now=stack.clock())  # fmt: skip
    await command(stack, "janet doe")  # a recent lookup too
    view = await open_home(stack)
    assert len(view["blocks"]) <= 100
    assert len(stop_buttons(view)) == 50
    assert view["blocks"][-1]["block_id"].startswith("help_privacy")
    # views.publish refuses a view over 250 kB (`view_too_large`); 4-byte names, 50 times.
    assert len(json.dumps(view, ensure_ascii=False).encode("utf-8")) < 250_000
