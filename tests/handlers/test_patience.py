"""`watched()`: the notice after `notice_after`, the deadline after `deadline`, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from handlers.patience import DeadlinePassed, Patience, watched


class FakeTime:
    """`sleep()` that waits for `advance()` instead of the wall clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        await settle()
        self.wake(seconds)
        await settle()

    def wake(self, seconds: float) -> None:
        """Move the clock and wake the sleepers that are due, without letting anything run."""
        self.now += seconds
        for due, future in list(self._sleepers):
            if due <= self.now and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]

    @property
    def sleeping(self) -> int:
        return sum(not f.done() for _, f in self._sleepers)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


PATIENCE = Patience(notice_after=3, deadline=15)


class Work:
    """A request's work on the fake clock: it waits until `finish()`; `slow` counts notices."""

    def __init__(self, time: FakeTime, patience: Patience = PATIENCE) -> None:
        self.time = time
        self.patience = patience
        self.done = asyncio.Event()
        self.slow = 0
        self.answer = False
        self.outcome: BaseException | str | None = None
        self.task = asyncio.create_task(self.run())

    async def on_slow(self) -> None:
        self.slow += 1

    async def run(self) -> None:
        try:
            async with watched(
                self.patience,
                on_slow=self.on_slow,
                answered=lambda: self.answer,
                sleep=self.time.sleep,
            ):
                await self.done.wait()
            self.outcome = "finished"
        except DeadlinePassed as late:
            self.outcome = late


async def test_a_quick_answer_gets_no_notice_and_leaves_no_timer():
    time = FakeTime()
    work = Work(time)
    await time.advance(2.9)
    work.answer = True
    work.done.set()
    await work.task
    assert work.outcome == "finished" and work.slow == 0
    await time.advance(60)
    assert work.slow == 0 and time.sleeping == 0


async def test_a_slow_answer_gets_one_notice_at_three_seconds():
    time = FakeTime()
    work = Work(time)
    await time.advance(2.9)
    assert work.slow == 0
    await time.advance(0.1)
    assert work.slow == 1
    await time.advance(10)
    work.answer = True
    work.done.set()
    await work.task
    assert work.outcome == "finished" and work.slow == 1


async def test_no_answer_by_the_deadline_cancels_the_work_and_says_so():
    time = FakeTime()
    work = Work(time)
    await time.advance(14.9)
    assert work.outcome is None and work.slow == 1
    await time.advance(0.1)
    await asyncio.wait_for(work.task, 1)
    assert isinstance(work.outcome, DeadlinePassed) and work.outcome.seconds == 15
    assert not work.task.cancelled() and work.task.cancelling() == 0  # nothing left pending
    assert time.sleeping == 0


async def test_an_answer_on_its_way_is_not_cut_off_by_the_deadline():
    time = FakeTime()
    work = Work(time)
    await time.advance(14)
    work.answer = True  # e.g. the reply is being posted to Slack
    await time.advance(5)
    assert work.outcome is None
    work.done.set()
    await work.task
    assert work.outcome == "finished"


async def test_a_notice_is_not_shown_once_the_answer_is_on_its_way():
    time = FakeTime()
    work = Work(time)
    work.answer = True
    await time.advance(3)
    assert work.slow == 0
    work.done.set()
    await work.task


async def test_a_cancellation_from_outside_stays_a_cancellation():
    time = FakeTime()
    work = Work(time)
    await time.advance(1)
    work.task.cancel()  # shutting down
    with pytest.raises(asyncio.CancelledError):
        await work.task
    assert time.sleeping == 0


async def test_a_shutdown_during_the_deadline_is_not_swallowed():
    time = FakeTime()
    work = Work(time)
    await time.advance(14)
    time.wake(1)
    await asyncio.sleep(0)  # the deadline's timer runs: our cancellation is pending...
    assert work.task.cancelling() == 1
    work.task.cancel()  # ...and so is the shutdown's
    with pytest.raises(asyncio.CancelledError):
        await work.task
    assert time.sleeping == 0


async def test_errors_of_the_work_pass_through_untouched():
    time = FakeTime()

    async def failing() -> None:
        async with watched(PATIENCE, on_slow=_nothing, answered=lambda: False, sleep=time.sleep):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await failing()
    await settle()
    assert time.sleeping == 0


async def _nothing() -> None:
    return None


@pytest.mark.parametrize(("notice_after", "deadline"), [(0, 15), (3, 0), (-1, 5)])
def test_patience_needs_positive_durations(notice_after, deadline):
    with pytest.raises(ValueError):
        Patience(notice_after, deadline)
