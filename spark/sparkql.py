"""SparkQL: quoting user input and building the contact-search filters.

Only the documented subset is used: `Eq` with one value or a comma-separated value list, the
`*` wildcard inside string literals, `And`, `Or` (And binds tighter than Or, so no parentheses
are needed). Every user-supplied value passes through `quote()`, which is the single place that
turns text into a SparkQL literal; nothing else interpolates user text into a filter, so input
can never change the filter's structure.

Which contact fields are filterable, and whether `Eq` is case-sensitive, is not documented
(spark_api.md §9). The filters here are therefore built from a given set of fields (the caller,
`spark/search.py`, drops the ones Spark rejected) and every name value is sent in the spellings
an agent most likely means: as typed, and Capitalised ("jane doe" also as "Jane Doe").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import Enum

MAX_QUERY_LENGTH = 200  # longer input is a paste accident, not a contact
# spark_api.md §9: the docs show 24-digit contact ids, records carry 26; accept a margin.
CONTACT_ID_RE = re.compile(r"^\d{20,30}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_CHARS_RE = re.compile(r"^\+?[\d\s().\-]+$")
MAX_NAME_WORDS = 4  # the words strategy sends one clause per word; Spark allows 75 expressions
NAME_FIELDS = ("DisplayName", "GivenName", "FamilyName")


class InvalidQuery(ValueError):
    """The text cannot be searched for; the message says why in plain words."""


class QueryKind(Enum):
    ID = "id"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"


@dataclass(frozen=True)
class ContactQuery:
    kind: QueryKind
    value: str  # cleaned: id digits, lower-cased e-mail, phone digits, or the name


def quote(value: str) -> str:
    """Return `value` as a SparkQL string literal: single quotes, `'` escaped as `\\'`.

    Spark's lexer reads a literal as runs of plain characters and backslash pairs (`\\` plus
    any one character), and its parser then turns only `\\'` into `'` (spark_api.md §9;
    sparkql `token.rb` CHARACTER, `parser_compatibility.rb` character_escape): `\\\\` stays two
    backslashes. So backslashes are not doubled. A backslash is kept as a pair with the
    character after it, except where it cannot be written: right before a `'` or at the very
    end, where it would swallow the quote. Those are dropped (no contact name needs them), so
    the literal always ends where we say it ends. Other characters (including `*`) are passed
    through unchanged.
    """
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            if i + 1 < n and value[i + 1] != "'":
                out.append(value[i : i + 2])
                i += 2
                continue
            i += 1  # unrepresentable: before a quote or at the end
            continue
        out.append("\\'" if ch == "'" else ch)
        i += 1
    return "'" + "".join(out) + "'"


def literal_value(value: str) -> str:
    """What Spark will compare against after reading `quote(value)` (for tests and docs)."""
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i] == "\\" and (i + 1 >= n or value[i + 1] == "'"):
            i += 1
            continue
        if value[i] == "\\":
            out.append(value[i : i + 2])
            i += 2
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


def clean_text(text: str) -> str:
    """Drop control/format characters and collapse whitespace (NFC-normalised)."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch)[0] != "C" or ch.isspace()
    )
    return " ".join(kept.split())


def classify(text: str) -> ContactQuery:
    """Decide whether `text` is a contact id, an e-mail, a phone number or a name."""
    cleaned = clean_text(text)
    if not cleaned:
        raise InvalidQuery("Type a name, e-mail, phone number or contact id to look up.")
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"That is {len(cleaned):,} characters long; a contact search is at most "
            f"{MAX_QUERY_LENGTH}. Try just the name or e-mail."
        )
    if CONTACT_ID_RE.match(cleaned):
        return ContactQuery(QueryKind.ID, cleaned)
    if EMAIL_RE.match(cleaned):
        return ContactQuery(QueryKind.EMAIL, cleaned.lower())
    digits = re.sub(r"\D", "", cleaned)
    if PHONE_CHARS_RE.match(cleaned) and 7 <= len(digits) <= 15:
        return ContactQuery(QueryKind.PHONE, digits)
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuery("A name needs at least one letter or digit.")
    return ContactQuery(QueryKind.NAME, cleaned)


