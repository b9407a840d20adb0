"""The contact card: six engagement counters, the change since the baseline, and its buttons.

A card is private by default (ephemeral, with buttons). When an agent shares it in a channel,
the copy carries no buttons and says who shared it and when the data is from.

Once there is history, the card also shows the engagement band and score with its one-line
explanation, the 7- and 30-day changes, and a sparkline of daily listing views.
"""

from __future__ import annotations

import datetime as dt
import re

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from activity.models import ContactCard
from activity.scoring import Band, Engagement, Trend
from blocks.actions import (
    LISTINGS_PAGE,
    REFRESH_CARD,
    SHARE_CARD,
    ListingsCursor,
    action_id,
    button,
    confirmation,
    encode_cursor,
    is_contact_id,
)
from blocks.message import HEADER_TEXT, Message, finish
from blocks.text import (
    as_utc,
    clean,
    count_with_delta,
    number,
    percent,
    plain,
    short_day,
    signed,
    truncate_mrkdwn,
    user_mrkdwn,
)
from spark.models import ActivitySummary

SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
PRIVACY_NOTE = "Open rates can be inflated by mail privacy features."
FIRST_LOOKUP = "First lookup: changes since yesterday show from tomorrow."

# (label, counter, open-rate property or None), in the order the two columns read on a phone.
COUNTERS: tuple[tuple[str, str, str | None], ...] = (
    ("Listings viewed", "listings_viewed", None),
    ("Listings shared", "listings_shared", None),
    ("E-mails sent", "manual_emails_sent", None),
    ("E-mails opened", "manual_emails_opened", "manual_open_rate"),
    ("Subscription e-mails sent", "subscription_emails_sent", None),
    ("Subscription e-mails opened", "subscription_emails_opened", "subscription_open_rate"),
)
DELTA_LABELS = {
    "listings_viewed": "viewed",
    "listings_shared": "shared",
    "manual_emails_sent": "e-mails sent",
    "manual_emails_opened": "e-mails opened",
    "subscription_emails_sent": "subscription e-mails sent",
    "subscription_emails_opened": "subscription e-mails opened",
}
NO_SCORE_YET = "Engagement score appears after a second day of history."
BAND_MARKERS: dict[str, str] = {"hot": "🔥", "warm": "🌤", "cold": "🧊"}
# What the contact did (not what the agent sent), in the order the trend line reads.
TREND_LABELS = {
    "listings_viewed": "viewed",
    "listings_shared": "shared",
    "manual_emails_opened": "e-mails opened",
    "subscription_emails_opened": "subscription e-mails opened",
}


def is_slack_user_id(value: object) -> bool:
    """True for a Slack user id such as `U0123ABC` (safe to put in `<@…>`)."""
    return isinstance(value, str) and SLACK_USER_ID.fullmatch(value) is not None


def _counter_value(card: ContactCard, counter: str, rate_name: str | None) -> str:
    value = getattr(card.summary, counter)
    delta = getattr(card.delta, counter) if card.delta is not None else None
    text = count_with_delta(value, delta)
    rate = getattr(card, rate_name) if rate_name else None
    if rate is None:
        return text
    return f"{text} · {percent(rate)}" if delta else f"{text} ({percent(rate)})"


def _baseline_phrase(card: ContactCard) -> str:
    """ "yesterday", "earlier today", "Mon 23 Nov" (with the year when it differs)."""
    day = card.baseline_day
    if day is None:
        return "the last lookup"
    today = card.looked_up_at.date()
    if day == today - dt.timedelta(days=1):
        return "yesterday"
    if day == today:
        return "earlier today"
    text = short_day(day)
    return text if day.year == today.year else f"{text} {day.year}"


