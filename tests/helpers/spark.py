"""Spark client unit tests: canned Spark responses, a clock that sleeping advances, a recorder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


def spark_ok(
    results: list[Any] | None = None, pagination: dict | None = None, **headers: str
) -> httpx.Response:
    body: dict[str, Any] = {"D": {"Success": True, "Results": results or []}}
    if pagination is not None:
        body["D"]["Pagination"] = pagination
    return httpx.Response(200, json=body, headers={"x-request-id": "req-ok", **headers})


def spark_error(
    status: int, code: int | None, message: str = "", headers: dict | None = None, **extra: Any
) -> httpx.Response:
    d: dict[str, Any] = {"Success": False, "Message": message}
    if code is not None:
        d["Code"] = code
    d.update(extra)
    return httpx.Response(
        status, json={"D": d}, headers={"x-request-id": "req-err", **(headers or {})}
    )


class FakeClock:
    """Monotonic time that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MockTransport handler that serves queued responses and records requests."""

    def __init__(
        self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception
    ) -> None:
        self.queue = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.queue.pop(0) if len(self.queue) > 1 else self.queue[0]
        if isinstance(item, Exception):
            raise item
        return item(request) if callable(item) else item

    def tokens(self) -> list[str]:
        return [r.headers["authorization"].removeprefix("Bearer ") for r in self.requests]
