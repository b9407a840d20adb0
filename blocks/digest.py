"""Daily digests: the morning post in a channel, its ephemeral "all contacts" pages, and the
messages that add, list and remove digest subscriptions.

A digest is public: everyone in the channel sees the contacts' names and engagement, so adding
one says so plainly. Its buttons carry only a contact id (`digest_open`) or a `DigestCursor`
(`digest_more`), signed with the cursor key the renderers are given, for the digest's channel:
a card opens with the clicking person's own Flexmls access, and a page of the digest only for a
click in the channel the digest was posted in.

Every digest fits one message (≤ 50 blocks) however many contacts it covers: it shows the top
movers (a native table, or sections with fields for clients without tables), up to five contacts
heating up and five cooling off, and "and N more" with a button that pages through the rest.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    RawTextObject,
    SectionBlock,
    TableBlock,
    TableBlockColumnSettings,
)

from activity.models import Digest, DigestEntry
from blocks.actions import (
    DIGEST_MORE,
    DIGEST_OPEN,
    MAX_DIGEST_PAGE,
    MAX_SUBSCRIPTION_ID,
    DigestCursor,
    action_id,
    button,
    encode_digest_cursor,
    is_contact_id,
)
from blocks.card import BAND_MARKERS, band_label, is_slack_user_id
from blocks.home import CHANNEL_ID, channel_mrkdwn
from blocks.message import (
    HEADER_TEXT,
    MAX_BLOCKS,
    MAX_TEXT,
    SECTION_TEXT,
    Message,
    finish,
    identified,
)
from blocks.text import (
    clean,
    escape_mrkdwn,
    number,
    plain,
    plain_str,
    short_day,
    signed,
    truncate_mrkdwn,
    user_mrkdwn,
)
from spark.models import ActivitySummary
from storage.digests import Subscription

DigestLayout = Literal["table", "sections"]

MAX_TABLE_ROWS = 100  # Slack's limit, header row included
TABLE_COLUMNS = ("Contact", "Since yesterday", "Score")  # three: narrow enough for a phone
TABLE_CELL = 100  # our cap for a name cell (Slack documents no smaller one)
MAX_MOVING = 5  # contacts listed under "Heating up" and under "Cooling off"
MAX_FIRST_DAY = 10  # contacts listed on a first digest, most active first
MAX_CALLS = 10  # contacts listed one by one in a private "who to call today" digest
MIN_MOVE = 1.0  # score points: less is no movement (a quiet contact's score decays slowly)
FIRST_DAY_NOTE = (
    "*Most active so far* · No day-to-day history yet, so here is who did the most: "
    "listings viewed and e-mails opened, this week where we know it. "
    "Heating up and cooling off show from tomorrow."
)
NO_SCORES_NOTE = "No scores yet: ranked by what each contact did so far."
PERSONAL_FOOTER = "Only you see this digest. Cards open with your own Flexmls access."
MAX_LISTED = 40  # subscriptions listed by `digest_list`
NAME = 200  # characters of a contact's name in a section
PRIVACY_FOOTER = "Cards open privately, with your own Flexmls access."
LATE_NOTE = "Posted late: the bot was offline at the scheduled time."
NO_DIGESTS = "No digests yet. Try `/activity digest add #channel 08:00`."
NO_DIGESTS_TEXT = "No digests yet. Try /activity digest add #channel 08:00."
NO_NAME = "(no name)"
TAG_UNCHECKED = (
    "I couldn't check that tag with Flexmls, so if it's misspelt the digest will be empty: "
    "`/activity digest list` shows it, `digest remove` drops it."
)
DM_ID = re.compile(r"D[A-Z0-9]{2,20}")
Row = tuple[str, Block]  # a block's role (`finish` makes its block_id from it) and the block


# ---------------------------------------------------------------- words shared by the renderers


def short_date(day: dt.date) -> str:
    """ "Fri 27 Nov"."""
    return short_day(day)


def user_mention(user_id: object, fallback: str = "a teammate") -> str:
    """`<@U123>` for a well-formed user id; otherwise `fallback` (never the hostile text)."""
    return f"<@{user_id}>" if is_slack_user_id(user_id) else fallback


def _channel(channel_id: str, channel_name: str | None = None) -> str:
    """`<#C123>`; for a malformed id, "#name" when we know the name, else escaped text."""
    well_formed = isinstance(channel_id, str) and CHANNEL_ID.fullmatch(channel_id)
    if not well_formed and channel_name and clean(channel_name.lstrip("#")):
        return _channel_name(channel_name)
    return channel_mrkdwn(channel_id)


def _channel_name(channel_name: str) -> str:
    """ "#sales" (escaped)."""
    return "#" + user_mrkdwn(channel_name.lstrip("#"), 80, fallback="channel")


def scope_words(scope: str, user_id: str, *, sentence_start: bool = True) -> str:
    """ "Contacts <@U123> looked up in the last 30 days", "All of <@U123>'s contacts",
    "Contacts tagged “Buyer”" (mrkdwn; the tag is escaped). Lower-case inside a sentence."""
    who = user_mention(user_id)
    text = clean(scope or "")
    kind, _, tag = text.partition(":")
    if text.casefold() == "recent":
        words = f"Contacts {who} looked up in the last 30 days"
    elif text.casefold() == "all":
        words = f"All of {who}'s contacts"
    elif kind.casefold() == "tag" and tag.strip():
        words = f"Contacts tagged “{user_mrkdwn(tag, 80)}”"
    else:
        words = f"Contacts in the scope “{user_mrkdwn(text, 80, fallback='—')}”"
    return words if sentence_start else words[0].lower() + words[1:]


def _name(entry: DigestEntry, limit: int = NAME) -> str:
    return user_mrkdwn(entry.name, limit, fallback=NO_NAME)


def _points(value: float) -> str:
    """12.3 → "+12"; −0.4 → "−0.4" (a whole number unless that would read as no change)."""
    if not math.isfinite(value):
        return "n/a"
    rounded = round(value) if abs(value) >= 1 else round(value, 1)
    return "+" + number(rounded) if rounded > 0 else number(rounded)


def _score(entry: DigestEntry) -> str:
    if entry.engagement is None:
        return "—"
    score = entry.engagement.score
    return number(round(score)) if math.isfinite(score) else "n/a"


def _band(entry: DigestEntry) -> str:
    return band_label(entry.engagement.band) if entry.engagement is not None else "No score yet"


def _marker(entry: DigestEntry) -> str:
    return BAND_MARKERS.get(entry.engagement.band, "") if entry.engagement is not None else ""


def _score_words(entry: DigestEntry, *, with_move: bool = True) -> str:
    """ "🔥 42 points (+12)": the band's marker, the score and how it moved, units named."""
    if entry.engagement is None:
        return "no score yet"
    marker = _marker(entry)
    score = _score(entry)
    words = f"{score} point{'' if score == '1' else 's'}"
    words = f"{marker} {words}" if marker else words
    move = _points(entry.movement)
    return f"{words} ({move})" if with_move and move not in ("0", "n/a") else words


