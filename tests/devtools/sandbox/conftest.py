"""Fixtures: clients that talk to the suite's `sandbox` (`tests/fixtures/sandbox.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from devtools.sandbox import Brokerage, Sandbox
from tests.helpers.sandbox import spark_headers

# Clients pass verify=False: the sandbox is plain HTTP on loopback, and skipping the default
# SSL context (certifi loading) saves ~40 ms per client.


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
