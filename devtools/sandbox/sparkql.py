"""The SparkQL subset the sandbox understands in `_filter`.

A real tokenizer and a recursive-descent parser turn filter text into an expression tree whose
`matches(record)` decides whether a contact record (a dict with Spark field names) is selected.

Grammar (keywords are case-sensitive, as in Spark's own `sparkql` lexer)::

    filter      := or_expr
    or_expr     := and_expr ("Or" and_expr)*
    and_expr    := unary ("And" unary)*           -- And binds tighter than Or
    unary       := "Not"* primary
    primary     := "(" or_expr ")" | comparison
    comparison  := Field ("Eq" | "Ne") 'string' ("," 'string')*

String literals are single-quoted. As in Spark's own lexer and parser (spark_api.md §9), a
backslash pairs with the character after it (so `\\'` does not end the literal) and only `\\'`
is un-escaped: `'O\\'Brien'` is O'Brien, `'a\\\\b'` is `a\\\\b` (two backslashes). A `*` inside a
literal matches any run of characters. Matching is case-insensitive (Unicode case folding) and
accent-insensitive ("Jose" matches "José", as many database collations do) by default; each
can be made exact (`case_sensitive=True`, `accent_sensitive=True`: `Dialect` switches).
A list-valued field (`Tags`) matches `Eq` when any element matches any value; `Ne` is the negation of `Eq`; a missing field
never equals anything.

Errors are raised as `SparkQLError` carrying the Spark error code (1040 for syntax errors and
unknown fields, 1041 for filters that are too long or too deeply nested) and the
`SparkQLErrors` list Spark puts in the response body. Nothing else ever escapes `parse_filter`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_FILTER_LENGTH = 2000
MAX_NESTING_DEPTH = 8

CONTACT_FILTER_FIELDS: frozenset[str] = frozenset(
    {
        "Id",
        "DisplayName",
        "GivenName",
        "FamilyName",
        "PrimaryEmail",
        "PrimaryPhoneNumber",
        "Tags",
    }
)

_SUPPORTED_OPERATORS = frozenset({"Eq", "Ne"})
_OTHER_OPERATORS = frozenset({"Gt", "Ge", "Lt", "Le", "Bt"})
_CONJUNCTIONS = frozenset({"And", "Or"})
_RESERVED = _SUPPORTED_OPERATORS | _OTHER_OPERATORS | _CONJUNCTIONS | {"Not"}

_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:+-")
_WHITESPACE = frozenset(" \t\r\n")


def strip_accents(text: str) -> str:
    """`text` without combining marks ("Núñez" → "Nunez"), as an accent-blind collation sees it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Matching:
    """How `Eq` compares text: exactly, or ignoring case and/or accents."""

    case_sensitive: bool = False
    accent_sensitive: bool = False

    def form(self, text: str) -> str:
        if not self.accent_sensitive:
            text = strip_accents(text)
        return text if self.case_sensitive else text.casefold()