def _has_history(entry: DigestEntry) -> bool:
    return entry.day is not None or entry.engagement is not None


def _plural(n: int, word: str) -> str:
    return f"{number(n)} {word}{'' if n == 1 else 's'}"


def _views_and_opens(change: ActivitySummary) -> tuple[int, int]:
    """What the contact did themselves: listings viewed, e-mails opened (manual and
    subscription); what the agent sent or shared is not theirs."""
    return change.listings_viewed, change.manual_emails_opened + change.subscription_emails_opened


def did(change: ActivitySummary | None, *, plus: bool = True, nothing: str = "nothing new") -> str:
    """ "+8 views · +1 e-mail open" (`plus`: a change) or "172 views · 9 e-mail opens" (totals);
    `nothing` when the contact neither viewed nor opened anything."""
    if change is None:
        return nothing
    parts = []
    for count, unit in zip(_views_and_opens(change), ("view", "e-mail open"), strict=True):
        if count:
            amount = signed(count) if plus else number(count)
            parts.append(f"{amount} {unit}{'' if abs(count) == 1 else 's'}")
    return " · ".join(parts) if parts else nothing


def _did_something(change: ActivitySummary | None) -> bool:
    return change is not None and any(_views_and_opens(change))


def moved(entry: DigestEntry) -> bool:
    """A row for "top movers": the contact did something since yesterday, or their score
    moved by a point or more (a score that only decays by a fraction is no movement)."""
    move = entry.movement
    return _did_something(entry.day) or (math.isfinite(move) and abs(move) >= MIN_MOVE)


def _first_day_words(entry: DigestEntry) -> str:
    """What a contact did, from what we have: this week (where we know it) or so far."""
    if entry.week is not None:
        return did(entry.week, nothing="nothing new this week") + (
            " this week" if _did_something(entry.week) else ""
        )
    return did(entry.summary, plus=False, nothing="no views or opens yet") + (
        " so far" if _did_something(entry.summary) else ""
    )


