"""Each agent's alert settings (`/activity alerts`) and the quiet-hours window.

`alerts on|off`: off, the poller reads nothing for that agent's watches. `alerts threshold N`
(2 to 20): the listings viewed since the contact was last quiet that make it "active now".
`alerts quiet 21:00-07:30` (or `quiet off`): alerts decided then are held and arrive as one
summary when the quiet hours end. Quiet hours are wall-clock times in the agent's Slack time
zone (`users.info` `tz`; an unknown zone is UTC), so they follow daylight saving time.
`alerts email on|off` (off by default): a DM when manual e-mails to a watched contact are opened
(Spark counts those opens per contact, whoever on the team sent the e-mail).
`alerts auto on|off`: whether contacts the agent looked up in the last 14 days are watched
automatically (off: those watches are neither listed nor checked).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, replace

from activity.services import Services
from storage.alerts import AlertSettings, alert_settings, save_alert_settings

MIN_THRESHOLD, MAX_THRESHOLD = 2, 20
_TIME = r"([01]?\d|2[0-3])[:.h]([0-5]\d)"
_QUIET = re.compile(rf"^{_TIME}\s*[-–—]\s*{_TIME}$", re.ASCII)
USAGE = (
    "`/activity alerts on`, `/activity alerts off`, `/activity alerts quiet 21:00-07:30`, "
    "`/activity alerts quiet off`, `/activity alerts threshold 3`, `/activity alerts auto off` "
    "or `/activity alerts email on` (or `email off`)."
)


class BadSetting(Exception):
    """What the agent typed after `/activity alerts` is not a setting; the message says why."""


@dataclass(frozen=True)
class SettingsView:
    """What `/activity alerts` shows."""

    settings: AlertSettings
    tz: str
    changed: bool = False  # the command changed something
    workspace_off: bool = False  # ALERTS_ENABLED=false: nothing is checked for anyone


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The agent's zone; UTC when the name is not one this machine knows."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return zoneinfo.ZoneInfo("UTC")


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def in_quiet_hours(settings: AlertSettings, tz: str, now: dt.datetime) -> bool:
    """Whether `now` falls in the agent's quiet hours (local wall-clock time, across midnight
    when the start is later than the end; equal ends: no quiet hours)."""
    if settings.quiet_start is None or settings.quiet_end is None:
        return False
    start, end = _hhmm(settings.quiet_start), _hhmm(settings.quiet_end)
    local = now.astimezone(zone(tz)).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def last_quiet_end(settings: AlertSettings, tz: str, now: dt.datetime) -> dt.datetime | None:
    """The most recent end of quiet hours at or before `now` (UTC), if quiet hours are set."""
    if settings.quiet_start is None or settings.quiet_end is None:
        return None
    place = zone(tz)
    end = _hhmm(settings.quiet_end)
    today = now.astimezone(place).date()
    for back in range(3):
        day = today - dt.timedelta(days=back)
        # fold=0: a wall-clock time repeated by a DST change is its first occurrence; one
        # skipped by a DST change maps forward, as zoneinfo does.
        moment = dt.datetime.combine(day, end, tzinfo=place).astimezone(dt.UTC)
        if moment <= now:
            return moment
    return None


def parse_change(text: str, current: AlertSettings) -> AlertSettings:
    """The settings after `/activity alerts <text>`; raises `BadSetting`."""
    words = text.strip().lower().split(maxsplit=1)
    verb, rest = (words[0], words[1].strip() if len(words) > 1 else "") if words else ("", "")
    if verb in ("on", "off") and not rest:
        return replace(current, enabled=verb == "on")
    if verb == "quiet":
        return _quiet(rest, current)
    if verb == "threshold":
        return _threshold(rest, current)
    if verb in ("email", "e-mail"):
        if rest not in ("on", "off"):
            raise BadSetting("E-mail alerts are either on or off.")
        return replace(current, email=rest == "on")
    if verb == "auto":
        if rest not in ("on", "off"):
            raise BadSetting("Auto-watch is `on` or `off`: `/activity alerts auto off`.")
        return replace(current, auto_watch=rest == "on")
    raise BadSetting("That's not an alert setting.")


def _quiet(rest: str, current: AlertSettings) -> AlertSettings:
    if rest == "off":
        return replace(current, quiet_start=None, quiet_end=None)
    found = _QUIET.match(rest)
    if found is None:
        raise BadSetting("Quiet hours are two times, like 21:00-07:30 (or `off`).")
    start = dt.time(int(found[1]), int(found[2]))
    end = dt.time(int(found[3]), int(found[4]))
    if start == end:
        raise BadSetting("Quiet hours need a start and an end that differ.")
    return replace(current, quiet_start=f"{start:%H:%M}", quiet_end=f"{end:%H:%M}")


def _threshold(rest: str, current: AlertSettings) -> AlertSettings:
    if not rest.isascii() or not rest.isdigit() or len(rest) > 3:
        raise BadSetting(f"The threshold is a number from {MIN_THRESHOLD} to {MAX_THRESHOLD}.")
    value = int(rest)
    if not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise BadSetting(f"The threshold is a number from {MIN_THRESHOLD} to {MAX_THRESHOLD}.")
    return replace(current, threshold=value)


def show(services: Services, team_id: str, user_id: str, tz: str) -> SettingsView:
    off = not services.settings.alerts_enabled
    return SettingsView(alert_settings(services.db, team_id, user_id), tz, workspace_off=off)


def change(services: Services, team_id: str, user_id: str, tz: str, text: str) -> SettingsView:
    """Apply `/activity alerts <text>` to the agent's own settings; raises `BadSetting`."""
    updated = parse_change(text, alert_settings(services.db, team_id, user_id))
    save_alert_settings(services.db, team_id, user_id, updated, now=services.clock())
    off = not services.settings.alerts_enabled
    return SettingsView(updated, tz, changed=True, workspace_off=off)
