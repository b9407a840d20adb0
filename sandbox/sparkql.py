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

String literals are single-quoted; a backslash escapes the next character (`'O\\'Brien'`,
`'a\\\\b'`). An unescaped `*` inside a literal matches any run of characters. Matching is
case-insensitive (Unicode case folding) and accent-sensitive. A list-valued field (`Tags`)
matches `Eq` when any element matches any value; `Ne` is the negation of `Eq`; a missing field
never equals anything.

Errors are raised as `SparkQLError` carrying the Spark error code (1040 for syntax errors and
unknown fields, 1041 for filters that are too long or too deeply nested) and the
`SparkQLErrors` list Spark puts in the response body. Nothing else ever escapes `parse_filter`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
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
    """A string literal after unescaping: case-folded parts split at unescaped `*`.

    A literal without wildcards has exactly one part and must match the whole value.
    """

    parts: tuple[str, ...]

    def matches(self, value: str) -> bool:
        text = value.casefold()
        parts = self.parts
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


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens; raise `SparkQLError` (1040) on lexical errors."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
        elif ch == "(":
            tokens.append(Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("RPAREN", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("COMMA", ch, i))
            i += 1
        elif ch == "'":
            start = i
            i += 1
            parts: list[str] = []
            current: list[str] = []
            closed = False
            while i < n:
                c = text[i]
                if c == "\\":
                    if i + 1 >= n:
                        break
                    current.append(text[i + 1])
                    i += 2
                elif c == "'":
                    closed = True
                    i += 1
                    break
                elif c == "*":
                    parts.append("".join(current))
                    current = []
                    i += 1
                else:
                    current.append(c)
                    i += 1
            if not closed:
                raise _fatal(text[start : start + 40], f"Unterminated string starting at {start}")
            parts.append("".join(current))
            pattern = Pattern(tuple(p.casefold() for p in parts))
            tokens.append(Token("STRING", text[start:i], start, pattern))
        elif ch in _WORD_CHARS:
            start = i
            while i < n and text[i] in _WORD_CHARS:
                i += 1
            tokens.append(Token("WORD", text[start:i], start))
        else:
            raise _fatal(ch, f"Unexpected character {ch!r} at {i}")
    return tokens


# --------------------------------------------------------------------------------------------
# Expression tree


@dataclass(frozen=True)
class Comparison:
    """`Field Eq|Ne 'v1','v2',...`."""

    field: str
    operator: str
    values: tuple[Pattern, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        raw = record.get(self.field)
        if raw is None:
            candidates: list[str] = []
        elif isinstance(raw, list | tuple):
            candidates = [str(v) for v in raw if v is not None]
        else:
            candidates = [str(raw)]
        equal = any(p.matches(c) for p in self.values for c in candidates)
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
    def __init__(self, tokens: list[Token], fields: Collection[str]) -> None:
        self.tokens = tokens
        self.fields = fields
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
        return Comparison(name, operator, tuple(values))

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


def parse_filter(text: str, fields: Collection[str] = CONTACT_FILTER_FIELDS) -> Expression:
    """Parse `_filter` text into an expression with `matches(record) -> bool`.

    `fields` are the searchable field names. Raises `SparkQLError` and nothing else.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise _fatal(text[:40], f"Filter is longer than {MAX_FILTER_LENGTH} characters", code=1041)
    return _Parser(tokenize(text), fields).parse()