def _cursor(digest: Digest, page: int, key: bytes) -> str | None:
    """The signed `digest_more` value for `page`, or None when the digest can't be addressed."""
    if not 1 <= page <= MAX_DIGEST_PAGE or not isinstance(digest.subscription_id, int):
        return None
    if not 1 <= digest.subscription_id <= MAX_SUBSCRIPTION_ID:
        return None
    cursor = DigestCursor(digest.subscription_id, digest.local_date, page)
    return encode_digest_cursor(cursor, key=key, channel_id=digest.channel_id)


def _card_button(entry: DigestEntry, n: int) -> ButtonElement | None:
    if not is_contact_id(entry.contact_id):
        return None
    return button(
        "Card",
        action_id(DIGEST_OPEN, n),
        entry.contact_id,
        accessibility_label=f"Open the card of {clean(entry.name) or 'this contact'}",
    )


def _context(*texts: str, mrkdwn: bool = False) -> ContextBlock:
    if mrkdwn:
        return ContextBlock(elements=[MarkdownTextObject(text=t, verbatim=True) for t in texts])
    return ContextBlock(elements=[PlainTextObject(text=t, emoji=True) for t in texts])


def _section(text: str) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=truncate_mrkdwn(text, SECTION_TEXT), verbatim=True)
    )


def _contact_section(text: str, entry: DigestEntry, n: int) -> SectionBlock:
    """A section about one contact, with its Card button (numbered `n` in the message)."""
    section = _section(text)
    section.accessory = _card_button(entry, n)
    return section


# ------------------------------------------------------------------------ the morning digest


def _movers_table(movers: Sequence[DigestEntry]) -> TableBlock:
    """Contact · what they did since yesterday · score: three columns, units in every cell."""
    header = [RawTextObject(text=column) for column in TABLE_COLUMNS]
    rows = [header] + [
        [
            RawTextObject(text=plain_str(entry.name, TABLE_CELL, fallback=NO_NAME)),
            RawTextObject(text=did(entry.day)),
            RawTextObject(text=_score_words(entry)),
        ]
        for entry in movers
    ]
    return TableBlock(
        rows=rows,
        column_settings=[
            TableBlockColumnSettings(is_wrapped=True),
            TableBlockColumnSettings(is_wrapped=True),
            TableBlockColumnSettings(align="right"),
        ],
    )


def _mover_line(entry: DigestEntry) -> str:
    """ "*Jane Doe* · +8 views · 🔥 42 points (+12)"."""
    return f"*{_name(entry)}* · {escape_mrkdwn(did(entry.day))} · {_score_words(entry)}"


def _more(digest: Digest, key: bytes) -> ActionsBlock | None:
    """The `More` button (page 1 of every contact), when the digest can be addressed."""
    value = _cursor(digest, 1, key)
    if value is None:
        return None
    label = f"See all {_plural(len(digest.entries), 'contact')} in this digest, page by page"
    more = button("More", action_id(DIGEST_MORE), value, accessibility_label=label)
    return ActionsBlock(elements=[more])


def _story(entry: DigestEntry) -> str:
    """ "Jane Doe +8 views" for the notification text (plain: no formatting)."""
    return f"{plain_str(entry.name, 60, fallback=NO_NAME)} {did(entry.day)}"


def _fallback(digest: Digest, heading: str) -> str:
    """The notification: who heats up (and what they did), how many cool off, how many in all."""
    total = len(digest.entries)
    if total == 0:
        return f"{heading}: no contacts to report."
    if not any(_has_history(e) for e in digest.entries):
        top = ", ".join(
            f"{plain_str(e.name, 60, fallback=NO_NAME)} ({_first_day_words(e)})"
            for e in digest.entries[:3]
        )
        text = f"{heading}: most active so far: {top}; {_plural(total, 'contact')}."
        return escape_mrkdwn(text, MAX_TEXT)
    parts = []
    if digest.heating:
        names = ", ".join(_story(e) for e in digest.heating[:MAX_MOVING])
        parts.append(f"{number(len(digest.heating))} heating up ({names})")
    if digest.cooling:
        parts.append(f"{number(len(digest.cooling))} cooling off")
    if not parts:
        parts.append("no big moves")
    parts.append(_plural(total, "contact"))
    return escape_mrkdwn(f"{heading}: " + ", ".join(parts) + ".", MAX_TEXT)


