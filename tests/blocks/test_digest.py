"""Digests: the morning post, its pages, the digest buttons' values, and the subscription replies."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from activity.models import DigestEntry
from blocks import (
    DIGEST_MORE_RE,
    DIGEST_OPEN_RE,
    BadActionValue,
    DigestCursor,
    Message,
    decode_contact_id,
    digest_added,
    digest_list,
    digest_reconnect_dm,
    digest_removed,
)
from blocks import decode_digest_cursor as decode_with
from blocks import digest_message as render_digest
from blocks import digest_page as render_page
from blocks import encode_digest_cursor as encode_with
from blocks.digest import TABLE_COLUMNS, digest_refused_dm, personal_digest_message
from spark.models import ActivitySummary
from tests.helpers.blocks import (
    DIGEST_DAY,
    HOSTILE_NAMES,
    all_texts,
    assert_no_formatting_from,
    assert_valid_message,
    block_types,
    buttons,
    make_digest,
    make_engagement,
    make_entry,
    make_subscription,
    mrkdwn_texts,
)

KEY = bytes(range(32))  # the digest-cursor key the renderers are given
CHANNEL = "C123"  # `make_digest`'s channel: where its buttons may be clicked
digest_message = partial(render_digest, cursor_key=KEY)
digest_page = partial(render_page, cursor_key=KEY)
encode_digest_cursor = partial(encode_with, key=KEY, channel_id=CHANNEL)
decode_digest_cursor = partial(decode_with, key=KEY, channel_id=CHANNEL)
FOOTER = "Cards open privately, with your own Flexmls access."
LATE = "Posted late: the bot was offline at the scheduled time."
COLUMNS = ["Contact", "Since yesterday", "Score"]


def assert_valid(message: Message, *, channels: tuple[str, ...] = ("C123",)) -> None:
    """The shared check, allowing the `<#C…>` mentions we write ourselves for `channels`
    (the shared message check only knows user mentions and dates; views allow channels too)."""
    for channel in channels:
        assert re.fullmatch(r"[CGD][A-Z0-9]{2,20}", channel)

    def mask(text: str) -> str:
        for channel in channels:
            text = text.replace(f"<#{channel}>", "#channel")
        return text

    masked = Message(
        text=mask(message.text),
        blocks=tuple(json.loads(mask(json.dumps(b))) for b in message.blocks),
    )
    assert_valid_message(masked)


def role(block: dict[str, Any]) -> str:
    return block["block_id"].split(".")[0]


def by_role(message: Message) -> dict[str, dict[str, Any]]:
    return {role(b): b for b in message.blocks}


def context_text(block: dict[str, Any]) -> list[str]:
    return [e["text"] for e in block["elements"]]


def table_rows(message: Message) -> list[list[str]]:
    (table,) = [b for b in message.blocks if b["type"] == "table"]
    assert all(c["type"] == "raw_text" for row in table["rows"] for c in row)
    return [[c["text"] for c in row] for row in table["rows"]]


def mover(n: int, movement: float, **kw: Any) -> DigestEntry:
    score = kw.pop("score", 20.0)
    return make_entry(n, score=score, previous=score - movement, **kw)


def typical_digest(**kw: Any):
    jane = mover(1, 12, name="Jane Doe", band="hot", score=42, viewed=12, shared=2)
    john = mover(2, 9, name="John Roe", band="warm", score=15)
    ann = mover(3, -8, name="Ann Lee", band="cold", score=3, viewed=0, shared=0)
    sam = mover(5, 2, name="Sam Small", band="warm", score=9, viewed=1, shared=0)
    still = mover(4, 0, name="Still Stone", band="cold", score=1, viewed=0, shared=0)
    return make_digest((jane, john, ann, sam, still), **kw)


# ------------------------------------------------------------------------------ the cursor


DIGEST_CURSORS = st.builds(
    DigestCursor,
    subscription_id=st.integers(min_value=1, max_value=10**9),
    local_date=st.dates(),
    page=st.integers(min_value=1, max_value=10_000),
)


def sign_raw(text: str, *, key: bytes = KEY, channel_id: str = CHANNEL) -> str:
    """`text` (`d2|<id>|<date>|<page>`) with a signature over exactly those characters."""
    mac = hmac.new(key, f"{text}|{channel_id}".encode(), hashlib.sha256).digest()
    return f"{text}|{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_digest_cursor_format() -> None:
    value = encode_digest_cursor(DigestCursor(7, DIGEST_DAY, 1))
    assert value == sign_raw("d2|7|2026-11-27|1")
    assert re.fullmatch(r"d2\|7\|2026-11-27\|1\|[A-Za-z0-9_-]{43}", value)


@given(DIGEST_CURSORS)
def test_digest_cursor_round_trip(cursor: DigestCursor) -> None:
    value = encode_digest_cursor(cursor)
    assert len(value) <= 120
    assert decode_digest_cursor(value) == cursor


@given(st.text(max_size=150))
def test_arbitrary_text_is_a_digest_cursor_or_raises_bad_action_value(text: str) -> None:
    try:
        cursor = decode_digest_cursor(text)
    except BadActionValue:
        return
    assert encode_digest_cursor(cursor) == text


_PART = st.text(alphabet="0123456789-+ T:\u0662|d", max_size=12)


@given(_PART, _PART, _PART)
def test_near_miss_digest_cursors_decode_exactly_or_raise(a: str, b: str, c: str) -> None:
    text = sign_raw(f"d2|{a}|{b}|{c}")  # even correctly signed, only the exact form is read
    try:
        cursor = decode_digest_cursor(text)
    except BadActionValue:
        return
    assert encode_digest_cursor(cursor) == text


@pytest.mark.parametrize(
    "value",
    ["d2|1|0001-01-01|1", "d2|1000000000|9999-12-31|10000", "d2|42|2028-02-29|9"],
)
def test_boundary_digest_cursors_are_accepted(value: str) -> None:
    signed = sign_raw(value)
    assert encode_digest_cursor(decode_digest_cursor(signed)) == signed


@pytest.mark.parametrize(
    "value",
    [
        None,
        7,
        b"d1|7|2026-11-27|1",
        "",
        # Unsigned values from before signing: refused whatever they point at.
        "d1|7|2026-11-27|1",
        "d1|1|0001-01-01|1",
        "d1|1000000000|9999-12-31|10000",
        "d2|7|2026-11-27|1",
        "d2|7|2026-11-27|1|",
        "d2|7|2026-11-27|1|" + "A" * 43,
        "d2|7|2026-11-27|1|" + "A" * 44,
        sign_raw("d2|7|2026-11-27|1") + "|x",
        sign_raw("d2|7|2026-11-27|1")[:-1],
        sign_raw("d2|7|2026-11-27|1")[:-1] + "=",
        sign_raw("d1|7|2026-11-27|1"),
        sign_raw("D2|7|2026-11-27|1"),
        sign_raw("v1|7|2026-11-27|1"),
        sign_raw("d2||2026-11-27|1"),
        sign_raw("d2|0|2026-11-27|1"),
        sign_raw("d2|07|2026-11-27|1"),
        sign_raw("d2|+7|2026-11-27|1"),
        sign_raw("d2|-7|2026-11-27|1"),
        sign_raw("d2|1000000001|2026-11-27|1"),
        sign_raw("d2|99999999999|2026-11-27|1"),
        sign_raw("d2|7.0|2026-11-27|1"),
        sign_raw("d2|\u0667|2026-11-27|1"),
        sign_raw("d2|7|2026-13-01|1"),
        sign_raw("d2|7|2026-02-29|1"),
        sign_raw("d2|7|2026-11-31|1"),
        sign_raw("d2|7|0000-01-01|1"),
        sign_raw("d2|7|2026-1-27|1"),
        sign_raw("d2|7|20261127|1"),
        sign_raw("d2|7|2026-W48-5|1"),
        sign_raw("d2|7|2026-11-27T00:00|1"),
        sign_raw("d2|7| 2026-11-27|1"),
        sign_raw("d2|7|\u0662\u0660\u0662\u0666-11-27|1"),
        sign_raw("d2|7|2026-11-27|0"),
        sign_raw("d2|7|2026-11-27|01"),
        sign_raw("d2|7|2026-11-27|+1"),
        sign_raw("d2|7|2026-11-27|10001"),
        sign_raw("d2|7|2026-11-27|1 "),
        sign_raw("d2|7|2026-11-27|1\n"),
        "d2|7|2026-11-27|" + "9" * 200,
    ],
)
def test_forged_or_truncated_digest_cursors_are_refused(value: object) -> None:
    with pytest.raises(BadActionValue):
        decode_digest_cursor(value)


GENUINE = DigestCursor(7, DIGEST_DAY, 2)


@pytest.mark.parametrize(
    ("value", "channel_id"),
    [
        (encode_digest_cursor(GENUINE), "C999"),  # clicked in another channel
        (encode_digest_cursor(GENUINE), ""),  # clicked outside any channel
        (
            encode_with(GENUINE, key=b"another key, 32 bytes long......", channel_id=CHANNEL),
            CHANNEL,
        ),
        (encode_digest_cursor(GENUINE).replace("|7|", "|8|"), CHANNEL),  # another digest
        (encode_digest_cursor(GENUINE).replace("2026-11-27", "2026-11-26"), CHANNEL),
        (encode_digest_cursor(GENUINE).replace("|2|", "|3|"), CHANNEL),  # another page
    ],
)
def test_a_cursor_works_only_as_signed_for_its_channel(value: str, channel_id: str) -> None:
    assert decode_digest_cursor(encode_digest_cursor(GENUINE)) == GENUINE
    with pytest.raises(BadActionValue):
        decode_with(value, key=KEY, channel_id=channel_id)


@pytest.mark.parametrize("key", [b"", b"short"])
def test_a_missing_or_short_key_signs_nothing(key: bytes) -> None:
    with pytest.raises(ValueError):
        encode_with(GENUINE, key=key, channel_id=CHANNEL)
    with pytest.raises(ValueError):
        decode_with(encode_digest_cursor(GENUINE), key=key, channel_id=CHANNEL)


def test_the_more_button_is_signed_for_the_digests_channel() -> None:
    message = render_digest(make_digest(_many(30), channel_id="C0SALES"), cursor_key=KEY)
    more = next(b for b in buttons(message) if b["action_id"] == "digest_more")
    assert decode_with(more["value"], key=KEY, channel_id="C0SALES") == DigestCursor(
        7, DIGEST_DAY, 1
    )
    with pytest.raises(BadActionValue):
        decode_with(more["value"], key=KEY, channel_id=CHANNEL)


@pytest.mark.parametrize(
    ("subscription_id", "local_date", "page"),
    [
        (0, DIGEST_DAY, 1),
        (10**9 + 1, DIGEST_DAY, 1),
        (True, DIGEST_DAY, 1),
        ("7", DIGEST_DAY, 1),
        (7, dt.datetime(2026, 11, 27, 8, 0), 1),
        (7, "2026-11-27", 1),
        (7, DIGEST_DAY, 0),
        (7, DIGEST_DAY, 10_001),
    ],
)
def test_invalid_digest_cursors_cannot_be_built(
    subscription_id: object, local_date: object, page: object
) -> None:
    with pytest.raises(BadActionValue):
        DigestCursor(subscription_id, local_date, page)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        (DIGEST_OPEN_RE, ["digest_open", "digest_open:3"], ["digest_opener", "digest_open\n"]),
        (DIGEST_MORE_RE, ["digest_more", "digest_more:next"], ["digest_mores", "xdigest_more"]),
    ],
)
def test_digest_action_id_patterns(
    pattern: re.Pattern[str], matches: list[str], misses: list[str]
) -> None:
    assert all(pattern.search(m) for m in matches)
    assert not any(pattern.search(m) for m in misses)


# ------------------------------------------------------------------------ the morning digest


def test_typical_digest() -> None:
    """One story: heating up (what they did), cooling off, then the other movers; each
    contact once, units named, Still Stone (no movement) left to "and 1 more"."""
    message = digest_message(typical_digest(failed=3))
    assert_valid_message(message)
    blocks = by_role(message)
    assert list(blocks) == [
        "digest_header",
        "digest_scope",
        "digest_heating_title",
        "digest_heating_1",
        "digest_heating_2",
        "digest_cooling_title",
        "digest_cooling_1",
        "digest_movers_title",
        "digest_movers",
        "digest_more_note",  # Still Stone did not move
        "digest_more",
        "digest_footer",
    ]
    assert blocks["digest_header"]["text"]["text"] == "Morning digest · Fri 27 Nov"
    assert context_text(blocks["digest_scope"]) == [
        "Contacts <@U123> looked up in the last 30 days"
    ]
    assert blocks["digest_heating_1"]["text"]["text"] == (
        "*Jane Doe* · +12 views · 🔥 42 points (+12)"
    )
    assert blocks["digest_heating_2"]["text"]["text"] == (
        "*John Roe* · +3 views · 🌤 15 points (+9)"
    )
    assert blocks["digest_cooling_1"]["text"]["text"] == (
        "*Ann Lee* · nothing new · 🧊 3 points (\u22128)"
    )
    assert blocks["digest_movers_title"]["text"]["text"] == "*Other movers*"
    assert table_rows(message) == [COLUMNS, ["Sam Small", "+1 view", "🌤 9 points (+2)"]]
    assert context_text(blocks["digest_more_note"]) == ["and 1 more"]
    (more,) = blocks["digest_more"]["elements"]
    assert (more["text"]["text"], more["action_id"]) == ("More", "digest_more")
    assert decode_digest_cursor(more["value"]) == DigestCursor(7, DIGEST_DAY, 1)
    assert context_text(blocks["digest_footer"]) == [
        "🔥 1 hot · 🌤 2 warm · 🧊 2 cold of 5 contacts",
        "3 contacts could not be read.",
        FOOTER,
    ]
    assert message.text == (
        "Morning digest, Fri 27 Nov: 2 heating up (Jane Doe +12 views, John Roe +3 views), "
        "1 cooling off, 5 contacts."
    )


def names_shown(message: Message) -> list[str]:
    """Every contact named in the digest's body, once per mention (sections and table)."""
    found = []
    for block in message.blocks:
        if role(block).endswith("_title"):
            continue
        if block["type"] == "section" and "text" in block:
            found += re.findall(r"^\*(?:\d+\. )?([^*]+)\*(?= ·|\n|$)", block["text"]["text"])
        if block["type"] == "table":
            found += [row[0]["text"] for row in block["rows"][1:]]
    return found


