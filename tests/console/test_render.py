"""Block Kit rendered for the terminal: text, layout markers and numbered buttons."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from activity.models import Candidates
from blocks import card_message, contact_picker, help_message, listings_message, problem
from console import ConsoleButton, RenderedMessage, mrkdwn_text, render_message
from console.render import Reader
from spark.models import ActivitySummary
from tests.helpers.blocks import make_card, make_contact, make_listing, make_trend, make_view


def show(rendered: RenderedMessage) -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    for renderable in rendered.renderables:
        console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def lines(rendered: RenderedMessage) -> list[str]:
    return [line.rstrip() for line in show(rendered).splitlines()]


def test_contact_card() -> None:
    recent = ActivitySummary(listings_viewed=13, manual_emails_opened=2)
    card = make_card(delta=ActivitySummary(listings_viewed=6), trend=make_trend(recent=recent))
    message = card_message(card)
    rendered = render_message(message.text, message.blocks)
    out = lines(rendered)
    assert out[:4] == [
        "Jane Doe",
        "🔥 Hot · 42 points",
        "7 days: 13 listings viewed · 2 e-mails opened",
        "Since yesterday: +6 viewed",
    ]
    assert "jane@example.org · 303-555-0142" in out  # the mailto: and tel: links' labels
    assert out[-2] == "[1] Viewed (143)  [2] Shared (12)  [3] Share in channel  [4] Refresh"
    assert out[-1] == "Read Tue 24 Nov 9:30 UTC"  # Slack's <!date> fallback
    assert rendered.buttons[0] == ConsoleButton(
        number=1,
        label="Viewed (143)",
        action_id="listings_page:viewed",
        value="v1|viewed|20090816141725963238000000|1",
        block_id=message.blocks[-2]["block_id"],
    )
    assert [b.action_id for b in rendered.buttons] == [
        "listings_page:viewed",
        "listings_page:shared",
        "share_card",
        "refresh_card",
    ]


def test_first_number_continues_the_numbering() -> None:
    message = card_message(make_card())
    rendered = render_message(message.text, message.blocks, first_number=5)
    assert [b.number for b in rendered.buttons] == [5, 6, 7, 8]
    assert "[5] Viewed (143)" in show(rendered)


def test_shared_card_mentions_and_dates() -> None:
    message = card_message(make_card(), shared_by="U0123ABC")
    rendered = render_message(message.text, message.blocks)
    assert "Shared by @U0123ABC · data as of 2026-11-24 09:30 UTC" in lines(rendered)
    assert rendered.buttons == []


def test_hostile_names_come_out_literally() -> None:
    name = "*Jane* _x_ <!channel> & ~y~"
    contact = make_contact(name, contact_id="C1")
    message = contact_picker(Candidates("x", (contact, make_contact(contact_id="C2")), 2))
    out = show(render_message(message.text, message.blocks))
    assert name in out
    assert "\u200b" not in out
    assert "&amp;" not in out and "&lt;" not in out


def test_carousel_cards_are_panels() -> None:
    listings = (make_listing(1), make_listing(2, photo_url=None))
    message = listings_message(make_view(listings))
    rendered = render_message(message.text, message.blocks)
    out = show(rendered)
    assert "Listings Jane Doe viewed" in out
    assert "Page 2 of 15 · 143 listings" in out
    assert out.count("[photo]") == 1
    assert out.count("╭") == 2
    assert "│ $451,000" in out
    assert "│ 1234 W Maple Ave, Denver, CO 80202" in out
    assert "│ 3 bd · 2.5 ba · 1,850 sq ft · Active · MLS #24-1187" in out
    assert lines(rendered)[-1] == "[1] ◀ Back  [2] Contact card  [3] Next ▶"
    assert [b.action_id for b in rendered.buttons] == [
        "listings_page:prev",
        "open_card:back",
        "listings_page:next",
    ]


def test_sections_layout_with_photo_markers() -> None:
    message = listings_message(
        make_view((make_listing(1),), page=1, total_pages=1), layout="sections"
    )
    out = lines(render_message(message.text, message.blocks))
    assert out[2:7] == [
        "[photo]",
        "$451,000",
        "1234 W Maple Ave, Denver, CO 80202",
        "3 bd · 2.5 ba · 1,850 sq ft",
        "Active · MLS #24-1187",
    ]


def test_picker_accessory_buttons_are_numbered_in_reading_order() -> None:
    contacts = tuple(make_contact(f"Jane {i}", contact_id=f"C{i}") for i in range(1, 4))
    message = contact_picker(Candidates("jane", contacts, 3))
    rendered = render_message(message.text, message.blocks)
    assert [(b.number, b.value) for b in rendered.buttons] == [(1, "C1"), (2, "C2"), (3, "C3")]
    out = lines(rendered)
    assert out[1:4] == ["Jane 1", "jane@example.org · 303-555-0142", "[1] Choose"]


def test_help_and_problem_render_code_without_backticks() -> None:
    message = help_message([("/activity <contact>", "look up a contact")])
    assert "/activity <contact> — look up a contact" in lines(
        render_message(message.text, message.blocks)
    )
    message = problem("Oops", "Detail", "Run `/activity help`.")
    assert lines(render_message(message.text, message.blocks)) == [
        "Oops",
        "Detail",
        "Run /activity help.",
    ]


@pytest.mark.parametrize(
    ("source", "plain", "styled"),
    [
        ("*bold* and _it_", "bold and it", {"bold": "bold", "it": "italic"}),
        ("~gone~ `code`", "gone code", {"gone": "strike", "code": "bold cyan"}),
        ("`*not bold*`", "*not bold*", {"*not bold*": "bold cyan"}),
        ("*_both_*", "both", {"both": "bold italic"}),
        ("*\u200bnot*\u200b _\u200bnot_\u200b", "*not* _not_", {}),
        ("a_b_c 2*3*4", "a_b_c 2*3*4", {}),
        ("&lt;b&gt; &amp;amp;", "<b> &amp;", {}),
        (
            "hi <@U123> in <#C1|general>",
            "hi @U123 in #general",
            {"@U123": "bold", "#general": "bold"},
        ),
        ("<!here> <!date^1^{date}|Nov 24>", "@here Nov 24", {"@here": "bold"}),
        (
            "<https://x.example|the site> <https://y.example>",
            "the site https://y.example",
            {"the site": "underline", "https://y.example": "underline"},
        ),
    ],
)
def test_mrkdwn(source: str, plain: str, styled: dict[str, str]) -> None:
    text = mrkdwn_text(source)
    assert text.plain == plain
    assert {text.plain[s.start : s.end]: str(s.style) for s in text.spans} == styled


def test_text_only_message() -> None:
    rendered = render_message("Just *text*", [])
    assert lines(rendered) == ["Just text"]
    assert rendered.buttons == []


def test_unknown_and_odd_blocks_never_crash() -> None:
    blocks = [
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "rich words"}]}
            ],
        },
        {"type": "mystery"},
        {"no": "type"},
        "not a block",
        {"type": "section"},
        {"type": "section", "text": None, "fields": "nope", "accessory": 7},
        {"type": "actions", "elements": [{"type": "static_select"}, None, {"type": "button"}]},
        {"type": "context", "elements": [{"type": "image", "image_url": "x", "alt_text": "y"}]},
        {"type": "divider"},
        {"type": "image", "image_url": "https://x", "alt_text": "a chart"},
        {"type": "carousel", "elements": [None, {"type": "card"}]},
    ]
    rendered = render_message("fallback", blocks)  # type: ignore[arg-type]
    out = show(rendered)
    assert "rich words" in out
    assert "[image: a chart]" in out
    assert "─" * 10 in out
    assert [(b.number, b.label, b.action_id) for b in rendered.buttons] == [(1, "(button)", None)]


TYPES = st.sampled_from(
    [
        "header",
        "section",
        "context",
        "actions",
        "divider",
        "image",
        "card",
        "carousel",
        "button",
        "plain_text",
        "mrkdwn",
        "rich_text",
        "mystery",
    ]
)
KEYS = st.sampled_from(
    [
        "text",
        "elements",
        "fields",
        "accessory",
        "block_id",
        "hero_image",
        "title",
        "body",
        "actions",
        "action_id",
        "value",
        "alt_text",
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | TYPES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.builds(
            lambda kind, rest: {"type": kind, **rest},
            TYPES,
            st.dictionaries(KEYS, inner, max_size=4),
        )
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(JSON, max_size=5))
def test_arbitrary_json_never_crashes(blocks: list[object]) -> None:
    rendered = render_message("fallback", blocks)  # type: ignore[arg-type]
    show(rendered)
    assert [b.number for b in rendered.buttons] == list(range(1, len(rendered.buttons) + 1))


def test_terminal_escape_sequences_are_stripped() -> None:
    contact = make_contact("Jane\x1b[2J\x1b]0;pwned\x07 Doe", contact_id="C1")
    message = contact_picker(Candidates("x\x1b[31m", (contact, make_contact(contact_id="C2")), 2))
    blocks = [*message.blocks, {"type": "header", "text": {"type": "plain_text", "text": "\x1bX"}}]
    out = show(render_message(message.text, blocks))
    assert "\x1b" not in out and "\x07" not in out
    assert "Jane[2J]0;pwned Doe" in out


def test_a_table_block_renders_as_columns():
    table = {
        "type": "table",
        "rows": [
            [{"type": "raw_text", "text": "Contact"}, {"type": "raw_text", "text": "Score"}],
            [{"type": "raw_text", "text": "Jane Doe"}, {"type": "raw_text", "text": "42"}],
        ],
    }
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render_message("fallback", [table]))
    text = out.getvalue()
    assert "Contact" in text and "Jane Doe" in text and "42" in text
    assert text.index("Jane Doe") > text.index("Contact")


DENVER = Reader(ZoneInfo("America/Denver"), dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC))


def test_the_card_reads_in_the_readers_zone_like_the_rest_of_the_console() -> None:
    message = card_message(make_card())  # looked up Tue 24 Nov 9:30 UTC: 2:30 in Denver
    assert lines(render_message(message.text, message.blocks, reader=DENVER))[-1] == (
        "Read today at 2:30"
    )
    assert lines(render_message(message.text, message.blocks))[-1] == "Read Tue 24 Nov 9:30 UTC"


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("<!date^1764000000^{time}|x>", "9:00"),  # 2025-11-24 16:00 UTC
        ("<!date^1764000000^{time_secs}|x>", "9:00:00"),
        ("<!date^1764000000^{date_num}|x>", "2025-11-24"),
        ("<!date^1764000000^{date}|x>", "November 24th, 2025"),
        ("<!date^1764000000^{date_short}|x>", "Nov 24, 2025"),
        ("<!date^1764000000^{date_long}|x>", "Monday, November 24th, 2025"),
        ("<!date^1764000000^{date_pretty}|x>", "November 24th, 2025"),
        ("<!date^1764000000^{date_short_pretty} {time}|x>", "Nov 24, 2025 9:00"),
        ("<!date^1764010800^{date_short}|x>", "Nov 24, 2025"),  # 19:00 UTC, still the 24th
        ("<!date^1764036000^{date_short}|x>", "Nov 24, 2025"),  # 02:00 UTC on the 25th
        ("<!date^1764000000^{date_num} {ago}|2025-11-24 16:00 UTC>", "2025-11-24 16:00 UTC"),
        ("<!date^1764000000^{time}^https://x.example|x>", "9:00"),  # an optional link
        ("<!date^nope^{time}|the fallback>", "the fallback"),
        ("<!date^99999999999999999999^{time}|far>", "far"),
        ("<!date^1764000000|no format>", "no format"),
    ],
)
def test_date_tokens_in_the_readers_zone(token: str, shown: str) -> None:
    assert mrkdwn_text(token).plain == (token.rsplit("|", 1)[1][:-1])  # no reader: fallback
    assert show(render_message(token, [], reader=DENVER)).strip() == shown


def test_pretty_dates_say_today_yesterday_tomorrow_in_the_readers_zone() -> None:
    now = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # still the 23rd in Denver
    reader = Reader(ZoneInfo("America/Denver"), now)
    for hours, word in ((-24, "yesterday"), (0, "today"), (24, "tomorrow"), (48, "Nov 25, 2026")):
        moment = int((now + dt.timedelta(hours=hours)).timestamp())
        text = f"<!date^{moment}^{{date_short_pretty}}|x>"
        assert show(render_message(text, [], reader=reader)).strip() == word
