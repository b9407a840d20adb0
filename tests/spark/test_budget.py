"""One Spark budget per API key: priorities, the interactive reserve, fairness, deadlines,
prefetch skipping and cool-downs. A fake clock that only moves when something sleeps."""

from __future__ import annotations

import asyncio

import pytest

from spark.budget import Budget, Priority, current_work, working_as
from spark.errors import FlexmlsBusy, PrefetchSkipped, RateLimited
from tests.helpers.spark import FakeClock


def budget(clock: FakeClock, limit: int = 10, window: float = 60, **kw) -> Budget:
    return Budget(limit, window, clock=clock, sleep=clock.sleep, **kw)


async def fill(b: Budget, n: int, priority: Priority = Priority.INTERACTIVE) -> None:
    for _ in range(n):
        assert await b.acquire(priority) == 0


async def test_never_more_than_limit_in_any_window(clock):
    b = budget(clock, limit=5, window=10)
    times = []
    for _ in range(17):
        await b.acquire()
        times.append(clock.now)
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 10) <= 5


async def test_people_go_before_background_work_when_a_slot_frees(clock):
    b = budget(clock, limit=1, window=10)
    await b.acquire()
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await b.acquire(priority, owner=name)
        order.append(name)

    # All queue before the slot frees, the digest first.
    results = await asyncio.gather(
        take("digest", Priority.BACKGROUND),
        take("prefetch", Priority.PREFETCH),
        take("click", Priority.CLICK),
        take("agent", Priority.INTERACTIVE),
        return_exceptions=True,
    )
    assert isinstance(results[1], PrefetchSkipped)
    assert order == ["agent", "click", "digest"]


async def test_background_work_leaves_the_reserve_for_people(clock):
    b = budget(clock, limit=10, window=60)  # 30 % reserve: background may fill 7 slots
    assert b.capacity(Priority.BACKGROUND) == 7
    await fill(b, 7, Priority.BACKGROUND)
    digest = asyncio.ensure_future(b.acquire(Priority.BACKGROUND, owner="digest"))
    await asyncio.sleep(0)
    assert not digest.done()  # the eighth background request waits for the window to move
    await fill(b, 3, Priority.INTERACTIVE)  # people still get the reserve at once
    assert b.in_window() == 10
    assert await digest == pytest.approx(60)


async def test_a_hammering_owner_does_not_push_a_colleague_to_the_back(clock):
    b = budget(clock, limit=1, window=1)
    await b.acquire(owner="hammer")
    order: list[str] = []

    async def take(owner: str) -> None:
        await b.acquire(owner=owner)
        order.append(owner)

    tasks = [asyncio.ensure_future(take("hammer")) for _ in range(6)]
    await asyncio.sleep(0)
    colleague = asyncio.ensure_future(take("colleague"))
    await asyncio.gather(*tasks, colleague)
    # Round-robin by owner: the colleague's one request is served next, not after six (FIFO).
    assert order.index("colleague") == 1


async def test_a_wait_past_the_deadline_is_refused_at_once_as_busy(clock):
    b = budget(clock, limit=2, window=60)
    await fill(b, 2)
    with pytest.raises(FlexmlsBusy) as info:
        await b.acquire(Priority.INTERACTIVE, owner="agent", max_wait=10)
    assert isinstance(info.value, RateLimited)
    assert info.value.retry_in == pytest.approx(60)
    assert clock.sleeps == []  # told at once, no silent stall


async def test_a_queued_request_is_refused_when_its_deadline_passes(clock):
    b = budget(clock, limit=1, window=8)
    await b.acquire()
    # The click estimates 8 s (fits its 9 s deadline), then a command jumps ahead of it.
    # Both queue before the slot frees (no yield in between), the click first.
    waiting = asyncio.ensure_future(b.acquire(Priority.CLICK, owner="a", max_wait=9))
    first = asyncio.ensure_future(b.acquire(Priority.INTERACTIVE, owner="b", max_wait=9))
    assert await first == pytest.approx(8)
    with pytest.raises(FlexmlsBusy):
        await waiting
    assert clock.now - 1000 <= 9.0 + 1e-9