def digest_message(
    digest: Digest, *, cursor_key: bytes, layout: DigestLayout = "table", top: int = 10
) -> Message:
    """The morning digest posted in the channel (public), within one message's limits.

    One story, top to bottom: who is heating up (and what they did), who is cooling off, then
    the other movers (a three-column table, or sections); each contact once. On a first day,
    with no history, the most active contacts instead. `cursor_key` signs the "More" button's
    value (see `blocks.actions.encode_digest_cursor`).
    """
    if layout not in ("table", "sections"):
        raise ValueError(f"unknown layout {layout!r}")
    if top < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    day = short_date(digest.local_date)
    blocks: list[Row] = [_digest_header(f"Morning digest · {day}"), _digest_scope(digest)]
    if not digest.entries:
        blocks.append(("digest_empty", _section("No contacts to report today.")))
    elif not any(_has_history(e) for e in digest.entries):
        blocks += _first_day(digest, cursor_key, top=min(top, MAX_FIRST_DAY))
    else:
        blocks += _moves(digest, cursor_key, layout=layout, top=top, above=len(blocks))
    blocks.append(_digest_footer(digest))
    return finish(_fallback(digest, f"Morning digest, {day}"), *blocks)


def _digest_header(heading: str) -> Row:
    return ("digest_header", HeaderBlock(text=plain(heading, HEADER_TEXT)))


def _digest_scope(digest: Digest, *extra: str) -> Row:
    """Whose contacts, whether the digest is late, and any `extra` plain notes."""
    scope = scope_words(digest.scope, digest.subscriber_id)
    about: list[MarkdownTextObject | PlainTextObject] = [
        MarkdownTextObject(text=truncate_mrkdwn(scope, 2000), verbatim=True)
    ]
    if digest.late:
        about.append(PlainTextObject(text=LATE_NOTE, emoji=True))
    about += [PlainTextObject(text=note, emoji=True) for note in extra]
    return ("digest_scope", ContextBlock(elements=about))


def _first_day(digest: Digest, cursor_key: bytes, *, top: int) -> list[Row]:
    """A first digest, before any day of history: the most active contacts from what we have
    (the core ranks them: this week where we know it, else so far), each with a Card."""
    shown = digest.entries[:top]
    blocks: list[Row] = [("digest_first_day", _section(FIRST_DAY_NOTE))]
    blocks += [
        (f"digest_active_{n}", _contact_section(_active_line(entry), entry, n))
        for n, entry in enumerate(shown, 1)
    ]
    return blocks + _the_rest(digest, cursor_key, {e.contact_id for e in shown})


def _active_line(entry: DigestEntry) -> str:
    """ "*Jane Doe* · 172 views · 9 e-mail opens so far"."""
    return f"*{_name(entry)}* · {escape_mrkdwn(_first_day_words(entry))}"


def _moves(
    digest: Digest, cursor_key: bytes, *, layout: DigestLayout, top: int, above: int
) -> list[Row]:
    """Heating up, cooling off, the other movers (or a quiet day), and "and N more".

    Nobody is listed twice; `above` is the number of blocks before these (the movers get
    what the rest leaves).
    """
    heating = digest.heating[:MAX_MOVING]
    cooling = digest.cooling[:MAX_MOVING]
    listed = {e.contact_id for e in (*heating, *cooling)}
    blocks = _heating_and_cooling(heating, cooling)
    # Everything but the movers, at most: their title, "more" + its button, the footer.
    reserved = above + len(blocks) + 1 + 2 + 1
    room = MAX_TABLE_ROWS - 1 if layout == "table" else MAX_BLOCKS - reserved
    others = [e for e in digest.entries if e.contact_id not in listed and moved(e)]
    movers = others[: max(0, min(top, room))]
    if movers:
        blocks += _other_movers(movers, layout, first_button=len(heating) + len(cooling) + 1)
    elif not heating and not cooling:
        quiet = "Quiet day: nobody viewed or opened anything, and no score moved."
        blocks.append(("digest_quiet", _section(quiet)))
    shown = listed | {e.contact_id for e in movers}
    return blocks + _the_rest(digest, cursor_key, shown)


def _other_movers(
    movers: Sequence[DigestEntry], layout: DigestLayout, *, first_button: int
) -> list[Row]:
    """The "Other movers" title, then a table, or one section (with a Card) per mover."""
    title: Row = ("digest_movers_title", _section("*Other movers*"))
    if layout == "table":
        return [title, ("digest_movers", _movers_table(movers))]
    return [
        title,
        *(
            (f"digest_mover_{i}", _contact_section(_mover_line(e), e, first_button + i - 1))
            for i, e in enumerate(movers, 1)
        ),
    ]