@pytest.mark.parametrize("layout", ["table", "sections"])
def test_no_contact_is_listed_twice(layout: str) -> None:
    entries = _many(30)
    cooling = tuple(mover(100 + i, -9 - i) for i in range(5))
    digest = make_digest(
        (*entries[:5], *cooling, *entries[5:]), heating=entries[:5], cooling=cooling
    )
    message = digest_message(digest, layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    shown = names_shown(message)
    assert len(shown) == len(set(shown)) == 20  # 5 heating, 5 cooling, 10 other movers
    assert context_text(by_role(message)["digest_more_note"]) == ["and 15 more"]


@pytest.mark.parametrize("layout", ["table", "sections"])
def test_units_are_always_named(layout: str) -> None:
    message = digest_message(typical_digest(), layout=layout)  # type: ignore[arg-type]
    for block in message.blocks:
        if role(block).startswith(("digest_heating_", "digest_cooling_", "digest_mover_")):
            if role(block).endswith("_title"):
                continue
            line = block["text"]["text"]
            assert re.search(r"\d+ points", line), line
            assert re.search(r"views?\b|nothing new", line), line
    for row in table_rows(message)[1:] if layout == "table" else []:
        assert re.search(r"views?|e-mail opens?|nothing new", row[1]) and "points" in row[2]


def test_what_they_did_counts_only_the_contacts_own_actions() -> None:
    """Views and e-mail opens are the contact's; what the agent shared or sent is not."""
    entry = DigestEntry(
        contact_id="C1",
        name="Jane Doe",
        summary=ActivitySummary(),
        day=ActivitySummary(
            listings_viewed=1,
            listings_shared=7,
            manual_emails_sent=4,
            manual_emails_opened=1,
            subscription_emails_opened=2,
        ),
        week=None,
        engagement=make_engagement("warm", 20.0),
        previous_score=10.0,
    )
    message = digest_message(make_digest((entry,)))
    assert by_role(message)["digest_heating_1"]["text"]["text"] == (
        "*Jane Doe* · +1 view · +3 e-mail opens · 🌤 20 points (+10)"
    )
    assert "shared" not in message.text and "sent" not in message.text


def test_every_contact_button_opens_that_contacts_card() -> None:
    message = digest_message(typical_digest())
    found = [b for b in buttons(message) if b["action_id"] != "digest_more"]
    assert [(b["text"]["text"], b["action_id"]) for b in found] == [
        ("Card", "digest_open:1"),
        ("Card", "digest_open:2"),
        ("Card", "digest_open:3"),
    ]
    assert [decode_contact_id(b["value"]) for b in found] == ["C1", "C2", "C3"]
    assert found[0]["accessibility_label"] == "Open the card of Jane Doe"


@pytest.mark.parametrize(
    ("scope", "subscriber", "words"),
    [
        ("recent", "U123", "Contacts <@U123> looked up in the last 30 days"),
        ("all", "U123", "All of <@U123>'s contacts"),
        ("tag:Buyer", "U123", "Contacts tagged “Buyer”"),
        ("TAG:First time buyer", "W0ENT", "Contacts tagged “First time buyer”"),
        ("recent", "<!channel>", "Contacts a teammate looked up in the last 30 days"),
        ("all", "u123", "All of a teammate's contacts"),
        ("mystery", "U123", "Contacts in the scope “mystery”"),
        ("tag:", "U123", "Contacts in the scope “tag:”"),
    ],
)
def test_scope_in_words(scope: str, subscriber: str, words: str) -> None:
    message = digest_message(typical_digest(scope=scope, subscriber_id=subscriber))
    assert_valid_message(message)
    assert context_text(by_role(message)["digest_scope"]) == [words]


@pytest.mark.parametrize("tag", HOSTILE_NAMES)
def test_hostile_tags_are_escaped(tag: str) -> None:
    message = digest_message(typical_digest(scope=f"tag:{tag}"))
    assert_valid_message(message)
    assert_no_formatting_from(tag, message)
    (scope,) = context_text(by_role(message)["digest_scope"])
    assert scope.startswith("Contacts tagged “") or scope.startswith("Contacts in the scope “")


@pytest.mark.parametrize("late", [True, False])
def test_late_digests_say_why(late: bool) -> None:
    message = digest_message(typical_digest(late=late))
    assert_valid_message(message)
    assert (LATE in context_text(by_role(message)["digest_scope"])) is late


@pytest.mark.parametrize(
    ("failed", "note"),
    [(0, None), (1, "1 contact could not be read."), (3, "3 contacts could not be read.")],
)
def test_unreadable_contacts_are_counted_in_the_footer(failed: int, note: str | None) -> None:
    message = digest_message(typical_digest(failed=failed))
    assert_valid_message(message)
    counts = "🔥 1 hot · 🌤 2 warm · 🧊 2 cold of 5 contacts"
    expected = [counts, note, FOOTER] if note else [counts, FOOTER]
    assert context_text(by_role(message)["digest_footer"]) == expected


@pytest.mark.parametrize(
    ("band", "marker"), [("hot", "🔥 Hot"), ("warm", "🌤 Warm"), ("cold", "🧊 Cold")]
)
def test_each_band(band: str, marker: str) -> None:
    entry = mover(1, 6, band=band)
    small = mover(2, 2, band=band)
    message = digest_message(make_digest((entry, small)))
    assert_valid_message(message)
    assert table_rows(message)[1][-1] == f"{marker.split()[0]} 20 points (+2)"
    (counts, _) = context_text(by_role(message)["digest_footer"])
    expected = {"hot": 0, "warm": 0, "cold": 0, band: 2}
    assert counts == (
        f"🔥 {expected['hot']} hot · 🌤 {expected['warm']} warm · "
        f"🧊 {expected['cold']} cold of 2 contacts"
    )
    heating = by_role(message)["digest_heating_1"]["text"]["text"]
    assert heating.endswith(f"{marker.split()[0]} 20 points (+6)")


def test_only_entries_that_moved_are_top_movers_and_top_limits_them() -> None:
    entries = tuple(mover(i, 0 if i % 2 else 1, viewed=0) for i in range(1, 30))
    message = digest_message(make_digest(entries, heating=(), cooling=()), top=3)
    assert_valid_message(message)
    assert [row[0] for row in table_rows(message)[1:]] == ["Contact 2", "Contact 4", "Contact 6"]
    assert context_text(by_role(message)["digest_more_note"]) == ["and 26 more"]


@pytest.mark.parametrize(
    ("movement", "viewed", "opened", "is_mover"),
    [
        (0, 0, 0, False),  # nothing at all
        (-0.4, 0, 0, False),  # a quiet contact's score decays a little: no movement
        (0.6, 0, 0, False),
        (-1, 0, 0, True),  # a point is movement
        (1.5, 0, 0, True),
        (0, 1, 0, True),  # did something, whatever the score says
        (0, 0, 1, True),
        (float("nan"), 0, 0, False),
    ],
)
def test_rows_without_movement_are_left_out_of_the_movers(
    movement: float, viewed: int, opened: int, is_mover: bool
) -> None:
    entry = DigestEntry(
        contact_id="C2",
        name="Maybe Mover",
        summary=ActivitySummary(),
        day=ActivitySummary(listings_viewed=viewed, manual_emails_opened=opened, listings_shared=3),
        week=None,
        engagement=make_engagement("warm", 10.0),
        previous_score=10.0 - movement,
    )
    anchor = mover(1, 12)
    message = digest_message(make_digest((anchor, entry), heating=(anchor,), cooling=()))
    assert_valid_message(message)
    in_table = "digest_movers" in by_role(message) and table_rows(message)[1][0] == "Maybe Mover"
    assert in_table is is_mover
    assert (
        context_text(by_role(message).get("digest_more_note", {"elements": []})) == ["and 1 more"]
    ) is not is_mover


def test_a_quiet_day_says_nothing_moved() -> None:
    entries = tuple(mover(i, 0, viewed=0, shared=2) for i in range(1, 4))
    message = digest_message(make_digest(entries))
    assert_valid_message(message)
    assert "digest_movers" not in by_role(message)
    assert by_role(message)["digest_quiet"]["text"]["text"] == (
        "Quiet day: nobody viewed or opened anything, and no score moved."
    )
    assert message.text == "Morning digest, Fri 27 Nov: no big moves, 3 contacts."


def first_timer(n: int, *, viewed: int, opened: int = 0, week: ActivitySummary | None = None):
    """A contact seen for the first time: only its totals so far (or a week we know)."""
    return DigestEntry(
        contact_id=f"C{n}",
        name=f"Contact {n}",
        summary=ActivitySummary(
            listings_viewed=viewed, manual_emails_opened=opened, listings_shared=50
        ),
        day=None,
        week=week,
        engagement=None,
        previous_score=None,
    )


def test_a_first_digest_shows_the_most_active_not_just_a_count() -> None:
    """Day one: no "Tracking 112 contacts", but who did the most (the core ranked them)."""
    entries = tuple(first_timer(i, viewed=200 - i, opened=i % 3) for i in range(1, 113))
    message = digest_message(make_digest(entries, failed=3))
    assert_valid_message(message)
    assert list(by_role(message)) == [
        "digest_header",
        "digest_scope",
        "digest_first_day",
        *(f"digest_active_{n}" for n in range(1, 11)),
        "digest_more_note",
        "digest_more",
        "digest_footer",
    ]
    blocks = by_role(message)
    assert "Most active so far" in blocks["digest_first_day"]["text"]["text"]
    assert "Tracking" not in " ".join(all_texts(message))
    assert blocks["digest_active_1"]["text"]["text"] == (
        "*Contact 1* · 199 views · 1 e-mail open so far"
    )
    assert blocks["digest_active_3"]["text"]["text"] == "*Contact 3* · 197 views so far"
    assert context_text(blocks["digest_more_note"]) == ["and 102 more"]
    cards = [b for b in buttons(message) if b["action_id"].startswith("digest_open")]
    assert [decode_contact_id(b["value"]) for b in cards] == [f"C{i}" for i in range(1, 11)]
    more = [b for b in buttons(message) if b["action_id"] == "digest_more"]
    assert decode_digest_cursor(more[0]["value"]) == DigestCursor(7, DIGEST_DAY, 1)
    assert context_text(blocks["digest_footer"]) == ["3 contacts could not be read.", FOOTER]
    assert message.text == (
        "Morning digest, Fri 27 Nov: most active so far: Contact 1 (199 views · 1 e-mail open "
        "so far), Contact 2 (198 views · 2 e-mail opens so far), Contact 3 (197 views so far); "
        "112 contacts."
    )


def test_a_first_digest_says_this_week_where_we_know_it() -> None:
    known = first_timer(1, viewed=5, week=ActivitySummary(listings_viewed=4))
    quiet = first_timer(2, viewed=90, week=ActivitySummary())
    never = first_timer(3, viewed=0)
    message = digest_message(make_digest((known, quiet, never)))
    assert_valid_message(message)
    lines = [by_role(message)[f"digest_active_{n}"]["text"]["text"] for n in (1, 2, 3)]
    assert lines == [
        "*Contact 1* · +4 views this week",
        "*Contact 2* · nothing new this week",
        "*Contact 3* · no views or opens yet",
    ]


def test_an_empty_digest() -> None:
    message = digest_message(make_digest(()))
    assert_valid_message(message)
    assert by_role(message)["digest_empty"]["text"]["text"] == "No contacts to report today."
    assert message.text == "Morning digest, Fri 27 Nov: no contacts to report."


def _many(count: int) -> tuple[DigestEntry, ...]:
    """`count` entries, most moved first: movement count, count − 1, …, 1 (so all move)."""
    return tuple(mover(i, count - i + 1, score=100.0) for i in range(1, count + 1))


@pytest.mark.parametrize("layout", ["table", "sections"])
@pytest.mark.parametrize("count", [0, 1, 10, 1000])
def test_any_number_of_entries_fits_one_message(layout: str, count: int) -> None:
    entries = _many(count)
    # The core puts the five best in `heating`; make the cooling list come from the tail.
    cooling = tuple(reversed(entries[-5:])) if count > 10 else ()
    digest = make_digest(entries, heating=entries[:5], cooling=cooling)
    message = digest_message(digest, layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert len(message.blocks) <= 50
    shown = min(count, 5) + len(cooling) + min(10, max(0, count - 5 - len(cooling)))
    notes = by_role(message).get("digest_more_note")
    if count > shown:
        assert context_text(notes) == [f"and {count - shown:,} more"]
        (more,) = [b for b in buttons(message) if b["action_id"] == "digest_more"]
        assert decode_digest_cursor(more["value"]) == DigestCursor(7, DIGEST_DAY, 1)
    else:
        assert notes is None
        assert not any(b["action_id"] == "digest_more" for b in buttons(message))
    if count:
        assert message.text.startswith(f"Morning digest, Fri 27 Nov: {min(count, 5)} heating up")
        assert message.text.endswith(f"{count:,} contact{'s' if count > 1 else ''}.")


def test_and_n_more_counts_every_contact_not_shown_anywhere() -> None:
    entries = _many(1000)
    digest = make_digest(entries, heating=entries[995:], cooling=entries[990:995])
    message = digest_message(digest)
    assert_valid_message(message)
    assert context_text(by_role(message)["digest_more_note"]) == ["and 980 more"]


@pytest.mark.parametrize("layout", ["table", "sections"])
def test_a_large_top_is_capped_to_slacks_limits(layout: str) -> None:
    entries = _many(1000)
    digest = make_digest(entries, heating=entries[:5], cooling=entries[-5:])
    message = digest_message(digest, layout=layout, top=500)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert len(message.blocks) <= 50
    if layout == "table":
        rows = table_rows(message)
        assert len(rows) == 100
        assert all(len(row) == 3 for row in rows)  # narrow enough for a phone
    else:
        assert len(message.blocks) == 50


def test_table_layout_validates_through_slack_sdk() -> None:
    message = digest_message(typical_digest(), layout="table")
    (table,) = [b for b in message.blocks if b["type"] == "table"]
    parsed = Block.parse(table)
    assert type(parsed).__name__ == "TableBlock"
    assert parsed.to_dict() == table
    assert len(table["column_settings"]) == len(TABLE_COLUMNS) == 3
    assert table["column_settings"][2] == {"align": "right"}


def test_sections_layout_puts_each_mover_in_one_narrow_section() -> None:
    message = digest_message(typical_digest(), layout="sections")
    assert_valid_message(message)
    assert "table" not in block_types(message)
    movers = [b for b in message.blocks if role(b).startswith("digest_mover_")]
    assert [b["text"]["text"] for b in movers] == ["*Sam Small* · +1 view · 🌤 9 points (+2)"]
    assert all("fields" not in b for b in message.blocks)
    assert movers[0]["accessory"]["action_id"] == "digest_open:4"  # after 2 heating, 1 cooling


def test_unknown_layout_or_negative_top_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        digest_message(typical_digest(), layout="carousel")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        digest_message(typical_digest(), top=-1)


@pytest.mark.parametrize("score", [float("nan"), float("inf")])
def test_a_broken_score_reads_n_a_instead_of_crashing(score: float) -> None:
    broken = DigestEntry(
        contact_id="C1",
        name="Jane Doe",
        summary=ActivitySummary(),
        day=ActivitySummary(listings_viewed=1),
        week=None,
        engagement=make_engagement("hot", score),
        previous_score=1.0,
    )
    digest = make_digest((broken,), heating=(broken,), cooling=())
    for message in (digest_message(digest), digest_page(digest, 1)):
        assert_valid_message(message)
        assert any("n/a" in text for text in all_texts(message))
    assert "n/a points" in by_role(digest_message(digest))["digest_heating_1"]["text"]["text"]


def test_entries_whose_id_is_unfit_for_a_button_get_none() -> None:
    odd = mover(1, 12, contact_id="C 1; drop", name="Odd Id")
    fine = mover(2, 10)
    message = digest_message(make_digest((odd, fine)))
    assert_valid_message(message)
    assert [decode_contact_id(b["value"]) for b in buttons(message)] == ["C2"]
    assert by_role(message)["digest_heating_1"]["text"]["text"].startswith("*Odd Id*")


def test_an_unaddressable_subscription_gets_no_more_button() -> None:
    entries = _many(30)
    message = digest_message(make_digest(entries, subscription_id=0))
    assert_valid_message(message)
    assert context_text(by_role(message)["digest_more_note"]) == ["and 15 more"]
    assert "digest_more" not in by_role(message)


@pytest.mark.parametrize("layout", ["table", "sections"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_stay_literal(layout: str, name: str) -> None:
    entries = (mover(1, 12, name=name), mover(2, -9, name=name), mover(3, 2, name=name))
    message = digest_message(make_digest(entries), layout=layout)  # type: ignore[arg-type]
    assert_valid_message(message)
    assert_no_formatting_from(name, message)
    for text in all_texts(message):
        assert "\u202e" not in text and "\x00" not in text
    if layout == "table":
        for row in table_rows(message)[1:]:
            assert 1 <= len(row[0]) <= 100
            assert "\n" not in row[0] and "\u202e" not in row[0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=15), st.text(max_size=100))
def test_any_names_and_tag_give_a_valid_digest(names: list[str], tag: str) -> None:
    entries = tuple(mover(i, 6 - i, name=n) for i, n in enumerate(names, 1))
    for layout in ("table", "sections"):
        message = digest_message(make_digest(entries, scope=f"tag:{tag}"), layout=layout)  # type: ignore[arg-type]
        assert_valid_message(message)
        for text in mrkdwn_texts(message):
            assert "<!channel>" not in text


# ------------------------------------------------------------------------- digest pages


def paged(count: int = 110):
    return make_digest(_many(count))


def nav(message: Message) -> list[tuple[str, str, DigestCursor]]:
    return [
        (b["text"]["text"], b["action_id"], decode_digest_cursor(b["value"]))
        for b in buttons(message)
        if b["action_id"].startswith("digest_more")
    ]


def test_first_page() -> None:
    message = digest_page(paged(), 1)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "Digest · Fri 27 Nov · page 1 of 6"
    entries = [b for b in message.blocks if role(b).startswith("digest_entry_")]
    assert len(entries) == 20
    assert entries[0]["text"]["text"] == "*Contact 1*\n+3 views since yesterday · 🌤 100 points"
    assert nav(message) == [("Next ▶", "digest_more:next", DigestCursor(7, DIGEST_DAY, 2))]
    cards = [b for b in buttons(message) if b["action_id"].startswith("digest_open")]
    assert [b["action_id"] for b in cards] == [f"digest_open:{i}" for i in range(1, 21)]
    assert [decode_contact_id(b["value"]) for b in cards] == [f"C{i}" for i in range(1, 21)]
    assert message.text.startswith("Digest, Fri 27 Nov, page 1 of 6: Contact 1, Contact 2")


def test_middle_page() -> None:
    message = digest_page(paged(), 2)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "Digest · Fri 27 Nov · page 2 of 6"
    assert nav(message) == [
        ("◀ Prev", "digest_more:prev", DigestCursor(7, DIGEST_DAY, 1)),
        ("Next ▶", "digest_more:next", DigestCursor(7, DIGEST_DAY, 3)),
    ]
    cards = [b for b in buttons(message) if b["action_id"].startswith("digest_open")]
    assert [decode_contact_id(b["value"]) for b in cards] == [f"C{i}" for i in range(21, 41)]


def test_last_page() -> None:
    message = digest_page(paged(), 6)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "Digest · Fri 27 Nov · page 6 of 6"
    assert len([b for b in message.blocks if role(b).startswith("digest_entry_")]) == 10
    assert nav(message) == [("◀ Prev", "digest_more:prev", DigestCursor(7, DIGEST_DAY, 5))]


@pytest.mark.parametrize("page", [7, 10_000, 0, -3])
def test_out_of_range_page_offers_the_first_page(page: int) -> None:
    message = digest_page(paged(), page)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "Digest · Fri 27 Nov"
    assert message.text == "That page is empty: this digest has 6 pages."
    assert nav(message) == [("◀ First page", "digest_more:first", DigestCursor(7, DIGEST_DAY, 1))]


def test_a_digest_without_contacts_has_an_empty_page_and_no_buttons() -> None:
    message = digest_page(make_digest(()), 1)
    assert_valid_message(message)
    assert message.text == "This digest has no contacts."
    assert buttons(message) == []


def test_a_single_page_has_no_prev_or_next() -> None:
    message = digest_page(paged(3), 1)
    assert_valid_message(message)
    assert message.blocks[0]["text"]["text"] == "Digest · Fri 27 Nov · page 1 of 1"
    assert nav(message) == []


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        (
            mover(1, 2, band="hot", score=42.0, viewed=3, shared=0),
            "*Contact 1*\n+3 views since yesterday · 🔥 42 points",
        ),
        (
            mover(1, 0, band="cold", viewed=0, shared=4),
            "*Contact 1*\nNothing new since yesterday · 🧊 20 points",
        ),
        (
            make_entry(1, history=False),
            "*Contact 1*\nNew: changes show from tomorrow · no score yet",
        ),
    ],
)
def test_page_entry_lines(entry: DigestEntry, line: str) -> None:
    message = digest_page(make_digest((entry,)), 1)
    assert_valid_message(message)
    (section,) = [b for b in message.blocks if role(b).startswith("digest_entry_")]
    assert section["text"]["text"] == line


def test_pages_of_different_numbers_get_different_block_ids() -> None:
    first, second = digest_page(paged(), 1), digest_page(paged(), 2)
    assert not {b["block_id"] for b in first.blocks} & {b["block_id"] for b in second.blocks}


@pytest.mark.parametrize("per_page", [0, 46])
def test_per_page_must_fit_a_message(per_page: int) -> None:
    with pytest.raises(ValueError):
        digest_page(paged(), 1, per_page=per_page)


def test_the_largest_page_fits() -> None:
    message = digest_page(paged(1000), 2, per_page=45)
    assert_valid_message(message)
    assert len(message.blocks) == 48


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_on_a_page(name: str) -> None:
    message = digest_page(make_digest((mover(1, 3, name=name), mover(2, 1))), 1)
    assert_valid_message(message)
    assert_no_formatting_from(name, message)


# ------------------------------------------------------------------------- subscriptions


def test_digest_added_makes_the_privacy_consequence_explicit() -> None:
    message = digest_added(make_subscription())
    assert_valid(message)
    assert [b["text"]["text"] for b in message.blocks if b["type"] == "section"] == [
        "Every day at 08:00 (America/Denver), <#C123> gets a digest of contacts <@U0AGENT1> "
        "looked up in the last 30 days. Everyone in <#C123> will see these contacts' names "
        "and engagement."
    ]
    (hint,) = [b for b in message.blocks if b["type"] == "context"]
    assert context_text(hint) == ["Remove it any time with `/activity digest remove 7`."]
    assert "Everyone in <#C123> will see" in message.text


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("all", "all of <@U0AGENT1>'s contacts"),
        ("tag:Buyer", "contacts tagged “Buyer”"),
    ],
)
def test_digest_added_scope_words(scope: str, words: str) -> None:
    message = digest_added(make_subscription(scope=scope))
    assert_valid(message)
    assert f"gets a digest of {words}." in message.blocks[0]["text"]["text"]


