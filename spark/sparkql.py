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
PHONE_ENDING_DIGITS = 7  # "555-0142": the local number, without the area code

# What phone keyboards type for ' " and - (iOS "smart punctuation" turns ' into ’, -- into —).
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4\uff07"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_TYPED = str.maketrans(
    {**dict.fromkeys(_APOSTROPHES, "'"), **dict.fromkeys(_DOUBLE_QUOTES, '"'),
     **dict.fromkeys(_DASHES, "-")}
)  # fmt: skip
_QUOTE_MARKS = "'\""
_HYPHEN_RUN = re.compile(r"\s*-[-\s]*")


class InvalidQuery(ValueError):
    """The text cannot be searched for; the message says why in plain words."""


class QueryKind(Enum):
    ID = "id"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"
    # The widened search for a name nothing matched exactly (`widened`): by initials.
    NAME_INITIALS = "name initials"


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


def normalize_typing(text: str) -> str:
    """`text` as names are stored: curly quotes straight, dashes as `-`, no surrounding quotes.

    "O’Brien" is O'Brien, "Smith – Jones" and "Smith--Jones" are Smith-Jones, and a query
    wrapped in quotes ("“Jane Doe”", "'Jane Doe'") loses them. Whitespace is collapsed and
    control characters dropped (`clean_text`).
    """
    text = clean_text(text).translate(_TYPED)
    text = _HYPHEN_RUN.sub("-", text).strip("- ")
    while len(text) >= 2 and text[0] in _QUOTE_MARKS and text[-1] in _QUOTE_MARKS:
        text = text[1:-1].strip("- ")
    return text.strip('"').strip("- ")  # a double quote is never part of a name


def classify(text: str) -> ContactQuery:
    """Decide whether `text` is a contact id, an e-mail, a phone number or a name."""
    cleaned = normalize_typing(text)
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


def spellings(text: str) -> list[str]:
    """`case_variants`, and with its hyphens as spaces too ("mary-kate" is also "mary kate")."""
    forms = [text, text.replace("-", " ")] if "-" in text else [text]
    return list(dict.fromkeys(v for form in forms for v in case_variants(form)))


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
    words = [w for w in re.split(r"[\s,-]+", name) if len(w.strip("*")) >= 2]
    return list(dict.fromkeys(words))[:MAX_NAME_WORDS]


def equals(field: str, values: Iterable[str]) -> str:
    """`Field Eq 'a','b'`: one clause, a value list (documented for `Eq`, §3.4)."""
    return f"{field} Eq " + ",".join(quote(v) for v in values)


def email_filter(query: ContactQuery) -> str:
    return equals("PrimaryEmail", [query.value])


def phone_filter(query: ContactQuery) -> str:
    return equals("PrimaryPhoneNumber", phone_variants(query.value))


def phone_ending_filter(query: ContactQuery) -> str:
    """Numbers ending in the query's last 7 digits, however the rest is written.

    `'*555-0142'`: a leading `*` is not documented for contacts (§3.4); if Spark refuses it,
    `spark/search.py` falls back to the exact spellings.
    """
    last = query.value[-PHONE_ENDING_DIGITS:]
    head, tail = last[:3], last[3:]
    return equals("PrimaryPhoneNumber", [f"*{head}{sep}{tail}" for sep in ("-", "", " ", ".")])


