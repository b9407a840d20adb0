""" "Active now", "back after a quiet spell" and "opened your e-mail" alerts, and the watch
commands' replies.

The alert is a DM from the bot; its top-level `text` is the phone notification ("Zoë O'Brien is
active now: viewed 5 listings in the last 40 min", "Zoë O'Brien is back: viewed 2 listings after
3 weeks quiet", "Zoë O'Brien opened an e-mail from you or your team (2 new opens)"). Names are the
contact's, so user text: escaped in mrkdwn, cleaned in plain text, cut to Slack's limits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from activity.alert_kinds import BackAgain, EmailOpened
from activity.alert_settings import SettingsView
from activity.alerts import ActiveNow, HeldLine, HeldSummary, Watched, WatchLine, WatchList
from blocks.actions import (
    ALERT_CARD,
    ALERT_SNOOZE,
    ALERT_STOP,
    ALERT_VIEWED,
    WatchAction,
    button,
    confirmation,
    encode_watch_action,
    is_contact_id,
)
from blocks.card import slack_time
from blocks.message import MAX_TEXT, SECTION_TEXT, Message, finish
from blocks.problems import problem
from blocks.text import (
    as_utc,
    clean,
    clock_time,
    escape_mrkdwn,
    money,
    plain,
    plain_str,
    truncate_mrkdwn,
    user_mrkdwn,
)
from spark.models import Listing

NAME_LIMIT = 100
ADDRESS_LIMIT = 120
MAX_LISTED = 45  # watch lines shown (50 blocks, with the header and footers)
BAND_WORDS = {"hot": "🔥 hot", "warm": "🌤 warm", "cold": "🧊 cold"}


def span(minutes: int) -> str:
    """40 → "40 min", 60 → "1 h", 130 → "2 h 10 min"."""
    minutes = max(1, minutes)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


def interval_words(every: dt.timedelta) -> str:
    """ "30 s", "minute", "10 min", "2 h": an interval as words ("every …", "instead of …")."""
    seconds = round(every.total_seconds())
    if seconds < 60:
        return f"{max(1, seconds)} s"
    minutes = round(seconds / 60)
    return "minute" if minutes == 1 else span(minutes)


def every_words(every: dt.timedelta) -> str:
    """How often a contact is checked: "every 30 s", "every minute", "every 10 min"."""
    return "every " + interval_words(every)


def last_words(minutes: int) -> str:
    """ "in the last minute", "in the last 40 min"."""
    return "in the last minute" if minutes <= 1 else f"in the last {span(minutes)}"


STRETCHED_WHY = "many contacts are watched on this Flexmls key"


def checked_words(line: WatchLine) -> str:
    """ "checked every 10 min", or when stretched "checked every 40 min instead of 10 min"."""
    words = f"checked {every_words(line.every)}"
    if line.usual is not None and every_words(line.usual) != every_words(line.every):
        usual = interval_words(line.usual)
        words += " instead of " + ("1 min" if usual == "minute" else usual)
    return words


def _new_opens(n: int) -> str:
    return f"{n:,} new open{'' if n == 1 else 's'}"


def _views(n: int) -> str:
    return f"{n:,} listing{'' if n == 1 else 's'}"


def quiet_words(days: int) -> str:
    """A proven quiet spell, never rounded up: 14 → "2 weeks", 16 → "16 days", 23 → "3 weeks",
    75 → "2 months"."""
    if days >= 60:
        return f"{days // 30} months"
    if days >= 21 or (days >= 7 and days % 7 == 0):
        weeks = days // 7
        return f"{weeks} week{'' if weeks == 1 else 's'}"
    return f"{days} day{'' if days == 1 else 's'}"


def _back_did(views: int, opens: int) -> str:
    """What a returning contact did: "viewed 2 listings and opened an e-mail"."""
    parts = []
    if views > 0:
        parts.append(f"viewed {_views(views)}")
    if opens > 0:
        parts.append("opened an e-mail" if opens == 1 else f"opened {opens:,} e-mails")
    return " and ".join(parts) or "was active"


def back_message(alert: BackAgain) -> Message:
    """The "back after a quiet spell" DM, with the buttons of "Active now"."""
    what = f"{_back_did(alert.views, alert.opens)} after {quiet_words(alert.quiet_days)} quiet"
    name = user_mrkdwn(alert.name, NAME_LIMIT, fallback="A contact")
    body = f"👋 *{name}* is back: {what}"
    hint = (
        "More views in the next 4 hours update this message. `/activity watch` lists who you watch."
    )
    return _alert_dm(f"{name} is back: {what}", body, alert.watcher_id, alert.contact_id,
                     alert.name, hint, "alert_back")  # fmt: skip


def opened_message(alert: EmailOpened) -> Message:
    """The "opened your e-mail" DM. Spark counts opens per contact, not per sender, so it may be
    anyone's e-mail from the team; and mail apps open some e-mails on their own."""
    count = _new_opens(alert.opens)
    name = user_mrkdwn(alert.name, NAME_LIMIT, fallback="A contact")
    what = f"opened an e-mail from you or your team ({count})"
    hint = (
        "Flexmls counts opens per contact, whoever on your team sent the e-mail; some mail apps"
        " open e-mails on their own. `/activity alerts email off` stops these."
    )
    return _alert_dm(f"{name} {what}", f"✉️ *{name}* {what}", alert.watcher_id, alert.contact_id,
                     alert.name, hint, "alert_opened")  # fmt: skip


