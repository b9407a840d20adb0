"""A client-side rate limiter, one sliding window per token.

Spark allows a number of requests "per any five-minute window" per key. A token bucket would
let a full burst through at the end of one window and another at the start of the next, so
this keeps the exact log of send times per token: a request waits until fewer than `limit`
requests were sent in the last `window` seconds (plus a small margin for network skew). Waiters
on one token are served in arrival order.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def token_key(token: str) -> str:
    """A short, non-reversible key for a token, safe to keep in memory maps and logs."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class RateLimiter:
    def __init__(
        self,
        limit: int = 1500,
        window: float = 300.0,
        *,
        margin: float | None = None,
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
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _trim(self, sent: deque[float], now: float) -> None:
        while sent and sent[0] <= now - self.window:
            sent.popleft()

    async def acquire(self, key: str) -> float:
        """Wait for a free slot for `key` and take it; return the seconds waited."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        waited = 0.0
        async with lock:
            sent = self._sent.setdefault(key, deque())
            while True:
                now = self._clock()
                self._trim(sent, now)
                if len(sent) < self.limit:
                    sent.append(now)
                    return waited
                delay = sent[0] + self.window - now
                waited += delay
                await self._sleep(delay)

    def in_window(self, key: str) -> int:
        """How many requests for `key` count against the current window."""
        sent = self._sent.get(key)
        if not sent:
            return 0
        self._trim(sent, self._clock())
        return len(sent)
