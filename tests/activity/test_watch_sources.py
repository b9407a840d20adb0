"""Watch sources, the pure parts: where an auto or tag watch counts from, the tag typed after
`tag:`, and `/activity alerts auto on|off`."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.alert_settings import BadSetting, parse_change
from activity.alerts import decide, observe, since_watched
from activity.watch_sources import BadTag, tag_name
from storage.alerts import AlertSettings, Watch

T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def watch(baseline_views: int | None, baseline_at: dt.datetime | None, source: str = "auto"):
    return Watch("T1", "U1", "C1", "Zoë", T0, source=source, baseline_views=baseline_views,
                 baseline_at=baseline_at)  # fmt: skip


def test_a_burst_that_began_before_the_watch_is_not_news():
    pulse = observe(None, 100, T0, "hot")  # quiet at T0 (someone else's watch)
    pulse = observe(pulse, 105, T0 + 10 * MIN, "hot")  # a burst under way
    w = watch(105, T0 + 20 * MIN)  # the auto watch's first read
    pulse = observe(pulse, 106, T0 + 30 * MIN, "hot")
    assert decide(pulse, None, T0 + 30 * MIN) is not None  # as the older watcher sees it
    assert decide(since_watched(pulse, w), None, T0 + 30 * MIN) is None
    pulse = observe(pulse, 108, T0 + 40 * MIN, "hot")
    post = decide(since_watched(pulse, w), None, T0 + 40 * MIN)
    assert post is not None and post.baseline_views == 105 and post.window_start == T0 + 20 * MIN


def test_a_quiet_spell_after_the_baseline_counts_as_usual():
    pulse = observe(None, 100, T0, "hot")
    w = watch(100, T0 + 5 * MIN)
    for minutes in (70, 80):  # no growth for over an hour: quiet again, later than the baseline
        pulse = observe(pulse, 100, T0 + minutes * MIN, "hot")
    assert since_watched(pulse, w) == pulse


@pytest.mark.parametrize("w", [watch(None, None), watch(None, None, "manual")])
def test_a_watch_without_a_baseline_sees_the_pulse_as_it_is(w):
    pulse = observe(None, 100, T0, "hot")
    assert since_watched(pulse, w) is pulse


@pytest.mark.parametrize(
    ("text", "tag"), [("Buyer", "Buyer"), ("  hot   lead ", "hot lead"), ("x" * 100, "x" * 100)]
)
def test_the_tag_is_trimmed(text, tag):
    assert tag_name(text) == tag


@pytest.mark.parametrize("text", ["", "   ", "\t", "x" * 101])
def test_an_empty_or_oversized_tag_is_refused(text):
    with pytest.raises(BadTag):
        tag_name(text)


def test_auto_watch_is_turned_on_and_off():
    assert parse_change("auto off", AlertSettings()) == AlertSettings(auto_watch=False)
    assert parse_change("AUTO ON", AlertSettings(auto_watch=False)) == AlertSettings()


@pytest.mark.parametrize("text", ["auto", "auto maybe", "auto off now", "auto '; DROP TABLE x"])
def test_anything_else_after_auto_is_refused(text):
    with pytest.raises(BadSetting, match="auto"):
        parse_change(text, AlertSettings())


async def test_a_tag_read_stops_after_a_bounded_number_of_pages(services, monkeypatch):
    """Flexmls saying "there is more" forever, with nothing new, costs at most MAX_TAG_PAGES."""
    from activity.models import Access
    from activity.watch_sources import MAX_TAG_PAGES, _tag_contacts
    from devtools.sandbox import DEMO_TOKEN
    from spark.models import Contact, Page

    asked: list[int] = []

    async def endless(token, tag, *, page=1, limit=25, on_retry=None):
        asked.append(page)
        return Page((Contact("C1", "Same One"),), current_page=page, total_pages=page + 1)

    monkeypatch.setattr(services.spark, "contacts_with_tag", endless)
    found, _ = await _tag_contacts(services, Access("T1", "U1", DEMO_TOKEN), "Buyer", 50, set())
    assert asked == list(range(1, MAX_TAG_PAGES + 1)) and found == [("C1", "Same One")]
