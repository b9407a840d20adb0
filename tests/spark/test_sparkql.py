"""Quoting and the contact-search filter: user text never changes a filter's structure."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark.sparkql import (
    MAX_QUERY_LENGTH,
    ContactQuery,
    InvalidQuery,
    QueryKind,
    classify,
    clean_text,
    contact_filter,
    phone_variants,
    quote,
)

LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
TOKEN = re.compile(r"\s*(?:(?P<lit>'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z]+))", re.DOTALL)


def unquote(literal: str) -> str:
    match = LITERAL.fullmatch(literal)
    assert match, f"not one literal: {literal!r}"
    return re.sub(r"\\(.)", r"\1", match.group(1), flags=re.DOTALL)


def tokens(filter_text: str) -> list[tuple[str, str]]:
    """Split a filter into ('lit', value) and ('word', keyword) tokens; fail on anything else."""
    out, pos = [], 0
    while pos < len(filter_text):
        match = TOKEN.match(filter_text, pos)
        assert match and match.end() > pos, f"stray text at {pos}: {filter_text[pos : pos + 20]!r}"
        kind = match.lastgroup
        out.append((kind, unquote(match.group(kind)) if kind == "lit" else match.group(kind)))
        pos = match.end()
    return out


HOSTILE = [
    "",
    "'",
    "\\",
    "\\'",
    "' Or '1' Eq '1",
    "x' Or DisplayName Eq '*",
    "O'Brien",
    "a\\b\\\\c''",
    "line\nbreak\r\n\ttab",
    "nul\x00byte",
    "😀 émoji RTL \u202e\u05e9\u05dc\u05d5\u05dd",
    "x" * 10_000,
    "') Or (Id Eq '1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_quote_round_trips_hostile_strings(value):
    assert unquote(quote(value)) == value


@given(st.text())
@settings(max_examples=400)
def test_quote_is_always_exactly_one_literal(value):
    literal = quote(value)
    assert unquote(literal) == value
    assert tokens(literal) == [("lit", value)]


@given(st.text(max_size=MAX_QUERY_LENGTH + 20))
@settings(max_examples=400)
def test_any_input_gives_a_well_formed_filter_or_a_friendly_refusal(text):
    try:
        query = classify(text)
    except InvalidQuery as refusal:
        assert str(refusal)
        return
    if query.kind is QueryKind.ID:
        assert re.fullmatch(r"\d{26}", query.value)
        return
    toks = tokens(contact_filter(query))
    # Shape: clauses of  Field Eq 'literal'  joined by And / Or, nothing else.
    assert len(toks) % 4 == 3
    for i in range(0, len(toks), 4):
        field, op, lit = toks[i : i + 3]
        assert field[0] == "word" and field[1] in {
            "DisplayName", "GivenName", "FamilyName", "PrimaryEmail", "PrimaryPhoneNumber"
        }  # fmt: skip
        assert op == ("word", "Eq")
        assert lit[0] == "lit"
        if i + 3 < len(toks):
            assert toks[i + 3] in {("word", "And"), ("word", "Or")}


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("20101230223226074201000000", QueryKind.ID, "20101230223226074201000000"),
        ("  Jane.Doe@Example.COM ", QueryKind.EMAIL, "jane.doe@example.com"),
        ("(303) 555-0142", QueryKind.PHONE, "3035550142"),
        ("+1 303.555.0142", QueryKind.PHONE, "13035550142"),
        ("555-0142", QueryKind.PHONE, "5550142"),
        ("jane   doe", QueryKind.NAME, "jane doe"),
        ("Seán O'Brien", QueryKind.NAME, "Seán O'Brien"),
        ("1234", QueryKind.NAME, "1234"),
        ("Agent 007", QueryKind.NAME, "Agent 007"),
        ("1234567890123456789012345", QueryKind.NAME, "1234567890123456789012345"),
    ],
)
def test_classify(text, kind, value):
    assert classify(text) == ContactQuery(kind, value)


@pytest.mark.parametrize(
    "text", ["", "   ", "\n\t", "\x00\x01", "!!!", "x" * (MAX_QUERY_LENGTH + 1)]
)
def test_classify_refuses_what_cannot_be_searched(text):
    with pytest.raises(InvalidQuery):
        classify(text)


def test_clean_text_drops_controls_and_bidi_overrides():
    assert clean_text(" a\u202eb\x00c \n d ") == "abc d"


def test_email_filter():
    assert contact_filter(classify("jane@example.com")) == "PrimaryEmail Eq 'jane@example.com'"


def test_phone_filter_tries_common_spellings():
    text = contact_filter(classify("303 555 0142"))
    assert [v for k, v in tokens(text) if k == "lit"] == phone_variants("3035550142")
    assert "303-555-0142" in phone_variants("3035550142")


def test_single_word_name_searches_three_fields_by_prefix():
    assert contact_filter(classify("jane")) == (
        "DisplayName Eq 'jane*' Or GivenName Eq 'jane*' Or FamilyName Eq 'jane*'"
    )


def test_two_word_name_matches_display_name_or_given_and_family():
    assert contact_filter(classify("jane doe")) == (
        "DisplayName Eq 'jane doe*' Or GivenName Eq 'jane*' And FamilyName Eq 'doe*'"
    )


def test_last_comma_first_is_read_as_first_last():
    assert contact_filter(classify("Doe, Jane")) == (
        "DisplayName Eq 'Jane Doe*' Or GivenName Eq 'Jane*' And FamilyName Eq 'Doe*'"
    )


def test_injection_attempt_stays_inside_one_literal():
    text = contact_filter(classify("x' Or '1' Eq '1"))
    literals = [v for k, v in tokens(text) if k == "lit"]
    assert [w for k, w in tokens(text) if k == "word"] == [
        "DisplayName", "Eq", "Or", "GivenName", "Eq", "And", "FamilyName", "Eq"
    ]  # fmt: skip
    assert literals == ["x' Or '1' Eq '1*", "x'*", "'1*"]
