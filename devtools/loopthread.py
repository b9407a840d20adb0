"""Plumbing the local stand-in servers share: binding an aiohttp app, and a loop in a thread.

`bind(runner, host, port)` starts an aiohttp runner on a TCP site (port 0 picks a free one)
and returns its URL.

Run an async server on its own event loop in a daemon thread, for synchronous callers.

The Spark sandbox and the stand-in Slack are both async servers with `start()` (returning
nothing useful) and `stop()` coroutines; the console, benchmarks and sync tests need them
running beside code that has no event loop. `LoopThread` is that one piece of plumbing.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol, Self

from aiohttp import web


async def bind(runner: web.AppRunner, host: str, port: int) -> str:
    """Set up `runner`, serve it on host:port and return the bound URL (cleaned up on failure)."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{bound_port}"


class AsyncServer(Protocol):
    url: str

    async def start(self) -> Any: ...

    async def stop(self) -> Any: ...


class LoopThread:
    label = "server"

    def __init__(self, server: AsyncServer) -> None:
        self._server = server
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self._server.url

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the URL once the port is bound."""
        if self._thread is not None:
            return self.url
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name=self.label, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the {self.label} did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise RuntimeError(f"the {self.label} failed to start") from self._error
        return self.url

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                loop.run_until_complete(self._server.start())
            except BaseException as exc:  # reported to start()
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(self._server.stop())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        self._thread = None
        if thread is None:
            return
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