def _band_counts(digest: Digest) -> str:
    """ "🔥 2 hot · 🌤 1 warm · 🧊 0 cold of 3 contacts"."""
    counts = digest.counts
    bands = " · ".join(
        f"{BAND_MARKERS[b]} {number(counts[b])} {b}" for b in ("hot", "warm", "cold")
    )
    return f"{bands} of {_plural(len(digest.entries), 'contact')}"


def _heating_and_cooling(
    heating: Sequence[DigestEntry], cooling: Sequence[DigestEntry]
) -> list[Row]:
    """ "Heating up" and "Cooling off", each titled, with Card buttons numbered across both."""
    blocks: list[Row] = []
    n = 0
    for title, role, group in (
        ("Heating up", "digest_heating", heating),
        ("Cooling off", "digest_cooling", cooling),
    ):
        if not group:
            continue
        blocks.append((f"{role}_title", _section(f"*{title}*")))
        for i, entry in enumerate(group, 1):
            n += 1
            blocks.append((f"{role}_{i}", _contact_section(_mover_line(entry), entry, n)))
    return blocks


def _the_rest(digest: Digest, cursor_key: bytes, shown: set[str]) -> list[Row]:
    """ "and N more" with the More button, for the contacts not shown one by one."""
    hidden = sum(1 for e in digest.entries if e.contact_id not in shown)
    if hidden <= 0:
        return []
    note: Row = ("digest_more_note", _context(f"and {number(hidden)} more"))
    return [note, *_more_button(digest, cursor_key)]


def _more_button(digest: Digest, cursor_key: bytes) -> list[Row]:
    more = _more(digest, cursor_key)
    return [] if more is None else [("digest_more", more)]


def _digest_footer(digest: Digest, privacy: str = PRIVACY_FOOTER) -> Row:
    """The bands, unreadable contacts if any, and that cards open privately."""
    footer = [privacy]
    if digest.failed > 0:
        footer.insert(0, f"{_plural(digest.failed, 'contact')} could not be read.")
    if any(e.engagement is not None for e in digest.entries):
        footer.insert(0, _band_counts(digest))
    return ("digest_footer", _context(*footer))


# ------------------------------------------------------- a private digest: who to call today


def personal_digest_message(digest: Digest, *, cursor_key: bytes, top: int = 10) -> Message:
    """The private digest in the subscriber's DM: who to call today, best first (the core
    ranks by score), with what each did and a Card button; the rest a "More" away."""
    if top < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    day = short_date(digest.local_date)
    shown = digest.entries[: min(top, MAX_CALLS)]
    scored = any(e.engagement is not None for e in digest.entries)
    blocks: list[Row] = [
        _digest_header(f"Who to call today · {day}"),
        _digest_scope(digest, *(() if scored else (NO_SCORES_NOTE,))),
    ]
    if not digest.entries:
        blocks.append(("digest_empty", _section("No contacts to report today.")))
    blocks += [
        (f"digest_call_{n}", _contact_section(_call_lines(entry, n), entry, n))
        for n, entry in enumerate(shown, 1)
    ]
    blocks += _the_rest(digest, cursor_key, {e.contact_id for e in shown})
    blocks.append(_digest_footer(digest, PERSONAL_FOOTER))
    return finish(_personal_fallback(digest, day, shown), *blocks)


def _call_lines(entry: DigestEntry, n: int) -> str:
    """ "*1. Jane Doe* · 🔥 42 points (+12)" and, below, what they did."""
    if entry.engagement is None:
        return f"*{n}. {_name(entry)}*\n{escape_mrkdwn(_first_day_words(entry))}"
    lines = [f"*{n}. {_name(entry)}* · {_score_words(entry)}"]
    today = did(entry.day, nothing="")
    week = _first_day_words(entry) if entry.week is not None else ""
    details = " · ".join(d for d in (f"{today} since yesterday" if today else "", week) if d)
    details = details or "nothing new this week"
    lines.append(escape_mrkdwn(details[0].upper() + details[1:]))
    return "\n".join(lines)


def _personal_fallback(digest: Digest, day: str, shown: Sequence[DigestEntry]) -> str:
    heading = f"Who to call today, {day}"
    if not shown:
        return f"{heading}: no contacts to report."
    names = ", ".join(
        plain_str(e.name, 60, fallback=NO_NAME)
        + (f" ({_score_words(e, with_move=False)})" if e.engagement is not None else "")
        for e in shown[:3]
    )
    rest = len(digest.entries) - min(3, len(shown))
    more = f" and {number(rest)} more" if rest > 0 else ""
    return escape_mrkdwn(f"{heading}: {names}{more}.", MAX_TEXT)