def _alert_dm(
    text: str, body: str, watcher_id: str, contact_id: str, raw_name: str, hint: str, block: str
) -> Message:
    blocks: list[tuple[str, Block]] = [
        (block, SectionBlock(text=MarkdownTextObject(text=body, verbatim=True)))
    ]
    if is_contact_id(contact_id):
        name_text = plain_str(raw_name, NAME_LIMIT, fallback="A contact")
        blocks.append(("alert_buttons",
                       ActionsBlock(elements=_buttons(watcher_id, contact_id, name_text))))  # fmt: skip
    blocks.append(("alert_hint", ContextBlock(elements=[MarkdownTextObject(text=hint)])))
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)


def active_now_message(alert: ActiveNow) -> Message:
    """The DM: who is active, how many listings in how long, the newest viewed listings (when
    they could be read), four buttons, and until when it is updated (in the reader's zone)."""
    name_text = plain_str(alert.name, NAME_LIMIT, fallback="A contact")
    what = f"viewed {_views(alert.views)} {last_words(alert.minutes)}"
    if alert.opens:
        what += f", and opened an e-mail from you or your team ({_new_opens(alert.opens)})"
    name = user_mrkdwn(alert.name, NAME_LIMIT, fallback="A contact")
    text = f"{name} is active now: {what}"  # the notification: escaped like the blocks
    blocks: list[tuple[str, Block]] = [
        (
            "alert_active",
            SectionBlock(
                text=MarkdownTextObject(text=f"🔥 *{name}* is active now: {what}", verbatim=True)
            ),
        )
    ]
    if is_contact_id(alert.contact_id):
        blocks.append(
            (
                "alert_buttons",
                ActionsBlock(elements=_buttons(alert.watcher_id, alert.contact_id, name_text)),
            )
        )
    if alert.listings:
        rows = "\n".join(listing_line(x) for x in alert.listings)
        body = truncate_mrkdwn(f"*Newest viewed*\n{rows}", SECTION_TEXT)
        blocks.append(
            ("alert_listings", SectionBlock(text=MarkdownTextObject(text=body, verbatim=True)))
        )
    blocks.append(
        ("alert_hint", ContextBlock(elements=[MarkdownTextObject(text=_window_hint(alert))]))
    )
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)


def listing_line(listing: Listing) -> str:
    """One compact line: "• $450,000 · 12 Oak St, Springfield, IL 62701" (mrkdwn, inert)."""
    address = user_mrkdwn(listing.address, ADDRESS_LIMIT, fallback="Address not available")
    return f"• {escape_mrkdwn(money(listing.price))} · {address}"


def _window_hint(alert: ActiveNow) -> str:
    """Both times as `<!date^…>` (each reader's own zone and clock); the fallback says UTC."""
    since = slack_time(alert.since, _utc_fallback(alert.since))
    until = slack_time(alert.updates_until, _utc_fallback(alert.updates_until))
    return (
        f"Views counted since {since}. More views until {until} update this message. "
        "`/activity watch` lists who you watch."
    )


def _utc_fallback(moment: dt.datetime) -> str:
    return f"{clock_time(as_utc(moment))} UTC"


def _buttons(watcher_id: str, contact_id: str, name: str) -> list:  # type: ignore[type-arg]
    own = encode_watch_action(WatchAction(watcher_id, contact_id))
    return [
        button("Card", ALERT_CARD, contact_id, style="primary",
               accessibility_label=f"Open the card of {name}"),
        button("Viewed", ALERT_VIEWED, contact_id,
               accessibility_label=f"See the listings viewed by {name}"),
        button("Snooze 1 day", ALERT_SNOOZE, own,
               accessibility_label=f"No alerts about {name} for a day"),
        button("Stop watching", ALERT_STOP, own, style="danger",
               accessibility_label=f"Stop watching {name}",
               confirm=confirmation("Stop watching?", f"No more alerts about {name}.",
                                    confirm="Stop watching")),
    ]  # fmt: skip