async def test_background_work_waits_as_long_as_needed(clock):
    b = budget(clock, limit=1, window=300)
    await b.acquire()
    assert await b.acquire(Priority.BACKGROUND, owner="digest") == pytest.approx(300)


async def test_prefetch_never_waits(clock):
    b = budget(clock, limit=10, window=60)
    await fill(b, 6)
    assert await b.acquire(Priority.PREFETCH) == 0  # 7th slot: still outside the reserve
    with pytest.raises(PrefetchSkipped):
        await b.acquire(Priority.PREFETCH)  # the budget is tight: skipped, not queued
    assert b.waiting() == 0 and clock.sleeps == []


async def test_prefetch_is_skipped_while_anyone_waits(clock):
    b = budget(clock, limit=1, window=5)
    await b.acquire()
    queued = asyncio.ensure_future(b.acquire(owner="agent"))
    await asyncio.sleep(0)
    with pytest.raises(PrefetchSkipped):
        await b.acquire(Priority.PREFETCH)
    await queued


async def test_a_cool_down_pauses_the_key_for_everyone(clock):
    b = budget(clock, limit=100, window=60)
    b.cool_down(30)
    with pytest.raises(FlexmlsBusy) as info:
        await b.acquire(max_wait=10)
    assert info.value.retry_in == pytest.approx(30)
    assert await b.acquire(Priority.BACKGROUND) == pytest.approx(30)


async def test_429_without_retry_after_doubles_the_pause_until_a_success(clock):
    b = budget(clock)
    assert b.penalise(None) == 30
    assert b.penalise(None) == 30  # a 429 answered during the pause doesn't escalate
    clock.now += 30
    assert b.penalise(None) == 60
    clock.now += 60
    assert b.penalise(None) == 120
    clock.now += 120
    for _ in range(5):
        b.penalise(None)
        clock.now += 301
    assert b.penalise(None) == 300  # capped at one Spark window
    clock.now += 300
    b.succeeded()
    assert b.penalise(None) == 30


async def test_retry_after_sets_the_pause(clock):
    b = budget(clock)
    assert b.penalise(7) == 7


async def test_the_work_context_follows_tasks_and_resets():
    assert current_work().priority is Priority.INTERACTIVE
    with working_as(Priority.BACKGROUND, "T1:U1"):

        async def inner():
            return current_work()

        seen = await asyncio.ensure_future(inner())
    assert (seen.priority, seen.owner) == (Priority.BACKGROUND, "T1:U1")
    assert current_work().priority is Priority.INTERACTIVE


@pytest.mark.parametrize("retry_after", [99_999_999.0, 1e308, 2.5e11])
def test_a_huge_retry_after_pauses_the_key_at_most_one_window(retry_after):
    from spark.budget import COOL_DOWN_MAX, Budget

    budget = Budget(10, 10.0, clock=lambda: 0.0)
    assert budget.penalise(retry_after) <= COOL_DOWN_MAX


@pytest.mark.parametrize("retry_after", [0.0, -5.0, 0.2])
def test_a_zero_or_past_retry_after_twice_in_a_row_is_a_real_cool_down(retry_after):
    from spark.budget import COOL_DOWN_FIRST, Budget

    now = [0.0]
    budget = Budget(10, 10.0, clock=lambda: now[0])
    assert budget.penalise(retry_after) < 1  # Spark said "now": one retry
    now[0] += 1  # the retry went, and got another 429 saying "now"
    assert budget.penalise(retry_after) >= COOL_DOWN_FIRST  # a cool-down, no burst


async def test_one_persons_queued_commands_do_not_push_back_a_colleagues_click(clock):
    """Fairness spans commands and clicks: a spammer's backlog of commands waits its turn."""
    b = budget(clock, limit=2, window=10)
    await b.acquire(Priority.INTERACTIVE, owner="spammer")
    await b.acquire(Priority.INTERACTIVE, owner="spammer")
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await b.acquire(priority, owner=name)
        order.append(name)

    # All queue before the window moves (no yield in between), the spammer's five first.
    spam = [take("spammer", Priority.INTERACTIVE) for _ in range(5)]
    await asyncio.gather(*spam, take("colleague", Priority.CLICK))
    assert order.index("colleague") == 0  # the colleague has used nothing: served first