# ------------------------------------------------------------- "all contacts", page by page


def _entry_line(entry: DigestEntry) -> str:
    """ "+3 views since yesterday · 🔥 42 points" (what the contact did, and the score)."""
    if entry.day is None:
        change = "New: changes show from tomorrow"
    elif _did_something(entry.day):
        change = did(entry.day) + " since yesterday"
    else:
        change = "Nothing new since yesterday"
    return f"{change} · {_score_words(entry, with_move=False)}"


def _entry_section(entry: DigestEntry, n: int) -> SectionBlock:
    return _contact_section(f"*{_name(entry)}*\n{escape_mrkdwn(_entry_line(entry))}", entry, n)


def digest_page(digest: Digest, page: int, *, cursor_key: bytes, per_page: int = 20) -> Message:
    """One ephemeral page of every contact in a digest, with Card buttons and Prev/Next.

    `cursor_key` signs the Prev/Next/First buttons' values, like `digest_message`'s "More".
    """
    if not 1 <= per_page <= MAX_BLOCKS - 5:
        raise ValueError(f"per_page must be in 1..{MAX_BLOCKS - 5}, got {per_page}")
    day = short_date(digest.local_date)
    entries = digest.entries
    total = len(entries)
    pages = max(1, math.ceil(total / per_page))
    tag = f"p{page}"
    if total and 1 <= page <= pages:
        heading = f"Digest · {day} · page {number(page)} of {number(pages)}"
        chunk = entries[(page - 1) * per_page : page * per_page]
        blocks: list[tuple[str, Block]] = [
            (f"digest_page_header.{tag}", HeaderBlock(text=plain(heading, HEADER_TEXT))),
            (
                f"digest_page_scope.{tag}",
                _context(scope_words(digest.scope, digest.subscriber_id), mrkdwn=True),
            ),
        ]
        start = (page - 1) * per_page
        blocks += [
            (f"digest_entry_{start + i}.{tag}", _entry_section(entry, start + i))
            for i, entry in enumerate(chunk, 1)
        ]
        nav: list[ButtonElement] = []
        for label, suffix, target, show in (
            ("◀ Prev", "prev", page - 1, page > 1),
            ("Next ▶", "next", page + 1, page < pages),
        ):
            value = _cursor(digest, target, cursor_key) if show else None
            if value is not None:
                nav.append(button(label, action_id(DIGEST_MORE, suffix), value))
        if nav:
            blocks.append((f"digest_page_nav.{tag}", ActionsBlock(elements=nav)))
        names = ", ".join(_name(e, 60) for e in chunk)
        text = f"Digest, {day}, page {number(page)} of {number(pages)}: {names}"
        return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)

    heading = f"Digest · {day}"
    if total == 0:
        line = "This digest has no contacts."
    else:
        line = f"That page is empty: this digest has {_plural(pages, 'page')}."
    blocks = [
        (f"digest_page_header.{tag}", HeaderBlock(text=plain(heading, HEADER_TEXT))),
        (f"digest_page_empty.{tag}", SectionBlock(text=PlainTextObject(text=line))),
    ]
    first = _cursor(digest, 1, cursor_key) if total else None
    if first is not None:
        go = button("◀ First page", action_id(DIGEST_MORE, "first"), first)
        blocks.append((f"digest_page_nav.{tag}", ActionsBlock(elements=[go])))
    return finish(line, *blocks)


# ------------------------------------------------------------------------- subscriptions


def _when(subscription: Subscription) -> tuple[str, str]:
    """("08:00", "America/Denver"), escaped."""
    return (
        user_mrkdwn(subscription.local_time, 10, fallback="—"),
        user_mrkdwn(subscription.timezone, 60, fallback="—"),
    )


def _remove_hint(subscription: Subscription) -> str:
    return f"Remove it any time with `/activity digest remove {int(subscription.id)}`"


