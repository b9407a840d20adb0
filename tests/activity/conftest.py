"""Core tests run against the sandbox over real HTTP with an in-memory database.

`clock` and `sandbox` are the suite's (`tests/fixtures/sandbox.py`)."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet

from activity.services import assemble
from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from settings import load_settings
from spark import OAuthClient, RetryPolicy
from storage import TokenCipher, open_memory_database


@pytest.fixture
def env() -> dict[str, str]:
    """Extra settings for the services under test (override per test with parametrize)."""
    return {}


@pytest.fixture
async def services(sandbox, clock, env):
    key = Fernet.generate_key()
    async with httpx.AsyncClient() as http:
        oauth = OAuthClient(
            http,
            auth_url=sandbox.url,
            api_url=sandbox.url,
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            redirect_uri="http://127.0.0.1/cb",
            clock=clock,
        )
        yield assemble(
            settings=load_settings({"SPARK_API_URL": sandbox.url, **env}),
            db=open_memory_database(),
            cipher=TokenCipher(key),
            http=http,
            clock=clock,
            oauth=oauth,
            secret_key=key,
            retry=RetryPolicy(attempts=2, base_delay=0.01, deadline=3),
        )
