"""The contact card, built for a phone glance: should I call this person now, and about what?

Top to bottom:
1. the name (header);
2. the band with its score and when the contact was last active ("🔥 Hot · 42 points · last
   active today"), then what the contact did over 7 days ("13 listings viewed · 2 e-mails
   opened"); on a new install, what the band is based on (today's totals);
3. what changed since the viewer's yesterday, and since their earlier lookup today ("+2 viewed
   since 9:14");
4. the 30-day change and the sparkline; the lifetime totals, compact, with the privacy note;
5. e-mail and phone as links (`mailto:`, `tel:`), the buttons, and when the data was read.

A card is private by default (ephemeral, with buttons). When an agent shares it in a channel,
the copy carries no buttons, no e-mail or phone, and says who shared it and when the data is
from. Days and times are the viewer's (see `ContactCard`); the "read at" line uses Slack's
`<!date>` so every reader sees their own time zone.
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

from activity.models import ContactCard, EarlierLook
from activity.scoring import Band, Engagement, Trend
from blocks.actions import (
    LISTINGS_PAGE,
    OPEN_FLEXMLS,
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
    clock_time,
    day_phrase,
    escape_mrkdwn,
    number,
    percent,
    plain,
    plural_word,
    short_day,
    signed,
    truncate_mrkdwn,
    user_mrkdwn,
)
from spark.models import ActivitySummary

SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
# Addresses safe inside `<mailto:…|…>` (nothing that could end or bend the link).
MAILTO_SAFE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
BUTTON_URL = 3000  # Slack's limit for a button's `url`
PHONE_DIGITS = (7, 15)  # E.164 allows at most 15 digits; fewer than 7 is not a phone number
PRIVACY_NOTE = "Open rates can be inflated by mail privacy features."
FIRST_LOOKUP = "First lookup: changes since yesterday show from tomorrow."
NO_SCORE_YET = "No band yet: it needs one day of history."

# What changed, in the order the change line reads: (counter, singular, plural).
DELTA_LABELS: tuple[tuple[str, str, str], ...] = (
    ("listings_viewed", "viewed", "viewed"),
    ("listings_shared", "shared", "shared"),
    ("manual_emails_sent", "e-mail sent", "e-mails sent"),
    ("manual_emails_opened", "e-mail opened", "e-mails opened"),
    ("subscription_emails_sent", "subscription e-mail sent", "subscription e-mails sent"),
    ("subscription_emails_opened", "subscription e-mail opened", "subscription e-mails opened"),
)
# The 30-day trend: what the contact did, and what was shared with them.
TREND_LABELS: tuple[tuple[str, str, str], ...] = (
    ("listings_viewed", "viewed", "viewed"),
    ("listings_shared", "shared", "shared"),
    ("manual_emails_opened", "e-mail opened", "e-mails opened"),
    ("subscription_emails_opened", "subscription e-mail opened", "subscription e-mails opened"),
)
BAND_MARKERS: dict[str, str] = {"hot": "🔥", "warm": "🌤", "cold": "🧊"}


def is_slack_user_id(value: object) -> bool:
    """True for a Slack user id such as `U0123ABC` (safe to put in `<@…>`)."""
    return isinstance(value, str) and SLACK_USER_ID.fullmatch(value) is not None


def band_label(band: Band | str) -> str:
    """ "hot" → "🔥 Hot"; an unknown band is shown without a marker."""
    marker = BAND_MARKERS.get(band)
    word = clean(str(band)).capitalize() or "Unscored"
    return f"{marker} {word}" if marker else word


def changes(delta: ActivitySummary, labels: tuple[tuple[str, str, str], ...] = DELTA_LABELS) -> str:
    """ "+6 viewed, +1 e-mail opened" (non-zero counters only; "" when nothing changed)."""
    return ", ".join(
        f"{signed(n)} {plural_word(n, one, many)}"
        for counter, one, many in labels
        if (n := getattr(delta, counter))
    )


def _baseline_phrase(card: ContactCard) -> str:
    """ "yesterday", "Mon 23 Nov" (with the year when it differs), in the viewer's days."""
    day = card.baseline_day
    if day is None:
        return "the last lookup"
    today = card.today
    if day == today - dt.timedelta(days=1):
        return "yesterday"
    if day == today:
        return "earlier today"
    text = short_day(day)
    return text if day.year == today.year else f"{text} {day.year}"


def slack_time(moment: dt.datetime, fallback: str, token: str = "{time}") -> str:
    """`<!date^…^{time}|9:14>`: Slack shows the time in the reader's zone and clock style."""
    return f"<!date^{int(as_utc(moment).timestamp())}^{token}|{fallback}>"


def earlier_phrase(earlier: EarlierLook) -> str:
    """ "+2 viewed since 9:14" or "No change since 9:14" (mrkdwn: the time is a `<!date>`)."""
    at = slack_time(earlier.at, clock_time(earlier.at))
    what = changes(earlier.delta)
    return f"{what} since {at}" if what else f"No change since {at}"


