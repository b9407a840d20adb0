"""Text helpers for Block Kit: escaping hostile text, truncation, and number formatting.

Everything a user or Flexmls typed (names, e-mails, queries, addresses, statuses) is hostile.
In `mrkdwn` it goes through `escape_mrkdwn`, which makes `<!channel>`, `<@U123>` and
`<http://x|y>` inert and stops `*`, `_`, `~`, `` ` `` and a leading `>` from formatting. In
`plain_text` objects (headers, button labels) Slack parses nothing, so `plain` only cleans and
truncates.

Lengths are counted in Python characters (code points), as `slack_sdk` validates them.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata

from slack_sdk.models.blocks import PlainTextObject

ELLIPSIS = "…"
ZWSP = "\u200b"
MINUS = "\u2212"

# Characters that open or close mrkdwn formatting: bold, italic, strike, code.
_FORMATTING = frozenset("*_~`")
# Explicit bidi embeddings, overrides and isolates: they let text reorder what follows it.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean(text: str, *, single_line: bool = True) -> str:
    """Drop control and bidi-override characters; collapse whitespace when `single_line`.

    With `single_line=False`, newlines survive (other whitespace runs inside lines are kept).
    """
    kept: list[str] = []
    for ch in str(text):
        if ch in _BIDI_CONTROLS:
            continue
        if ch == "\n" and not single_line:
            kept.append(ch)
        elif ch in "\t\r\n\v\f":
            kept.append(" ")
        elif unicodedata.category(ch) == "Cc":
            continue
        else:
            kept.append(ch)
    result = "".join(kept)
    if single_line:
        return " ".join(result.split())
    return "\n".join(line.strip() for line in result.split("\n")).strip()


def _is_joiner(ch: str) -> bool:
    """True for characters that belong to the character before them (marks, ZWJ, selectors)."""
    return unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me", "Cf")


def _cut_point(text: str, cut: int) -> int:
    """Move `cut` left so it does not split a base character from its marks or joiners."""
    while 0 < cut < len(text) and _is_joiner(text[cut]):
        cut -= 1
    return cut


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters; else cut and ended with "…" (never over limit)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return text
    cut = _cut_point(text, limit - len(ELLIPSIS))
    return text[:cut].rstrip() + ELLIPSIS


def _escape_pieces(text: str) -> list[str]:
    """Escape `text` character by character, so truncation never cuts inside an escape."""
    pieces: list[str] = []
    at_line_start = True  # only whitespace seen since the start of the line
    for ch in text:
        if ch == "&":
            piece = "&amp;"
        elif ch == "<":
            piece = "&lt;"
        elif ch == ">":
            # A `>` that starts a line would quote it: push it off the line start.
            piece = ZWSP + "&gt;" if at_line_start else "&gt;"
        elif ch in _FORMATTING:
            piece = ch + ZWSP
        else:
            piece = ch
        pieces.append(piece)
        if ch == "\n":
            at_line_start = True
        elif not ch.isspace():
            at_line_start = False
    return pieces


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """Make `text` literal inside a mrkdwn text object; with `limit`, truncate the escaped text.

    Truncation happens on whole escaped characters (never inside `&amp;` or between a
    formatting character and its zero-width space) and ends with "…".
    """
    pieces = _escape_pieces(str(text))
    escaped = "".join(pieces)
    if limit is None or len(escaped) <= limit:
        return escaped
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    budget = limit - len(ELLIPSIS)
    used = 0
    count = 0
    for piece in pieces:
        if used + len(piece) > budget:
            break
        used += len(piece)
        count += 1
    count = _cut_point(str(text), count)
    return "".join(pieces[:count]).rstrip() + ELLIPSIS


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Truncate already-escaped mrkdwn without cutting an entity or a neutralised character."""
    if len(text) <= limit:
        return text
    cut = _cut_point(text, limit - len(ELLIPSIS))
    amp = text.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp  # do not leave half of "&amp;" behind
    while cut > 0 and text[cut - 1] in _FORMATTING:
        cut -= 1  # its zero-width space would be cut off, so drop the character too
    return truncate(text[:cut].rstrip() + ELLIPSIS, limit)


def user_mrkdwn(text: str | None, limit: int, *, fallback: str = "") -> str:
    """Hostile single-line text, cleaned, escaped for mrkdwn and truncated to `limit`."""
    cleaned = clean(text or "")
    return escape_mrkdwn(cleaned, limit) if cleaned else fallback


def plain(text: str | None, limit: int, *, fallback: str = "—") -> PlainTextObject:
    """A `plain_text` object: cleaned to one line, non-empty (`fallback`), within `limit`."""
    return PlainTextObject(text=plain_str(text, limit, fallback=fallback), emoji=True)


def plain_str(text: str | None, limit: int, *, fallback: str = "—") -> str:
    """The string `plain` puts in its object."""
    cleaned = clean(text or "") or fallback
    return truncate(cleaned, limit)


def number(n: float | int | None) -> str:
    """1850 → "1,850"; 2.5 → "2.5"; negative numbers use a true minus sign; None → "n/a"."""
    if n is None or isinstance(n, bool):
        return "n/a"
    if isinstance(n, float):
        if not math.isfinite(n):
            return "n/a"
        if n.is_integer():
            n = int(n)
    text = f"{abs(n):,}" if isinstance(n, int) else f"{abs(n):,.2f}".rstrip("0").rstrip(".")
    return (MINUS + text) if n < 0 else text


def signed(n: int) -> str:
    """6 → "+6", -2 → "−2", 0 → "0"."""
    if n > 0:
        return "+" + number(n)
    return number(n)


def money(price: float | None) -> str:
    """Whole dollars with thousands separators: 1250000 → "$1,250,000"; None → "Price n/a"."""
    if price is None or isinstance(price, bool) or not math.isfinite(price):
        return "Price n/a"
    dollars = math.floor(price + 0.5)
    return (MINUS if dollars < 0 else "") + f"${abs(dollars):,}"


def count_with_delta(value: int, delta: int | None) -> str:
    """143, +6 → "143 (+6)"; 12, None or 0 → "12"; 9, -2 → "9 (−2)"."""
    if not delta:
        return number(value)
    return f"{number(value)} ({signed(delta)})"


def percent(rate: float) -> str:
    """0.8 → "80%" (rounded half up)."""
    return f"{math.floor(rate * 100 + 0.5)}%"


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_day(day: dt.date) -> str:
    """ "Mon 23 Nov": a day as people read it, the same on every surface."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def as_utc(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def plural_word(n: int, singular: str, many: str) -> str:
    """The word that goes with `n`: singular for 1 and −1, else the plural."""
    return singular if abs(n) == 1 else many


def clock_time(moment: dt.datetime) -> str:
    """ "9:14", "16:05": a time of day as the viewer reads it (their zone is in `moment`)."""
    return f"{moment.hour}:{moment.minute:02d}"


def day_phrase(day: dt.date, today: dt.date) -> str:
    """ "today", "yesterday", "Tue" (this past week), "12 Nov", "12 Nov 2025"."""
    age = (today - day).days
    if age <= 0:
        return "today"
    if age == 1:
        return "yesterday"
    if age < 7:
        return WEEKDAYS[day.weekday()]
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"
