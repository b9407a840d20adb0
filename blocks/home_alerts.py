"""The App Home's Alerts panel: the agent's alert settings with a button per on/off setting,
then who they watch, each with a Stop watching button.

One row per `activity.alert_panel.TOGGLES` entry; the words for a setting's state come from
`STATE_WORDS` when it needs more than "on"/"off". At most `MAX_HOME_WATCHES` watch rows (one
block each), so with the rest of the Home the view stays within Slack's 100 blocks.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from activity.alert_panel import TOGGLES, HomeAlerts, Toggle
from activity.alert_settings import SettingsView
from activity.alerts import MAX_WATCHES, WatchLine
from blocks.actions import (
    ALERT_SETTING,
    ALERT_STOP,
    SettingChoice,
    WatchAction,
    action_id,
    button,
    confirmation,
    encode_setting_choice,
    encode_watch_action,
    is_contact_id,
)
from blocks.alerts import BAND_WORDS, NAME_LIMIT, every_words
from blocks.message import SECTION_TEXT
from blocks.text import clean, plain, truncate_mrkdwn, user_mrkdwn

MAX_HOME_WATCHES = 50
PAUSED = (
    "⏸ Paused: your Flexmls connection stopped working, so nothing you watch is checked. "
    "Reconnect with `/activity connect`; alerts resume on their own."
)
NO_WATCHES = "You don't watch anyone yet. `/activity watch jane doe` DMs you when she is active."
CHANGE_HINT = (
    "`/activity alerts quiet 22:00-06:30` sets other quiet hours, "
    "`/activity alerts threshold 5` how many views count."
)


def clock_words(hhmm: str) -> str:
    """ "21:00" → "9 pm", "07:30" → "7:30 am", "00:00" → "midnight", "12:00" → "noon"."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if minutes == 0 and hours in (0, 12):
        return "midnight" if hours == 0 else "noon"
    suffix = "am" if hours < 12 else "pm"
    shown = hours % 12 or 12
    return f"{shown}:{minutes:02d} {suffix}" if minutes else f"{shown} {suffix}"


def zone_words(tz: str) -> str:
    return user_mrkdwn(tz, 64, fallback="UTC")


def _alerts_words(view: SettingsView) -> str:
    if view.workspace_off:
        return "turned off for this workspace: nothing is checked until an admin turns them on"
    return "on" if view.settings.enabled else "off: no contact is checked"


def _quiet_words(view: SettingsView) -> str:
    s = view.settings
    if s.quiet_start is None or s.quiet_end is None:
        return "off: alerts arrive at any hour"
    return (
        f"{clock_words(s.quiet_start)} to {clock_words(s.quiet_end)}, your time"
        f" ({zone_words(view.tz)}): alerts wait, then arrive as one summary"
    )


# Words for a setting's state beyond "on"/"off" (a setting not listed here shows those).
STATE_WORDS: dict[str, Callable[[SettingsView], str]] = {
    "alerts": _alerts_words,
    "quiet": _quiet_words,
}


def _state(toggle: Toggle, view: SettingsView) -> str:
    words = STATE_WORDS.get(toggle.name)
    if words is not None:
        return words(view)
    return "on" if toggle.is_on(view.settings) else "off"


def _toggle_button(toggle: Toggle, view: SettingsView, user_id: str) -> ButtonElement:
    on = toggle.is_on(view.settings)
    label = f"Turn {toggle.label.lower()} {'off' if on else 'on'}"
    return button(
        label,
        action_id(ALERT_SETTING, toggle.name),
        encode_setting_choice(SettingChoice(user_id, toggle.name, not on)),
        style=None if on else "primary",
        accessibility_label=label,
    )


