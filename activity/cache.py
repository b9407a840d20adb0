"""A small in-memory cache of awaitables: TTL, LRU bound, and one fetch per key at a time.

Used for listing pages (so "Next" is instant when the page was prefetched) and for contacts
(so a page flip does not refetch the name for its header). Keys always include the token's
fingerprint: what one agent's token fetched is never served to another agent.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class AsyncCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, asyncio.Future[T]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _live(self, key: Hashable) -> asyncio.Future[T] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, future = entry
        if expires <= self._clock() or (
            future.done() and (future.cancelled() or future.exception())
        ):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return future

    def _start(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.ensure_future(fetch())
        future.add_done_callback(_consume_exception)
        self._entries[key] = (self._clock() + self.ttl, future)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return future

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        """The cached value for `key`, else the result of `fetch()` (shared by concurrent callers)."""
        future = self._live(key)
        if future is None:
            self.misses += 1
            future = self._start(key, fetch)
        else:
            self.hits += 1
        return await asyncio.shield(future)

    def prefetch(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> None:
        """Start fetching `key` in the background unless it is cached or already in flight."""
        if self._live(key) is None:
            self._start(key, fetch)

    def put(self, key: Hashable, value: T) -> None:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._entries[key] = (self._clock() + self.ttl, future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def peek(self, key: Hashable) -> T | None:
        """The value if it is cached and already fetched; never starts a fetch."""
        future = self._live(key)
        return future.result() if future is not None and future.done() else None

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)


def _consume_exception(future: asyncio.Future[Any]) -> None:
    # A failed prefetch nobody awaited must not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()