def test_digest_added_names_the_channel_in_the_notification_text() -> None:
    message = digest_added(make_subscription(), channel_name="sales")
    assert_valid(message)
    assert message.text.startswith("Digest added: every day at 08:00 (America/Denver), #sales ")
    assert "<#C123>" in message.blocks[0]["text"]["text"]


@pytest.mark.parametrize("name", [None, "sales"])
def test_a_malformed_channel_id_is_never_a_mention(name: str | None) -> None:
    message = digest_added(make_subscription(channel_id="<!channel>"), channel_name=name)
    assert_valid(message, channels=())
    body = message.blocks[0]["text"]["text"]
    assert "<#" not in body and "<!channel>" not in body
    assert ("#sales" in body) is (name is not None)


@pytest.mark.parametrize("tag", HOSTILE_NAMES)
def test_hostile_tag_in_digest_added(tag: str) -> None:
    message = digest_added(make_subscription(scope=f"tag:{tag}"), channel_name=tag)
    assert_valid(message)
    assert_no_formatting_from(tag, message)


def test_digest_list_marks_the_viewers_own() -> None:
    subs = [
        make_subscription(7),
        make_subscription(9, user_id="U0OTHER", channel_id="G0TEAM", scope="tag:Buyer",
                          local_time="17:30", timezone="Europe/London"),
    ]  # fmt: skip
    message = digest_list(subs, viewer_id="U0AGENT1")
    assert_valid(message, channels=("C123", "G0TEAM"))
    lines = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert lines == [
        "*#7* · <#C123> · 08:00 America/Denver · recent · by <@U0AGENT1> (yours)",
        "*#9* · <#G0TEAM> · 17:30 Europe/London · tag:Buyer · by <@U0OTHER>",
    ]
    assert message.text.startswith("2 digests, 1 of them yours: #7 · <#C123>")


