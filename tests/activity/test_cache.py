"""The async cache: TTL, LRU bound, one fetch per key, failures not cached, prefetch, peek."""

from __future__ import annotations

import asyncio

import pytest

from activity.cache import AsyncCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def counting(value: object = "v"):
    calls: list[int] = []

    async def fetch():
        calls.append(1)
        await asyncio.sleep(0)
        return value

    return fetch, calls


async def test_a_value_is_fetched_once_and_served_until_it_expires(clock):
    cache: AsyncCache[object] = AsyncCache(ttl=10, clock=clock)
    fetch, calls = counting()
    assert await cache.get("k", fetch) == "v"
    clock.now = 9.9
    assert await cache.get("k", fetch) == "v"
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    clock.now = 10.0
    await cache.get("k", fetch)
    assert len(calls) == 2


async def test_concurrent_callers_share_one_fetch(clock):
    cache: AsyncCache[object] = AsyncCache(clock=clock)
    fetch, calls = counting()
    assert await asyncio.gather(*(cache.get("k", fetch) for _ in range(5))) == ["v"] * 5
    assert len(calls) == 1


async def test_a_failed_fetch_is_not_cached(clock):
    cache: AsyncCache[object] = AsyncCache(clock=clock)

    async def broken():
        raise RuntimeError("flexmls down")

    with pytest.raises(RuntimeError):
        await cache.get("k", broken)
    fetch, calls = counting("fresh")
    assert await cache.get("k", fetch) == "fresh" and len(calls) == 1


async def test_the_least_recently_used_key_goes_first(clock):
    cache: AsyncCache[object] = AsyncCache(max_entries=2, clock=clock)
    for key in ("a", "b"):
        await cache.get(key, counting(key)[0])
    await cache.get("a", counting("a")[0])  # "a" is now the most recent
    await cache.get("c", counting("c")[0])  # evicts "b"
    assert cache.peek("a") == "a" and cache.peek("b") is None and cache.peek("c") == "c"


async def test_prefetch_fills_the_cache_in_the_background_once(clock):
    cache: AsyncCache[object] = AsyncCache(clock=clock)
    fetch, calls = counting("page 2")
    cache.prefetch("k", fetch)
    cache.prefetch("k", fetch)  # already in flight: not started again
    assert await cache.get("k", fetch) == "page 2" and len(calls) == 1


async def test_a_failed_prefetch_is_dropped_quietly_and_fetched_again(clock):
    cache: AsyncCache[object] = AsyncCache(clock=clock)

    async def broken():
        raise RuntimeError("skipped")

    cache.prefetch("k", broken)
    await asyncio.sleep(0)
    assert cache.peek("k") is None
    assert await cache.get("k", counting("later")[0]) == "later"


async def test_peek_never_starts_a_fetch_and_put_and_discard_work(clock):
    cache: AsyncCache[object] = AsyncCache(clock=clock)
    assert cache.peek("k") is None
    cache.put("k", "known")
    assert cache.peek("k") == "known"
    cache.discard("k")
    assert cache.peek("k") is None
