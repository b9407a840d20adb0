"""`/activity alerts` settings parsing and the quiet-hours window (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from activity.alert_settings import (
    BadSetting,
    in_quiet_hours,
    last_quiet_end,
    parse_change,
)
from storage.alerts import AlertSettings

DEFAULT = AlertSettings()
UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", AlertSettings(enabled=False)),
        ("ON", AlertSettings()),
        ("quiet 22:15-06:00", AlertSettings(quiet_start="22:15", quiet_end="06:00")),
        ("quiet 9:05 - 17:30", AlertSettings(quiet_start="09:05", quiet_end="17:30")),
        ("quiet off", AlertSettings(quiet_start=None, quiet_end=None)),
        ("threshold 2", AlertSettings(threshold=2)),
        ("threshold 20", AlertSettings(threshold=20)),
        ("email on", AlertSettings(email=True)),
        ("E-Mail  ON", AlertSettings(email=True)),
        ("email off", AlertSettings()),
    ],
)
def test_settings_change_as_typed(text, expected):
    assert parse_change(text, DEFAULT) == expected


@pytest.mark.parametrize(
    "text",
    [
        "", "maybe", "off now", "quiet", "quiet 25:00-07:00", "quiet 21:00", "quiet 21:60-07:00",
        "quiet 07:00-07:00", "threshold", "threshold 1", "threshold 21", "threshold -3",
        "threshold 3.5", "threshold ３", "threshold 99999999999999999999", "quiet '; DROP TABLE x",
        "email", "email maybe", "email on please", "email 1", "email <!channel>", "emails on",
    ],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(text):
    with pytest.raises(BadSetting):
        parse_change(text, DEFAULT)


def at(zone: str, *args: int) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ((2026, 3, 2, 20, 59), False),
        ((2026, 3, 2, 21, 0), True),
        ((2026, 3, 2, 23, 59), True),
        ((2026, 3, 3, 0, 0), True),
        ((2026, 3, 3, 7, 29), True),
        ((2026, 3, 3, 7, 30), False),
        ((2026, 3, 3, 12, 0), False),
    ],
)
def test_quiet_hours_run_across_midnight_in_the_agents_zone(local, quiet):
    assert in_quiet_hours(DEFAULT, "America/Denver", at("America/Denver", *local)) is quiet


def test_quiet_hours_follow_daylight_saving_time():
    # Denver moves from UTC-7 to UTC-6 on 2026-03-08: 07:00 local is 14:00 UTC before, 13:00 after.
    assert in_quiet_hours(DEFAULT, "America/Denver", dt.datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    assert not in_quiet_hours(DEFAULT, "America/Denver", dt.datetime(2026, 3, 9, 14, 0, tzinfo=UTC))
    assert in_quiet_hours(DEFAULT, "America/Denver", dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    # The night of the change itself (02:00 skipped): still quiet until 07:30 MDT = 13:30 UTC.
    assert in_quiet_hours(DEFAULT, "America/Denver", dt.datetime(2026, 3, 8, 13, 29, tzinfo=UTC))
    assert not in_quiet_hours(
        DEFAULT, "America/Denver", dt.datetime(2026, 3, 8, 13, 30, tzinfo=UTC)
    )
    assert last_quiet_end(
        DEFAULT, "America/Denver", dt.datetime(2026, 3, 8, 15, 0, tzinfo=UTC)
    ) == (dt.datetime(2026, 3, 8, 13, 30, tzinfo=UTC))
    assert last_quiet_end(
        DEFAULT, "America/Denver", dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    ) == (dt.datetime(2026, 3, 7, 14, 30, tzinfo=UTC))


def test_daytime_quiet_hours_and_none():
    day = AlertSettings(quiet_start="12:00", quiet_end="13:00")
    assert in_quiet_hours(day, "UTC", dt.datetime(2026, 3, 2, 12, 30, tzinfo=UTC))
    assert not in_quiet_hours(day, "UTC", dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC))
    off = AlertSettings(quiet_start=None, quiet_end=None)
    assert not in_quiet_hours(off, "UTC", dt.datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    assert last_quiet_end(off, "UTC", dt.datetime(2026, 3, 2, 23, 0, tzinfo=UTC)) is None


def test_an_unknown_zone_is_utc():
    assert in_quiet_hours(DEFAULT, "Mars/Olympus", dt.datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    assert not in_quiet_hours(DEFAULT, "Mars/Olympus", dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