def test_a_viewer_with_a_malformed_id_owns_nothing() -> None:
    message = digest_list([make_subscription(user_id="bad")], viewer_id="bad")
    assert_valid(message)
    (line,) = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert line.endswith("· by a teammate")


def test_empty_digest_list() -> None:
    message = digest_list([], viewer_id="U0AGENT1")
    assert_valid_message(message)
    assert message.blocks[-1]["text"]["text"] == (
        "No digests yet. Try `/activity digest add #channel 08:00`."
    )
    assert message.text == "No digests yet. Try /activity digest add #channel 08:00."


def test_a_long_digest_list_fits_and_says_how_many_more() -> None:
    subs = [make_subscription(i) for i in range(1, 101)]
    message = digest_list(subs, viewer_id="U0AGENT1")
    assert_valid(message)
    assert len(message.blocks) <= 50
    assert context_text(message.blocks[-1])[0] == "and 60 more"


@pytest.mark.parametrize("scope", HOSTILE_NAMES)
def test_hostile_scopes_in_the_list(scope: str) -> None:
    message = digest_list([make_subscription(scope=scope, timezone=scope)], viewer_id="U1")
    assert_valid(message)
    assert_no_formatting_from(scope, message)


def test_digest_removed() -> None:
    message = digest_removed(make_subscription())
    assert_valid(message)
    assert message.text == (
        "Digest #7 removed: <#C123> no longer gets the daily digest at 08:00 (America/Denver)."
    )


