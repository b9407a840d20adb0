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
from blocks.digest import digest_refused_dm
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
COLUMNS = ["Contact", "Viewed (+1d)", "Shared (+1d)", "Score", "Band"]


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
    still = mover(4, 0, name="Still Stone", band="cold", score=1, viewed=0, shared=0)
    return make_digest((jane, john, ann, still), **kw)


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
    message = digest_message(typical_digest(failed=3))
    assert_valid_message(message)
    blocks = by_role(message)
    assert list(blocks) == [
        "digest_header",
        "digest_scope",
        "digest_counts",
        "digest_movers_title",
        "digest_movers",
        "digest_heating_title",
        "digest_heating_1",
        "digest_heating_2",
        "digest_cooling_title",
        "digest_cooling_1",
        "digest_more_note",  # Still Stone did not move
        "digest_more",
        "digest_footer",
    ]
    assert blocks["digest_header"]["text"]["text"] == "Morning digest · Fri 27 Nov"
    assert context_text(blocks["digest_scope"]) == [
        "Contacts <@U123> looked up in the last 30 days"
    ]
    assert blocks["digest_counts"]["text"]["text"] == (
        "🔥 1 hot · 🌤 1 warm · 🧊 2 cold · 4 contacts"
    )
    assert table_rows(message) == [
        COLUMNS,
        ["Jane Doe", "+12", "+2", "42", "🔥 Hot"],
        ["John Roe", "+3", "+1", "15", "🌤 Warm"],
        ["Ann Lee", "0", "0", "3", "🧊 Cold"],
    ]
    assert blocks["digest_heating_1"]["text"]["text"] == "*Jane Doe* +12 · 🔥 Hot, 42 points"
    assert blocks["digest_heating_2"]["text"]["text"] == "*John Roe* +9 · 🌤 Warm, 15 points"
    assert blocks["digest_cooling_1"]["text"]["text"] == ("*Ann Lee* \u22128 · 🧊 Cold, 3 points")
    assert context_text(blocks["digest_more_note"]) == ["and 1 more"]
    (more,) = blocks["digest_more"]["elements"]
    assert (more["text"]["text"], more["action_id"]) == ("More", "digest_more")
    assert decode_digest_cursor(more["value"]) == DigestCursor(7, DIGEST_DAY, 1)
    assert context_text(blocks["digest_footer"]) == ["3 contacts could not be read.", FOOTER]
    assert message.text == (
        "Morning digest, Fri 27 Nov: 2 heating up (Jane Doe +12, John Roe +9), "
        "1 cooling off, 4 contacts."
    )


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
    expected = [note, FOOTER] if note else [FOOTER]
    assert context_text(by_role(message)["digest_footer"]) == expected


@pytest.mark.parametrize(
    ("band", "marker"), [("hot", "🔥 Hot"), ("warm", "🌤 Warm"), ("cold", "🧊 Cold")]
)
def test_each_band(band: str, marker: str) -> None:
    entry = mover(1, 6, band=band)
    message = digest_message(make_digest((entry,)))
    assert_valid_message(message)
    assert table_rows(message)[1][-1] == marker
    counts = by_role(message)["digest_counts"]["text"]["text"]
    expected = {"hot": 0, "warm": 0, "cold": 0, band: 1}
    assert counts == (
        f"🔥 {expected['hot']} hot · 🌤 {expected['warm']} warm · "
        f"🧊 {expected['cold']} cold · 1 contact"
    )
    assert by_role(message)["digest_heating_1"]["text"]["text"].endswith(f"{marker}, 20 points")


def test_only_entries_that_moved_are_top_movers_and_top_limits_them() -> None:
    entries = tuple(mover(i, 0 if i % 2 else 1, viewed=i) for i in range(1, 30))
    message = digest_message(make_digest(entries, heating=(), cooling=()), top=3)
    assert_valid_message(message)
    assert [row[0] for row in table_rows(message)[1:]] == ["Contact 2", "Contact 4", "Contact 6"]
    assert context_text(by_role(message)["digest_more_note"]) == ["and 26 more"]


def test_a_quiet_day_says_nothing_moved() -> None:
    entries = tuple(mover(i, 0) for i in range(1, 4))
    message = digest_message(make_digest(entries))
    assert_valid_message(message)
    assert "digest_movers" not in by_role(message)
    assert by_role(message)["digest_quiet"]["text"]["text"] == (
        "Quiet day: no contact's engagement moved since yesterday."
    )
    assert message.text == "Morning digest, Fri 27 Nov: no big moves, 3 contacts."


def test_before_any_history_the_digest_says_when_movement_shows() -> None:
    entries = tuple(make_entry(i, history=False) for i in range(1, 113))
    message = digest_message(make_digest(entries, failed=3))
    assert_valid_message(message)
    assert list(by_role(message)) == [
        "digest_header",
        "digest_scope",
        "digest_tracking",
        "digest_more",  # every contact is a page away
        "digest_footer",
    ]
    assert by_role(message)["digest_tracking"]["text"]["text"] == (
        "Tracking 112 contacts. Movement shows from tomorrow, once there is a day of history."
    )
    (more,) = buttons(message)
    assert (more["text"]["text"], more["action_id"]) == ("More", "digest_more")
    assert decode_digest_cursor(more["value"]) == DigestCursor(7, DIGEST_DAY, 1)
    assert message.text == (
        "Morning digest, Fri 27 Nov: tracking 112 contacts; movement shows from tomorrow."
    )


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
    shown = min(count, 10) + len(cooling)
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
        assert all(len(row) == 5 for row in rows)
    else:
        assert len(message.blocks) == 50


def test_table_layout_validates_through_slack_sdk() -> None:
    message = digest_message(typical_digest(), layout="table")
    (table,) = [b for b in message.blocks if b["type"] == "table"]
    parsed = Block.parse(table)
    assert type(parsed).__name__ == "TableBlock"
    assert parsed.to_dict() == table
    assert table["column_settings"][1:] == [{"align": "right"}] * 3


def test_sections_layout_puts_each_mover_in_fields() -> None:
    message = digest_message(typical_digest(), layout="sections")
    assert_valid_message(message)
    assert "table" not in block_types(message)
    movers = [b for b in message.blocks if role(b).startswith("digest_mover_")]
    assert [[f["text"] for f in b["fields"]] for b in movers][0] == [
        "*Jane Doe*",
        "🔥 Hot · 42 points",
        "Viewed (+1d): +12",
        "Shared (+1d): +2",
    ]
    assert len(movers) == 3


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
    assert table_rows(digest_message(digest))[1][3] == "n/a"


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
    assert context_text(by_role(message)["digest_more_note"]) == ["and 20 more"]
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
    assert entries[0]["text"]["text"] == "*Contact 1* 🌤\n+3 viewed, +1 shared today · 100 points"
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
            "*Contact 1* 🔥\n+3 viewed today · 42 points",
        ),
        (
            mover(1, 0, band="cold", viewed=0, shared=0),
            "*Contact 1* 🧊\nNo change today · 20 points",
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
