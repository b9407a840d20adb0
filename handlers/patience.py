"""How long a person waits on Flexmls: a notice when it is slow, an end when it is too slow.

`watched(patience, ...)` runs a block of work (a request's turn) with two timers:

- after `patience.notice_after` seconds without an answer, `on_slow()` runs once (the turn
  posts "Still asking Flexmls…");
- after `patience.deadline` seconds without an answer, the block is cancelled, and leaves with
  `DeadlinePassed` instead of `CancelledError`: the work's own awaits (Spark requests, waits for
  a budget slot, the tasks it gathers) unwind as a cancellation does, and the caller tells the
  user. Once an answer is on its way (`answered()`), neither timer does anything.

A cancellation from outside (shutdown) stays a cancellation. `sleep` is injected, so the timers
can run on a fake clock in tests; nothing here knows about Slack.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

Sleep = Callable[[float], Awaitable[None]]

NOTICE_AFTER_S = 3.0  # no answer yet: "Still asking Flexmls…"
DEADLINE_S = 15.0  # still no answer: give up and say so


@dataclass(frozen=True)
class Patience:
    """When to tell a waiting person that Flexmls is slow, and when to give up."""

    notice_after: float = NOTICE_AFTER_S
    deadline: float = DEADLINE_S

    def __post_init__(self) -> None:
        if self.notice_after <= 0 or self.deadline <= 0:
            raise ValueError("patience needs positive durations")


class DeadlinePassed(Exception):
    """The work had no answer within the deadline and was cancelled."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


@asynccontextmanager
async def watched(
    patience: Patience,
    *,
    on_slow: Callable[[], Awaitable[None]],
    answered: Callable[[], bool],
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[None]:
    """Run the block under `patience` (see the module docstring)."""
    task = asyncio.current_task()
    assert task is not None, "watched() runs inside a task"
    expired = False

    async def notice() -> None:
        await sleep(patience.notice_after)
        if not answered():
            await on_slow()

    async def deadline() -> None:
        nonlocal expired
        await sleep(patience.deadline)
        if not answered():
            expired = True
            task.cancel()

    timers = [asyncio.create_task(notice()), asyncio.create_task(deadline())]
    try:
        yield
    except asyncio.CancelledError:
        if expired:
            expired = False
            if task.uncancel() == 0:  # our cancellation, and nobody else's (a shutdown)
                raise DeadlinePassed(patience.deadline) from None
        raise
    finally:
        if expired:  # cancelled, but the block ended some other way: take the request back
            task.uncancel()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