def test_reconnect_dm() -> None:
    message = digest_reconnect_dm(make_subscription())
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == (
        "Today's digest for <#C123> wasn't posted: your Flexmls connection stopped working. "
        "Reconnect with `/activity connect`; tomorrow's digest will post as usual."
    )
    assert "/activity connect" in message.text


def test_a_members_list_shows_their_own_digests() -> None:
    message = digest_list([make_subscription(7)], viewer_id="U0AGENT1", team_wide=False)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Your digests"
    assert message.text.startswith("Your 1 digest: #7 · <#C123>")


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("slack_connect", "shared with people outside your workspace (Slack Connect)"),
        ("not_member", "you're no longer in that channel"),
        ("archived", "the channel was archived"),
        ("invite_first", "invite me back"),
        ("not_listed", "only in certain channels"),
        ("not_a_channel", "no longer goes to a channel"),
        ("guest", "/activity connect"),
        ("unchecked", "didn't let me check"),
        ("something_new", "can't go to that channel right now"),
    ],
)
def test_refused_digest_dm_says_why_and_what_to_do(reason: str, says: str) -> None:
    message = digest_refused_dm(make_subscription(), reason)
    assert_valid(message)
    line = message.blocks[0]["text"]["text"]
    assert line.startswith("Today's digest for <#C123> wasn't posted: ")
    assert says in line and "`/activity digest remove 7`" in line
    assert "`" not in message.text and "/activity digest remove 7" in message.text


