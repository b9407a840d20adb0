"""The "Active now" DM and the watch replies: valid Block Kit within Slack's limits, whatever
the contact's name."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.alert_kinds import BackAgain, EmailOpened
from activity.alert_settings import SettingsView
from activity.alerts import ActiveNow, HeldLine, HeldSummary, Watched, WatchLine, WatchList
from blocks.actions import BadActionValue, decode_watch_action
from blocks.alerts import (
    active_now_message,
    alert_settings_message,
    back_message,
    every_words,
    held_summary_message,
    last_words,
    opened_message,
    quiet_words,
    span,
    watch_added,
    watch_list_message,
)
from storage.alerts import AlertSettings
from tests.helpers.blocks import assert_no_formatting_from, assert_valid_message, buttons

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
HOSTILE = ["Zoë O'Brien", "<!channel> *bold* <https://evil|x>", "", "  ", "x" * 5000, "🔥" * 400]


def alert(name: str = "Zoë O'Brien", views: int = 5, minutes: int = 40) -> ActiveNow:
    return ActiveNow(
        "U0AGENT1",
        "20150726201640439000015000",
        name,
        views,
        T0,
        T0 + dt.timedelta(minutes=minutes),
    )


def test_the_dm_reads_like_the_issue_says():
    message = active_now_message(alert())
    assert message.text == "Zoë O'Brien is active now: viewed 5 listings in the last 40 min"
    assert [b["text"]["text"] for b in buttons(message)] == [
        "Card",
        "Viewed",
        "Snooze 1 day",
        "Stop watching",
    ]
    snooze = buttons(message)[2]
    assert snooze["value"] == "a1|U0AGENT1|20150726201640439000015000"
    assert decode_watch_action(snooze["value"], clicked_by="U0AGENT1").contact_id.startswith("2015")
    with pytest.raises(BadActionValue):
        decode_watch_action(snooze["value"], clicked_by="U0OTHER")
    assert_valid_message(message)


@pytest.mark.parametrize("name", HOSTILE)
def test_any_name_renders_valid_and_inert(name):
    message = active_now_message(alert(name, views=1, minutes=130))
    assert_valid_message(message)
    assert "viewed 1 listing in the last 2 h 10 min" in message.text
    if name.strip():
        assert_no_formatting_from(name, message)


@pytest.mark.parametrize(
    ("minutes", "words"), [(0, "1 min"), (40, "40 min"), (60, "1 h"), (135, "2 h 15 min")]
)
def test_spans(minutes, words):
    assert span(minutes) == words


def test_a_full_watch_list_stays_within_the_limits():
    lines = tuple(
        WatchLine(name, f"C{i}", band, dt.timedelta(minutes=10 * (i + 1)), T0 if i % 2 else None)
        for i, (name, band) in enumerate(
            [(HOSTILE[i % len(HOSTILE)], ("hot", "warm", "cold", None)[i % 4]) for i in range(50)]
        )
    )
    message = watch_list_message(WatchList(lines, paused=True))
    assert_valid_message(message)
    assert "Paused" in str(message.blocks) and "more not shown" in str(message.blocks)


def test_an_empty_watch_list_says_how_to_start():
    message = watch_list_message(WatchList(()))
    assert_valid_message(message)
    assert "watch jane doe" in message.text


@pytest.mark.parametrize("name", HOSTILE)
def test_watch_added_says_how_often(name):
    line = WatchLine(name, "C1", "warm", dt.timedelta(minutes=30), None)
    message = watch_added(Watched(line, new=True))
    assert_valid_message(message)
    assert "checked every 30 min" in message.text


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        "",
        "a1",
        "a1|U0AGENT1",
        "a1|U0AGENT1|bad id",
        "a2|U0AGENT1|C1",
        "a1|nobody|C1",
        "x" * 500,
    ],
)
def test_forged_watch_values_are_refused(value):
    with pytest.raises(BadActionValue):
        decode_watch_action(value, clicked_by="U0AGENT1")


@pytest.mark.parametrize(
    "settings",
    [AlertSettings(), AlertSettings(enabled=False, quiet_start=None, quiet_end=None, threshold=20)],
)
@pytest.mark.parametrize("tz", ["America/Denver", "*bold* <!here>" * 20])
def test_the_settings_message_is_valid_and_says_everything(settings, tz):
    message = alert_settings_message(SettingsView(settings, tz, changed=True))
    assert_valid_message(message)
    text = message.text
    assert ("on" if settings.enabled else "off") in text and f"{settings.threshold} or more" in text
    assert ("21:00–07:30" in str(message.blocks)) is settings.quiet


@pytest.mark.parametrize("count", [1, 3, 60])
def test_the_quiet_hours_summary_is_valid_for_any_length(count):
    since = dt.datetime(2026, 3, 2, 4, 0, tzinfo=dt.UTC)
    lines = tuple(HeldLine(f"C{i}", "*Zoë* <!channel> " * 5, i + 3, since) for i in range(count))
    message = held_summary_message(HeldSummary("U1", lines, "k"))
    assert_valid_message(message)
    assert f"{count} contact{'' if count == 1 else 's'} became active" in message.text


# -- "back after a quiet spell" and "opened your e-mail" ----------------------------------------


def test_the_back_dm_reads_like_the_issue_and_keeps_the_alert_buttons():
    message = back_message(BackAgain("U0AGENT1", "20150726201640439000015000", "Zoë O'Brien",
                                     2, 0, 23, "k"))  # fmt: skip
    assert message.text == "Zoë O'Brien is back: viewed 2 listings after 3 weeks quiet"
    assert [b["text"]["text"] for b in buttons(message)] == [
        "Card", "Viewed", "Snooze 1 day", "Stop watching",
    ]  # fmt: skip
    assert buttons(message)[2]["value"] == "a1|U0AGENT1|20150726201640439000015000"
    assert_valid_message(message)


@pytest.mark.parametrize(
    ("views", "opens", "words"),
    [
        (1, 0, "viewed 1 listing after"),
        (0, 1, "opened an e-mail after"),
        (3, 4, "viewed 3 listings and opened 4 e-mails after"),
    ],
)
def test_the_back_dm_says_what_the_contact_did(views, opens, words):
    message = back_message(BackAgain("U1", "20150726201640439000015000", "Zoë", views, opens, 14))
    assert words in message.text and message.text.endswith("2 weeks quiet")


@pytest.mark.parametrize(
    ("days", "words"),
    [(14, "2 weeks"), (16, "16 days"), (20, "20 days"), (21, "3 weeks"), (27, "3 weeks"),
     (59, "8 weeks"), (60, "2 months"), (400, "13 months")],
)  # fmt: skip
def test_quiet_spells_are_worded_never_rounded_up(days, words):
    assert quiet_words(days) == words


def test_the_opened_dm_is_honest_about_who_sent_the_email():
    message = opened_message(EmailOpened("U1", "20150726201640439000015000", "Zoë O'Brien", 2))
    assert message.text == "Zoë O'Brien opened an e-mail from you or your team (2 new opens)"
    assert "whoever on your team sent" in str(message.blocks)
    assert "`/activity alerts email off`" in str(message.blocks)
    assert len(buttons(message)) == 4
    assert_valid_message(message)
    one = opened_message(EmailOpened("U1", "20150726201640439000015000", "Zoë", 1))
    assert one.text.endswith("(1 new open)")


@pytest.mark.parametrize("name", HOSTILE)
def test_back_and_opened_render_any_name_valid_and_inert(name):
    for message in (
        back_message(BackAgain("U1", "20150726201640439000015000", name, 5, 2, 30)),
        opened_message(EmailOpened("U1", "20150726201640439000015000", name, 7)),
    ):
        assert_valid_message(message)
        if name.strip():
            assert_no_formatting_from(name, message)


def test_the_quiet_hours_summary_words_each_line_by_kind():
    lines = (
        HeldLine("C1", "Priya Patel", 5, T0),
        HeldLine("C2", "Quinn Stillwater", 2, T0, "back", 1, 23),
        HeldLine("C3", "Zoë O'Brien", 0, T0, "opened", 2),
    )
    message = held_summary_message(HeldSummary("U1", lines, "k"))
    body = str(message.blocks)
    assert "*Priya Patel* viewed 5 listings" in body
    assert (
        "*Quinn Stillwater* is back after 3 weeks quiet: viewed 2 listings and opened an e-mail"
        in body
    )
    assert "opened an e-mail from you or your team (2 new opens)" in body
    assert_valid_message(message)


def test_the_settings_show_the_email_alerts():
    off = alert_settings_message(SettingsView(AlertSettings(), "America/Denver"))
    assert "E-mail alerts: off" in str(off.blocks) and "email on|off" in str(off.blocks)
    on = alert_settings_message(SettingsView(AlertSettings(email=True), "America/Denver", True))
    assert "E-mail alerts: on" in str(on.blocks)
    assert_valid_message(on)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(10, "every 10 s"), (30, "every 30 s"), (60, "every minute"), (80, "every minute"),
     (600, "every 10 min"), (7200, "every 2 h")],
)  # fmt: skip
def test_how_often_reads_well_below_a_minute_too(seconds, words):
    assert every_words(dt.timedelta(seconds=seconds)) == words


def test_the_last_minute_is_not_the_last_1_min():
    assert last_words(1) == "in the last minute" and last_words(40) == "in the last 40 min"


def test_alert_settings_say_when_the_workspace_has_alerts_off():
    from activity.alert_settings import SettingsView

    message = alert_settings_message(SettingsView(AlertSettings(), "UTC", workspace_off=True))
    assert message.text.startswith("Alerts are turned off for this workspace")
    assert "until an admin turns them on" in str(message.blocks)
