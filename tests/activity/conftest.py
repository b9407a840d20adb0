"""Core tests run against the sandbox over real HTTP with an in-memory database."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from cryptography.fernet import Fernet

from activity.services import Services
from sandbox import ManualClock, Sandbox
from settings import load_settings
from spark import RetryPolicy, SparkClient
from storage import TokenCipher, open_memory_database

START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def sandbox(clock):
    async with Sandbox(clock=clock) as running:
        yield running


@pytest.fixture
async def services(sandbox, clock):
    async with httpx.AsyncClient() as http:
        spark = SparkClient(http, base_url=sandbox.url, user_agent="CoreTests",
                            retry=RetryPolicy(attempts=2, base_delay=0.01, deadline=3))  # fmt: skip
        yield Services(
            settings=load_settings({"SPARK_API_URL": sandbox.url}),
            db=open_memory_database(),
            cipher=TokenCipher(Fernet.generate_key()),
            spark=spark,
            clock=clock,
        )


def spark_paths(sandbox: Sandbox) -> list[str]:
    return [r.path for r in sandbox.requests if r.path.startswith("/v1/")]