class SparkQLError(Exception):
    """A filter Spark would reject; `code` is 1040 or 1041, `errors` is `SparkQLErrors`."""

    def __init__(self, code: int, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors


def _fatal(token: str, message: str, code: int = 1040) -> SparkQLError:
    return SparkQLError(code, message, [{"Token": token, "Status": "Fatal", "Message": message}])


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Pattern:
    """A string literal after unescaping: its parts split at each `*`.

    A literal without wildcards has exactly one part and must match the whole value.
    """

    parts: tuple[str, ...]

    def matches(self, value: str, matching: Matching | None = None) -> bool:
        how = matching or Matching()
        text = how.form(value)
        parts = tuple(how.form(p) for p in self.parts)
        if len(parts) == 1:
            return text == parts[0]
        first, last = parts[0], parts[-1]
        end = len(text) - len(last)
        if end < len(first) or not text.startswith(first) or not text.endswith(last):
            return False
        pos = len(first)
        # Greedy leftmost placement of the middle parts is correct for `*`-only globs and
        # never backtracks: no regex, so no blow-up on inputs like '*a*a*a*a*b'.
        for part in parts[1:-1]:
            found = text.find(part, pos, end)
            if found < 0:
                return False
            pos = found + len(part)
        return True


@dataclass(frozen=True)
class Token:
    """One lexical token. `kind` is one of WORD, STRING, LPAREN, RPAREN, COMMA."""

    kind: str
    text: str
    pos: int
    pattern: Pattern | None = None


_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens; raise `SparkQLError` (1040) on lexical errors."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[ch], ch, i))
            i += 1
        elif ch == "'":
            token = _string_token(text, i)
            tokens.append(token)
            i += len(token.text)
        elif ch in _WORD_CHARS:
            token = _word_token(text, i)
            tokens.append(token)
            i += len(token.text)
        else:
            raise _fatal(ch, f"Unexpected character {ch!r} at {i}")
    return tokens


def _word_token(text: str, start: int) -> Token:
    end = start
    while end < len(text) and text[end] in _WORD_CHARS:
        end += 1
    return Token("WORD", text[start:end], start)


def _string_token(text: str, start: int) -> Token:
    """The quoted literal opening at `start`, its pattern split at each unescaped `*`."""
    i, n = start + 1, len(text)
    parts: list[str] = []
    current: list[str] = []
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                break
            i = _unescape(text, i, current)
        elif c == "'":
            parts.append("".join(current))
            return Token("STRING", text[start : i + 1], start, Pattern(tuple(parts)))
        elif c == "*":
            parts.append("".join(current))
            current = []
            i += 1
        else:
            current.append(c)
            i += 1
    raise _fatal(text[start : start + 40], f"Unterminated string starting at {start}")


def _unescape(text: str, i: int, current: list[str]) -> int:
    """Append the escape pair at `i` (a backslash, not last) to `current`; return the next
    index. Spark pairs a backslash with the next character and un-escapes only \\'
    (spark_api.md §9): any other pair keeps its backslash, and a `*` stays a wildcard (left
    for the caller to read)."""
    if text[i + 1] == "'":
        current.append("'")
        return i + 2
    current.append("\\")
    if text[i + 1] == "*":
        return i + 1
    current.append(text[i + 1])
    return i + 2


# --------------------------------------------------------------------------------------------
# Expression tree


@dataclass(frozen=True)
class Comparison:
    """`Field Eq|Ne 'v1','v2',...`."""

    field: str
    operator: str
    values: tuple[Pattern, ...]
    matching: Matching = Matching()

    def matches(self, record: Mapping[str, Any]) -> bool:
        raw = record.get(self.field)
        if raw is None:
            candidates: list[str] = []
        elif isinstance(raw, list | tuple):
            candidates = [str(v) for v in raw if v is not None]
        else:
            candidates = [str(raw)]
        equal = any(p.matches(c, self.matching) for p in self.values for c in candidates)
        return equal if self.operator == "Eq" else not equal


@dataclass(frozen=True)
class AllOf:
    """Conjunction (`And`) of two or more terms."""

    terms: tuple[Expression, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(t.matches(record) for t in self.terms)


@dataclass(frozen=True)
class AnyOf:
    """Disjunction (`Or`) of two or more terms."""

    terms: tuple[Expression, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return any(t.matches(record) for t in self.terms)


@dataclass(frozen=True)
class Negation:
    """`Not term`."""

    term: Expression

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.term.matches(record)


Expression = Comparison | AllOf | AnyOf | Negation


# --------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, tokens: list[Token], fields: Collection[str], matching: Matching) -> None:
        self.tokens = tokens
        self.fields = fields
        self.matching = matching
        self.pos = 0
        self.depth = 0
        self.dropped: list[dict[str, str]] = []

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "WORD" and token.text == word

    def parse(self) -> Expression:
        if not self.tokens:
            raise _fatal("", "Empty filter")
        expr = self.parse_or()
        token = self.peek()
        if token is not None:
            raise _fatal(token.text, f"Unexpected {token.text!r} at {token.pos}")
        if self.dropped:
            names = ", ".join(e["Token"] for e in self.dropped)
            raise SparkQLError(1040, f"Unknown or unsearchable field(s): {names}", self.dropped)
        return expr

    def parse_or(self) -> Expression:
        terms = [self.parse_and()]
        while self.at_word("Or"):
            self.advance()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def parse_and(self) -> Expression:
        terms = [self.parse_unary()]
        while self.at_word("And"):
            self.advance()
            terms.append(self.parse_unary())
        return terms[0] if len(terms) == 1 else AllOf(tuple(terms))

    def parse_unary(self) -> Expression:
        negations = 0
        while self.at_word("Not"):
            self.advance()
            negations += 1
        term = self.parse_primary()
        return Negation(term) if negations % 2 else term

    def parse_primary(self) -> Expression:
        token = self.peek()
        if token is None:
            last = self.tokens[-1]
            raise _fatal(last.text, f"Filter ends unexpectedly after {last.text!r}")
        if token.kind == "LPAREN":
            self.advance()
            self.depth += 1
            if self.depth > MAX_NESTING_DEPTH:
                raise _fatal(
                    token.text,
                    f"Filter is nested deeper than {MAX_NESTING_DEPTH} levels",
                    code=1041,
                )
            expr = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                found = "end of filter" if closing is None else repr(closing.text)
                raise _fatal(
                    "(" if closing is None else closing.text,
                    f"Expected ')' to close '(' at {token.pos}, found {found}",
                )
            self.advance()
            self.depth -= 1
            return expr
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        field_token = self.advance()
        name = field_token.text
        if field_token.kind != "WORD" or name in _RESERVED or not name[0].isupper():
            raise _fatal(name, f"Expected a field name at {field_token.pos}, found {name!r}")
        op_token = self.peek()
        if op_token is None:
            raise _fatal(name, f"Expected an operator after {name!r}")
        self.advance()
        operator = op_token.text
        if op_token.kind != "WORD" or operator not in _SUPPORTED_OPERATORS:
            if operator in _OTHER_OPERATORS:
                message = f"Operator {operator!r} is not supported for field {name!r}"
            else:
                message = f"Unknown operator {operator!r} at {op_token.pos}"
            raise _fatal(operator, message)
        values = [self.parse_value(op_token)]
        while (token := self.peek()) is not None and token.kind == "COMMA":
            comma = self.advance()
            values.append(self.parse_value(comma))
        if name not in self.fields:
            self.dropped.append(
                {
                    "Token": name,
                    "Status": "Dropped",
                    "Message": f"Field {name!r} is unknown or not searchable",
                }
            )
        return Comparison(name, operator, tuple(values), self.matching)

    def parse_value(self, after: Token) -> Pattern:
        token = self.peek()
        if token is None:
            raise _fatal(after.text, f"Expected a quoted value after {after.text!r}")
        if token.kind != "STRING" or token.pattern is None:
            raise _fatal(
                token.text, f"Expected a single-quoted value at {token.pos}, found {token.text!r}"
            )
        self.advance()
        return token.pattern


def parse_filter(
    text: str,
    fields: Collection[str] = CONTACT_FILTER_FIELDS,
    *,
    case_sensitive: bool = False,
    accent_sensitive: bool = False,
) -> Expression:
    """Parse `_filter` text into an expression with `matches(record) -> bool`.

    `fields` are the searchable field names; `case_sensitive` / `accent_sensitive` make `Eq`
    exact in that respect. Raises `SparkQLError` and nothing else.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise _fatal(text[:40], f"Filter is longer than {MAX_FILTER_LENGTH} characters", code=1041)
    return _Parser(tokenize(text), fields, Matching(case_sensitive, accent_sensitive)).parse()


# --------------------------------------------------------------------------------------------
# Dialects: the points Spark's docs leave open (spark_api.md §9), switchable per sandbox

ORDERBY_MODES = ("accepted", "rejected")
CONTACT_ACTIVITY_MODES = ("supported", "absent", "refused")
_SWITCHES = ("case_sensitive", "display_name_only", "accent_sensitive")


@dataclass(frozen=True)
class Dialect:
    """How this sandbox answers where real Spark is undocumented.

    - `orderby`: "accepted" sorts by the named searchable fields (an unsearchable one is a
      400/1040 naming it, as "any searchable field can be present in the `_orderby`"); with
      "rejected" any `_orderby` is a 400/1040 naming `_orderby`.
    - `unfilterable`: contact fields a `_filter` may not use (400/1040 naming the field).
    - `case_sensitive`: `Eq` compares exactly ("jane*" does not match "Jane Doe").
    - `accent_sensitive`: `Eq` tells accents apart ("Jose*" does not match "José Núñez").
    - `display_name_only`: contacts are served with `DisplayName` only, no GivenName or
      FamilyName (as many real records are).
    - `contact_activity`: what `_expand=ContactActivity` on the activity listings does (its
      support and shape are unconfirmed, spark_api.md §4.4): "supported" adds each listing's
      events (`Brokerage.contact_activity`); "absent" accepts it and adds nothing; "refused"
      answers 400/1040 naming `_expand`.

    Presets: "default" (lenient: any case, any accents) and "strict" (every strictest choice
    at once, while name lookups stay possible: only DisplayName and PrimaryEmail are
    filterable; the ContactActivity expansion refused).
    """

    orderby: str = "accepted"
    unfilterable: frozenset[str] = field(default_factory=frozenset)
    case_sensitive: bool = False
    display_name_only: bool = False
    accent_sensitive: bool = False
    contact_activity: str = "supported"

    def __post_init__(self) -> None:
        if self.orderby not in ORDERBY_MODES:
            raise ValueError(f"orderby must be one of {', '.join(ORDERBY_MODES)}")
        if self.contact_activity not in CONTACT_ACTIVITY_MODES:
            raise ValueError(f"contact_activity must be one of {', '.join(CONTACT_ACTIVITY_MODES)}")
        object.__setattr__(self, "unfilterable", frozenset(self.unfilterable))
        unknown = self.unfilterable - CONTACT_FILTER_FIELDS
        if unknown:
            raise ValueError(f"unknown contact field(s): {', '.join(sorted(unknown))}")
        for name in _SWITCHES:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    @property
    def filter_fields(self) -> frozenset[str]:
        return CONTACT_FILTER_FIELDS - self.unfilterable

    @classmethod
    def preset(cls, name: str) -> Dialect:
        if name == "default":
            return cls()
        if name == "strict":
            return cls(
                orderby="rejected",
                unfilterable=frozenset({"GivenName", "FamilyName", "PrimaryPhoneNumber", "Id"}),
                case_sensitive=True,
                display_name_only=True,
                accent_sensitive=True,
                contact_activity="refused",
            )
        raise ValueError(f"unknown dialect preset {name!r} (default or strict)")

    @classmethod
    def coerce(cls, value: Dialect | str | Mapping[str, Any] | None) -> Dialect:
        """A Dialect from itself, a preset name, or a dict (optionally with "preset" first)."""
        if value is None:
            return cls()
        if isinstance(value, Dialect):
            return value
        if isinstance(value, str):
            return cls.preset(value)
        if not isinstance(value, Mapping):
            raise ValueError("a dialect is a preset name or an object")
        options = dict(value)
        base = cls.preset(options.pop("preset", "default"))
        unknown = set(options) - {"orderby", "unfilterable", "contact_activity", *_SWITCHES}
        if unknown:
            raise ValueError(f"unknown dialect key(s): {', '.join(sorted(unknown))}")
        merged = {**base.to_dict(), **options}
        unfilterable = merged["unfilterable"]
        if not isinstance(unfilterable, list | tuple | set | frozenset) or not all(
            isinstance(f, str) for f in unfilterable
        ):
            raise ValueError("unfilterable must be a list of field names")
        return cls(
            orderby=merged["orderby"],
            unfilterable=frozenset(unfilterable),
            contact_activity=merged["contact_activity"],
            **{name: merged[name] for name in _SWITCHES},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderby": self.orderby,
            "unfilterable": sorted(self.unfilterable),
            "contact_activity": self.contact_activity,
            **{name: getattr(self, name) for name in _SWITCHES},
        }

    def contact_record(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        """The record as this dialect serves it."""
        if not self.display_name_only:
            return record
        return {k: v for k, v in record.items() if k not in ("GivenName", "FamilyName")}

    def order(self, records: list[Mapping[str, Any]], orderby: str) -> list[Mapping[str, Any]]:
        """Sort by `_orderby` ("Field" or "-Field", comma-separated), or raise 1040."""
        if self.orderby == "rejected":
            raise _fatal("_orderby", "_orderby is not supported for this resource")
        keys = [k.strip() for k in orderby.split(",") if k.strip()]
        for key in reversed(keys):
            name = key.lstrip("-")
            if name not in self.filter_fields or name == "Tags":
                raise _fatal(name, f"Field {name!r} cannot be used in _orderby")
            records = sorted(
                records,
                key=lambda r, n=name: (r.get(n) is None, str(r.get(n) or "").casefold()),
                reverse=key.startswith("-"),
            )
        return records
