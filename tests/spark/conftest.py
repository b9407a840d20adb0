"""Spark client unit tests: a `SparkClient` on `httpx.MockTransport`, on a clock that sleeping
advances (`tests.helpers.spark.FakeClock`, in place of the suite's `ManualClock`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from spark import RetryPolicy, SparkClient
from spark.ratelimit import RateLimiter
from tests.helpers.spark import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., SparkClient]:
    clients: list[httpx.AsyncClient] = []

    def build(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> SparkClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(http)
        kw.setdefault("rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
        kw.setdefault("retry", RetryPolicy())
        return SparkClient(
            http,
            base_url="https://spark.test",
            user_agent="ActivityBotTests",
            sleep=clock.sleep,
            clock=clock,
            rng=lambda: 0.5,
            **kw,
        )

    return build
