"""Keep secrets out of logs, whatever a library decides to log.

`install(secrets)` adds a filter to every handler of the root logger that rewrites each record
before it is formatted: known secret values (the configured tokens) and anything shaped like a
credential (`Bearer …`, `xoxb-…`, `"access_token": "…"`, `token=…`) become `[redacted]`.
Spark tokens users paste or obtain through OAuth are unknown up front, so the shape rules matter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
PATTERNS = [
    re.compile(r"(?i)\b(bearer|oauth)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bxox[abeprs]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|token|client_secret|code|authorization)[\"']?"
        r"\s*[:=]\s*[\"']?)[^\"'&\s,}]{6,}"
    ),
]


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) + REDACTED) if m.lastindex else REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def install(secrets: Iterable[str] = (), logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach one redacting filter to every handler of `logger` (default: the root logger)."""
    target = logger or logging.getLogger()
    redactor = RedactingFilter(secrets)
    for handler in target.handlers:
        handler.addFilter(redactor)
    return redactor
