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
    literal_value,
    name_prefix_filter,
    name_words_filter,
    normalize_typing,
    phone_variants,
    quote,
    widened,
)

# Spark's lexer (sparkql token.rb CHARACTER): runs of plain characters and backslash pairs.
LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
TOKEN = re.compile(r"\s*(?:(?P<lit>'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z]+)|(?P<comma>,))", re.DOTALL)


def unquote(literal: str) -> str:
    """What Spark's parser makes of a literal: only \\' is un-escaped (spark_api.md §9)."""
    match = LITERAL.fullmatch(literal)
    assert match, f"not one literal: {literal!r}"
    return match.group(1).replace("\\'", "'")


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
    assert unquote(quote(value)) == literal_value(value)
    if "\\" not in value:
        assert literal_value(value) == value


@pytest.mark.parametrize(
    ("value", "literal", "spark_reads"),
    [
        ("O'Brien", "'O\\'Brien'", "O'Brien"),
        ("a\\b", "'a\\b'", "a\\b"),  # not doubled: Spark would keep both backslashes
        ("a\\\\b", "'a\\\\b'", "a\\\\b"),
        ("a\\", "'a'", "a"),  # a trailing backslash would swallow the closing quote
        ("x\\' Or '1", "'x\\' Or \\'1'", "x' Or '1"),  # nor may one pair with our escape
        ("a\\\\'", "'a\\\\\\''", "a\\\\'"),
    ],
)
def test_quote_escapes_only_the_quote(value, literal, spark_reads):
    assert quote(value) == literal
    assert unquote(literal) == spark_reads == literal_value(value)


@given(st.text())
@settings(max_examples=400)
def test_quote_is_always_exactly_one_literal(value):
    literal = quote(value)
    assert tokens(literal) == [("lit", unquote(literal))]
    read = unquote(literal)
    assert read == literal_value(value)
    # Only backslashes that cannot be written are ever lost; nothing else changes.
    assert read.replace("\\", "") == value.replace("\\", "")
    if "\\" not in value:
        assert read == value


@given(st.text(max_size=MAX_QUERY_LENGTH + 20))
@settings(max_examples=400)
def test_any_input_gives_a_well_formed_filter_or_a_friendly_refusal(text):
    try:
        query = classify(text)
    except InvalidQuery as refusal:
        assert str(refusal)
        return
    if query.kind is QueryKind.ID:
        assert re.fullmatch(r"\d{20,30}", query.value)
        return
    filters = [contact_filter(query)]
    if query.kind is QueryKind.NAME:
        filters += [name_prefix_filter(query, ["DisplayName"]), name_words_filter(query)]
    for text in filter(None, filters):
        assert_well_formed(text)


def assert_well_formed(text: str) -> None:
    """Clauses  Field Eq 'lit'(,'lit')*  joined by And / Or, nothing else."""
    toks = tokens(text)
    i = 0
    while True:
        field, op, lit = toks[i : i + 3]
        assert field[0] == "word" and field[1] in {
            "DisplayName",
            "GivenName",
            "FamilyName",
            "PrimaryEmail",
            "PrimaryPhoneNumber",
        }
        assert op == ("word", "Eq")
        assert lit[0] == "lit"
        i += 3
        while i < len(toks) and toks[i][0] == "comma":
            assert toks[i + 1][0] == "lit"
            i += 2
        if i == len(toks):
            return
        assert toks[i] in {("word", "And"), ("word", "Or")}
        i += 1


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
        # spark_api.md §9: ids of 24 and 26 digits are both documented; 20-30 are tried as ids.
        ("123456789012345678901234", QueryKind.ID, "123456789012345678901234"),
        ("1234567890123456789012345", QueryKind.ID, "1234567890123456789012345"),
        ("12345678901234567890", QueryKind.ID, "12345678901234567890"),
        ("123456789012345678901234567890", QueryKind.ID, "123456789012345678901234567890"),
        ("1234567890123456789", QueryKind.NAME, "1234567890123456789"),
        ("1234567890123456789012345678901", QueryKind.NAME, "1234567890123456789012345678901"),
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


def test_phone_filter_tries_common_spellings_in_one_value_list():
    text = contact_filter(classify("303 555 0142"))
    assert text.startswith("PrimaryPhoneNumber Eq ") and " Or " not in text
    assert [v for k, v in tokens(text) if k == "lit"] == phone_variants("3035550142")
    assert "303-555-0142" in phone_variants("3035550142")


def test_single_word_name_searches_three_fields_by_prefix_as_typed_and_capitalised():
    assert contact_filter(classify("jane")) == (
        "DisplayName Eq 'jane*','Jane*' Or GivenName Eq 'jane*','Jane*'"
        " Or FamilyName Eq 'jane*','Jane*'"
    )


def test_a_capitalised_name_is_sent_once():
    assert contact_filter(classify("Jane")) == (
        "DisplayName Eq 'Jane*' Or GivenName Eq 'Jane*' Or FamilyName Eq 'Jane*'"
    )


def test_two_word_name_matches_display_name_or_given_and_family():
    assert contact_filter(classify("jane doe")) == (
        "DisplayName Eq 'jane doe*','Jane Doe*'"
        " Or GivenName Eq 'jane*','Jane*' And FamilyName Eq 'doe*','Doe*'"
    )


