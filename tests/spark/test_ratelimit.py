"""The per-token sliding-window limiter never lets more than `limit` through in any window."""

import asyncio

import pytest

from spark.ratelimit import RateLimiter, token_key
from tests.helpers.spark import FakeClock


async def test_never_more_than_limit_in_any_window():
    clock = FakeClock()
    limiter = RateLimiter(limit=5, window=10, margin=0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(23):
        await limiter.acquire("k")
        times.append(clock.now)
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 10) <= 5
    assert times[5] == times[0] + 10  # the sixth waits exactly until the first leaves


async def test_tokens_have_independent_windows():
    clock = FakeClock()
    limiter = RateLimiter(limit=1, window=10, clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    assert await limiter.acquire("b") == 0
    assert await limiter.acquire("a") == pytest.approx(10.05)  # includes the skew margin
    assert limiter.in_window("a") == 1


async def test_waiters_are_served_in_arrival_order():
    clock = FakeClock()
    limiter = RateLimiter(limit=1, window=1, margin=0, clock=clock, sleep=clock.sleep)
    order = []

    async def take(n):
        await limiter.acquire("k")
        order.append(n)

    await asyncio.gather(*(take(n) for n in range(6)))
    assert order == list(range(6))


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        RateLimiter(limit=0)


def test_token_key_does_not_contain_the_token():
    key = token_key("super-secret-token")
    assert "secret" not in key and len(key) == 16 and key == token_key("super-secret-token")


@pytest.mark.parametrize(("window", "margin"), [(300, 0.5), (60, 0.12), (2, 0.05), (0.5, 0.05)])
def test_the_default_skew_margin_scales_with_the_window(window, margin):
    assert RateLimiter(limit=1, window=window).window == pytest.approx(window + margin)
