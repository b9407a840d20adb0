"""Core tests run against the sandbox over real HTTP with an in-memory database."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from cryptography.fernet import Fernet

from activity.services import Services
from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ManualClock, Sandbox
from settings import load_settings
from spark import OAuthClient, RetryPolicy, SparkClient
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
def env() -> dict[str, str]:
    """Extra settings for the services under test (override per test with parametrize)."""
    return {}


@pytest.fixture
async def services(sandbox, clock, env):
    key = Fernet.generate_key()
    async with httpx.AsyncClient() as http:
        spark = SparkClient(http, base_url=sandbox.url, user_agent="CoreTests",
                            retry=RetryPolicy(attempts=2, base_delay=0.01, deadline=3))  # fmt: skip
        oauth = OAuthClient(http, auth_url=sandbox.url, api_url=sandbox.url, client_id=DEMO_CLIENT_ID,
                            client_secret=DEMO_CLIENT_SECRET, redirect_uri="http://127.0.0.1/cb", clock=clock)  # fmt: skip
        yield Services(
            settings=load_settings({"SPARK_API_URL": sandbox.url, **env}),
            db=open_memory_database(),
            cipher=TokenCipher(key),
            spark=spark,
            clock=clock,
            oauth=oauth,
            secret_key=key,
        )


def spark_paths(sandbox: Sandbox) -> list[str]:
    return [r.path for r in sandbox.requests if r.path.startswith("/v1/")]