def _source_words(source: str) -> str:
    """How the list marks where a watch came from ("" for one the agent asked for)."""
    if source == "auto":
        return " · auto"
    if source.startswith("tag:"):
        return " · tag " + user_mrkdwn(source[4:], 100, fallback="—")
    return ""


def _line(line: WatchLine) -> str:
    name = user_mrkdwn(line.name, NAME_LIMIT, fallback="(no name)")
    band = BAND_WORDS.get(line.band or "", "band not known yet")
    text = f"*{name}* · {band} · {checked_words(line)}"
    if line.snoozed_until is not None:
        until = line.snoozed_until
        text += " · snoozed until " + slack_time(
            until, f"{clock_time(as_utc(until))} UTC", "{date_short_pretty} {time}"
        )
    return text + _source_words(line.source)


def watch_list_message(watches: WatchList) -> Message:
    """`/activity watch`: who the agent watches, each with band and how often it is checked."""
    header = ("watch_header", HeaderBlock(text=plain("Who you watch", 150)))
    hint = "`/activity watch` and a name adds one; `/activity unwatch` and a name stops one."
    if not watches.lines:
        body = "You don't watch anyone yet. `/activity watch jane doe` DMs you when she is active."
        return finish(
            "You don't watch anyone yet. Try /activity watch jane doe.",
            header,
            ("watch_empty", SectionBlock(text=MarkdownTextObject(text=body))),
        )
    shown = watches.lines[:MAX_LISTED]
    lines = [(f"watch_{i}", SectionBlock(text=MarkdownTextObject(text=truncate_mrkdwn(_line(w), SECTION_TEXT), verbatim=True)))
             for i, w in enumerate(shown, start=1)]  # fmt: skip
    count = len(watches.lines)
    footer = f"{count} of at most {watches.limit}. {hint}"
    if any(w.source == "auto" for w in watches.lines):
        footer += AUTO_NOTE
    if count > len(shown):
        footer = f"{count - len(shown)} more not shown here: the Home tab lists them all. " + footer
    if any(w.usual is not None for w in watches.lines):
        footer = (
            f"Checked less often than usual: {STRETCHED_WHY}, and alerts only use the share of"
            " Flexmls requests that lookups leave. " + footer
        )
    if watches.paused:
        footer = (
            "⏸ Paused: your Flexmls connection stopped working; `/activity connect` resumes it. "
            + footer
        )
    names = ", ".join(user_mrkdwn(w.name, 60, fallback="—") for w in shown)
    return finish(
        truncate_mrkdwn(f"You watch {count}: {names}", MAX_TEXT),
        header,
        *lines,
        (
            "watch_footer",
            ContextBlock(elements=[MarkdownTextObject(text=truncate_mrkdwn(footer, 2000))]),
        ),
    )


AUTO_NOTE = (
    " Marked _auto_: you looked them up in the last 14 days (`/activity alerts auto off` stops"
    " that)."
)


def watch_added(watched: Watched) -> Message:
    name = clean(watched.line.name) or "This contact"
    band = BAND_WORDS.get(watched.line.band or "", "")
    how = f"{band + ', ' if band else ''}{checked_words(watched.line)}"
    if watched.line.usual is not None:
        how += f": {STRETCHED_WHY}"
    lead = "Watching" if watched.new else "Already watching"
    return problem(
        f"{lead} {name}",
        f"I'll DM you when they view {watched.threshold} or more listings after an hour with none,"
        f" or are back after 14 quiet days ({how}).",
        "`/activity watch` lists who you watch; `/activity unwatch` and a name stops one.",
    )


def watch_refused_too_many(limit: int) -> Message:
    return problem(
        "You already watch the most contacts you can",
        f"At most {limit} watches per person.",
        "Stop one first: `/activity watch` lists them, `/activity unwatch` and a name stops one.",
    )


def unwatched(name: str) -> Message:
    return problem(
        f"Stopped watching {clean(name) or 'that contact'}", "No more alerts about them."
    )


def not_watching(query: str) -> Message:
    return problem(
        "You don't watch anyone by that name",
        f"Nobody you watch matches “{clean(query)[:100]}”.",
        "`/activity watch` lists who you watch.",
    )