def settings_blocks(panel: HomeAlerts) -> list[tuple[str, Block]]:
    """The header, one line per setting (and the threshold), a button per on/off setting."""
    view = panel.settings
    lines = [f"*{toggle.label}:* {_state(toggle, view)}" for toggle in TOGGLES]
    lines.append(
        f"*Active now:* {view.settings.threshold} or more listings viewed after an hour with none"
    )
    text = truncate_mrkdwn("\n".join(lines), SECTION_TEXT)
    buttons = [_toggle_button(toggle, view, panel.user_id) for toggle in TOGGLES]
    return [
        ("home_alerts_header", HeaderBlock(text=plain("Active now alerts", 150))),
        ("home_alerts", SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))),
        ("home_alerts_actions", ActionsBlock(elements=buttons)),
        ("home_alerts_hint", ContextBlock(elements=[MarkdownTextObject(text=CHANGE_HINT)])),
    ]


def snoozed_words(until: dt.datetime, tz: str) -> str:
    """ "snoozed until Tue 9:14 am", in the agent's zone."""
    try:
        place = zoneinfo.ZoneInfo(tz)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        place = zoneinfo.ZoneInfo("UTC")
    local = until.astimezone(place)
    return f"snoozed until {local:%a} {clock_words(f'{local:%H:%M}')}"


def watch_row_text(line: WatchLine, tz: str) -> str:
    """ "*Zoë O'Brien* · 🔥 hot · checked every 10 min · snoozed until Tue 9:14 am"."""
    name = user_mrkdwn(line.name, NAME_LIMIT, fallback="(no name)")
    band = BAND_WORDS.get(line.band or "", "band not known yet")
    text = f"*{name}* · {band} · checked {every_words(line.every)}"
    if line.snoozed_until is not None:
        text += " · " + snoozed_words(line.snoozed_until, tz)
    return truncate_mrkdwn(text, SECTION_TEXT)


def _stop_button(line: WatchLine, user_id: str, n: int) -> ButtonElement:
    name = clean(line.name) or "this contact"
    return button(
        "Stop watching",
        action_id(ALERT_STOP, f"home_{n}"),
        encode_watch_action(WatchAction(user_id, line.contact_id)),
        accessibility_label=f"Stop watching {name}",
        confirm=confirmation(
            "Stop watching?", f"No more alerts about {name}.", confirm="Stop watching"
        ),
    )


def _context(role: str, text: str) -> tuple[str, Block]:
    return role, ContextBlock(elements=[MarkdownTextObject(text=truncate_mrkdwn(text, 2000))])


def watch_blocks(panel: HomeAlerts) -> list[tuple[str, Block]]:
    """Who the agent watches: a title line, "paused" when so, then a row per watch."""
    count = panel.watch_count
    title = f"*Who you watch* · {count} of at most {MAX_WATCHES}" if count else NO_WATCHES
    if panel.watches is None and count:
        title += "\nThey show here when you can look contacts up (`/activity status`)."
    blocks: list[tuple[str, Block]] = [
        ("home_watches", SectionBlock(text=MarkdownTextObject(text=title)))
    ]
    if panel.paused:
        blocks.append(_context("home_watches_paused", PAUSED))
    if panel.watches is None:
        return blocks
    tz = panel.settings.tz
    shown = panel.watches.lines[:MAX_HOME_WATCHES]
    for n, line in enumerate(shown, start=1):
        text = MarkdownTextObject(text=watch_row_text(line, tz), verbatim=True)
        valid = is_contact_id(line.contact_id)
        accessory = _stop_button(line, panel.user_id, n) if valid else None
        blocks.append((f"home_watch_{n}", SectionBlock(text=text, accessory=accessory)))
    hidden = count - len(shown)
    if hidden > 0:
        blocks.append(
            _context("home_watches_more", f"and {hidden} more: `/activity watch` lists them")
        )
    return blocks


def alerts_panel(panel: HomeAlerts) -> list[tuple[str, Block]]:
    """The whole panel, as (role, block) pairs for the Home view."""
    return settings_blocks(panel) + watch_blocks(panel)
