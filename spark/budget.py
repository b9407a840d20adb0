"""One Spark request budget per API key: priorities, a reserve for people, fairness, cool-down.

Spark counts requests per API key, not per token (spark_api.md §2.3, §9: "Each request … using
an API key is counted"), so every agent connected through our OAuth client shares one window.
A `Budget` keeps the exact log of send times for one key (a sliding window, like Spark's "any
five-minute period") and hands out slots:

- by priority: `INTERACTIVE` (an agent waiting on a reply) before `CLICK` before `BACKGROUND`
  (digests, pollers) before `PREFETCH`;
- with a reserve: background work and prefetches only use what leaves `reserve` (default 30%)
  of the window free for people;
- fairly: among waiters of one priority the owner (the Slack user) who has used the fewest
  slots of the current window goes first (ties: round-robin, who was served longest ago), so one person hammering the
  command cannot make a colleague wait behind all of their requests;
- within a deadline: a request whose wait would pass `max_wait` gets `FlexmlsBusy(retry_in=N)`
  at once instead of a silent stall; background work (`max_wait=None`) waits as long as needed;
- prefetches never wait: with no free slot at once they raise `PrefetchSkipped`;
- `cool_down(seconds)` pauses the key for everyone (after a 429: the key is over Spark's limit,
  so every request on it would be refused too).

Who is asking travels in a `contextvars.ContextVar` (`CURRENT_WORK`, set with `working_as(...)`
where the work starts: the `Turn` for commands and clicks, the digest pass, the prefetch), and
the Spark client reads it for each request. A context variable follows the work into the tasks it
starts (asyncio copies the context), so no call signature changes; the explicit value will come
with issue 12's refactor. Clock and sleep are injected: tests use a fake clock and never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from spark.errors import FlexmlsBusy, PrefetchSkipped

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_RESERVE = 0.3  # share of the window kept for people (issue 11 §1)
INTERACTIVE_MAX_WAIT = 10.0  # seconds a person waits for a slot before "Flexmls is busy"
COOL_DOWN_FIRST = 30.0  # first pause after a 429 without Retry-After (spark_api.md §9)
COOL_DOWN_MAX = 300.0  # doubling stops here (one full Spark window); also caps Retry-After
RETRY_AFTER_MIN = 1.0  # a shorter Retry-After (0, a date already past) is taken once in a row


class Priority(IntEnum):
    """Lower goes first."""

    INTERACTIVE = 0
    CLICK = 1
    BACKGROUND = 2
    PREFETCH = 3

    @property
    def uses_reserve(self) -> bool:
        """People may use the whole window; background work and prefetches leave the reserve."""
        return self <= Priority.CLICK


PEOPLE = (Priority.INTERACTIVE, Priority.CLICK)  # someone is waiting on the answer


@dataclass(frozen=True)
class Work:
    """Who a Spark request is for: its priority, its owner, and how long it may wait for a slot."""

    priority: Priority = Priority.INTERACTIVE
    owner: str = ""
    max_wait: float | None = None  # None: wait as long as needed


CURRENT_WORK: contextvars.ContextVar[Work] = contextvars.ContextVar(
    "spark_work",
    default=Work(),  # noqa: B039 (Work is frozen)
)


def current_work() -> Work:
    return CURRENT_WORK.get()


@contextlib.contextmanager
def working_as(
    priority: Priority, owner: str = "", *, max_wait: float | None = None
) -> Iterator[Work]:
    """Run the block (and the tasks it starts) as `priority` work for `owner`."""
    work = Work(priority, owner, max_wait)
    reset = CURRENT_WORK.set(work)
    try:
        yield work
    finally:
        CURRENT_WORK.reset(reset)


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    owner: str
    deadline: float | None  # absolute, by the budget's clock
    future: asyncio.Future[None] = field(repr=False)


class Budget:
    """The sliding window of one API key. See the module docstring."""

    def __init__(
        self,
        limit: int = 1500,
        window: float = 300.0,
        *,
        reserve: float = DEFAULT_RESERVE,
        margin: float = 0.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        if not 0 <= reserve < 1:
            raise ValueError("the reserve is a share of the window, from 0 to under 1")
        self.limit = limit
        self.window = window + margin
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[tuple[float, str]] = deque()  # (send time, owner), oldest first
        self._used: Counter[str] = Counter()  # slots per owner in the window
        self._last_turn: dict[str, int] = {}  # owner -> number of their latest grant
        self._turns = 0
        self._queues: dict[Priority, OrderedDict[str, deque[_Waiter]]] = {
            p: OrderedDict() for p in Priority
        }
        self._paused_until = -math.inf
        self._strikes = 0
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = math.inf

    # -- state --------------------------------------------------------------------------------

    def capacity(self, priority: Priority) -> int:
        """How many slots of the window `priority` work may fill."""
        if priority.uses_reserve:
            return self.limit
        return max(1, self.limit - math.ceil(self.limit * self.reserve))

    def in_window(self) -> int:
        self._trim(self._clock())
        return len(self._sent)

    def waiting(self) -> int:
        return sum(len(q) for queues in self._queues.values() for q in queues.values())

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0][0] <= now - self.window:
            _, owner = self._sent.popleft()
            self._used[owner] -= 1
            if self._used[owner] <= 0:
                del self._used[owner]

    def _take(self, now: float, owner: str) -> None:
        self._sent.append((now, owner))
        self._used[owner] += 1
        self._turns += 1
        self._last_turn[owner] = self._turns
        if len(self._last_turn) > 4 * (len(self._used) + 64):
            self._last_turn = {o: t for o, t in self._last_turn.items() if o in self._used}

    def _free_at(self, priority: Priority, extra: int, now: float) -> float:
        """When `extra` more requests of `priority` could all have been sent (by the clock)."""
        cap = self.capacity(priority)
        start = max(now, self._paused_until)
        must_leave = len(self._sent) + extra - cap  # sent entries that must age out first
        if must_leave <= 0:
            return start
        if must_leave <= len(self._sent):
            return max(start, self._sent[must_leave - 1][0] + self.window)
        rounds = math.ceil((must_leave - len(self._sent)) / cap)
        last = self._sent[-1][0] if self._sent else now
        return max(start, last + self.window * (rounds + 1))

    def _ahead(self, priority: Priority, owner: str) -> int:
        """Waiters served before a new (priority, owner) request (an estimate: the fair order
        interleaves owners, so each other owner gets about as many turns as this one)."""
        if priority in PEOPLE:  # commands and clicks share one fair order between people
            queued = self._people_queued()
            mine = queued.pop(owner, (0, priority))[0]
            me = self._standing(owner, priority)
            return mine + sum(
                min(n, mine + 1) if self._standing(o, best) < me else min(n, mine)
                for o, (n, best) in queued.items()
            )
        ahead = sum(len(q) for p in Priority if p < priority for q in self._queues[p].values())
        queues = self._queues[priority]
        mine = len(queues.get(owner, ()))
        ahead += mine + sum(min(len(q), mine + 1) for o, q in queues.items() if o != owner)
        return ahead

    def _people_queued(self) -> dict[str, tuple[int, Priority]]:
        """Per person waiting: how many requests, and the most urgent priority among them."""
        queued: dict[str, tuple[int, Priority]] = {}
        for priority in PEOPLE:
            for owner, queue in self._queues[priority].items():
                count, best = queued.get(owner, (0, priority))
                queued[owner] = (count + len(queue), min(best, priority))
        return queued

    def _standing(self, owner: str, priority: Priority) -> tuple[int, float, int]:
        """Who goes first among people: fewest slots in the window, served longest ago, then
        the more urgent request (a command before a click)."""
        return (self._used[owner], self._last_turn.get(owner, 0), int(priority))

    def eta(self, priority: Priority, owner: str = "") -> float:
        """Seconds a new request of `priority` for `owner` would wait for its slot (estimate)."""
        now = self._clock()
        self._trim(now)
        return self._free_at(priority, self._ahead(priority, owner) + 1, now) - now

    # -- taking slots ---------------------------------------------------------------------------

    async def acquire(
        self,
        priority: Priority = Priority.INTERACTIVE,
        owner: str = "",
        max_wait: float | None = None,
    ) -> float:
        """Take a slot; return the seconds waited.

        Raises `PrefetchSkipped` for a prefetch with no free slot at once, and `FlexmlsBusy`
        when the wait would pass `max_wait`.
        """
        started = self._clock()
        self._trim(started)
        if priority is Priority.PREFETCH:
            if self.waiting() or self._free_at(priority, 1, started) > started:
                raise PrefetchSkipped("No spare Spark budget for a prefetch", retry_in=0.0)
            self._take(started, owner)
            return 0.0
        if not self._ahead(priority, owner) and self._free_at(priority, 1, started) <= started:
            self._take(started, owner)
            return 0.0
        wait = self.eta(priority, owner)
        if max_wait is not None and wait > max_wait:
            raise FlexmlsBusy(f"Spark budget busy for ~{wait:.0f} s", retry_in=wait)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(
            priority,
            owner,
            None if max_wait is None else started + max_wait,
            loop.create_future(),
        )
        self._queues[priority].setdefault(owner, deque()).append(waiter)
        self._pump()
        try:
            await waiter.future
        except asyncio.CancelledError:
            self._forget(waiter)
            raise
        return self._clock() - started

    def _forget(self, waiter: _Waiter) -> None:
        queues = self._queues[waiter.priority]
        queue = queues.get(waiter.owner)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del queues[waiter.owner]

    def _head(self) -> _Waiter | None:
        """Who goes next. People first, and between people the one with the fewest slots in
        the window, then the one served longest ago (round-robin), whatever they are waiting
        for: one person's queue of commands can't push a colleague's click back. That person's
        most urgent request goes (a command before a click). Then background work, then
        prefetches, in the same fair order within each."""
        people: dict[str, _Waiter] = {}
        for priority in PEOPLE:
            for owner, queue in self._queues[priority].items():
                people.setdefault(owner, queue[0])
        if people:
            owner = min(people, key=lambda o: self._standing(o, people[o].priority))
            return people[owner]
        for priority in Priority:
            if priority in PEOPLE:
                continue
            queues = self._queues[priority]
            if queues:
                owner = min(queues, key=lambda o: (self._used[o], self._last_turn.get(o, 0)))
                return queues[owner][0]
        return None

    def _pop_head(self, waiter: _Waiter) -> None:
        queues = self._queues[waiter.priority]
        queue = queues[waiter.owner]
        queue.popleft()
        if not queue:
            del queues[waiter.owner]

    def _expire(self, now: float) -> None:
        for priority in Priority:
            for owner in list(self._queues[priority]):
                for waiter in list(self._queues[priority][owner]):
                    if waiter.deadline is not None and waiter.deadline <= now:
                        self._forget(waiter)
                        if not waiter.future.done():
                            retry_in = max(1.0, self.eta(priority, owner))
                            waiter.future.set_exception(
                                FlexmlsBusy("Spark budget busy", retry_in=retry_in)
                            )

    def _pump(self) -> None:
        """Grant every slot that is free now, in order; then plan the next wake-up."""
        now = self._clock()
        self._trim(now)
        while (head := self._head()) is not None:
            if head.future.done():  # cancelled by its owner
                self._pop_head(head)
                continue
            if self._free_at(head.priority, 1, now) > now:
                break
            self._pop_head(head)
            self._take(now, head.owner)
            head.future.set_result(None)
        self._expire(now)
        head = self._head()
        if head is None:
            return
        wake = self._free_at(head.priority, 1, now)
        deadlines = [
            w.deadline
            for queues in self._queues.values()
            for q in queues.values()
            for w in q
            if w.deadline is not None
        ]
        if deadlines:
            wake = min(wake, min(deadlines))
        self._schedule(wake, now)

    def _schedule(self, wake: float, now: float) -> None:
        if self._timer is not None and not self._timer.done():
            if self._timer_at <= wake:
                return
            self._timer.cancel()
        self._timer_at = wake
        self._timer = asyncio.get_running_loop().create_task(self._wake(max(0.0, wake - now)))

    async def _wake(self, delay: float) -> None:
        await self._sleep(delay)
        self._timer_at = math.inf
        self._timer = None
        self._pump()

    # -- cool-down after a 429 ------------------------------------------------------------------

    def cool_down(self, seconds: float) -> None:
        """Send nothing on this key for `seconds` (never shortens a pause already running)."""
        until = self._clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
        if self.waiting():
            self._pump()

    def penalise(self, retry_after: float | None) -> float:
        """A 429 arrived: pause the key and return how long the pause runs from now.

        With `Retry-After` the pause is what Spark asked. Without it (production docs don't
        promise the header, spark_api.md §9) the pause is 30 s, doubling on each 429 that is not
        part of a pause already running, up to 5 min; a success resets it.
        """
        if retry_after is not None and math.isfinite(retry_after):
            # Honoured, within reason: a huge value (or a far-future date) would silence the key
            # for everyone for days, so it is capped; a zero (or a date already past) is taken
            # once, and a second one in a row is a real cool-down, never a burst of retries.
            short = retry_after < RETRY_AFTER_MIN
            if not short or self._strikes == 0:
                if short:
                    self._strikes += 1
                self.cool_down(min(max(retry_after, 0.0), COOL_DOWN_MAX))
                return self.paused_for
        if self.paused_for <= 0:  # a 429 of a request sent before the current pause began
            pause = min(COOL_DOWN_MAX, COOL_DOWN_FIRST * 2**self._strikes)
            self._strikes += 1
            self.cool_down(pause)
        return self.paused_for

    def succeeded(self) -> None:
        self._strikes = 0


@dataclass(frozen=True)
class TokenKey:
    """Which API key a token's requests count against, and whether it came from our OAuth client
    (such tokens can be refreshed; FBS's PHP client re-authenticates on 1000 too, spark_api.md §9)."""

    name: str
    oauth: bool = False


KeyResolver = Callable[[str], TokenKey]