@pytest.mark.parametrize(
    "render",
    [
        digest_removed,
        digest_reconnect_dm,
        lambda s: digest_list([s], viewer_id="U0AGENT1"),
        lambda s: digest_refused_dm(s, "slack_connect"),
    ],
)
def test_malformed_channel_ids_never_become_mentions(render: Any) -> None:
    message = render(make_subscription(channel_id="<#C123|general> *x*"))
    assert_valid(message, channels=())
    assert all("<#" not in text for text in mrkdwn_texts(message))


# ------------------------------------------------------ a private digest: who to call today


def test_a_private_digest_is_who_to_call_today_in_the_order_given() -> None:
    """The core ranks by score; the renderer keeps that order, numbers it, adds Cards."""
    digest = typical_digest(channel_id="D0AGENT1")
    ranked = tuple(sorted(digest.entries, key=lambda e: -(e.engagement.score)))
    message = personal_digest_message(
        make_digest(ranked, channel_id="D0AGENT1", failed=1), cursor_key=KEY
    )
    assert_valid(message, channels=("D0AGENT1",))
    blocks = by_role(message)
    assert list(blocks) == [
        "digest_header",
        "digest_scope",
        *(f"digest_call_{n}" for n in range(1, 6)),
        "digest_footer",
    ]
    assert blocks["digest_header"]["text"]["text"] == "Who to call today · Fri 27 Nov"
    assert blocks["digest_call_1"]["text"]["text"] == (
        "*1. Jane Doe* · 🔥 42 points (+12)\n+12 views since yesterday · +36 views this week"
    )
    assert blocks["digest_call_5"]["text"]["text"] == (
        "*5. Still Stone* · 🧊 1 point\nNothing new this week"
    )
    cards = [b for b in buttons(message) if b["action_id"].startswith("digest_open")]
    assert [decode_contact_id(b["value"]) for b in cards] == ["C1", "C2", "C5", "C3", "C4"]
    assert context_text(blocks["digest_footer"]) == [
        "🔥 1 hot · 🌤 2 warm · 🧊 2 cold of 5 contacts",
        "1 contact could not be read.",
        "Only you see this digest. Cards open with your own Flexmls access.",
    ]
    assert message.text == (
        "Who to call today, Fri 27 Nov: Jane Doe (🔥 42 points), John Roe (🌤 15 points), "
        "Sam Small (🌤 9 points) and 2 more."
    )


