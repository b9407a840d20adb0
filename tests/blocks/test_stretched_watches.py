"""The watch list and the watch reply say when contacts are checked less often than usual, and
why (the watch set does not fit the poller's share of the Flexmls key)."""

from __future__ import annotations

import datetime as dt

from activity.alerts import Watched, WatchLine, WatchList
from blocks.alerts import checked_words, watch_added, watch_list_message
from tests.helpers.blocks import assert_valid_message

MIN = dt.timedelta(minutes=1)
WHY = "many contacts are watched on this Flexmls key"


def test_a_stretched_line_says_the_real_and_the_usual_interval():
    line = WatchLine("Zoë O'Brien", "C1", "hot", 40 * MIN, None, usual=10 * MIN)
    assert checked_words(line) == "checked every 40 min instead of 10 min"
    message = watch_list_message(WatchList((line,)))
    assert_valid_message(message)
    blocks = str(message.blocks)
    assert "checked every 40 min instead of 10 min" in blocks
    assert f"Checked less often than usual: {WHY}" in blocks


def test_an_unstretched_list_says_nothing_about_it():
    line = WatchLine("Zoë O'Brien", "C1", "hot", 10 * MIN, None)
    message = watch_list_message(WatchList((line,)))
    assert "instead of" not in str(message.blocks) and WHY not in str(message.blocks)


def test_a_stretch_too_small_to_show_is_not_mentioned_on_the_line():
    line = WatchLine("Zoë", "C1", "hot", 10 * MIN + dt.timedelta(seconds=5), None, usual=10 * MIN)
    assert checked_words(line) == "checked every 10 min"


def test_watch_added_says_the_real_interval_and_why():
    line = WatchLine("Zoë O'Brien", "C1", "warm", 2 * 60 * MIN, None, usual=30 * MIN)
    message = watch_added(Watched(line, new=True))
    assert_valid_message(message)
    assert f"checked every 2 h instead of 30 min: {WHY}" in message.text