def change_line(card: ContactCard) -> str:
    """The change context: "Since yesterday: +6 viewed, +1 shared" or why there is none."""
    if card.delta is None:
        return FIRST_LOOKUP
    phrase = _baseline_phrase(card)
    changes = [
        f"{signed(getattr(card.delta, counter))} {label}"
        for counter, label in DELTA_LABELS.items()
        if getattr(card.delta, counter)
    ]
    if not changes:
        return f"No change since {phrase}"
    return f"Since {phrase}: " + ", ".join(changes)


def band_label(band: Band | str) -> str:
    """ "hot" → "🔥 Hot"; an unknown band is shown without a marker."""
    marker = BAND_MARKERS.get(band)
    word = clean(str(band)).capitalize() or "Unscored"
    return f"{marker} {word}" if marker else word


def engagement_line(engagement: Engagement | None) -> str:
    """ "🔥 Hot (42 points): 12 listing views … in the last 7 days." or why there is none."""
    if engagement is None:
        return NO_SCORE_YET
    explanation = clean(engagement.explanation) or (
        f"{clean(str(engagement.band)).capitalize()} ({number(round(engagement.score))} points)."
    )
    marker = BAND_MARKERS.get(engagement.band)
    return f"{marker} {explanation}" if marker else explanation


def _period(label: str, change: ActivitySummary) -> str:
    parts = [
        f"{signed(getattr(change, counter))} {word}"
        for counter, word in TREND_LABELS.items()
        if getattr(change, counter)
    ]
    return f"{label}: " + (", ".join(parts) if parts else "no change")


def trend_line(trend: Trend) -> str | None:
    """ "7 days: +14 viewed, +2 shared · 30 days: +40 viewed" (None without either period)."""
    periods = [
        _period(label, change)
        for label, change in (("7 days", trend.week), ("30 days", trend.month))
        if change is not None
    ]
    return " · ".join(periods) or None


def sparkline_line(sparkline: str | None) -> str | None:
    """ "Views, last 14 days: ▁▂▁▅▇" (None without a sparkline)."""
    spark = clean(sparkline or "")
    if not spark:
        return None
    days = len(spark)
    span = "today" if days == 1 else f"last {days} days"
    return f"Views, {span}: {spark}"


def _trend_blocks(trend: Trend, *, setup_notes: bool = True) -> list[tuple[str, Block]]:
    lines = [
        (
            "card_engagement",
            engagement_line(trend.engagement) if setup_notes or trend.engagement else None,
        ),
        ("card_trend", trend_line(trend)),
        ("card_sparkline", sparkline_line(trend.sparkline)),
    ]
    return [(role, ContextBlock(elements=[plain(line, 2000)])) for role, line in lines if line]


def slack_date(moment: dt.datetime) -> str:
    """`<!date^…>`: Slack shows it in the reader's time zone; the fallback is UTC."""
    utc = as_utc(moment)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _any_email(summary: ActivitySummary) -> bool:
    return summary.manual_emails_sent > 0 or summary.subscription_emails_sent > 0


def _fallback(card: ContactCard, name: str, shared: bool) -> str:
    s, d = card.summary, card.delta

    def delta(counter: str) -> str:
        change = getattr(d, counter) if d is not None else 0
        return f" ({signed(change)})" if change else ""

    emails = (
        f"{number(s.manual_emails_opened)} of {number(s.manual_emails_sent)} e-mails opened"
        if s.manual_emails_sent
        else "no e-mails sent"
    )
    tags: list[str] = []
    if card.trend is not None and card.trend.engagement is not None:
        tags.append(clean(str(card.trend.engagement.band)))
    if shared:
        tags.append("shared card")
    tags = [t for t in tags if t]
    label = f" ({', '.join(tags)})" if tags else ""
    text = (
        f"{name}{label}: "
        f"{number(s.listings_viewed)} listings viewed{delta('listings_viewed')}, "
        f"{number(s.listings_shared)} shared{delta('listings_shared')}, {emails}"
    )
    return truncate_mrkdwn(text, 3000)