def test_a_long_private_digest_lists_ten_and_pages_the_rest() -> None:
    entries = _many(1000)
    message = personal_digest_message(make_digest(entries, channel_id="D0AGENT1"), cursor_key=KEY)
    assert_valid(message, channels=("D0AGENT1",))
    calls = [b for b in message.blocks if role(b).startswith("digest_call_")]
    assert len(calls) == 10 and len(message.blocks) <= 50
    assert context_text(by_role(message)["digest_more_note"]) == ["and 990 more"]
    (more,) = [b for b in buttons(message) if b["action_id"] == "digest_more"]
    value = decode_with(more["value"], key=KEY, channel_id="D0AGENT1")
    assert value == DigestCursor(7, DIGEST_DAY, 1)
    with pytest.raises(BadActionValue):  # signed for that DM only
        decode_with(more["value"], key=KEY, channel_id="D0OTHER1")


def test_a_private_digest_before_any_score_ranks_by_what_they_did() -> None:
    entries = (first_timer(1, viewed=40, opened=2), first_timer(2, viewed=0))
    message = personal_digest_message(make_digest(entries, channel_id="D0AGENT1"), cursor_key=KEY)
    assert_valid(message, channels=("D0AGENT1",))
    assert "No scores yet" in " ".join(context_text(by_role(message)["digest_scope"]))
    assert by_role(message)["digest_call_1"]["text"]["text"] == (
        "*1. Contact 1*\n40 views · 2 e-mail opens so far"
    )
    assert message.text == "Who to call today, Fri 27 Nov: Contact 1, Contact 2."


