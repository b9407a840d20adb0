"""Fault injection and throttling for the sandbox.

* `FaultRule` describes one misbehaviour (latency, an error status, 429/1550, 503, a hang,
  a malformed body, a body without the `D` envelope, an expired token, a dropped connection)
  for requests whose path matches an fnmatch glob, optionally only for one token and only a
  number of `times`. `FaultRule.from_dict` validates the JSON the admin endpoint receives.
* `FaultSet` is the ordered, thread-safe list of rules the server consults for each request.
* `RateLimit` + `SlidingWindowLimiter` implement the optional per-key limit (Spark counts per
  API key, spark_api.md §9): never more than `limit` accepted requests in any `window_s`-second
  window, and the time until a slot frees (sent as `Retry-After` only when the sandbox's
  `retry_after` switch is on; production docs don't promise the header).

Faults use the documented status/code pairs (spark_api.md §2.2, §9): `rate_limit` is 429 +
1550; `unavailable` is 503 with 1023, 1024, 1510 (default), 1515 or 1516; a `status` rule for
429 takes 1550 and for 503 defaults to 1510. A `rate_limit` rule sends `Retry-After` only when
it is given one.

The server (`sandbox.server`) decides what each kind does to a request; this module only holds
the rules and their bookkeeping.
"""

from __future__ import annotations

import collections
import fnmatch
import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = (
    "latency",
    "status",
    "rate_limit",
    "unavailable",
    "hang",
    "malformed",
    "no_envelope",
    "expire_token",
    "expire_after",
    "disconnect",
)
# Kinds that end the request with their own response; the others only change how it proceeds.
TERMINAL_KINDS = frozenset(
    {"status", "rate_limit", "unavailable", "malformed", "no_envelope", "disconnect"}
)
DEFAULT_HANG_MS = 60_000

_COMMON = frozenset({"kind", "route", "times", "token"})
_KIND_OPTIONS: Mapping[str, frozenset[str]] = {
    "latency": frozenset({"delay_ms"}),
    "hang": frozenset({"delay_ms"}),
    "status": frozenset({"status", "code", "message", "retry_after"}),
    "rate_limit": frozenset({"message", "retry_after"}),
    "unavailable": frozenset({"code", "message", "retry_after"}),
    "malformed": frozenset(),
    "no_envelope": frozenset(),
    "expire_token": frozenset(),
    "expire_after": frozenset({"uses"}),
    "disconnect": frozenset(),
}
_OPTION_NAMES = ("delay_ms", "status", "code", "message", "retry_after", "uses")
# Spark code a `status` rule uses when none is given.
_DEFAULT_CODE_FOR_STATUS = {
    400: 1050,
    401: 1000,
    403: 1500,
    404: 404,
    405: 405,
    409: 1055,
    429: 1550,
    500: 1026,
    503: 1510,
}
# 503 codes per spark_api.md §9 (1550 goes with 429).
UNAVAILABLE_CODES = frozenset({1023, 1024, 1510, 1515, 1516})


class FaultRuleError(ValueError):
    """A fault rule that cannot be applied (unknown kind, bad value, option for another kind)."""