def digest_added(
    subscription: Subscription, *, channel_name: str | None = None, tag_unchecked: bool = False
) -> Message:
    """The ephemeral confirmation: when, where, what, and that the channel will see it all (or,
    for a private digest in the subscriber's DM, that only they will). `tag_unchecked`: Flexmls
    wouldn't list tags, so a misspelt tag can't be told from a real one."""
    if is_dm_channel(subscription.channel_id):
        return _personal_added(subscription, tag_unchecked=tag_unchecked)
    channel = _channel(subscription.channel_id, channel_name)
    time, zone = _when(subscription)
    scope = scope_words(subscription.scope, subscription.user_id, sentence_start=False)
    body = (
        f"Every day at {time} ({zone}), {channel} gets a digest of {scope}. "
        f"Everyone in {channel} will see these contacts' names and engagement."
    )
    named = (
        _channel_name(channel_name) if channel_name and clean(channel_name.lstrip("#")) else channel
    )
    text = (
        f"Digest added: every day at {time} ({zone}), {named} gets a digest of {scope}. "
        f"Everyone in {named} will see these contacts' names and engagement."
    )
    return _added(subscription, text, body, tag_unchecked=tag_unchecked)


def _personal_added(subscription: Subscription, *, tag_unchecked: bool) -> Message:
    time, zone = _when(subscription)
    scope = scope_words(subscription.scope, subscription.user_id, sentence_start=False)
    body = (
        f"Every day at {time} ({zone}), you get a private digest in your DM with Activity: who to call "
        f"today, ranked by score, from {scope}. Only you see it."
    )
    text = "Private digest added: " + body[0].lower() + body[1:]
    return _added(subscription, text, body, tag_unchecked=tag_unchecked)


def _added(subscription: Subscription, text: str, body: str, *, tag_unchecked: bool) -> Message:
    notes = [_remove_hint(subscription) + "."]
    if tag_unchecked:
        notes.insert(0, TAG_UNCHECKED)
        text = f"{text} {TAG_UNCHECKED}"
    return finish(
        truncate_mrkdwn(text, MAX_TEXT),
        ("digest_added", _section(body)),
        ("digest_added_hint", _context(*notes, mrkdwn=True)),
    )


def is_dm_channel(channel_id: object) -> bool:
    """A DM's id (D…): where a private digest goes."""
    return isinstance(channel_id, str) and DM_ID.fullmatch(channel_id) is not None


def _where(channel_id: str) -> str:
    """ "<#C123>", or "your DM with Activity" for a private digest's DM."""
    return "your DM with Activity" if is_dm_channel(channel_id) else channel_mrkdwn(channel_id)


def _is_viewers(subscription: Subscription, viewer_id: str) -> bool:
    return is_slack_user_id(viewer_id) and subscription.user_id == viewer_id


def _list_line(subscription: Subscription, viewer_id: str, *, bold: bool = True) -> str:
    """ "*#7* · <#C123> · 08:00 America/Denver · recent · by <@U1> (yours)"."""
    time, zone = _when(subscription)
    number_ = f"#{int(subscription.id)}"
    line = (
        f"{f'*{number_}*' if bold else number_} · {_where(subscription.channel_id)}"
        f" · {time} {zone} · {user_mrkdwn(subscription.scope, 80, fallback='—')}"
        f" · by {user_mention(subscription.user_id)}"
    )
    return line + " (yours)" if _is_viewers(subscription, viewer_id) else line


def digest_list(
    subscriptions: Sequence[Subscription], *, viewer_id: str, team_wide: bool = True
) -> Message:
    """Digests numbered by subscription id, the viewer's marked "(yours)": the team's (for an
    admin, `team_wide`), or only the viewer's own ("Your digests")."""
    title = "Digests" if team_wide else "Your digests"
    header = ("digest_list_header", HeaderBlock(text=plain(title, HEADER_TEXT)))
    if not subscriptions:
        return finish(NO_DIGESTS_TEXT, header, ("digest_list_empty", _section(NO_DIGESTS)))
    shown = subscriptions[:MAX_LISTED]
    blocks: list[tuple[str, Block]] = [header]
    blocks += [
        (f"digest_list_{i}", _section(_list_line(s, viewer_id))) for i, s in enumerate(shown, 1)
    ]
    notes = []
    if len(subscriptions) > len(shown):
        notes.append(f"and {number(len(subscriptions) - len(shown))} more")
    notes.append("To remove one, type `/activity digest remove` and its number.")
    blocks.append(("digest_list_notes", _context(*notes, mrkdwn=True)))
    yours = sum(1 for s in subscriptions if _is_viewers(s, viewer_id))
    lines = "; ".join(_list_line(s, viewer_id, bold=False) for s in shown)
    if team_wide:
        text = f"{_plural(len(subscriptions), 'digest')}, {number(yours)} of them yours: {lines}"
    else:
        text = f"Your {_plural(len(subscriptions), 'digest')}: {lines}"
    return finish(truncate_mrkdwn(text, MAX_TEXT), *blocks)


