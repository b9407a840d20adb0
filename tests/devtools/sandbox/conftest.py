"""Fixtures: a sandbox on a free port with a manual clock, and clients that talk to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devtools.sandbox import DEMO_TOKEN, Brokerage, ManualClock, Sandbox

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def spark_headers(token: str | None = DEMO_TOKEN, scheme: str = "Bearer") -> dict[str, str]:
    headers = {"X-SparkApi-User-Agent": "SandboxTests/1.0", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return headers


def assert_spark_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Assert Spark's failure envelope with this status and code; return `D`."""
    assert response.status_code == status, response.text
    assert response.headers.get("x-request-id")
    body = response.json()
    assert set(body) == {"D"}
    d = body["D"]
    assert d["Success"] is False
    assert d["Code"] == code
    assert isinstance(d["Message"], str) and d["Message"]
    return d


def results(response: httpx.Response) -> list[dict[str, Any]]:
    """Assert Spark's success envelope; return `D.Results`."""
    assert response.status_code == 200, response.text
    d = response.json()["D"]
    assert d["Success"] is True
    assert isinstance(d["Results"], list)
    return d["Results"]


# Clients pass verify=False: the sandbox is plain HTTP on loopback, and skipping the default
# SSL context (certifi loading) saves ~40 ms per client.


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(clock=clock) as running:
        yield running


@pytest.fixture
def brokerage(sandbox: Sandbox) -> Brokerage:
    return sandbox.state.brokerage


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=False, base_url=sandbox.url, headers=spark_headers(), timeout=5.0
    ) as http:
        yield http


@pytest.fixture
async def bare_client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client without Spark headers (for header, OAuth and admin tests)."""
    async with httpx.AsyncClient(verify=False, base_url=sandbox.url, timeout=5.0) as http:
        yield http
