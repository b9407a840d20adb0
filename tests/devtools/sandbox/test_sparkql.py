"""The SparkQL subset: grammar, matching rules, errors, and robustness."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.sandbox import SparkQLError, parse_filter

RECORDS: dict[str, dict[str, Any]] = {
    "jane": {"Id": "1", "DisplayName": "Jane Doe", "GivenName": "Jane", "FamilyName": "Doe",
             "PrimaryEmail": "jane.doe@example.com", "Tags": ["Buyer", "Hot Lead"]},
    "jane2": {"Id": "2", "DisplayName": "Jane Doe", "GivenName": "Jane", "FamilyName": "Doe",
              "Tags": []},
    "doerr": {"Id": "3", "DisplayName": "Jane Doerr", "GivenName": "Jane", "FamilyName": "Doerr",
              "Tags": ["Seller"]},
    "janet": {"Id": "4", "DisplayName": "Janet Doe", "GivenName": "Janet", "FamilyName": "Doe",
              "Tags": ["IDX Lead"]},
    "sean": {"Id": "5", "DisplayName": "Seán O'Brien", "GivenName": "Seán",
             "FamilyName": "O'Brien", "Tags": ["Buyer"]},
    "jose": {"Id": "6", "DisplayName": "José Núñez", "GivenName": "José", "FamilyName": "Núñez"},
    "slash": {"Id": "7", "DisplayName": "A\\B Star*", "GivenName": "A\\B", "FamilyName": "Star*"},
}  # fmt: skip


def selected(text: str) -> set[str]:
    expression = parse_filter(text)
    return {name for name, record in RECORDS.items() if expression.matches(record)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DisplayName Eq 'Jane Doe'", {"jane", "jane2"}),
        ("DisplayName Eq 'jane doe'", {"jane", "jane2"}),
        ("DisplayName Eq 'JANE DOE'", {"jane", "jane2"}),
        ("DisplayName Eq 'Jane*'", {"jane", "jane2", "doerr", "janet"}),
        ("DisplayName Eq '*Doe'", {"jane", "jane2", "janet"}),
        ("DisplayName Eq 'J*e D*e'", {"jane", "jane2"}),
        ("DisplayName Eq '*an*'", {"jane", "jane2", "doerr", "janet", "sean"}),  # Seán too
        ("FamilyName Eq 'Doe','Doerr'", {"jane", "jane2", "doerr", "janet"}),
        ("FamilyName Eq 'O\\'Brien'", {"sean"}),
        ("FamilyName Eq 'o\\'b*'", {"sean"}),
        # Spark un-escapes only \' (spark_api.md §9): other backslashes stay as they are.
        ("GivenName Eq 'a\\b'", {"slash"}),
        ("GivenName Eq 'a\\\\b'", set()),
        ("FamilyName Eq 'Star\\*'", set()),  # a backslash, then a wildcard
        ("FamilyName Eq 'Star*'", {"slash"}),
        ("DisplayName Eq 'josé núñez'", {"jose"}),
        ("DisplayName Eq 'Jose Nunez'", {"jose"}),  # accents are ignored unless asked
        ("GivenName Eq 'Sean'", {"sean"}),
        ("Tags Eq 'hot lead'", {"jane"}),
        ("Tags Eq 'Buyer','Seller'", {"jane", "doerr", "sean"}),
        ("Tags Ne 'Buyer'", {"jane2", "doerr", "janet", "jose", "slash"}),
        ("PrimaryEmail Eq '*'", {"jane"}),
        ("PrimaryEmail Ne 'jane.doe@example.com'", set(RECORDS) - {"jane"}),
        ("Id Eq '3'", {"doerr"}),
    ],
)
def test_matching(text: str, expected: set[str]) -> None:
    assert selected(text) == expected


def test_and_binds_tighter_than_or() -> None:
    text = "Id Eq '5' Or GivenName Eq 'Jane' And FamilyName Eq 'Doerr'"
    assert selected(text) == {"sean", "doerr"}
    grouped = "(Id Eq '5' Or GivenName Eq 'Jane') And FamilyName Eq 'Doerr'"
    assert selected(grouped) == {"doerr"}


def test_not_and_nested_parentheses() -> None:
    assert selected("Not FamilyName Eq 'Doe'") == {"doerr", "sean", "jose", "slash"}
    assert selected("Not Not FamilyName Eq 'Doe'") == {"jane", "jane2", "janet"}
    text = "((GivenName Eq 'Jane') And Not (FamilyName Eq 'Doe' Or FamilyName Eq 'Doerr'))"
    assert selected(text) == set()
    assert selected("Not (Tags Eq '*') And GivenName Eq 'J*'") == {"jane2", "jose"}


def test_eight_levels_of_nesting_are_fine() -> None:
    text = "(" * 8 + "Id Eq '1'" + ")" * 8
    assert selected(text) == {"jane"}


@pytest.mark.parametrize(
    "text",
    [
        "DisplayName Eq 'Jane",
        "DisplayName Eq 'Jane\\'",
        "DisplayName Eq 'Jane' And",
        "DisplayName Eq 'Jane' Or",
        "And DisplayName Eq 'Jane'",
        "DisplayName Is 'Jane'",
        "DisplayName Gt 'Jane'",
        "DisplayName eq 'Jane'",
        "DisplayName Eq 'Jane' and GivenName Eq 'X'",
        "DisplayName Eq Jane",
        "DisplayName Eq 42",
        "DisplayName Eq",
        "DisplayName",
        "DisplayName Eq 'a',",
        "(DisplayName Eq 'Jane'",
        "DisplayName Eq 'Jane')",
        "()",
        "Not",
        "@#$%",
        "DisplayName Eq 'a' 'b'",
        "displayName Eq 'x'",
        "",
    ],
)
def test_syntax_errors_are_1040(text: str) -> None:
    with pytest.raises(SparkQLError) as caught:
        parse_filter(text)
    assert caught.value.code == 1040
    assert caught.value.errors and caught.value.errors[0]["Status"] == "Fatal"


def test_unknown_fields_are_dropped_with_1040() -> None:
    with pytest.raises(SparkQLError) as caught:
        parse_filter("Foo Eq 'x' And DisplayName Eq 'y' Or ListPrice Eq '1'")
    assert caught.value.code == 1040
    assert [e["Token"] for e in caught.value.errors] == ["Foo", "ListPrice"]
    assert all(e["Status"] == "Dropped" and e["Message"] for e in caught.value.errors)


def test_too_long_is_1041() -> None:
    text = "DisplayName Eq '" + "a" * 1990 + "'"
    assert len(text) > 2000
    with pytest.raises(SparkQLError) as caught:
        parse_filter(text)
    assert caught.value.code == 1041
    parse_filter("DisplayName Eq '" + "a" * 1980 + "'")  # just under the limit is fine


def test_nine_levels_of_nesting_is_1041() -> None:
    with pytest.raises(SparkQLError) as caught:
        parse_filter("(" * 9 + "Id Eq '1'" + ")" * 9)
    assert caught.value.code == 1041


def test_wildcards_cannot_backtrack_catastrophically() -> None:
    expression = parse_filter("DisplayName Eq '" + "*a" * 600 + "*b'")
    started = time.perf_counter()
    assert not expression.matches({"DisplayName": "a" * 200})
    assert time.perf_counter() - started < 0.5


PIECES = st.sampled_from(
    [
        "DisplayName",
        "Tags",
        "Foo",
        "Eq",
        "Ne",
        "Gt",
        "And",
        "Or",
        "Not",
        "(",
        ")",
        ",",
        "'x'",
        "'O\\'B*'",
        "'",
        "\\",
        "'*'",
        "''",
        "Id",
        "eq",
        "1",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), st.lists(PIECES, max_size=25).map(" ".join)))
def test_parser_only_ever_raises_sparkql_errors(text: str) -> None:
    try:
        expression = parse_filter(text)
    except SparkQLError as exc:
        assert exc.code in (1040, 1041)
        assert exc.errors
        return
    for record in RECORDS.values():
        assert expression.matches(record) in (True, False)


@pytest.mark.parametrize(
    ("text", "lenient", "exact"),
    [
        ("DisplayName Eq 'jose nunez'", {"jose"}, set()),
        ("DisplayName Eq 'José Núñez'", {"jose"}, {"jose"}),
        ("DisplayName Eq 'J* N*'", {"jose"}, {"jose"}),  # initials carry no accent here
        ("GivenName Eq 'Sean'", {"sean"}, set()),
        ("GivenName Eq 'SEÁN'", {"sean"}, set()),  # exact in case as well as accents
    ],
)
def test_accent_sensitivity_is_a_switch(text: str, lenient: set[str], exact: set[str]) -> None:
    def chosen(**how: bool) -> set[str]:
        expression = parse_filter(text, **how)
        return {name for name, record in RECORDS.items() if expression.matches(record)}

    assert chosen() == lenient
    assert chosen(accent_sensitive=True, case_sensitive=True) == exact
