"""SparkQL: quoting user input and building the contact-search filter.

Only the documented subset is used: `Eq`, the `*` wildcard inside string literals, `And`, `Or`
(And binds tighter than Or, so no parentheses are needed). Every user-supplied value passes
through `quote()`, which is the single place that turns text into a SparkQL literal; nothing
else interpolates user text into a filter, so input can never change the filter's structure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

MAX_QUERY_LENGTH = 200  # longer input is a paste accident, not a contact
CONTACT_ID_RE = re.compile(r"^\d{26}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_CHARS_RE = re.compile(r"^\+?[\d\s().\-]+$")


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
    """Return `value` as a SparkQL string literal: single quotes, backslash-escaped.

    Backslashes are escaped first, then single quotes, so the literal always ends where we
    say it ends. Other characters (including `*`) are passed through unchanged.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


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


def _name_parts(name: str) -> tuple[str, str | None]:
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


def contact_filter(query: ContactQuery) -> str:
    """The `_filter` for an e-mail, phone or name query (ids are fetched directly)."""
    if query.kind is QueryKind.EMAIL:
        return f"PrimaryEmail Eq {quote(query.value)}"
    if query.kind is QueryKind.PHONE:
        return " Or ".join(f"PrimaryPhoneNumber Eq {quote(v)}" for v in phone_variants(query.value))
    if query.kind is QueryKind.NAME:
        given, family = _name_parts(query.value)
        if family is None:
            prefix = quote(given + "*")
            return " Or ".join(
                f"{field} Eq {prefix}" for field in ("DisplayName", "GivenName", "FamilyName")
            )
        display = f"{given} {family}" if "," in query.value else query.value
        return (
            f"DisplayName Eq {quote(display + '*')}"
            f" Or GivenName Eq {quote(given + '*')} And FamilyName Eq {quote(family + '*')}"
        )
    raise ValueError(f"no filter for a {query.kind.value} query")
