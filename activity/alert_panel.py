"""The App Home's "Alerts" panel: the agent's on/off alert settings as one table, and the
watch list beside them.

Each plain on/off setting is one `Toggle` row in `TOGGLES`: App Home shows its state and a
button to flip it, and a click applies it with the same words as `/activity alerts …`
(`activity.alert_settings.change`), so a new boolean setting is one line here once
`/activity alerts` knows its words, like
`Toggle("auto", "Auto-watch", lambda s: s.auto_watch, "auto on", "auto off")` below.

A click names the state it wants ("on"/"off"), not "flip": a stale Home clicked twice, or a
double click, leaves the setting as asked, and turning on what is already on changes nothing
(quiet hours keep the agent's own times rather than going back to the default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from activity.alert_settings import SettingsView, change, show
from activity.alerts import WatchList, watch_list
from activity.services import Services
from storage.alerts import AlertSettings, active_watches, agent_pause

DEFAULT_QUIET = "21:00-07:30"


@dataclass(frozen=True)
class Toggle:
    """One on/off alert setting: its name (in the button), label, state and command words."""

    name: str  # lowercase letters: travels in the button value and the action id
    label: str  # "Alerts", "Quiet hours"
    is_on: Callable[[AlertSettings], bool]
    on: str  # what follows `/activity alerts` to turn it on
    off: str  # … and off


TOGGLES: tuple[Toggle, ...] = (
    Toggle("alerts", "Alerts", lambda s: s.enabled, "on", "off"),
    Toggle("quiet", "Quiet hours", lambda s: s.quiet, f"quiet {DEFAULT_QUIET}", "quiet off"),
    Toggle("email", "E-mail alerts", lambda s: s.email, "email on", "email off"),
    Toggle("auto", "Auto-watch", lambda s: s.auto_watch, "auto on", "auto off"),
)


class UnknownToggle(Exception):
    """A click names a setting that is not (or no longer) in `TOGGLES`."""


def toggle_named(name: str) -> Toggle:
    for toggle in TOGGLES:
        if toggle.name == name:
            return toggle
    raise UnknownToggle(name)


def set_toggle(
    services: Services, team_id: str, user_id: str, tz: str, name: str, on: bool
) -> SettingsView:
    """Turn the agent's own setting `name` on or off (nothing changes if it already is)."""
    toggle = toggle_named(name)
    current = show(services, team_id, user_id, tz)
    if toggle.is_on(current.settings) == on:
        return current
    return change(services, team_id, user_id, tz, toggle.on if on else toggle.off)


@dataclass(frozen=True)
class HomeAlerts:
    """What the Home's Alerts panel shows for one agent."""

    user_id: str  # the agent: their Stop watching buttons name them
    settings: SettingsView
    watches: WatchList | None  # None: names hidden (they may not look contacts up now)
    watch_count: int
    paused: bool  # their connection stopped working: nothing of theirs is checked


def home_alerts(
    services: Services, team_id: str, user_id: str, tz: str, *, show_names: bool
) -> HomeAlerts:
    """The agent's own settings and watches (no Flexmls request)."""
    settings = show(services, team_id, user_id, tz)
    if show_names:
        listed = watch_list(services, team_id, user_id)
        return HomeAlerts(user_id, settings, listed, len(listed.lines), listed.paused)
    count = len(active_watches(services.db, team_id, user_id, services.clock()))
    paused = agent_pause(services.db, team_id, user_id) is not None
    return HomeAlerts(user_id, settings, None, count, paused)
