"""Block Kit in the terminal: turn a Slack message into rich renderables and numbered buttons.

The console shell (`python bot.py console`) prints what the bot would post and lets the user
press a button by typing its number. `render_message` is pure: it reads the message dicts and
returns renderables; printing them is the caller's job.

Rendering follows what Slack shows: headers bold; mrkdwn `*bold*`, `_italic_`, `~strike~` and
`` `code` ``; `<@U123>` as "@U123"; `<!date^ts^{date_short_pretty} {time}|fallback>` in the
reader's zone when `render_message` is given one (else, and for formats it doesn't know, as the
fallback: `date_tokens`); `&lt;` `&gt;` `&amp;` unescaped; zero-width spaces (our formatting neutraliser) removed. Fields become a two-column
grid, context lines are dim, cards are small panels, images are "[photo]" markers. Anything it
does not know is shown as whatever text it carries, or skipped; it never raises on odd input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

ZWSP = "\u200b"
PHOTO = "[photo]"
_MARKUP = re.compile(r"<([^<>\n]*)>")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# (marker, rich style): a span opens on a marker not followed by a space or a zero-width space
# and not glued to a word before it, and closes on the same marker not followed by a word.
_FORMATS = (("`", "bold cyan"), ("*", "bold"), ("_", "italic"), ("~", "strike"))


def _span_pattern(marker: str) -> re.Pattern[str]:
    m = re.escape(marker)
    return re.compile(rf"(?<![\w{m}]){m}(?![\s{ZWSP}])([^\n{m}]+?)(?<![\s{ZWSP}]){m}(?![\w{ZWSP}])")


_SPANS = tuple((_span_pattern(marker), style) for marker, style in _FORMATS)


@dataclass(frozen=True)
class ConsoleButton:
    """A button the user can press by typing `number`."""

    number: int
    label: str
    action_id: str | None
    value: str | None
    block_id: str | None
    confirm: str | None = None  # the "are you sure?" Slack shows before sending the click


def _confirmation(confirm: object) -> str | None:
    """A button's confirmation dialog as one line: "Share in #x? Everyone in … [Share/Cancel]"."""
    if not isinstance(confirm, dict):
        return None
    parts = [_plain(confirm.get(k)) for k in ("title", "text")]
    choices = "/".join(
        p for p in (_plain(confirm.get("confirm")), _plain(confirm.get("deny"))) if p
    )
    line = " ".join(p for p in parts if p)
    return f"{line} [{choices}]" if choices else line or None


@dataclass(frozen=True)
class RenderedMessage:
    """What to print (`renderables`, in order) and the buttons it offers."""

    renderables: list[RenderableType] = field(default_factory=list)
    buttons: list[ConsoleButton] = field(default_factory=list)

    def __rich__(self) -> Group:
        return Group(*self.renderables)


