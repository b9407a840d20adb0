"""Escaping, truncation and number formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocks.text import (
    ZWSP,
    clean,
    count_with_delta,
    escape_mrkdwn,
    money,
    number,
    percent,
    plain,
    truncate,
    truncate_mrkdwn,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane Doe", "Jane Doe"),
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("<http://x|y>", "&lt;http://x|y&gt;"),
        ("&amp;", "&amp;amp;"),
        ("*bold*", f"*{ZWSP}bold*{ZWSP}"),
        ("_it_", f"_{ZWSP}it_{ZWSP}"),
        ("~s~", f"~{ZWSP}s~{ZWSP}"),
        ("`c`", f"`{ZWSP}c`{ZWSP}"),
        ("> quote", f"{ZWSP}&gt; quote"),
        ("  > quote", f"  {ZWSP}&gt; quote"),
        ("a > b", "a &gt; b"),
        ("line\n> two", f"line\n{ZWSP}&gt; two"),
    ],
)
def test_escape_mrkdwn(raw: str, expected: str) -> None:
    assert escape_mrkdwn(raw) == expected


def test_escape_truncates_on_whole_escapes() -> None:
    assert escape_mrkdwn("<<<<", 10) == "&lt;&lt;…"
    assert escape_mrkdwn("a*b", 3) == "a…"
    assert escape_mrkdwn("short", 100) == "short"


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_escaped_text_has_no_markup_and_fits(text: str, limit: int) -> None:
    escaped = escape_mrkdwn(text, limit)
    assert len(escaped) <= limit
    assert "<" not in escaped and ">" not in escaped
    for marker in "*_~`":
        assert escaped.count(marker) == escaped.count(marker + ZWSP)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Jane Doe", 8, "Jane Doe"),
        ("Jane Doe", 7, "Jane D…"),
        ("Jane Doe", 6, "Jane…"),
        ("Jane", 1, "…"),
        ("e\u0301e\u0301e\u0301", 4, "e\u0301…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


def test_truncate_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError):
        truncate("x", 0)


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    assert result == text or result.endswith("…")


def test_truncate_mrkdwn_does_not_cut_an_entity_or_a_neutraliser() -> None:
    assert truncate_mrkdwn("ab &amp; cd", 6) == "ab…"
    assert truncate_mrkdwn(f"ab*{ZWSP}cd", 4) == "ab…"


def test_clean_drops_controls_and_bidi_overrides() -> None:
    assert clean("\u202eevil\u202c  name\x00\n") == "evil name"
    assert clean("a\n b", single_line=False) == "a\nb"


def test_plain_is_never_empty_and_fits() -> None:
    assert plain("", 10).text == "—"
    assert plain("   ", 10, fallback="(no name)").text == "(no name)"
    assert plain("x" * 200, 150).text == "x" * 149 + "…"
    assert plain("<!channel>", 150).text == "<!channel>"


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (450_000, "$450,000"),
        (1_250_000.0, "$1,250,000"),
        (99.5, "$100"),
        (0, "$0"),
        (None, "Price n/a"),
        (float("nan"), "Price n/a"),
    ],
)
def test_money(price: float | None, expected: str) -> None:
    assert money(price) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1850, "1,850"), (1850.0, "1,850"), (2.5, "2.5"), (0, "0"), (-3, "−3"), (None, "n/a")],
)
def test_number(n: float | None, expected: str) -> None:
    assert number(n) == expected


@pytest.mark.parametrize(
    ("value", "delta", "expected"),
    [
        (143, 6, "143 (+6)"),
        (12, None, "12"),
        (12, 0, "12"),
        (9, -2, "9 (−2)"),
        (1_234_567, 1000, "1,234,567 (+1,000)"),
    ],
)
def test_count_with_delta(value: int, delta: int | None, expected: str) -> None:
    assert count_with_delta(value, delta) == expected


def test_percent_rounds_half_up() -> None:
    assert percent(0.8) == "80%"
    assert percent(0.125) == "13%"
    assert percent(1 / 3) == "33%"
