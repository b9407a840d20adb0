"""Run the sandbox and the bot as their own processes, the way they run in production.

Load tests measure the bot's acks, so the bot must not share an event loop (or a CPU budget)
with the test's driver, and neither should the sandbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from devtools.sandbox import DEMO_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_healthy(url: str, proc: asyncio.subprocess.Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"{url} exited with {proc.returncode}")
            try:
                if (await http.get(f"{url}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not become healthy")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def process(
    *args: str, env: dict[str, str], url: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        *args,
        env=env,
        cwd=env["HOME"],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await _wait_healthy(url, proc)
        yield proc
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()


def base_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def sandbox_process(home: Path, *, latency_ms: int = 0) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with process(
        "sandbox", "--port", str(port), "--latency-ms", str(latency_ms), env=base_env(home), url=url
    ):
        yield url


@asynccontextmanager
async def bot_process(
    home: Path, *, sandbox_url: str, slack_api_url: str, bot_token: str, secret: str
) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **base_env(home), "HOST": "127.0.0.1", "PORT": str(port),
        "SLACK_BOT_TOKEN": bot_token, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack_api_url,
        "SPARK_API_URL": sandbox_url, "SPARK_AUTH_URL": sandbox_url, "SPARK_ACCESS_TOKEN": DEMO_TOKEN,
        "DATABASE_PATH": str(home / "activity.db"),
    }  # fmt: skip
    async with process("serve", env=env, url=url) as proc:
        yield url, proc.pid