def change_line(card: ContactCard, *, notes: bool = True) -> str | None:
    """ "Since yesterday: +6 viewed · +2 viewed since 9:14" (mrkdwn), or why there is none."""
    parts: list[str] = []
    if card.delta is not None:
        phrase = _baseline_phrase(card)
        what = changes(card.delta)
        parts.append(f"Since {phrase}: {what}" if what else f"No change since {phrase}")
    if card.earlier_today is not None:
        parts.append(earlier_phrase(card.earlier_today))
    if not parts:
        return FIRST_LOOKUP if notes else None
    return " · ".join(parts)


def _did(summary: ActivitySummary) -> tuple[int, int]:
    """(listings viewed, e-mails opened): what the contact did, the only things scored."""
    return (
        summary.listings_viewed,
        summary.manual_emails_opened + summary.subscription_emails_opened,
    )


def did_words(summary: ActivitySummary) -> str:
    """ "13 listings viewed · 2 e-mails opened", "1 listing viewed", "nothing viewed or opened"."""
    views, opens = _did(summary)
    parts = [
        f"{number(n)} {plural_word(n, one, many)}"
        for n, one, many in (
            (views, "listing viewed", "listings viewed"),
            (opens, "e-mail opened", "e-mails opened"),
        )
        if n
    ]
    return " · ".join(parts) if parts else "nothing viewed or opened"


def _band_words(engagement: Engagement) -> str:
    band = escape_mrkdwn(band_label(engagement.band))
    if engagement.provisional:
        return f"*{band}* · from today's totals"
    return f"*{band}* · {number(round(engagement.score))} points"


def active_phrase(card: ContactCard) -> str | None:
    """ "last active today" / "last active Tue" / "no activity seen yet" (None: unknown)."""
    if card.last_active is not None:
        return f"last active {day_phrase(card.last_active, card.today)}"
    recent = card.trend.recent if card.trend is not None else None
    if recent is not None and not any(_did(recent)):
        return "no views or opens seen yet"
    return None


def week_line(trend: Trend | None, summary: ActivitySummary) -> str | None:
    """ "7 days: 13 listings viewed · 2 e-mails opened", or what a first band is based on."""
    if trend is None:
        return None
    if trend.recent is not None:
        label = f"Since {short_day(trend.recent_since)}" if trend.recent_since else "7 days"
        return f"{label}: {did_words(trend.recent)}"
    engagement = trend.engagement
    if engagement is not None and engagement.provisional:
        return (
            f"Band from today's totals: {did_words(summary)} so far. "
            "The 7-day score starts tomorrow."
        )
    return None


def glance_text(card: ContactCard, *, notes: bool = True) -> str | None:
    """The first lines: band, score and last active; then the contact's own 7 days."""
    engagement = card.trend.engagement if card.trend is not None else None
    first = [p for p in (_band_words(engagement) if engagement else None, active_phrase(card)) if p]
    if engagement is None and card.trend is not None and notes:
        first.insert(0, NO_SCORE_YET)
    lines = [" · ".join(first), week_line(card.trend, card.summary) or ""]
    text = "\n".join(line for line in lines if line)
    return text[:1].upper() + text[1:] if text else None


def notification(card: ContactCard, name: str, *, shared: bool) -> str:
    """The top-level text (the phone notification): "Jane Doe · 🔥 Hot · last active today"."""
    parts = [name]
    engagement = card.trend.engagement if card.trend is not None else None
    if engagement is not None:
        label = escape_mrkdwn(band_label(engagement.band))
        parts.append(f"{label}, from today's totals" if engagement.provisional else label)
    active = active_phrase(card)
    if active is not None:
        parts.append(active)
    if len(parts) == 1:
        parts.append(f"{number(card.summary.listings_viewed)} listings viewed")
    if shared:
        parts.append("shared card")
    return truncate_mrkdwn(" · ".join(parts), 3000)


def _period(label: str, change: ActivitySummary) -> str:
    return f"{label}: " + (changes(change, TREND_LABELS) or "no change")


def trend_line(trend: Trend) -> str | None:
    """ "30 days: +40 viewed, +5 shared" (None without a 30-day history)."""
    return _period("30 days", trend.month) if trend.month is not None else None


def sparkline_line(sparkline: str | None) -> str | None:
    """ "Views, last 14 days: ▁▂▁▅▇" (None without a sparkline)."""
    spark = clean(sparkline or "")
    if not spark:
        return None
    days = len(spark)
    span = "today" if days == 1 else f"last {days} days"
    return f"Views, {span}: {spark}"


def _emails(opened: int, sent: int, word: str) -> str | None:
    if sent <= 0:
        return None
    rate = f" ({percent(min(1.0, max(0.0, opened / sent)))})"
    return f"{number(opened)} of {number(sent)} {word} opened{rate}"


def totals_line(summary: ActivitySummary) -> str:
    """ "All time: 143 listings viewed · 12 shared with them · 8 of 10 e-mails opened (80%)…"."""
    s = summary
    parts = [
        f"{number(s.listings_viewed)} {plural_word(s.listings_viewed, 'listing', 'listings')} "
        "viewed",
        f"{number(s.listings_shared)} shared with them",
        _emails(s.manual_emails_opened, s.manual_emails_sent, "e-mails") or "no e-mails sent",
        _emails(s.subscription_emails_opened, s.subscription_emails_sent, "subscription e-mails"),
    ]
    return "All time: " + " · ".join(p for p in parts if p)


