"""The App Home's Alerts panel: settings in words (the agent's zone) with a button per on/off
setting, the watch list with Stop watching, within Slack's 100 blocks with 50 watches."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from activity.alert_panel import TOGGLES, HomeAlerts, Toggle
from activity.alert_settings import SettingsView
from activity.alerts import MAX_WATCHES, WatchLine, WatchList
from activity.models import ConnectionStatus
from blocks.actions import (
    BadActionValue,
    SettingChoice,
    decode_setting_choice,
    decode_watch_action,
    encode_setting_choice,
)
from blocks.home import home_view
from blocks.home_alerts import clock_words, snoozed_words
from handlers.dispatch import SUBCOMMANDS
from storage.alerts import AlertSettings
from storage.digests import Subscription
from storage.lookups import RecentLookup
from tests.helpers.blocks import (
    assert_no_formatting_in_view,
    assert_valid_view,
    view_buttons,
    view_mrkdwn_texts,
)

AGENT = "U0AGENT1"
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
ID = "20150726201640439000015000"
CONNECTED = ConnectionStatus(connected=True, spark_user_name="Avery Agent", kind="oauth", since=NOW)
COMMANDS = [(s.usage, s.description) for s in SUBCOMMANDS]
HOSTILE = ["<!channel> *bold* <https://evil|x>", "", "  ", "x" * 5000, "🔥" * 400, "Zoë O'Brien"]


def line(n: int = 1, name: str = "Zoë O'Brien", **overrides: object) -> WatchLine:
    values: dict[str, object] = {
        "name": name,
        "contact_id": f"{ID[:-3]}{n:03d}",
        "band": "hot",
        "every": dt.timedelta(minutes=10),
        "snoozed_until": None,
    }
    values.update(overrides)
    return WatchLine(**values)  # type: ignore[arg-type]


def panel(
    lines: tuple[WatchLine, ...] = (),
    settings: AlertSettings | None = None,
    tz: str = "America/Denver",
    *,
    names: bool = True,
    paused: bool = False,
) -> HomeAlerts:
    watches = WatchList(lines, paused=paused) if names else None
    view = SettingsView(settings or AlertSettings(), tz)
    return HomeAlerts(AGENT, view, watches, len(lines), paused)


def home(alerts: HomeAlerts, **kwargs: object) -> dict:  # type: ignore[type-arg]
    view = home_view([], COMMANDS, status=CONNECTED, alerts=alerts, **kwargs)  # type: ignore[arg-type]
    assert_valid_view(view, kind="home")
    return view


def setting_buttons(view: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        b["action_id"]: b for b in view_buttons(view) if b["action_id"].startswith("alert_setting")
    }


def stop_buttons(view: dict) -> list[dict]:  # type: ignore[type-arg]
    return [b for b in view_buttons(view) if b["action_id"].startswith("alert_stop")]


def test_default_settings_read_in_words_in_the_agents_zone_with_a_button_each():
    view = home(panel())
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert "Active now alerts" in headers
    assert headers.index("Active now alerts") < headers.index("How to use /activity")
    text = "\n".join(view_mrkdwn_texts(view))
    assert "*Alerts:* on" in text
    assert (
        "*Quiet hours:* 9 pm to 7:30 am, your time (America/Denver): alerts wait, then arrive"
        " as one summary"
    ) in text
    assert "*Active now:* 3 or more listings viewed after an hour with none" in text
    found = setting_buttons(view)
    assert {k: b["text"]["text"] for k, b in found.items()} == {
        "alert_setting:alerts": "Turn alerts off",
        "alert_setting:quiet": "Turn quiet hours off",
        "alert_setting:email": "Turn e-mail alerts on",  # opt-in
        "alert_setting:auto": "Turn auto-watch off",
    }
    assert found["alert_setting:alerts"]["value"] == f"s1|{AGENT}|alerts|off"
    assert found["alert_setting:quiet"]["value"] == f"s1|{AGENT}|quiet|off"


def test_turned_off_settings_offer_to_turn_them_on():
    settings = AlertSettings(
        enabled=False, quiet_start=None, quiet_end=None, threshold=7, email=False, auto_watch=False
    )
    view = home(panel(settings=settings, tz="Europe/Paris"))
    text = "\n".join(view_mrkdwn_texts(view))
    assert "*Alerts:* off: no contact is checked" in text
    assert "*Quiet hours:* off: alerts arrive at any hour" in text
    assert "*Active now:* 7 or more listings" in text
    found = setting_buttons(view)
    assert found["alert_setting:alerts"]["text"]["text"] == "Turn alerts on"
    assert found["alert_setting:quiet"]["value"] == f"s1|{AGENT}|quiet|on"
    assert all(b.get("style") == "primary" for b in found.values())


@pytest.mark.parametrize(
    ("hhmm", "words"),
    [("21:00", "9 pm"), ("07:30", "7:30 am"), ("00:00", "midnight"), ("12:00", "noon"),
     ("12:05", "12:05 pm"), ("00:45", "12:45 am"), ("23:59", "11:59 pm")],
)  # fmt: skip
def test_clock_words(hhmm: str, words: str):
    assert clock_words(hhmm) == words


def test_one_more_boolean_setting_is_one_row_in_the_table(monkeypatch):
    extra = Toggle("pulse", "Pulse", lambda s: s.threshold == 3, "pulse on", "pulse off")
    monkeypatch.setattr("blocks.home_alerts.TOGGLES", (*TOGGLES, extra))
    view = home(panel())
    assert "*Pulse:* on" in "\n".join(view_mrkdwn_texts(view))
    assert setting_buttons(view)["alert_setting:pulse"]["value"] == f"s1|{AGENT}|pulse|off"


def test_the_watch_list_names_band_cadence_and_snooze_in_the_agents_zone():
    until = dt.datetime(2026, 3, 3, 16, 14, tzinfo=dt.UTC)  # Tue 9:14 am in Denver (MST)
    lines = (
        line(1),
        line(2, "Priya Patel", band="cold", every=dt.timedelta(hours=2), snoozed_until=until),
        line(3, "New Person", band=None),
    )
    view = home(panel(lines))
    rows = [b for b in view["blocks"] if b["block_id"].startswith("home_watch_")]
    assert [r["text"]["text"] for r in rows] == [
        "*Zoë O'Brien* · 🔥 hot · checked every 10 min",
        "*Priya Patel* · 🧊 cold · checked every 2 h · snoozed until Tue 9:14 am",
        "*New Person* · band not known yet · checked every 10 min",
    ]
    assert "*Who you watch* · 3 of at most 50" in view_mrkdwn_texts(view)
    stops = stop_buttons(view)
    assert [b["action_id"] for b in stops] == ["alert_stop:home_1", "alert_stop:home_2",
                                               "alert_stop:home_3"]  # fmt: skip
    for stop, watched in zip(stops, lines, strict=True):
        assert stop["text"]["text"] == "Stop watching" and "confirm" in stop
        action = decode_watch_action(stop["value"], clicked_by=AGENT)
        assert action.contact_id == watched.contact_id
        with pytest.raises(BadActionValue):
            decode_watch_action(stop["value"], clicked_by="U0OTHER")


def test_snoozed_until_follows_daylight_saving_time():
    summer = dt.datetime(2026, 7, 7, 15, 14, tzinfo=dt.UTC)  # Tue 9:14 am in Denver (MDT)
    assert snoozed_words(summer, "America/Denver") == "snoozed until Tue 9:14 am"
    assert snoozed_words(summer, "Not/AZone") == "snoozed until Tue 3:14 pm"


def test_no_watches_says_how_to_start():
    text = view_mrkdwn_texts(home(panel()))
    assert any("You don't watch anyone yet. `/activity watch jane doe`" in t for t in text)
    assert stop_buttons(home(panel())) == []


def test_paused_polling_says_reconnect():
    view = home(panel((line(1),), paused=True))
    assert any("Paused" in t and "`/activity connect`" in t for t in view_mrkdwn_texts(view))
    assert not any("Paused" in t for t in view_mrkdwn_texts(home(panel((line(1),)))))


def test_names_hidden_show_only_a_count_and_no_buttons():
    view = home(panel((line(1), line(2)), names=False, paused=True))
    text = "\n".join(view_mrkdwn_texts(view))
    assert "Zoë" not in text and "2 of at most 50" in text and "Paused" in text
    assert stop_buttons(view) == []


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_and_zones_stay_text(name: str):
    lines = (line(1, name), line(2, name, snoozed_until=NOW))
    view = home(panel(lines, tz=name))
    assert_no_formatting_in_view(name, view)  # and `home` checks no mrkdwn is live markup


def test_a_watch_with_an_impossible_contact_id_has_no_button():
    view = home(panel((line(1), dataclasses.replace(line(2), contact_id="bad id|x"))))
    assert len(stop_buttons(view)) == 1


def test_fifty_watches_and_lots_of_everything_stay_within_100_blocks_with_help_whole():
    lines = tuple(line(i, f"Contact number {i} " + "x" * 80) for i in range(1, MAX_WATCHES + 1))
    recent = [RecentLookup("T1", "U1", f"C{i}", f"Contact {i}", "q", NOW) for i in range(30)]
    subs = [
        Subscription(i, "T1", "U1", f"C{i:05d}", "08:00", "America/Denver", "s" * 200, NOW)
        for i in range(1, 31)
    ]
    broken = ConnectionStatus(broken=True, workspace_token_available=True,
                              workspace_token_allowed=True, oauth_available=True)  # fmt: skip
    view = home_view(recent, COMMANDS, status=broken, subscriptions=subs,
                     alerts=panel(lines, paused=True))  # fmt: skip
    assert_valid_view(view, kind="home")
    assert len(view["blocks"]) <= 100
    assert len(stop_buttons(view)) == MAX_WATCHES
    assert view["blocks"][-1]["block_id"].startswith("help_privacy")  # the help is all there


def test_more_watches_than_the_home_shows_are_counted():
    lines = tuple(line(i) for i in range(1, 71))  # more than 50: e.g. automatic watches later
    view = home(panel(lines))
    assert len(stop_buttons(view)) == 50
    assert any("and 20 more: `/activity watch` lists them" in t for t in view_mrkdwn_texts(view))


# -- the setting button's value ----------------------------------------------------------------


def test_a_setting_value_round_trips_only_for_the_user_it_names():
    value = encode_setting_choice(SettingChoice(AGENT, "quiet", True))
    assert value == f"s1|{AGENT}|quiet|on"
    assert decode_setting_choice(value, clicked_by=AGENT) == SettingChoice(AGENT, "quiet", True)
    with pytest.raises(BadActionValue):
        decode_setting_choice(value, clicked_by="U0INTRUDER")
    with pytest.raises(BadActionValue):
        decode_setting_choice(value, clicked_by="")


@pytest.mark.parametrize(
    "value",
    [None, 3, "", "s1", f"s1|{AGENT}|quiet", f"s1|{AGENT}|quiet|maybe", f"s2|{AGENT}|quiet|on",
     f"s1|{AGENT}|Quiet|on", f"s1|{AGENT}|quiet|on|x", f"s1|{AGENT}||on", "s1|<!channel>|quiet|on",
     f"s1|{AGENT}|{'q' * 17}|on", f"s1|{AGENT}|quiet|on\n", f"s1|{AGENT}|qu'iet|on", "x" * 5000],
)  # fmt: skip
def test_malformed_setting_values_are_refused(value: object):
    with pytest.raises(BadActionValue):
        decode_setting_choice(value, clicked_by=AGENT)