def _safe(text: str) -> str:
    """Drop control characters (terminal escape sequences) but keep newlines; tabs → spaces."""
    return _CONTROL.sub("", text.replace("\t", " "))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _unescape(text: str) -> str:
    text = text.replace(ZWSP, "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _safe(text)


@dataclass(frozen=True)
class Reader:
    """Whose Slack shows the message: `<!date^…>` tokens are shown in `zone`, and `now` says
    what "today" is for the `_pretty` formats."""

    zone: dt.tzinfo
    now: dt.datetime


_READER: ContextVar[Reader | None] = ContextVar("console_reader", default=None)
_DATE_TOKEN = re.compile(r"\{([a-z_]+)\}")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date_token(name: str, moment: dt.datetime, today: dt.date) -> str | None:
    """One `{token}` of a Slack date format, as Slack words it (None: not one we know)."""
    day, month = moment.date(), _MONTHS[moment.month - 1]
    if name.endswith("_pretty"):
        relative = {0: "today", -1: "yesterday", 1: "tomorrow"}.get((day - today).days)
        return relative or _date_token(name.removesuffix("_pretty"), moment, today)
    words = {
        "date_num": day.isoformat(),
        "date": f"{month} {_ordinal(day.day)}, {day.year}",
        "date_short": f"{month[:3]} {day.day}, {day.year}",
        "date_long": f"{_WEEKDAYS[day.weekday()]}, {month} {_ordinal(day.day)}, {day.year}",
        "time": f"{moment.hour}:{moment.minute:02d}",  # the console's clock, as in the cards
        "time_secs": f"{moment.hour}:{moment.minute:02d}:{moment.second:02d}",
    }
    return words.get(name)


def date_tokens(target: str, fallback: str, reader: Reader | None) -> str:
    """`<!date^ts^format[^link]|fallback>` as the reader's Slack shows it; the fallback when
    there is no reader, the timestamp is bad or the format has a token we don't know."""
    parts = target.split("^")
    if reader is None or len(parts) < 3 or not parts[1].isdigit():
        return fallback
    try:
        moment = dt.datetime.fromtimestamp(int(parts[1]), tz=reader.zone)
    except (OverflowError, OSError, ValueError):
        return fallback
    today = reader.now.astimezone(reader.zone).date()
    shown: list[str] = []
    position = 0
    for match in _DATE_TOKEN.finditer(parts[2]):
        word = _date_token(match.group(1), moment, today)
        if word is None:
            return fallback
        shown += [parts[2][position : match.start()], word]
        position = match.end()
    return "".join(shown) + parts[2][position:]


def _markup(inner: str) -> tuple[str, str]:
    """What Slack shows for `<inner>`, and a style."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:]), "bold"
    if target.startswith("#"):
        return "#" + (label or target[1:]), "bold"
    if target.startswith("!date^"):
        return date_tokens(target, label or "(date)", _READER.get()), ""
    if target.startswith("!subteam^"):
        return label or "@group", "bold"
    if target.startswith("!"):
        return "@" + target[1:], "bold"
    return (label or target), "underline"


def _formatted(text: str) -> Iterator[tuple[str, str, bool]]:
    """Split a markup-free chunk into (text, style, frozen) pieces; code spans are frozen."""
    pieces: list[tuple[str, str, bool]] = [(text, "", False)]
    for pattern, style in _SPANS:
        split: list[tuple[str, str, bool]] = []
        for piece, piece_style, frozen in pieces:
            if frozen:
                split.append((piece, piece_style, frozen))
                continue
            position = 0
            for match in pattern.finditer(piece):
                if match.start() > position:
                    split.append((piece[position : match.start()], piece_style, False))
                combined = f"{piece_style} {style}".strip()
                split.append((match.group(1), combined, style == "bold cyan"))
                position = match.end()
            if position < len(piece):
                split.append((piece[position:], piece_style, False))
        pieces = split
    yield from pieces


def mrkdwn_text(source: str, style: str = "") -> Text:
    """Slack mrkdwn as a rich `Text` (no rich markup is interpreted)."""
    out = Text(style=style)
    position = 0
    for match in _MARKUP.finditer(source):
        for piece, piece_style, _ in _formatted(source[position : match.start()]):
            out.append(_unescape(piece), style=piece_style or None)
        shown, markup_style = _markup(match.group(1))
        out.append(_unescape(shown), style=markup_style or None)
        position = match.end()
    for piece, piece_style, _ in _formatted(source[position:]):
        out.append(_unescape(piece), style=piece_style or None)
    return out


def _text_object(obj: Any, style: str = "") -> Text | None:
    """A Block Kit text object (or a bare string, read as mrkdwn) as rich `Text`."""
    if isinstance(obj, str):
        return mrkdwn_text(obj, style)
    if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
        return None
    if obj.get("type") == "plain_text":
        return Text(_safe(obj["text"]), style=style)
    return mrkdwn_text(obj["text"], style)


def _plain(obj: Any) -> str:
    text = _text_object(obj)
    return text.plain if text is not None else ""


def _loose_text(value: Any, depth: int = 0) -> list[str]:
    """Every string under a "text" key, for blocks we do not know (rich_text and the like)."""
    if depth > 8:
        return []
    found: list[str] = []
    if isinstance(value, Mapping):
        text = value.get("text")
        if isinstance(text, str):
            found.append(text)
        for key, item in value.items():
            if key != "text" or not isinstance(item, str):
                found += _loose_text(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            found += _loose_text(item, depth + 1)
    return found


class _Renderer:
    def __init__(self, first_number: int) -> None:
        self.next_number = first_number
        self.buttons: list[ConsoleButton] = []

    def button(self, element: Mapping[str, Any], block_id: str | None) -> Text:
        number = self.next_number
        self.next_number += 1
        label = _plain(element.get("text")) or "(button)"
        self.buttons.append(
            ConsoleButton(
                number=number,
                label=label,
                action_id=_str(element.get("action_id")),
                value=_str(element.get("value")),
                block_id=block_id,
                confirm=_confirmation(element.get("confirm")),
            )
        )
        line = Text()
        line.append(f"[{number}]", style="bold")
        line.append(f" {label}")
        return line

    def button_row(self, elements: Any, block_id: str | None) -> Text | None:
        labels = [
            self.button(e, block_id)
            for e in (elements if isinstance(elements, list) else [])
            if isinstance(e, Mapping) and e.get("type") == "button"
        ]
        return Text("  ").join(labels) if labels else None

    def section(self, block: Mapping[str, Any], block_id: str | None) -> RenderableType | None:
        parts: list[RenderableType] = []
        text = _text_object(block.get("text"))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping) and accessory.get("type") == "image":
            parts.append(Text(PHOTO, style="dim"))
        if text is not None:
            parts.append(text)
        raw_fields = block.get("fields")
        fields = [
            f for f in (raw_fields if isinstance(raw_fields, list) else []) if _text_object(f)
        ]
        if fields:
            grid = Table.grid(padding=(0, 3))
            grid.add_column()
            grid.add_column()
            cells = [_text_object(f) or Text() for f in fields]
            for i in range(0, len(cells), 2):
                grid.add_row(*cells[i : i + 2])
            parts.append(grid)
        if isinstance(accessory, Mapping) and accessory.get("type") == "button":
            parts.append(self.button(accessory, block_id))
        return Group(*parts) if parts else None

    def context(self, block: Mapping[str, Any]) -> RenderableType | None:
        pieces: list[Text] = []
        elements = block.get("elements")
        for element in elements if isinstance(elements, list) else []:
            if isinstance(element, Mapping) and element.get("type") == "image":
                pieces.append(Text("[image]"))
            else:
                text = _text_object(element)
                if text is not None:
                    pieces.append(text)
        if not pieces:
            return None
        line = Text("  ").join(pieces)
        line.stylize("dim")
        return line

    def card(self, block: Mapping[str, Any], block_id: str | None) -> RenderableType:
        parts: list[RenderableType] = []
        if block.get("hero_image"):
            parts.append(Text(PHOTO, style="dim"))
        for key, style in (("title", "bold"), ("subtitle", ""), ("body", "")):
            text = _text_object(block.get(key), style)
            if text is not None:
                parts.append(text)
        row = self.button_row(block.get("actions"), block_id)
        if row is not None:
            parts.append(row)
        return Panel(Group(*parts), expand=False)

    def block(self, block: Mapping[str, Any]) -> RenderableType | None:
        kind = block.get("type")
        block_id = _str(block.get("block_id"))
        if kind == "header":
            return _text_object(block.get("text"), "bold")
        if kind == "section":
            return self.section(block, block_id)
        if kind == "context":
            return self.context(block)
        if kind == "actions":
            return self.button_row(block.get("elements"), block_id)
        if kind == "divider":
            return Rule(style="dim")
        if kind == "image":
            alt = block.get("alt_text")
            return Text(
                f"[image: {_safe(alt)}]" if isinstance(alt, str) else "[image]", style="dim"
            )
        if kind == "card":
            return self.card(block, block_id)
        if kind == "carousel":
            elements = block.get("elements")
            cards = [
                self.card(card, _str(card.get("block_id")) or block_id)
                for card in (elements if isinstance(elements, list) else [])
                if isinstance(card, Mapping)
            ]
            return Group(*cards) if cards else None
        if kind == "table":
            return self.table(block)
        loose = [t for t in _loose_text(block) if t.strip()]
        return mrkdwn_text("\n".join(loose)) if loose else None

    def table(self, block: Mapping[str, Any]) -> RenderableType | None:
        """A table block: the first row is the header; cells are plain text."""
        rows = [r for r in block.get("rows") or [] if isinstance(r, list)]
        if not rows:
            return None

        def cell(value: Any) -> str:
            return (
                _safe(value.get("text"))
                if isinstance(value, Mapping) and isinstance(value.get("text"), str)
                else ""
            )

        table = Table(show_edge=False, pad_edge=False, box=None)
        for heading in rows[0]:
            table.add_column(cell(heading), style="", header_style="bold")
        for row in rows[1:]:
            table.add_row(*(cell(value) for value in row[: len(rows[0])]))
        return table


def render_message(
    text: str,
    blocks: Sequence[dict[str, Any]] | None,
    *,
    first_number: int = 1,
    reader: Reader | None = None,
) -> RenderedMessage:
    """Renderables for `blocks` (or for `text` when there are none) and their numbered buttons;
    dates in `reader`'s zone (without one, as their fallback)."""
    token = _READER.set(reader)
    try:
        return _render_message(text, blocks, first_number)
    finally:
        _READER.reset(token)


def _render_message(
    text: str, blocks: Sequence[dict[str, Any]] | None, first_number: int
) -> RenderedMessage:
    renderer = _Renderer(first_number)
    renderables: list[RenderableType] = []
    for block in blocks or ():
        if not isinstance(block, Mapping):
            continue
        try:
            rendered = renderer.block(block)
        except (AttributeError, KeyError, TypeError, ValueError):
            rendered = Text("[a block the console cannot show]", style="dim")
        if rendered is not None:
            renderables.append(rendered)
    if not renderables and text:
        renderables.append(mrkdwn_text(text))
    return RenderedMessage(renderables=renderables, buttons=renderer.buttons)
