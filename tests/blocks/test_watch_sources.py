"""Replies about where watches come from: tag watches, the list's marks, the auto-watch setting
and the agent's own threshold; valid Block Kit whatever the tag or name holds."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.alert_settings import SettingsView
from activity.alerts import Watched, WatchLine, WatchList
from activity.watch_sources import TagUnwatched, TagWatched
from blocks.alerts import alert_settings_message, watch_added, watch_list_message
from blocks.watch_sources import tag_unwatched, tag_watch_added, tags_unavailable
from storage.alerts import AlertSettings
from tests.helpers.blocks import assert_no_formatting_from, assert_valid_message

HOSTILE = ["Buyer", "<!channel> *bold* <https://evil|x>", "", "x" * 5000, "🔥" * 400]
TEN = dt.timedelta(minutes=10)


@pytest.mark.parametrize("tag", HOSTILE)
def test_tag_watch_replies_are_valid_and_escape_the_tag(tag):
    for message in (
        tag_watch_added(TagWatched(tag, 12, 3, 40)),
        tag_watch_added(TagWatched(tag, 0, 0, 0, unchecked=True)),
        tag_unwatched(TagUnwatched(tag, 7)),
        tag_unwatched(TagUnwatched(tag, 0)),
        tags_unavailable(),
    ):
        assert_valid_message(message)
        assert_no_formatting_from(tag, message)


def test_the_tag_reply_says_added_already_and_did_not_fit():
    text = tag_watch_added(TagWatched("Buyer", 12, 3, 40)).text
    assert "Watching 12 contacts tagged Buyer" in text
    assert "12 contacts added, 3 already watched, 40 didn't fit" in text
    one = tag_watch_added(TagWatched("Buyer", 1, 0, 0)).text
    assert "1 contact added." in one and "already" not in one and "fit" not in one
    none = tag_watch_added(TagWatched("Buyer", 0, 5, 0)).text
    assert none.startswith("Nothing added") and "5 already watched" in none
    nobody = tag_watch_added(TagWatched("Byuer", 0, 0, 0, unchecked=True)).text
    assert "No contact is tagged “Byuer”" in nobody and "couldn't check" in nobody


def test_the_list_marks_auto_and_tag_watches_and_explains_auto():
    lines = (
        WatchLine("Zoë", "C1", "hot", TEN, None),
        WatchLine("Priya", "C2", "warm", TEN, None, source="auto"),
        WatchLine("Sean", "C3", None, TEN, None, source="tag:Hot Lead"),
    )
    message = watch_list_message(WatchList(lines))
    assert_valid_message(message)
    rendered = str(message.blocks)
    assert "*Zoë* · 🔥 hot · checked every 10 min'" in rendered
    assert "*Priya* · 🌤 warm · checked every 10 min · auto" in rendered
    assert "checked every 10 min · tag Hot Lead" in rendered
    assert "/activity alerts auto off" in rendered
    plain = watch_list_message(WatchList(lines[:1]))
    assert "auto off" not in str(plain.blocks)


@pytest.mark.parametrize("threshold", [2, 3, 12])
def test_the_watch_reply_uses_the_agents_threshold(threshold):
    watched = Watched(WatchLine("Zoë", "C1", "hot", TEN, None), new=True, threshold=threshold)
    assert f"view {threshold} or more listings" in watch_added(watched).text


@pytest.mark.parametrize("auto", [True, False])
def test_the_settings_show_auto_watch(auto):
    message = alert_settings_message(SettingsView(AlertSettings(auto_watch=auto), "UTC"))
    assert_valid_message(message)
    text = message.text
    assert ("Auto-watch: on (contacts you looked up" in text) == auto
    assert ("Auto-watch: off" in text) == (not auto)