def test_last_comma_first_is_read_as_first_last():
    assert contact_filter(classify("Doe, Jane")) == (
        "DisplayName Eq 'Jane Doe*' Or GivenName Eq 'Jane*' And FamilyName Eq 'Doe*'"
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["DisplayName"], "DisplayName Eq 'Jane Doe*'"),
        (["GivenName", "FamilyName"], "GivenName Eq 'Jane*' And FamilyName Eq 'Doe*'"),
        (["DisplayName", "GivenName"], "DisplayName Eq 'Jane Doe*'"),  # needs both parts
        ([], None),
    ],
)
def test_prefix_filter_uses_only_the_fields_it_is_given(fields, expected):
    assert name_prefix_filter(classify("Jane Doe"), fields) == expected


def test_words_filter_looks_for_every_word_inside_the_display_name():
    assert name_words_filter(classify("okafor")) == "DisplayName Eq '*okafor*','*Okafor*'"
    assert name_words_filter(classify("Okafor, Chidi")) == (
        "DisplayName Eq '*Okafor*' And DisplayName Eq '*Chidi*'"
    )
    assert name_words_filter(classify("J")) is None  # one letter would match nearly everyone


def test_injection_attempt_stays_inside_one_literal():
    text = contact_filter(classify("x' Or '1' Eq '1"))
    literals = [v for k, v in tokens(text) if k == "lit"]
    assert [w for k, w in tokens(text) if k == "word"] == [
        "DisplayName",
        "Eq",
        "Or",
        "GivenName",
        "Eq",
        "And",
        "FamilyName",
        "Eq",
    ]
    assert literals == [
        "x' Or '1' Eq '1*",
        "X' Or '1' Eq '1*",
        "x' Or '1' Eq*",  # GivenName: all but the last word
        "X' Or '1' Eq*",
        "'1*",
    ]


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("O’Brien", "O'Brien"),
        ("O‘Brien", "O'Brien"),
        ("Oʼ Brien", "Oʼ Brien".replace("ʼ", "'")),
        ("“Jane Doe”", "Jane Doe"),
        ('"Jane Doe"', "Jane Doe"),
        ("'Jane Doe'", "Jane Doe"),
        ("‘O’Brien’", "O'Brien"),
        ('"jane doe', "jane doe"),
        ("Smith – Jones", "Smith-Jones"),
        ("Smith--Jones", "Smith-Jones"),
        ("Smith — Jones", "Smith-Jones"),
        ("  jane    doe  ", "jane doe"),
        ("555–0142", "555-0142"),
        ("— – ‐", ""),
    ],
)
def test_normalize_typing(typed, normal):
    assert normalize_typing(typed) == normal


def test_classify_reads_phone_typing():
    assert classify("O’Brien") == ContactQuery(QueryKind.NAME, "O'Brien")
    assert classify("“jane@example.com”") == ContactQuery(QueryKind.EMAIL, "jane@example.com")
    assert classify("555–0142") == ContactQuery(QueryKind.PHONE, "5550142")
    with pytest.raises(InvalidQuery):
        classify("“”")


def test_a_curly_apostrophe_reaches_spark_escaped_like_a_straight_one():
    assert contact_filter(classify("o’brien")) == contact_filter(classify("o'brien"))
    assert "'o\\'brien*'" in contact_filter(classify("o’brien"))


def test_hyphenated_names_are_also_looked_for_with_spaces():
    text = contact_filter(classify("Mary-Kate"))
    assert "'Mary-Kate*'" in text and "'Mary Kate*'" in text
    assert name_words_filter(classify("mary-kate")) == (
        "DisplayName Eq '*mary*','*Mary*' And DisplayName Eq '*kate*','*Kate*'"
    )


def test_seven_digits_search_numbers_ending_in_them():
    assert contact_filter(classify("555-0142")) == (
        "PrimaryPhoneNumber Eq '*555-0142','*5550142','*555 0142','*555.0142'"
    )


@pytest.mark.parametrize(
    ("typed", "kind", "values"),
    [
        ("jose nunez", QueryKind.NAME_INITIALS, ["j* n*", "J* N*"]),
        ("Zoe O'Brien", QueryKind.NAME_INITIALS, ["z* o*", "Z* O*"]),
        ("Nunez, Jose", QueryKind.NAME_INITIALS, ["j* n*", "J* N*"]),
        ("Émile Zola", QueryKind.NAME_INITIALS, ["é* z*", "É* Z*", "e* z*", "E* Z*"]),
        ("nunez", QueryKind.NAME_INITIALS, ["nu*", "* nu*", "Nu*", "* Nu*"]),
        ("(303) 555-0142", QueryKind.PHONE, ["*555-0142", "*5550142", "*555 0142", "*555.0142"]),
    ],
)
def test_the_widening(typed, kind, values):
    wider = widened(classify(typed))
    assert wider is not None and wider.kind is kind
    assert [v for k, v in tokens(contact_filter(wider)) if k == "lit"] == values


@pytest.mark.parametrize("typed", ["jane@example.com", "555-0142", "20101230223226074201000000"])
def test_exact_kinds_are_not_widened(typed):
    assert widened(classify(typed)) is None


@given(st.text(max_size=MAX_QUERY_LENGTH + 20))
@settings(max_examples=300)
def test_any_widening_is_a_well_formed_filter(text):
    try:
        query = classify(text)
    except InvalidQuery:
        return
    wider = widened(query)
    if wider is not None:
        assert_well_formed(contact_filter(wider))
