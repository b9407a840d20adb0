"""Start-up that fails clearly: one line saying what is wrong and where to fix it.

`serve` asks Slack who the bot is (and, in Socket Mode, for a WebSocket URL) before it serves
anything. A token Slack rejects is a configuration error (exit code 2) and is never retried; a
network failure is retried with exponential backoff for a while (Slack, or the network, may be
having a moment), then reported (exit code 1). A shutdown signal interrupts both the request in
flight and the wait between attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from setup_check.results import EXIT_CONFIGURATION, EXIT_FAILED
from setup_check.slack import (
    app_token_problem,
    bot_token_problem,
    describe,
    is_transient,
    token_error,
    unreachable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_FOR_S = 60.0
EXIT_INTERRUPTED = 130


class StartupError(Exception):
    """Start-up cannot go on; `str()` is one line fit to print as-is."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class StartupInterrupted(Exception):
    """A shutdown signal arrived before start-up finished."""


@dataclass(frozen=True)
class Backoff:
    """1, 2, 4 … seconds between attempts, each at most `max_delay`."""

    first: float = 1.0
    factor: float = 2.0
    max_delay: float = 15.0

    def delay(self, retry: int) -> float:
        return min(self.max_delay, self.first * self.factor ** (retry - 1))


async def until_stopped(awaitable: Awaitable[T], stop: asyncio.Event | None) -> T:
    """Await `awaitable`, but give up (cancelling it) when `stop` is set first."""
    if stop is None:
        return await awaitable
    if stop.is_set():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise StartupInterrupted
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise StartupInterrupted


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    retry_for: float,
    stop: asyncio.Event | None = None,
    transient: Callable[[BaseException], bool] = is_transient,
    backoff: Backoff = Backoff(),
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`call()`, retried on transient failures for up to `retry_for` seconds in all.

    The last failure is re-raised when the next wait would pass the window, or at once when it
    is not transient. Raises `StartupInterrupted` when `stop` is set meanwhile.
    """
    started = clock()
    retry = 0
    while True:
        try:
            return await until_stopped(call(), stop)
        except StartupInterrupted:
            raise
        except Exception as error:
            if not transient(error):
                raise
            retry += 1
            delay = backoff.delay(retry)
            if clock() - started + delay > retry_for:
                raise
            log.warning(
                "%s did not answer (%s); retry %d in %.0f s", what, describe(error), retry, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_stopped(stop), delay)
            if stop is not None and stop.is_set():
                raise StartupInterrupted from None


async def _stopped(stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.Future()  # never: the timeout ends the wait
    else:
        await stop.wait()


TokenSetting = Literal["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]


def slack_startup_error(
    error: BaseException, *, setting: TokenSetting, token: str | None, api_url: str
) -> StartupError:
    """The one-line error for a Slack call that failed at start-up (after any retries)."""
    code = token_error(error)
    if code is not None:
        problem = bot_token_problem if setting == "SLACK_BOT_TOKEN" else app_token_problem
        return StartupError(problem(code, token), exit_code=EXIT_CONFIGURATION)
    if is_transient(error):
        return StartupError(unreachable(api_url, error) + " Gave up retrying.")
    return StartupError(f"Slack refused to start the bot ({describe(error)}); see {setting}.")
