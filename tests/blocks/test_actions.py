"""Action ids, patterns and the strict parsing of button values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocks import (
    LISTINGS_PAGE_RE,
    OPEN_CARD_RE,
    PICK_CONTACT_RE,
    REFRESH_CARD_RE,
    SHARE_CARD_RE,
    BadActionValue,
    ListingsCursor,
    decode_contact_id,
    decode_cursor,
    encode_cursor,
)

CONTACT_IDS = st.from_regex(re.compile(r"[A-Za-z0-9_-]{1,64}"), fullmatch=True)
CURSORS = st.builds(
    ListingsCursor,
    kind=st.sampled_from(["viewed", "shared"]),
    contact_id=CONTACT_IDS,
    page=st.integers(min_value=1, max_value=100_000),
)


def test_cursor_format() -> None:
    cursor = ListingsCursor("viewed", "20090816141725963238000000", 2)
    assert encode_cursor(cursor) == "v1|viewed|20090816141725963238000000|2"


@given(CURSORS)
def test_cursor_round_trip(cursor: ListingsCursor) -> None:
    value = encode_cursor(cursor)
    assert len(value) <= 200
    assert decode_cursor(value) == cursor


@given(st.text(max_size=300))
def test_arbitrary_text_decodes_to_a_valid_cursor_or_raises_bad_action_value(text: str) -> None:
    try:
        cursor = decode_cursor(text)
    except BadActionValue:
        return
    assert encode_cursor(cursor) == text


@given(st.text(max_size=100))
def test_arbitrary_text_is_a_contact_id_or_raises_bad_action_value(text: str) -> None:
    try:
        contact_id = decode_contact_id(text)
    except BadActionValue:
        return
    assert contact_id == text


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        b"v1|viewed|C1|2",
        ["v1|viewed|C1|2"],
        "",
        "v1|viewed|C1",
        "v1|viewed|C1|2|x",
        "v2|viewed|C1|2",
        "V1|viewed|C1|2",
        "v1|liked|C1|2",
        "v1|Viewed|C1|2",
        "v1|viewed||2",
        "v1|viewed|C 1|2",
        "v1|viewed|C1;DROP|2",
        "v1|viewed|" + "C" * 65 + "|2",
        "v1|viewed|C1|0",
        "v1|viewed|C1|02",
        "v1|viewed|C1|+2",
        "v1|viewed|C1|-2",
        "v1|viewed|C1| 2",
        "v1|viewed|C1|2 ",
        "v1|viewed|C1|2\n",
        "v1|viewed|C1|2.0",
        "v1|viewed|C1|100001",
        "v1|viewed|C1|\u0662",
        "v1|viewed|Cé|2",
        "v1|viewed|C1|" + "9" * 300,
    ],
)
def test_forged_or_truncated_cursors_are_refused(value: object) -> None:
    with pytest.raises(BadActionValue):
        decode_cursor(value)


@pytest.mark.parametrize("value", [None, 7, "", "C 1", "C1\n", "x" * 65, "<@U123>", "Cé"])
def test_forged_contact_ids_are_refused(value: object) -> None:
    with pytest.raises(BadActionValue):
        decode_contact_id(value)


def test_bad_action_value_is_a_value_error() -> None:
    assert issubclass(BadActionValue, ValueError)


@pytest.mark.parametrize(
    ("kind", "contact_id", "page"),
    [("liked", "C1", 1), ("viewed", "C 1", 1), ("viewed", "C1", 0), ("viewed", "C1", True)],
)
def test_invalid_cursors_cannot_be_built(kind: str, contact_id: str, page: int) -> None:
    with pytest.raises(BadActionValue):
        ListingsCursor(kind, contact_id, page)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        (LISTINGS_PAGE_RE, ["listings_page", "listings_page:next"], ["listings_pages", "x"]),
        (PICK_CONTACT_RE, ["contact_pick", "contact_pick:3"], ["contact_picker"]),
        (SHARE_CARD_RE, ["share_card"], ["share_card_now", "share_card\n"]),
        (REFRESH_CARD_RE, ["refresh_card", "refresh_card:1"], ["refresh"]),
        (OPEN_CARD_RE, ["open_card:3", "open_card:back"], ["open_cards", "xopen_card"]),
    ],
)
def test_action_id_patterns(
    pattern: re.Pattern[str], matches: list[str], misses: list[str]
) -> None:
    assert all(pattern.search(m) for m in matches)
    assert not any(pattern.search(m) for m in misses)