def share_place(channel_name: str) -> str:
    """Where "Share in channel" posts, in words: "#sales", "this private channel"…

    `channel_name` is what Slack sent with the request; it names private channels
    "privategroup" and direct messages "directmessage".
    """
    name = clean(channel_name or "").lstrip("#")
    if not name or name == "directmessage":
        return "this conversation"
    if name == "privategroup":
        return "this private channel"
    if name.startswith("mpdm-"):
        return "this group message"
    return f"#{name}"


def _share_button(name: str, contact_id: str, place: str) -> ButtonElement:
    return button(
        "Share in channel",
        SHARE_CARD,
        contact_id,
        confirm=confirmation(
            f"Share in {place}?",
            f"Everyone in {place} will see {name}'s activity, shared by you. "
            "Their e-mail and phone number are left out.",
            confirm="Share",
        ),
    )


def _counters(card: ContactCard) -> SectionBlock:
    return SectionBlock(
        fields=[
            MarkdownTextObject(text=f"*{label}*\n{_counter_value(card, counter, rate)}")
            for label, counter, rate in COUNTERS
        ]
    )


def _card_actions(card: ContactCard, name: str, share_to: str) -> ActionsBlock:
    """Viewed and Shared (opening the carousels), Share in channel, Refresh."""
    contact, s = card.contact, card.summary
    return ActionsBlock(
        elements=[
            button(
                f"Viewed ({number(s.listings_viewed)})",
                action_id(LISTINGS_PAGE, "viewed"),
                encode_cursor(ListingsCursor("viewed", contact.id, 1)),
                accessibility_label=f"Listings {name} viewed",
            ),
            button(
                f"Shared ({number(s.listings_shared)})",
                action_id(LISTINGS_PAGE, "shared"),
                encode_cursor(ListingsCursor("shared", contact.id, 1)),
                accessibility_label=f"Listings shared with {name}",
            ),
            _share_button(name, contact.id, share_to),
            button("Refresh", REFRESH_CARD, contact.id),
        ]
    )


def card_message(
    card: ContactCard, *, shared_by: str | None = None, share_to: str = "this conversation"
) -> Message:
    """The contact card; with `shared_by` (a Slack user id), the button-less shared copy.

    The private card's "Share in channel" button asks first, naming `share_to` (see
    `share_place`). The shared copy leaves out the contact's e-mail and phone and the notes
    meant for the agent on a first lookup.
    """
    shared = shared_by is not None
    contact = card.contact
    name = clean(contact.display_name) or "(no name)"
    blocks: list[tuple[str, Block]] = [
        ("card_header", HeaderBlock(text=plain(name, HEADER_TEXT))),
        ("card_counters", _counters(card)),
    ]
    if _any_email(card.summary):
        blocks.append(("card_privacy", ContextBlock(elements=[PlainTextObject(text=PRIVACY_NOTE)])))
    if not (shared and card.delta is None):
        change = ContextBlock(elements=[PlainTextObject(text=change_line(card))])
        blocks.append(("card_change", change))
    if card.trend is not None:
        blocks += _trend_blocks(card.trend, setup_notes=not shared)

    reach = " · ".join(p for p in (clean(contact.email or ""), clean(contact.phone or "")) if p)
    if reach and not shared:
        blocks.append(("card_reach", ContextBlock(elements=[plain(reach, 2000)])))

    if shared_by is not None:
        who = f"<@{shared_by}>" if is_slack_user_id(shared_by) else "a teammate"
        line = f"Shared by {who} · data as of {slack_date(card.looked_up_at)}"
        blocks.append(("card_shared", ContextBlock(elements=[MarkdownTextObject(text=line)])))
    elif is_contact_id(contact.id):
        blocks.append(("card_actions", _card_actions(card, name, share_to)))
    fallback_name = user_mrkdwn(name, 200, fallback="(no name)")
    return finish(_fallback(card, fallback_name, shared_by is not None), *blocks)
