"""Keep secrets out of logs, whatever a library decides to log.

Three layers, because a record can reach output by more than one path:
- `install(secrets)` wraps the log-record factory, so every record any logger creates (ours,
  Bolt's, slack_sdk's, aiohttp's, asyncio's) is scrubbed once, at birth, before a handler of any
  kind (including ones added later) can format it;
- it also adds the filter to the handlers of the target logger and to the loggers that carry
  our records (`CARRIERS`), for records built by hand and passed to `handle()`;
- tokens learnt at run time (OAuth exchanges, pasted tokens, refreshes) are registered with
  `remember()` the moment we obtain them, so they are redacted by value, not only by shape.

Known values (the configured secrets, and every remembered token) and anything shaped like a
credential (`Bearer …`, `Basic …`, `xoxb-…`, `"access_token": "…"`, `token=…`) become
`[redacted]`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"
PATTERNS = [
    re.compile(r"(?i)\b(bearer|oauth|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bxox[abeprs]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|token|client_secret|code|authorization)[\"']?"
        r"\s*[:=]\s*[\"']?)[^\"'&\s,}]{6,}"
    ),
]
# The loggers our records and our libraries' records are created on.
CARRIERS = ("activity_bot", "activity", "handlers", "spark", "storage", "slack_bolt", "slack_sdk",
            "aiohttp", "httpx", "asyncio")  # fmt: skip
MIN_SECRET = 6
REMEMBERED_MAX = 50_000
REPLACE_UP_TO = 256  # below this many remembered tokens, each is replaced as a substring
# In lookup mode a line is read as runs of non-space characters; each run is looked up whole,
# without the punctuation around it, and in parts split at the separators that glue a value to
# its name (`x=TOKEN`, `"t":"TOKEN"`, `/path/TOKEN`).
_WORD = re.compile(r"\S{6,}")
_SEPARATORS = re.compile(r"""([=:/&?,;"'()<>\[\]{}|])""")
_EDGES = """.,;:!?'"()[]{}<>`~+-"""


class SecretRegistry:
    """Tokens learnt at run time; bounded (oldest forgotten first), safe across threads."""

    def __init__(self, max_entries: int = REMEMBERED_MAX) -> None:
        self._values: OrderedDict[str, None] = OrderedDict()
        # Values holding separator characters can't be found by splitting a line: few exist
        # (Spark's tokens are plain), so these are always replaced as substrings.
        self._unusual: OrderedDict[str, None] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            for secret in secrets:
                if secret and len(secret) >= MIN_SECRET:
                    self._values[secret] = None
                    self._values.move_to_end(secret)
                    if _SEPARATORS.search(secret) or secret.strip(_EDGES) != secret:
                        self._unusual[secret] = None
                        self._unusual.move_to_end(secret)
            while len(self._values) > self._max:
                self._values.popitem(last=False)
            while len(self._unusual) > REPLACE_UP_TO:
                self._unusual.popitem(last=False)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)

    def scrub(self, text: str) -> str:
        """`text` with every remembered value replaced.

        With few values, each is replaced wherever it occurs. With many, the text is read once
        and each run of token characters (and each part of it between `=`, `:` and `/`) is
        looked up, so the cost follows the length of the line, not the number of tokens.
        """
        if not self._values:
            return text
        small = len(self._values) <= REPLACE_UP_TO
        with self._lock:
            values = sorted(self._values if small else self._unusual, key=len, reverse=True)
        for value in values:
            text = text.replace(value, REDACTED)
        return text if small else _WORD.sub(self._word, text)

    def _word(self, match: re.Match[str]) -> str:
        run = match.group(0)
        whole = self._piece(run)  # a token that itself holds separator characters
        if whole != run:
            return whole
        pieces = _SEPARATORS.split(run)  # parts, with the separators kept between them
        return "".join(self._piece(piece) for piece in pieces)

    def _piece(self, piece: str) -> str:
        if piece in self._values:
            return REDACTED
        core = piece.strip(_EDGES)  # a token at the end of a sentence: "… abc123."
        if core and core in self._values:
            start = piece.index(core)
            return piece[:start] + REDACTED + piece[start + len(core) :]
        return piece


REMEMBERED = SecretRegistry()


def remember(*secrets: str | None) -> None:
    """Redact these values from every log line from now on (call as soon as a token is known)."""
    REMEMBERED.add(*secrets)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = (), registry: SecretRegistry = REMEMBERED) -> None:
        super().__init__()
        self.secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True
        )
        self.registry = registry

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = self.registry.scrub(text)
        for pattern in PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) + REDACTED) if m.lastindex else REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted_by", None) is self:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown, scrubbed
            message = f"{record.msg!s} {record.args!r}"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        record._redacted_by = self
        return True


def _scrubbing_factory(
    previous: Callable[..., logging.LogRecord], redactor: RedactingFilter
) -> Callable[..., logging.LogRecord]:
    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor.filter(record)
        return record

    factory.redactor = redactor  # type: ignore[attr-defined]
    return factory


def install(secrets: Iterable[str] = (), logger: logging.Logger | None = None) -> RedactingFilter:
    """Scrub every record at creation, and filter `logger`'s handlers and the carrier loggers."""
    target = logger or logging.getLogger()
    redactor = RedactingFilter(secrets)
    current = logging.getLogRecordFactory()
    inner = getattr(current, "inner", current)  # installing twice replaces, never stacks
    factory = _scrubbing_factory(inner, redactor)
    factory.inner = inner  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    for handler in target.handlers:
        handler.addFilter(redactor)
    for name in CARRIERS:
        logging.getLogger(name).addFilter(redactor)
    return redactor