def digest_removed(subscription: Subscription) -> Message:
    """The ephemeral confirmation that a digest is gone."""
    time, zone = _when(subscription)
    line = (
        f"Digest #{int(subscription.id)} removed: {_where(subscription.channel_id)} "
        f"no longer gets the daily digest at {time} ({zone})."
    )
    return finish(truncate_mrkdwn(line, MAX_TEXT), ("digest_removed", _section(line)))


def digest_reconnect_dm(subscription: Subscription) -> Message:
    """The DM to a subscriber whose Flexmls connection stopped working (no digest today)."""
    line = (
        f"Today's digest for {_where(subscription.channel_id)} wasn't posted: "
        "your Flexmls connection stopped working. Reconnect with `/activity connect`; "
        "tomorrow's digest will post as usual."
    )
    text = line.replace("`", "")
    return finish(truncate_mrkdwn(text, MAX_TEXT), ("digest_reconnect", _section(line)))


# Why today's digest wasn't posted, and what the subscriber can do (None: only remove it),
# by `activity.digests.Refusal` value.
_REFUSED_WHY: dict[str, tuple[str, str | None]] = {
    "not_a_channel": ("it no longer goes to a channel", None),
    "invite_first": (
        "I can't see that channel any more",
        "If it's private, invite me back (`/invite @Activity` in the channel)",
    ),
    "not_listed": (
        "your admin now allows digests only in certain channels, not this one",
        None,
    ),
    "archived": ("the channel was archived", None),
    "slack_connect": (
        "the channel is now shared with people outside your workspace (Slack Connect)",
        "Ask your admin to list it in DIGEST_CHANNELS if it should still get the digest",
    ),
    "not_member": ("you're no longer in that channel", "Join it again to keep the digest"),
    "guest": (
        "your Slack account is now a guest account, which can't use the workspace's Flexmls access",
        "Connect your own Flexmls account with `/activity connect`",
    ),
    "not_your_dm": ("I couldn't confirm that DM is still ours", None),
    "unchecked": (
        "Slack didn't let me check the channel and your account",
        "Ask your admin to check the app's Slack permissions",
    ),
}


def digest_refused_dm(subscription: Subscription, reason: str) -> Message:
    """The DM to a subscriber whose digest was held back today: why, and what to do.

    `reason` is an `activity.digests.Refusal` about the channel, "guest" or "unchecked";
    anything else gets a general explanation.
    """
    why, todo = _REFUSED_WHY.get(reason, ("it can't go to that channel right now", None))
    remove = f"`/activity digest remove {int(subscription.id)}`"
    if todo is None:  # nothing the subscriber can fix
        advice = f"Remove it with {remove}, or add one to another channel."
    else:
        advice = f"{todo}; tomorrow's digest will try again. Or remove it with {remove}."
    line = f"Today's digest for {_where(subscription.channel_id)} wasn't posted: {why}. {advice}"
    text = line.replace("`", "")
    return finish(truncate_mrkdwn(text, MAX_TEXT), ("digest_refused", _section(line)))


def digest_preview(digest: Digest, *, cursor_key: bytes, layout: DigestLayout = "table") -> Message:
    """What the subscription would post now, shown privately to its subscriber: the same
    message, under a note that nothing was posted, without "More" (no posted digest to page)."""
    personal = digest.channel_id.startswith("D")
    real = (
        personal_digest_message(digest, cursor_key=cursor_key)
        if personal
        else digest_message(digest, cursor_key=cursor_key, layout=layout)
    )
    where = "your DM with the bot" if personal else channel_mrkdwn(digest.channel_id)
    note = ContextBlock(
        elements=[
            MarkdownTextObject(
                text=f"Preview of digest #{digest.subscription_id} for {where}: what it would "
                "post now. Nothing was posted."
            )
        ]
    )
    kept: list[dict[str, Any]] = []
    for block in real.blocks:
        if block.get("type") == "actions":
            elements = [
                e
                for e in block["elements"]
                if not str(e.get("action_id", "")).startswith(DIGEST_MORE)
            ]
            if not elements:
                continue
            block = {**block, "elements": elements}
        kept.append(block)
    text = truncate_mrkdwn(f"Preview (not posted): {real.text}", MAX_TEXT)
    blocks = (identified("digest_preview", note).to_dict(), *kept[: MAX_BLOCKS - 1])
    return Message(text=text, blocks=blocks)