@dataclass
class FaultRule:
    """One fault. See the module docstring of `sandbox` for the dict format."""

    kind: str
    route: str = "*"
    times: int | None = None
    token: str | None = field(default=None, repr=False)
    delay_ms: int | None = None
    status: int | None = None
    code: int | None = None
    message: str | None = None
    retry_after: int | None = None
    uses: int | None = None
    applied: int = field(default=0, init=False, compare=False)
    _uses_by_token: dict[str, int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.kind not in _KIND_OPTIONS:
            raise FaultRuleError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        allowed = _KIND_OPTIONS[self.kind]
        for name in _OPTION_NAMES:
            if getattr(self, name) is not None and name not in allowed:
                raise FaultRuleError(f"{name!r} does not apply to kind {self.kind!r}")
        if not isinstance(self.route, str) or not self.route:
            raise FaultRuleError("route must be a non-empty glob string")
        if self.token is not None and (not isinstance(self.token, str) or not self.token):
            raise FaultRuleError("token must be a non-empty string or null")
        if self.message is not None and not isinstance(self.message, str):
            raise FaultRuleError("message must be a string")
        _check_int("times", self.times, 1)
        _check_int("delay_ms", self.delay_ms, 0, 600_000)
        _check_int("status", self.status, 400, 599)
        _check_int("code", self.code, 0)
        _check_int("retry_after", self.retry_after, 0, 86_400)
        _check_int("uses", self.uses, 0)

        if self.kind == "latency" and self.delay_ms is None:
            raise FaultRuleError("a latency rule needs delay_ms")
        if self.kind == "expire_after" and self.uses is None:
            raise FaultRuleError("an expire_after rule needs uses")
        if self.kind == "hang" and self.delay_ms is None:
            self.delay_ms = DEFAULT_HANG_MS
        if self.kind == "status":
            if self.status is None:
                self.status = 500
            if self.code is None:
                self.code = _DEFAULT_CODE_FOR_STATUS.get(self.status, self.status)
        if self.kind == "rate_limit":
            self.status, self.code = 429, 1550
        if self.kind == "status" and self.status == 429 and self.code != 1550:
            raise FaultRuleError("a 429 carries code 1550 (spark_api.md §9)")
        if self.kind == "unavailable":
            self.status = 503
            if self.code is None:
                self.code = 1510
            if self.code not in UNAVAILABLE_CODES:
                raise FaultRuleError(
                    "an unavailable rule's code is one of 1023, 1024, 1510, 1515, 1516"
                )

    @classmethod
    def from_dict(cls, data: Any) -> FaultRule:
        """Build a rule from admin-endpoint JSON; raise `FaultRuleError` when invalid."""
        if not isinstance(data, Mapping):
            raise FaultRuleError("a fault rule must be a JSON object")
        if "kind" not in data:
            raise FaultRuleError("a fault rule needs a kind")
        unknown = set(data) - _COMMON - set(_OPTION_NAMES)
        if unknown:
            raise FaultRuleError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
        kind = data["kind"]
        if not isinstance(kind, str):
            raise FaultRuleError("kind must be a string")
        options = {k: v for k, v in data.items() if k != "kind"}
        if options.get("route") is None:
            options.pop("route", None)
        return cls(kind, **options)

    @property
    def remaining(self) -> int | None:
        """How many more requests this rule applies to (None = unlimited)."""
        return None if self.times is None else max(0, self.times - self.applied)

    def applies_to(self, path: str, token: str | None) -> bool:
        if self.remaining == 0:
            return False
        if self.token is not None and self.token != token:
            return False
        return fnmatch.fnmatchcase(path, self.route)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON, with bookkeeping; a token is shown only as a fingerprint."""
        data: dict[str, Any] = {"kind": self.kind, "route": self.route, "times": self.times}
        for name in _OPTION_NAMES:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.token is not None:
            data["token_fingerprint"] = token_fingerprint(self.token)
        data["applied"] = self.applied
        return data


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultRuleError(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise FaultRuleError(f"{name} must be {bound}")


def token_fingerprint(token: str) -> str:
    """A short, stable, non-reversible label for a token (for logs and listings)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class FaultSet:
    """The ordered list of rules. Safe to change from another thread while serving."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
        return count

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def claim(self, path: str, token: str | None) -> Iterator[FaultRule]:
        """Yield, in order, each rule that applies to this request, counting it as applied.

        Lazy on purpose: a terminal rule stops iteration, so later rules are not consumed.
        """
        for rule in self.rules():
            with self._lock:
                if not rule.applies_to(path, token):
                    continue
                rule.applied += 1
            yield rule

    def record_use(self, rule: FaultRule, token: str) -> bool:
        """Count one use of `token` under an expire_after rule; True once past `uses`."""
        with self._lock:
            used = rule._uses_by_token.get(token, 0) + 1
            rule._uses_by_token[token] = used
            return used > (rule.uses or 0)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests per API key in any `window_s`-second window."""

    limit: int
    window_s: float

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError("rate limit: limit must be an integer >= 1")
        if (
            isinstance(self.window_s, bool)
            or not isinstance(self.window_s, int | float)
            or not math.isfinite(self.window_s)
            or self.window_s <= 0
        ):
            raise ValueError("rate limit: window_s must be a number > 0")

    @classmethod
    def coerce(cls, value: Any) -> RateLimit | None:
        """Accept None, a RateLimit, `{"limit": n, "window_s": s}` or `(n, s)`."""
        if value is None or isinstance(value, RateLimit):
            return value
        if isinstance(value, Mapping):
            extra = set(value) - {"limit", "window_s"}
            if extra or "limit" not in value or "window_s" not in value:
                raise ValueError('rate limit must be {"limit": n, "window_s": s} or null')
            return cls(value["limit"], value["window_s"])
        if isinstance(value, tuple | list) and len(value) == 2:
            return cls(value[0], value[1])
        raise ValueError('rate limit must be {"limit": n, "window_s": s} or null')

    def to_dict(self) -> dict[str, float]:
        return {"limit": self.limit, "window_s": self.window_s}


class SlidingWindowLimiter:
    """Exact sliding-window limiter keyed by API key; only accepted requests occupy slots."""

    def __init__(self, rate: RateLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._monotonic = monotonic
        self._accepted: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take a slot for `key` and return None, or return the seconds until one frees."""
        now = self._monotonic()
        with self._lock:
            window = self._accepted.setdefault(key, collections.deque())
            while window and window[0] + self.rate.window_s <= now:
                window.popleft()
            if len(window) < self.rate.limit:
                window.append(now)
                return None
            return window[0] + self.rate.window_s - now


def retry_after_seconds(wait: float) -> int:
    """`Retry-After` for a wait: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))