def _any_email(summary: ActivitySummary) -> bool:
    return summary.manual_emails_sent > 0 or summary.subscription_emails_sent > 0


def slack_date(moment: dt.datetime) -> str:
    """`<!date^…>`: Slack shows it in the reader's time zone; the fallback is UTC."""
    utc = as_utc(moment)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def read_line(card: ContactCard) -> str:
    """ "Read today at 9:30 AM" in the reader's zone (fallback: the viewer's own time)."""
    local = card.local_now or as_utc(card.looked_up_at)
    zone = clean(local.tzname() or "")
    fallback = f"{short_day(local.date())} {clock_time(local)} {zone}".strip()
    return "Read " + slack_time(card.looked_up_at, fallback, "{date_short_pretty} at {time}")


def mailto(email: str | None) -> str | None:
    """The e-mail as a `mailto:` link when it is a plain address; else escaped text; None if none."""
    address = clean(email or "")
    if not address:
        return None
    if MAILTO_SAFE.fullmatch(address):
        return f"<mailto:{address}|{address}>"
    return escape_mrkdwn(address, 500)


def tel(phone: str | None) -> str | None:
    """The phone as a `tel:` link (tappable on phones) when it has 7–15 digits; else escaped."""
    shown = clean(phone or "")
    if not shown:
        return None
    digits = "".join(ch for ch in shown if ch.isascii() and ch.isdigit())
    low, high = PHONE_DIGITS
    if not low <= len(digits) <= high or re.search(r"[^0-9+()./\s-]", shown):
        return escape_mrkdwn(shown, 200)
    target = ("+" if shown.startswith("+") else "") + digits
    return f"<tel:{target}|{escape_mrkdwn(shown)}>"


def reach_text(card: ContactCard) -> str | None:
    parts = [p for p in (mailto(card.contact.email), tel(card.contact.phone)) if p]
    return " · ".join(parts) or None


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


def _flexmls_button(url: str | None) -> ButtonElement | None:
    if not url or len(url) > BUTTON_URL or not url.startswith("https://"):
        return None
    return ButtonElement(
        text=PlainTextObject(text="Open in Flexmls", emoji=True),
        action_id=OPEN_FLEXMLS,
        url=url,
        accessibility_label="Open this contact in Flexmls",
    )


def _card_actions(card: ContactCard, name: str, share_to: str) -> ActionsBlock:
    """Viewed and Shared (the carousels), Open in Flexmls, Share in channel, Refresh."""
    contact, s = card.contact, card.summary
    elements = [
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
        _flexmls_button(card.flexmls_url),
        _share_button(name, contact.id, share_to),
        button("Refresh", REFRESH_CARD, contact.id),
    ]
    return ActionsBlock(elements=[e for e in elements if e is not None])


def _context(text: str | None, *, mrkdwn: bool = False) -> ContextBlock | None:
    if not text:
        return None
    element = MarkdownTextObject(text=text) if mrkdwn else plain(text, 2000)
    return ContextBlock(elements=[element])


def _history_blocks(card: ContactCard, shared: bool) -> list[tuple[str, Block | None]]:
    """What changed, the 30-day trend and sparkline, and the lifetime totals."""
    trend = card.trend
    totals: list[PlainTextObject] = [plain(totals_line(card.summary), 2000)]
    if _any_email(card.summary):
        totals.append(PlainTextObject(text=PRIVACY_NOTE))
    return [
        ("card_change", _context(change_line(card, notes=not shared), mrkdwn=True)),
        ("card_trend", _context(trend_line(trend) if trend else None)),
        ("card_sparkline", _context(sparkline_line(trend.sparkline) if trend else None)),
        ("card_totals", ContextBlock(elements=totals)),
    ]


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
    glance = glance_text(card, notes=not shared)
    blocks: list[tuple[str, Block | None]] = [
        ("card_header", HeaderBlock(text=plain(name, HEADER_TEXT))),
        ("card_glance", SectionBlock(text=MarkdownTextObject(text=glance)) if glance else None),
        *_history_blocks(card, shared),
    ]
    reach = None if shared else reach_text(card)
    if reach:
        blocks.append(("card_reach", SectionBlock(text=MarkdownTextObject(text=reach))))
    if shared_by is not None:
        who = f"<@{shared_by}>" if is_slack_user_id(shared_by) else "a teammate"
        line = f"Shared by {who} · data as of {slack_date(card.looked_up_at)}"
        blocks.append(("card_shared", ContextBlock(elements=[MarkdownTextObject(text=line)])))
    else:
        if is_contact_id(contact.id):
            blocks.append(("card_actions", _card_actions(card, name, share_to)))
        blocks.append(("card_read", _context(read_line(card), mrkdwn=True)))
    fallback_name = user_mrkdwn(name, 200, fallback="(no name)")
    kept = [(role, block) for role, block in blocks if block is not None]
    return finish(notification(card, fallback_name, shared=shared), *kept)