def phone_variants(digits: str) -> list[str]:
    """The spellings a phone number is commonly stored in (Spark matches literally)."""
    variants = [digits]
    national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if len(national) == 10:
        a, b, c = national[:3], national[3:6], national[6:]
        variants += [f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1{national}"]
    elif len(digits) == 7:
        variants.append(f"{digits[:3]}-{digits[3:]}")
    return list(dict.fromkeys(variants))


def case_variants(text: str) -> list[str]:
    """`text` as typed, then Capitalised: enough when Spark's `Eq` is case-sensitive (§9)."""
    return list(dict.fromkeys([text, text.title()]))


def name_parts(name: str) -> tuple[str, str | None]:
    """Split a name into (given, family); "Doe, Jane" is read as Jane Doe."""
    if "," in name:
        family, _, given = name.partition(",")
        given, family = given.strip(), family.strip()
        if given and family:
            return given, family
        name = (given or family).strip()
    words = name.split(" ")
    if len(words) == 1:
        return words[0], None
    return words[0], words[-1]


def name_words(name: str) -> list[str]:
    """The words of a name worth searching inside `DisplayName` (2+ characters, no repeats)."""
    words = [w for w in re.split(r"[\s,]+", name) if len(w.strip("*")) >= 2]
    return list(dict.fromkeys(words))[:MAX_NAME_WORDS]


def equals(field: str, values: Iterable[str]) -> str:
    """`Field Eq 'a','b'`: one clause, a value list (documented for `Eq`, §3.4)."""
    return f"{field} Eq " + ",".join(quote(v) for v in values)


def email_filter(query: ContactQuery) -> str:
    return equals("PrimaryEmail", [query.value])


def phone_filter(query: ContactQuery) -> str:
    return equals("PrimaryPhoneNumber", phone_variants(query.value))


def name_prefix_filter(query: ContactQuery, fields: Collection[str] = NAME_FIELDS) -> str | None:
    """Names starting with what was typed, using only `fields`; None when nothing is left.

    One word: any of DisplayName, GivenName, FamilyName starts with it. Two or more: the
    DisplayName starts with the whole text, or GivenName and FamilyName start with the first
    and last word (both fields needed for that clause).
    """
    given, family = name_parts(query.value)
    clauses: list[str] = []
    if family is None:
        prefixes = [v + "*" for v in case_variants(given)]
        clauses = [equals(field, prefixes) for field in NAME_FIELDS if field in fields]
    else:
        display = f"{given} {family}" if "," in query.value else query.value
        if "DisplayName" in fields:
            clauses.append(equals("DisplayName", [v + "*" for v in case_variants(display)]))
        if "GivenName" in fields and "FamilyName" in fields:
            clauses.append(
                equals("GivenName", [v + "*" for v in case_variants(given)])
                + " And "
                + equals("FamilyName", [v + "*" for v in case_variants(family)])
            )
    return " Or ".join(clauses) or None


def name_words_filter(query: ContactQuery) -> str | None:
    """Every typed word somewhere in `DisplayName` (`'*Okafor*'`); None if no word is usable.

    For contacts that carry only `DisplayName` (§9): "Okafor" must find "Chidi Okafor". A
    leading `*` is not documented for contacts (§3.4 documents `*` inside literals, on
    accounts): if Spark rejects it, `spark/search.py` stops using this strategy for the key.
    """
    words = name_words(query.value)
    if not words:
        return None
    return " And ".join(
        equals("DisplayName", [f"*{v}*" for v in case_variants(word)]) for word in words
    )


def contact_filter(query: ContactQuery) -> str:
    """The first `_filter` tried for an e-mail, phone or name query (ids are fetched directly)."""
    if query.kind is QueryKind.EMAIL:
        return email_filter(query)
    if query.kind is QueryKind.PHONE:
        return phone_filter(query)
    if query.kind is QueryKind.NAME:
        built = name_prefix_filter(query)
        assert built is not None
        return built
    raise ValueError(f"no filter for a {query.kind.value} query")
