"""The client-side rate limiter: one `Budget` (exact sliding window) per Spark API key.

Spark allows a number of requests "per any five-minute window" per **API key** (spark_api.md
§2.3 and §9), so the limiter is keyed by key name, not by token: every token obtained through
our OAuth client shares one budget. A token bucket would let a full burst through at the end of
one window and another at the start of the next, so each budget keeps the exact log of send
times: a request waits until fewer than `limit` requests were sent in the last `window` seconds
(plus a small margin for network skew). Priorities, the interactive reserve, fairness between
owners and cool-downs live in `spark.budget.Budget`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from spark.budget import DEFAULT_RESERVE, Budget, Priority

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def token_key(token: str) -> str:
    """A short, non-reversible key for a token, safe to keep in memory maps and logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class RateLimiter:
    """Budgets by key name, all with the same limit; created on first use."""

    def __init__(
        self,
        limit: int = 1500,
        window: float = 300.0,
        *,
        margin: float | None = None,
        reserve: float = DEFAULT_RESERVE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        if margin is None:
            # Cover a little network skew between our send time and Spark's arrival time, in
            # proportion to the window: 0.5 s on Spark's 300 s window, never under 50 ms.
            margin = min(0.5, max(0.05, window * 0.002))
        self.window = window + margin
        self._margin = margin
        self._window_s = window
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, Budget] = {}

    def budget(self, key: str) -> Budget:
        """The budget of API key `key` (created on first use)."""
        budget = self._budgets.get(key)
        if budget is None:
            budget = Budget(
                self.limit,
                self._window_s,
                reserve=self.reserve,
                margin=self._margin,
                clock=self._clock,
                sleep=self._sleep,
            )
            self._budgets[key] = budget
        return budget

    async def acquire(
        self,
        key: str,
        priority: Priority = Priority.INTERACTIVE,
        owner: str = "",
        max_wait: float | None = None,
    ) -> float:
        """Wait for a free slot for `key` and take it; return the seconds waited."""
        return await self.budget(key).acquire(priority, owner, max_wait)

    def cool_down(self, key: str, seconds: float) -> None:
        """Pause `key` for everyone for `seconds`."""
        self.budget(key).cool_down(seconds)

    def in_window(self, key: str) -> int:
        """How many requests for `key` count against the current window."""
        budget = self._budgets.get(key)
        return 0 if budget is None else budget.in_window()