def test_an_empty_private_digest() -> None:
    message = personal_digest_message(make_digest((), channel_id="D0AGENT1"), cursor_key=KEY)
    assert_valid(message, channels=("D0AGENT1",))
    assert message.text == "Who to call today, Fri 27 Nov: no contacts to report."


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_in_a_private_digest_and_a_first_digest(name: str) -> None:
    scored = (mover(1, 12, name=name), mover(2, -9, name=name))
    first = (first_timer(1, viewed=3),)
    first = (DigestEntry(**{**first[0].__dict__, "name": name}),)
    for message in (
        personal_digest_message(make_digest(scored, channel_id="D0AGENT1"), cursor_key=KEY),
        digest_message(make_digest(first)),
    ):
        assert_valid_message(message)
        assert_no_formatting_from(name, message)
        for text in all_texts(message):
            assert "\u202e" not in text and "\x00" not in text


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=0, max_size=15))
def test_any_names_give_a_valid_private_digest(names: list[str]) -> None:
    entries = tuple(mover(i, 6 - i, name=n) for i, n in enumerate(names, 1))
    message = personal_digest_message(make_digest(entries, channel_id="D0AGENT1"), cursor_key=KEY)
    assert_valid_message(message)
    for text in mrkdwn_texts(message):
        assert "<!channel>" not in text


def test_a_private_digest_added_says_only_you_see_it() -> None:
    message = digest_added(make_subscription(channel_id="D0AGENT1"))
    assert_valid(message, channels=("D0AGENT1",))
    (body,) = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert body == (
        "Every day at 08:00 (America/Denver), you get a private digest in your DM with Activity: who to "
        "call today, ranked by score, from contacts <@U0AGENT1> looked up in the last 30 days. "
        "Only you see it."
    )
    assert "Everyone" not in message.text and message.text.startswith("Private digest added")


def test_a_tag_flexmls_would_not_check_is_accepted_with_a_note() -> None:
    message = digest_added(make_subscription(scope="tag:Byuer"), tag_unchecked=True)
    assert_valid(message)
    (hint,) = [b for b in message.blocks if b["type"] == "context"]
    assert "couldn't check that tag with Flexmls" in context_text(hint)[0]
    assert "couldn't check that tag with Flexmls" in message.text
    plain_added = digest_added(make_subscription(scope="tag:Buyer"))
    assert "check that tag" not in plain_added.text


@pytest.mark.parametrize("channel_id", ["C0SALES", "D0AGENT1"])
def test_a_preview_is_the_digest_under_a_note_without_more(channel_id: str) -> None:
    from blocks import digest_preview

    entries = tuple(mover(n, 10 - n, name=f"Contact {n}") for n in range(1, 31))
    preview = digest_preview(make_digest(entries, channel_id=channel_id), cursor_key=KEY)
    assert_valid_message(preview)
    assert preview.blocks[0]["block_id"].startswith("digest_preview")
    note = preview.blocks[0]["elements"][0]["text"]
    assert "Nothing was posted" in note
    assert ("your DM" in note) == channel_id.startswith("D")
    assert preview.text.startswith("Preview (not posted):")
    assert not any(b["action_id"].startswith("digest_more") for b in buttons(preview))
    assert any(b["action_id"].startswith("digest_open") for b in buttons(preview))  # Cards stay