def name_prefix_filter(query: ContactQuery, fields: Collection[str] = NAME_FIELDS) -> str | None:
    """Names starting with what was typed, using only `fields`; None when nothing is left.

    One word: any of DisplayName, GivenName, FamilyName starts with it. Two or more: the
    DisplayName starts with the whole text, or GivenName starts with all but the last word
    and FamilyName with the last (both fields needed for that clause): "mary kate smith
    jones" must not pick Mary Jones over Mary-Kate Smith-Jones, whom the words search finds.
    """
    given, family = name_parts(query.value)
    if family is not None and "," not in query.value:
        given = query.value.rsplit(" ", 1)[0]
    clauses: list[str] = []
    if family is None:
        prefixes = [v + "*" for v in spellings(given)]
        clauses = [equals(field, prefixes) for field in NAME_FIELDS if field in fields]
    else:
        display = f"{given} {family}" if "," in query.value else query.value
        if "DisplayName" in fields:
            clauses.append(equals("DisplayName", [v + "*" for v in spellings(display)]))
        if "GivenName" in fields and "FamilyName" in fields:
            clauses.append(
                equals("GivenName", [v + "*" for v in spellings(given)])
                + " And "
                + equals("FamilyName", [v + "*" for v in spellings(family)])
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


def _initial(word: str, letters: int = 1) -> str:
    """The first `letters` letters or digits of `word` (fewer if punctuation comes first)."""
    start = next((i for i, ch in enumerate(word) if ch.isalnum()), None)
    if start is None:
        return ""
    out = word[start]
    for ch in word[start + 1 : start + letters]:
        if not ch.isalnum():
            break
        out += ch
    return out


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _forms(*parts: str) -> list[tuple[str, ...]]:
    """`parts` lower-case and Capitalised, as typed and without accents (no repeats)."""
    out = [
        tuple(case(fold(p)) for p in parts)
        for fold in (str, _unaccented)
        for case in (str.lower, str.capitalize)
    ]
    return list(dict.fromkeys(out))


def initials_pattern_values(name: str) -> list[str]:
    """The `DisplayName` patterns of the widened search, or [] when `name` has no letter.

    Accents sit mostly after a name's first letter (José, Núñez, Zoë, Müller), so the widened
    search keeps only first letters, which match whether or not Spark compares accents:
    two or more words: starts with the first word's initial and has a word starting with the
    last word's initial (`'J* N*'`); one word: a word starting with its first two letters
    (`'Nu*'`, `'* Nu*'`). The results are then ranked and filtered on our side.
    """
    given, family = name_parts(name)
    if family is not None:
        first, last = _initial(given), _initial(family)
        if not first or not last:
            return []
        return [f"{a}* {b}*" for a, b in _forms(first, last)]
    start = _initial(given, 2)
    if not start:
        return []
    return [p for (v,) in _forms(start) for p in (f"{v}*", f"* {v}*")]


def name_initials_filter(query: ContactQuery) -> str | None:
    """The widening for a name nothing matched exactly (one request; see above)."""
    values = initials_pattern_values(query.value)
    return equals("DisplayName", values) if values else None


def widened(query: ContactQuery) -> ContactQuery | None:
    """The one wider search worth a request when `query` found nothing, or None.

    A name: by initials (`name_initials_filter`), for missing accents and apostrophes. A phone
    number longer than 7 digits: by its last 7 (`phone_ending_filter`); the caller keeps only
    numbers that agree with every digit typed. E-mails and ids are exact by nature.
    """
    if query.kind is QueryKind.NAME and initials_pattern_values(query.value):
        return ContactQuery(QueryKind.NAME_INITIALS, query.value)
    if query.kind is QueryKind.PHONE and len(query.value) > PHONE_ENDING_DIGITS:
        return ContactQuery(QueryKind.PHONE, query.value[-PHONE_ENDING_DIGITS:])
    return None


def contact_filter(query: ContactQuery) -> str:
    """The first `_filter` tried for an e-mail, phone or name query (ids are fetched directly)."""
    if query.kind is QueryKind.EMAIL:
        return email_filter(query)
    if query.kind is QueryKind.PHONE:
        if len(query.value) == PHONE_ENDING_DIGITS:
            return phone_ending_filter(query)
        return phone_filter(query)
    if query.kind is QueryKind.NAME_INITIALS:
        built = name_initials_filter(query)
        assert built is not None
        return built
    if query.kind is QueryKind.NAME:
        built = name_prefix_filter(query)
        assert built is not None
        return built
    raise ValueError(f"no filter for a {query.kind.value} query")