def unwatch_which(query: str, names: Sequence[str]) -> Message:
    listed = ", ".join(clean(n)[:60] for n in names[:10])
    return problem(
        "Which one?",
        f"Several people you watch match “{clean(query)[:100]}”: {listed}.",
        "Type more of the name: `/activity watch` lists who you watch.",
    )


def snoozed_message(name: str | None, until: dt.datetime | None) -> Message:
    if until is None:
        return problem("You don't watch this contact", "There was nothing to snooze.")
    return problem(
        f"Alerts about {clean(name or '') or 'this contact'} snoozed for a day",
        "They resume in 24 hours; `/activity watch` shows until when.",
    )


def stopped_message(name: str | None, stopped: bool) -> Message:
    if not stopped:
        return problem("You don't watch this contact", "There was nothing to stop.")
    return unwatched(name or "")


def alerts_paused_dm() -> Message:
    return problem(
        "Your “Active now” alerts are paused",
        "Flexmls no longer accepts your access, so I can't check the contacts you watch.",
        "Reconnect with `/activity connect`; alerts resume on their own.",
    )


AUTO_WORDS = {
    True: "on (contacts you looked up in the last 14 days are watched)",
    False: "off",
}


def alert_settings_message(view: SettingsView) -> Message:
    """`/activity alerts`: on or off, quiet hours (in the agent's zone), the threshold."""
    s = view.settings
    quiet = (
        f"{s.quiet_start}–{s.quiet_end} ({clean(view.tz)[:64]}): alerts wait, then arrive as one summary"
        if s.quiet
        else "off: alerts arrive at any hour"
    )
    lead = "Saved. " if view.changed else ""
    title = f"{lead}Your alerts are {'on' if s.enabled else 'off'}"
    if view.workspace_off:
        title = f"{lead}Alerts are turned off for this workspace"
    lines = [
        *(["Nothing is checked and no alert is sent until an admin turns them on."]
          if view.workspace_off else []),
        *([] if s.enabled else ["No contact is checked."]),
        f"Quiet hours: {quiet}",
        f"Active now: {s.threshold} or more listings viewed after an hour with none",
        "Back after a quiet spell: any view or open after 14 days with none",
        f"E-mail alerts: {EMAIL_WORDS[s.email]}",
        f"Auto-watch: {AUTO_WORDS[s.auto_watch]}",
    ]  # fmt: skip
    return problem(
        title,
        "\n".join(lines),
        "Change: `/activity alerts on|off`, `/activity alerts quiet 21:00-07:30` (or `quiet off`),"
        " `/activity alerts threshold 3` (2 to 20), `/activity alerts email on|off`,"
        " `/activity alerts auto on|off`.",
    )


EMAIL_WORDS = {
    True: "on (a DM when a watched contact opens an e-mail you or your team sent)",
    False: "off",
}


MAX_HELD_LINES = 40


def _held_line(line: HeldLine) -> str:
    """One held alert, worded by its kind."""
    name = f"*{user_mrkdwn(line.name, NAME_LIMIT, fallback='A contact')}*"
    if line.kind == "back":
        did = _back_did(line.views, line.opens)
        return f"• {name} is back after {quiet_words(line.quiet_days)} quiet: {did}"
    if line.kind == "opened":
        return f"• {name} opened an e-mail from you or your team ({_new_opens(line.opens)})"
    if line.opens:
        return (
            f"• {name} viewed {_views(line.views)} and opened an e-mail ({_new_opens(line.opens)})"
        )
    return f"• {name} viewed {_views(line.views)}"


def held_summary_message(summary: HeldSummary) -> Message:
    """The one DM at the end of quiet hours: who was active while alerts waited."""
    count = len({line.contact_id for line in summary.lines})
    who = f"{count} contact{'' if count == 1 else 's'}"
    text = f"During your quiet hours, {who} became active"
    rows = [_held_line(line) for line in summary.lines[:MAX_HELD_LINES]]
    if len(summary.lines) > MAX_HELD_LINES:
        rows.append(f"…and {len(summary.lines) - MAX_HELD_LINES} more")
    body = truncate_mrkdwn("\n".join(rows), SECTION_TEXT)
    return finish(
        text,
        ("held_title", SectionBlock(text=MarkdownTextObject(text=f"🌙 *{text}*", verbatim=True))),
        ("held_lines", SectionBlock(text=MarkdownTextObject(text=body, verbatim=True))),
        (
            "held_hint",
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="`/activity` and a name opens a card; `/activity alerts` changes quiet hours."
                    )
                ]
            ),
        ),
    )
