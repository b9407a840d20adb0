"""The measurements. Each phase talks to the bot only the way Slack does (signed requests to
`/slack/events`) and observes only what Slack would receive (posts to response URLs).

Timing: a sample starts at `time.monotonic()` just before the request is sent and ends at the
stand-in's `Received.at` (the monotonic arrival time of the post to the response URL), both
in this process. An ack is the `SlackSender` round trip to the HTTP 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import itertools
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx

from devtools.bench import stats
from devtools.bench.procs import Child, cpu_seconds, memory_kb
from devtools.sandbox import DEMO_ACCOUNT_ID, DEMO_TOKEN, cached_brokerage
from devtools.slack_standin import Received, SlackSender, SlackStandin
from devtools.slack_standin.messages import buttons
from devtools.slack_standin.requests import DEFAULT_USER_ID
from spark.budget import DEFAULT_RESERVE, Budget, Priority

if TYPE_CHECKING:
    from activity.services import Services
    from spark.ratelimit import RateLimiter

LISTINGS_ROUTE_MARK = "/activity/listings/"
REPLY_TIMEOUT_S = 30.0
BUDGET_MARGIN = 150  # Spark requests kept in hand below the bot's own limit (in flight, prefetch)
THROUGHPUT_CONTACTS = 40  # few contacts: listing-page prefetches stay cached (2 per contact)
BUSY_MARK = "Flexmls is busy"  # the title of blocks.problems.busy()
TIGHT_WINDOW_S = 300.0  # Spark's own window: nothing ages out while the tight phase runs
FILL_BURST = 10  # most simultaneous lookups while filling the background share
DIGEST_CHANNEL = "C0BENCHDIGEST"
DIGEST_START_TIMEOUT_S = 20.0  # the bot's first digest pass must fill its share by then
DIGEST_END_TIMEOUT_S = 120.0
BENCH_USER_AGENT = "ActivityBotBench/1.0"  # the Spark client's in the digest phase


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Plan:
    """How much of everything to do: `full()` for `make bench`, `quick()` for QUICK=1."""

    quick: bool
    ack_samples: dict[int, int]  # concurrency -> samples (a multiple of the concurrency)
    sequential: int  # contacts for cold/warm lookups and page flips
    throughput_s: float
    throughput_senders: int
    throughput_rounds: int
    digest_reads: tuple[int, ...]
    rate_limit: int = 50
    rate_window_s: float = 2.0
    settle_rss_s: float = 3.0
    tight_limit: int = 40  # the bot's SPARK_RATE_LIMIT (per TIGHT_WINDOW_S) for the tight phase
    tight_busy: int = 3  # lookups past the budget to observe (each should get "busy")
    contention_max: int = 40  # most lookups sent while the bot's digest gathers

    @classmethod
    def full(cls) -> Plan:
        return cls(
            quick=False,
            ack_samples={1: 150, 10: 300, 50: 400},
            sequential=30,
            throughput_s=20.0,
            throughput_senders=50,
            throughput_rounds=3,
            digest_reads=(100, 1000),
            tight_limit=80,
            tight_busy=5,
            contention_max=80,
        )

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            quick=True,
            ack_samples={1: 20, 10: 100, 50: 100},
            sequential=8,
            throughput_s=4.0,
            throughput_senders=50,
            throughput_rounds=1,
            digest_reads=(100, 200),
            settle_rss_s=1.5,
        )


# ------------------------------------------------------------------ the demo data we drive with


@dataclass(frozen=True)
class Target:
    contact_id: str
    email: str
    viewed: int


@dataclass(frozen=True)
class Pools:
    sequential: tuple[Target, ...]  # never touched before the sequential phase
    ack: tuple[Target, ...]
    everyone: tuple[Target, ...]  # every contact with a unique e-mail (throughput)
    digest_ids: tuple[str, ...]  # every demo contact's id (cycled for digest reads)


def pools(plan: Plan, page_size: int = 10, first_page_flip: int = 5) -> Pools:
    """Contacts whose e-mail finds exactly one match; the sequential ones have at least
    `first_page_flip` pages of viewed listings (so page 5 exists), with room to spare."""
    brokerage = cached_brokerage()
    contacts = brokerage.contacts_for(DEMO_ACCOUNT_ID)
    today = dt.datetime.now(dt.UTC).date()
    counts: dict[str, int] = {}
    for c in contacts:
        if c.primary_email:
            counts[c.primary_email.casefold()] = counts.get(c.primary_email.casefold(), 0) + 1
    unique = [
        Target(c.id, c.primary_email, brokerage.activity(c.id, today).listings_viewed)
        for c in sorted(contacts, key=lambda c: c.id)
        if c.primary_email and counts[c.primary_email.casefold()] == 1
    ]
    random.Random(6).shuffle(unique)
    deep = [t for t in unique if t.viewed >= (first_page_flip + 1) * page_size]
    if len(deep) < plan.sequential:
        raise RuntimeError(f"the demo brokerage has only {len(deep)} contacts with 6+ pages")
    sequential = tuple(deep[: plan.sequential])
    taken = {t.contact_id for t in sequential}
    ack = tuple(t for t in unique if t.contact_id not in taken)[:10]
    return Pools(sequential, ack, tuple(unique), tuple(c.id for c in contacts))


# ------------------------------------------------------------------ helpers around the stack


class AiohttpPoster:
    """What `SlackSender` needs of an `httpx.AsyncClient` (`post`), done with aiohttp.

    httpx's connection pool costs milliseconds per request once dozens are in flight (50
    simultaneous GETs of a static `/healthz` took 200-300 ms at p50 through httpx, ~30 ms
    through aiohttp, on the 2-core reference machine), which would be measured as the bot's
    ack latency. The payloads and signatures are still `SlackSender`'s own.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str], timeout: float
    ) -> httpx.Response:
        async with self.session.post(
            url, data=content, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            body = await response.read()
            return httpx.Response(
                response.status, content=body, headers=list(response.headers.items())
            )


class BenchStandin(SlackStandin):
    """The stand-in Slack, plus one future per response URL.

    `SlackStandin.wait_for` scans every record a waiter has not seen, from the start: fine
    for tests, quadratic for thousands of lookups. Here the first post to a response URL
    resolves that URL's future directly (records are still kept, and cleared between phases).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._expected: dict[str, asyncio.Future[Received]] = {}

    def expect(self) -> tuple[str, asyncio.Future[Received]]:
        """A fresh response URL and the future of the first post to it."""
        url = self.new_response_url()
        future: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._expected[url.rstrip("/").rsplit("/", 1)[-1]] = future
        return url, future

    def _record(self, entry: Received) -> None:
        super()._record(entry)
        if entry.kind == "response":
            future = self._expected.pop(entry.method, None)
            if future is not None and not future.done():
                future.set_result(entry)


class SandboxAdmin:
    """The sandbox's `/_sandbox/*` endpoints (admin calls are not counted in its stats)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def stats(self) -> dict[str, Any]:
        response = await self.http.get(f"{self.url}/_sandbox/stats")
        response.raise_for_status()
        return response.json()

    async def config(self, **settings: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.url}/_sandbox/config", json=settings)
        response.raise_for_status()
        return response.json()

    async def requests(self, limit: int) -> list[dict[str, Any]]:
        """The last `limit` requests the sandbox served (path, query, route, duration_ms)."""
        response = await self.http.get(f"{self.url}/_sandbox/requests", params={"limit": limit})
        response.raise_for_status()
        return response.json()["requests"]

    async def settle(self, *, quiet_s: float = 0.03, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until nothing is in flight and no request arrived for `quiet_s`; the stats."""
        deadline = time.monotonic() + timeout
        last = await self.stats()
        while True:
            await asyncio.sleep(quiet_s)
            now = await self.stats()
            if now["in_flight"] == 0 and now["requests"] == last["requests"]:
                return now
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sandbox did not settle in {timeout:g} s: {now}")
            last = now


@dataclass
class Stack:
    rtt_s: float
    http: httpx.AsyncClient
    admin: SandboxAdmin
    standin: BenchStandin
    bot: SlackSender
    bare: SlackSender
    bot_child: Child
    sandbox_child: Child
    pools: Pools
    sandbox_url: str
    # restart_bot(env=None, prepare=None): stop the bot, run `prepare()` (the bot is down: its
    # database is ours), start it again with the usual environment plus `env`; start-up seconds.
    restart_bot: Callable[..., Awaitable[float]]
    db_path: Path | None = None  # the bot's database file


def is_card(body: dict[str, Any]) -> bool:
    blocks = body.get("blocks") or []
    return bool(blocks) and blocks[0].get("type") == "header"


def find_button(body: dict[str, Any], action_id: str) -> dict[str, Any]:
    for b in buttons(body):
        if b.get("action_id") == action_id:
            return b
    raise RuntimeError(f"no {action_id} button in the reply: {body.get('text')!r}")


def _assert_acked(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:200]!r}")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No collection in the driver while it times a burst: a full pass of this process's
    heap takes ~25 ms on the reference machine and would be charged to the app measured."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def reply(future: asyncio.Future[Received]) -> Received:
    return await asyncio.wait_for(future, REPLY_TIMEOUT_S)


# ------------------------------------------------------------------ 1. ack latency


async def _ack_bursts(
    stack: Stack, sender: SlackSender, level: int, samples: int, *, wait_replies: bool
) -> tuple[list[float], int]:
    """`samples` commands in bursts of `level` simultaneous ones; ack times in ms, errors."""
    emails = [t.email for t in stack.pools.ack]
    acks: list[float] = []
    errors = 0
    for _ in range(max(1, samples // level)):
        jobs = []
        for slot in range(level):
            if wait_replies:
                url, future = stack.standin.expect()
            else:
                url, future = stack.standin.new_response_url(), None
            user = f"UK{level:02d}S{slot:02d}"
            jobs.append((user, emails[slot % len(emails)], url, future))
        with paused_gc():
            sent = await asyncio.gather(
                *(
                    sender.command(text, response_url=url, user_id=user)
                    for user, text, url, _ in jobs
                )
            )
        for s in sent:
            _assert_acked(s.response, "ack")
            acks.append(s.elapsed * 1000)
        if wait_replies:
            replies = await asyncio.gather(*(reply(f) for *_, f in jobs if f is not None))
            errors += sum(not is_card(r.body) for r in replies)
            await stack.admin.settle()
    return acks, errors


async def ack_latency(stack: Stack, plan: Plan) -> dict[str, Any]:
    # Warm both apps up (first requests pay for lazy imports and connection set-up).
    biggest = max(plan.ack_samples)
    await _ack_bursts(stack, stack.bot, biggest, biggest, wait_replies=True)
    await _ack_bursts(stack, stack.bare, biggest, biggest, wait_replies=False)
    result: dict[str, Any] = {"bot": {}, "bare": {}, "ratio_p99": {}, "ratio_p50": {}, "errors": 0}
    raw: dict[str, Any] = {"bot": {}, "bare": {}}
    for level, samples in plan.ack_samples.items():
        # Interleaved per level, so both apps see the same machine state.
        bot, errors = await _ack_bursts(stack, stack.bot, level, samples, wait_replies=True)
        bare, _ = await _ack_bursts(stack, stack.bare, level, samples, wait_replies=False)
        key = str(level)
        result["bot"][key] = stats.spread(bot)
        result["bare"][key] = stats.spread(bare)
        result["ratio_p99"][key] = stats.ratio(
            result["bot"][key]["p99"], result["bare"][key]["p99"]
        )
        result["ratio_p50"][key] = stats.ratio(
            result["bot"][key]["p50"], result["bare"][key]["p50"]
        )
        result["errors"] += errors
        raw["bot"][key], raw["bare"][key] = bot, bare
    stack.standin.clear()
    result["samples_ms"] = raw
    return result


# ------------------------------------------------------------------ 2, 3, 6. sequential lookups


@dataclass
class _Counter:
    """Sandbox request counts around one sample, taken once everything has settled, and the
    sandbox's own time (its `duration_ms`: injected latency plus handling) for each request."""

    admin: SandboxAdmin
    last: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        self.last = await self.admin.settle()

    async def delta(self) -> tuple[dict[str, int], list[dict[str, Any]]]:
        now = await self.admin.settle()
        before = self.last.get("by_route", {})
        routes = {
            route: count - before.get(route, 0)
            for route, count in now["by_route"].items()
            if count - before.get(route, 0)
        }
        self.last = now
        new = sum(routes.values())
        recent = await self.admin.requests(new) if new else []
        return routes, recent


def _split_requests(routes: dict[str, int]) -> tuple[int, int]:
    prefetch = sum(n for route, n in routes.items() if LISTINGS_ROUTE_MARK in route)
    return sum(routes.values()) - prefetch, prefetch


async def _timed_command(stack: Stack, user: str, text: str) -> tuple[float, Received]:
    url, future = stack.standin.expect()
    started = time.monotonic()
    sent = await stack.bot.command(text, response_url=url, user_id=user)
    _assert_acked(sent.response, f"/activity {text}")
    entry = await reply(future)
    return entry.at - started, entry


async def _timed_click(
    stack: Stack, user: str, action_id: str, value: str
) -> tuple[float, Received]:
    url, future = stack.standin.expect()
    started = time.monotonic()
    sent = await stack.bot.action(action_id, value, response_url=url, user_id=user)
    _assert_acked(sent.response, f"click {action_id}")
    entry = await reply(future)
    return entry.at - started, entry


def _rtt_spread(
    seconds: Sequence[float], rtt_s: float, spark_s: Sequence[float] | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ms": stats.spread(stats.scaled(seconds, 1000)),
        "rtt": stats.spread(stats.in_rtt(seconds, rtt_s)),
        "samples_ms": [round(s * 1000, 3) for s in seconds],
    }
    if spark_s is not None:
        # Time outside the sandbox's own request handling (which includes the injected RTT).
        outside = [(t - s) * 1000 for t, s in zip(seconds, spark_s, strict=True)]
        result["spark_ms"] = stats.spread(stats.scaled(spark_s, 1000))
        result["outside_spark_ms"] = stats.spread(outside)
    return result


def _requests_summary(samples: list[dict[str, int]]) -> dict[str, Any]:
    split = [_split_requests(s) for s in samples]
    routes: dict[str, int] = {}
    for s in samples:
        for route, n in s.items():
            routes[route] = routes.get(route, 0) + n
    return {
        "n": len(samples),
        "card_mean": stats.per(sum(c for c, _ in split), len(split)),
        "prefetch_mean": stats.per(sum(p for _, p in split), len(split)),
        "total_mean": stats.per(sum(c + p for c, p in split), len(split)),
        "card_max": max((c for c, _ in split), default=0),
        "by_route_total": routes,
        "counted": "requests the sandbox served between two settled moments around one lookup "
        "(admin calls excluded); prefetch = listing-page routes",
    }


def _card_path_s(recent: list[dict[str, Any]]) -> float:
    """Sandbox time of a lookup's card requests (search, then summary: sequential)."""
    return sum(r["duration_ms"] for r in recent if LISTINGS_ROUTE_MARK not in r["path"]) / 1000


def _page_s(recent: list[dict[str, Any]], page: int) -> float:
    return (
        sum(
            r["duration_ms"]
            for r in recent
            if LISTINGS_ROUTE_MARK in r["path"] and r["query"].get("_page") == str(page)
        )
        / 1000
    )


async def sequential(stack: Stack, plan: Plan) -> dict[str, Any]:
    """Cold and warm lookups, cold and prefetched page flips, Spark requests per lookup.

    Per contact (never looked up before in this run): a cold lookup by a fresh user, the same
    query again (warm), a click on page 5 of "Viewed" (which nothing prefetches), then
    "Viewed" page 1 (prefetches page 2), a pause of 2×RTT, and "Next" (page 2, prefetched).
    The sandbox settles (no request in flight) before every sample.
    """
    run = _SequentialRun(stack, _Counter(stack.admin))
    await run.counter.start()
    for i, target in enumerate(stack.pools.sequential):
        await run.contact(i, target)
    stack.standin.clear()
    return run.summary()


@dataclass
class _SequentialRun:
    """The sequential phase's samples (seconds, sandbox seconds, routes), taken per contact."""

    stack: Stack
    counter: _Counter
    times: dict[str, list[float]] = field(
        default_factory=lambda: {"cold": [], "warm": [], "flip_cold": [], "flip_pre": []}
    )
    spark: dict[str, list[float]] = field(
        default_factory=lambda: {"cold": [], "warm": [], "flip_cold": []}
    )
    requests: dict[str, list[dict[str, int]]] = field(
        default_factory=lambda: {"cold": [], "warm": []}
    )
    errors: list[str] = field(default_factory=list)

    async def contact(self, i: int, target: Target) -> None:
        """Cold lookup, warm lookup, cold flip to page 5, prefetched flip to page 2."""
        user = f"UC{i:04d}"
        card = await self._lookup("cold", i, user, target.email)
        if card is None:
            return
        viewed = find_button(card.body, "listings_page:viewed")
        if await self._lookup("warm", i, user, target.email) is None:
            return
        await self._flip_cold(user, target.contact_id)
        await self._flip_prefetched(user, viewed)

    async def _lookup(self, kind: str, i: int, user: str, email: str) -> Received | None:
        """One lookup, sampled as `kind`; the reply when it is a card, else None (noted)."""
        took, entry = await _timed_command(self.stack, user, email)
        routes, recent = await self.counter.delta()
        if not is_card(entry.body):
            self.errors.append(f"{kind} lookup of contact {i}: {entry.body.get('text')!r}")
            return None
        self.times[kind].append(took)
        self.spark[kind].append(_card_path_s(recent))
        self.requests[kind].append(routes)
        return entry

    async def _flip_cold(self, user: str, contact_id: str) -> None:
        value = f"v1|viewed|{contact_id}|5"
        took, _ = await _timed_click(self.stack, user, "listings_page:next", value)
        _, recent = await self.counter.delta()
        self.times["flip_cold"].append(took)
        self.spark["flip_cold"].append(_page_s(recent, 5))

    async def _flip_prefetched(self, user: str, viewed: Mapping[str, Any]) -> None:
        _, first = await _timed_click(self.stack, user, viewed["action_id"], viewed["value"])
        await asyncio.sleep(2 * self.stack.rtt_s)
        following = find_button(first.body, "listings_page:next")
        took, _ = await _timed_click(self.stack, user, following["action_id"], following["value"])
        self.times["flip_pre"].append(took)
        await self.counter.delta()

    def summary(self) -> dict[str, Any]:
        times, spark, rtt = self.times, self.spark, self.stack.rtt_s
        return {
            "lookup": {
                "cold": _rtt_spread(times["cold"], rtt, spark["cold"]),
                "warm": _rtt_spread(times["warm"], rtt, spark["warm"]),
            },
            "page_flip": {
                "cold": _rtt_spread(times["flip_cold"], rtt, spark["flip_cold"]),
                "prefetched": _rtt_spread(times["flip_pre"], rtt),
            },
            "spark_requests": {k: _requests_summary(v) for k, v in self.requests.items()},
            "errors": self.errors,
        }


# ------------------------------------------------------------------ 4. throughput at RTT 0


def bot_spark_budget() -> tuple[int, float]:
    """The bot's own client-side Spark budget per API key (requests, window in seconds)."""
    from spark.ratelimit import RateLimiter

    limiter = RateLimiter()
    return limiter.limit, limiter.window


async def throughput(stack: Stack, plan: Plan, rtt_ms: int) -> dict[str, Any]:
    """One round: `throughput_senders` closed-loop senders at RTT 0, half cold, for
    `throughput_s` or until the bot's own Spark budget is nearly spent, whichever comes first.

    Each sender alternates: a lookup by a brand-new user (cold: the query cache is per user),
    then the same query by the same user (warm). Lookups/s counts cards received; CPU is the
    bot process's utime+stime over the same interval (/proc/<pid>/stat).

    The bot limits itself to Spark's 1,500 requests per 5 minutes per API key
    (`spark.ratelimit.RateLimiter` defaults) and every lookup here uses the one workspace
    token, so past that budget lookups wait minutes for the window: the run stops issuing
    lookups `BUDGET_MARGIN` requests short of it (the caller restarts the bot before each
    round, and combines the rounds with `combine_throughput`).
    """
    budget, _ = bot_spark_budget()
    await stack.admin.config(latency_ms=0)
    emails = [t.email for t in stack.pools.everyone[:THROUGHPUT_CONTACTS]]
    first = await stack.admin.settle()
    pids = {"bot": stack.bot_child.pid, "sandbox": stack.sandbox_child.pid, "driver": os.getpid()}
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    round_ = _ThroughputRound(
        stack, emails, first, budget=budget - BUDGET_MARGIN, stop_at=started + plan.throughput_s
    )
    watcher = asyncio.create_task(round_.watch_budget())
    try:
        await asyncio.gather(*(round_.sender(s) for s in range(plan.throughput_senders)))
        elapsed = time.monotonic() - started
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
    finally:
        round_.stop.set()
        await watcher
        await stack.admin.config(latency_ms=rtt_ms)
    spark_requests = (await stack.admin.settle())["requests"] - first["requests"]
    stack.standin.clear()
    return {
        "stopped_by": round_.stopped_by,
        "elapsed_s": elapsed,
        "cold": round_.counts["cold"],
        "warm": round_.counts["warm"],
        "errors": round_.counts["errors"],
        "spark_requests": spark_requests,
        "cpu_s": cpu,
        "latencies_s": round_.latencies,
    }


@dataclass
class _ThroughputRound:
    """Closed-loop senders and the watch that stops them at `stop_at` or at the budget."""

    stack: Stack
    emails: list[str]
    first: Mapping[str, Any]  # the sandbox's stats when the round began
    budget: int  # Spark requests this round may send
    stop_at: float  # monotonic seconds
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stopped_by: str = "time"
    counts: dict[str, int] = field(default_factory=lambda: {"cold": 0, "warm": 0, "errors": 0})
    latencies: list[float] = field(default_factory=list)

    async def watch_budget(self) -> None:
        while not self.stop.is_set():
            if time.monotonic() >= self.stop_at:
                self.stop.set()
                return
            now = await self.stack.admin.stats()
            if now["requests"] - self.first["requests"] >= self.budget:
                self.stopped_by = "spark budget"
                self.stop.set()
                return
            await asyncio.sleep(0.05)

    async def sender(self, s: int) -> None:
        """Sender `s`: a lookup by a new user (cold), then the same again (warm), and so on."""
        user, text = "", ""
        for i in itertools.count():
            if self.stop.is_set():
                return
            kind = "cold" if i % 2 == 0 else "warm"
            if kind == "cold":
                user, text = f"UT{s:02d}{i:06d}", self.emails[(s * 7 + i) % len(self.emails)]
            took, entry = await _timed_command(self.stack, user, text)
            if is_card(entry.body):
                self.counts[kind] += 1
                self.latencies.append(took)
            else:
                self.counts["errors"] += 1


def combine_throughput(
    rounds: list[dict[str, Any]], *, senders: int, contacts: int
) -> dict[str, Any]:
    """One figure from several rounds (each on a freshly started bot): totals over totals."""
    elapsed = sum(r["elapsed_s"] for r in rounds)
    done = sum(r["cold"] + r["warm"] for r in rounds)
    cpu = {k: sum(r["cpu_s"][k] for r in rounds) for k in ("bot", "sandbox", "driver")}
    latencies = [t for r in rounds for t in r["latencies_s"]]
    return {
        "senders": senders,
        "contacts": contacts,
        "rounds": len(rounds),
        "elapsed_s": elapsed,
        "lookups": done,
        "cold": sum(r["cold"] for r in rounds),
        "warm": sum(r["warm"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "spark_requests": sum(r["spark_requests"] for r in rounds),
        "stopped_by": ", ".join(sorted({r["stopped_by"] for r in rounds})),
        "lookups_per_s": stats.ratio(done, elapsed),
        "lookups_per_s_by_round": [
            stats.ratio(r["cold"] + r["warm"], r["elapsed_s"]) for r in rounds
        ],
        "bot_cpu_s": cpu["bot"],
        "bot_cpu_util": stats.ratio(cpu["bot"], elapsed),
        "bot_cpu_ms_per_lookup": stats.per(cpu["bot"] * 1000, done),
        "sandbox_cpu_ms_per_lookup": stats.per(cpu["sandbox"] * 1000, done),
        "driver_cpu_ms_per_lookup": stats.per(cpu["driver"] * 1000, done),
        "latency_ms": stats.spread(stats.scaled(latencies, 1000)),
    }


# ------------------------------------------------------------------ 5. digest gathering


async def digest(stack: Stack, plan: Plan, rtt_ms: int) -> dict[str, Any]:
    """`read_summaries` in this process for N contact reads under the sandbox's rate limit."""
    from spark.ratelimit import RateLimiter

    limit, window = plan.rate_limit, plan.rate_window_s
    runs: dict[str, Any] = {}
    margin = None
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    try:
        async with httpx.AsyncClient(limits=limits) as http:
            for n in plan.digest_reads:
                # Setting the limit restarts the sandbox's windows, so every run starts empty.
                await stack.admin.config(
                    latency_ms=rtt_ms, rate_limit={"limit": limit, "window_s": window}
                )
                limiter = RateLimiter(limit, window)
                margin = limiter.window - window
                runs[str(n)] = await _digest_run(stack, http, limiter, n, plan)
    finally:
        await stack.admin.config(rate_limit=None, latency_ms=rtt_ms)
    return {
        "limit": limit,
        "window_s": window,
        "client_margin_s": margin,
        "definition": "allowed = floor((N-1)/limit) * window + RTT",
        "runs": runs,
    }


async def _digest_run(
    stack: Stack, http: httpx.AsyncClient, limiter: RateLimiter, n: int, plan: Plan
) -> dict[str, Any]:
    """`n` contact reads (the demo contacts, cycled) on fresh services; timed and counted."""
    from activity.digests import read_summaries

    limit, window = plan.rate_limit, plan.rate_window_s
    services = _bench_services(http, stack.sandbox_url, limiter)
    ids = [stack.pools.digest_ids[i % len(stack.pools.digest_ids)] for i in range(n)]
    before = await stack.admin.settle()
    started = time.monotonic()
    results = await read_summaries(services, DEMO_TOKEN, ids)
    elapsed = time.monotonic() - started
    after = await stack.admin.settle()
    services.db.close()
    allowed = stats.rate_limited_floor(n, limit, window, stack.rtt_s)
    allowed_client = stats.rate_limited_floor(n, limit, limiter.window, stack.rtt_s)
    return {
        "reads": n,
        "elapsed_s": elapsed,
        "allowed_s": allowed,
        "ratio": stats.ratio(elapsed, allowed),
        "allowed_with_client_margin_s": allowed_client,
        "ratio_to_client_window": stats.ratio(elapsed, allowed_client),
        "rate_limited": after["rate_limited"] - before["rate_limited"],
        "sandbox_requests": after["requests"] - before["requests"],
        "failed": sum(isinstance(r, BaseException) for r in results),
    }


def _bench_services(http: httpx.AsyncClient, sandbox_url: str, limiter: RateLimiter) -> Services:
    """The bot's services in this process, assembled as the bot assembles them, on an
    in-memory database, talking to the sandbox through `limiter`."""
    from cryptography.fernet import Fernet

    from activity.services import assemble
    from settings import load_settings
    from storage import TokenCipher, open_memory_database

    key = Fernet.generate_key()
    settings = load_settings({"SPARK_API_URL": sandbox_url, "SPARK_USER_AGENT": BENCH_USER_AGENT})
    return assemble(
        settings=settings,
        db=open_memory_database(),
        cipher=TokenCipher(key),
        http=http,
        secret_key=key,
        rate_limiter=limiter,
    )


# ------------------------------------------------------------------ 8, 9. the key's shared budget


def reply_kind(body: Mapping[str, Any]) -> str:
    """ "card", "busy" (the bot's "Flexmls is busy, try again in ~N s") or "other"."""
    if is_card(dict(body)):
        return "card"
    if BUSY_MARK in str(body.get("text") or ""):
        return "busy"
    return "other"


def retry_hint_s(body: Mapping[str, Any]) -> int | None:
    """The N of "try again in ~N s" in a busy reply, if it names one."""
    found = re.search(r"~(\d+) s", str(body.get("text") or ""))
    return int(found.group(1)) if found else None


def background_share(limit: int, reserve: float = DEFAULT_RESERVE) -> int:
    """Slots of a window background work and prefetches may fill (the rest is kept for people)."""
    return Budget(limit, 1.0, reserve=reserve).capacity(Priority.BACKGROUND)


def fill_burst(share: int, used: int, per_lookup: int = 4, most: int = FILL_BURST) -> int:
    """How many simultaneous cold lookups (card + prefetch each) take `used` towards `share`
    without overshooting by more than one lookup's prefetches; at least 1."""
    return max(1, min(most, (share - used) // per_lookup))


def _emails(pool: Sequence[Target]) -> Iterator[str]:
    """Distinct contacts (so no page is ever cached), cycling only if the pool runs out."""
    return (t.email for t in itertools.cycle(pool))


async def tight_budget(stack: Stack, plan: Plan) -> dict[str, Any]:
    """Spark requests per cold lookup when the bot's budget is nearly spent, and the replies
    once it is spent.

    The bot restarts with `SPARK_RATE_LIMIT=<tight_limit>/300` (the sandbox enforces the same
    per key, so an overshoot would show as 429s). Cold lookups (fresh user and contact each,
    up to `FILL_BURST` at once) first fill the window up to the background share (70%): they
    still prefetch. Then, one at a time, lookups that can only use the reserve kept for people:
    expected 2 requests for the card and no prefetch (`PrefetchSkipped`), until the window is
    full and the bot answers "Flexmls is busy, try again in ~N s" (its wait would pass the
    interactive deadline); `tight_busy` such lookups are sent. Nothing ages out of the window
    meanwhile (300 s), so the sandbox's count since the restart is the bot's window.
    """
    limit, window = plan.tight_limit, TIGHT_WINDOW_S
    share = background_share(limit)
    run = _TightRun(stack, _Counter(stack.admin), _emails(stack.pools.everyone))
    await stack.admin.config(rate_limit={"limit": limit, "window_s": window})
    try:
        await stack.restart_bot(env={"SPARK_RATE_LIMIT": f"{limit}/{window:g}"})
        await run.counter.start()
        run.first = run.counter.last
        await run.fill_to(share)
        filled = run.used()
        for _ in range(limit + plan.tight_busy):  # every card spends >= 1: bounded
            if len(run.busy_s) >= plan.tight_busy:
                break
            await run.probe()
        last = run.counter.last
    finally:
        await stack.admin.config(rate_limit=None)
    stack.standin.clear()
    return {
        "limit": limit,
        "window_s": window,
        "reserve": DEFAULT_RESERVE,
        "background_share": share,
        "fill": run.fill_summary(filled),
        **run.probe_summary(),
        "spark_requests": last["requests"] - run.first["requests"],
        "rate_limited": last["rate_limited"] - run.first["rate_limited"],
    }


@dataclass
class _TightRun:
    """The tight-budget phase: bursts that fill the background share, then single lookups
    ("probes") into the reserve, each sorted by the reply it got."""

    stack: Stack
    counter: _Counter
    emails: Iterator[str]
    first: Mapping[str, Any] = field(default_factory=dict)  # sandbox stats after the restart
    users: Iterator[int] = field(default_factory=itertools.count)
    fill: list[dict[str, int]] = field(default_factory=list)  # routes per burst
    fill_lookups: int = 0
    fill_cards: int = 0
    cards: list[dict[str, int]] = field(default_factory=list)  # routes per carded probe
    card_s: list[float] = field(default_factory=list)
    used_before: list[int] = field(default_factory=list)
    busy_s: list[float] = field(default_factory=list)
    busy_requests: int = 0
    hints: list[int] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def used(self) -> int:
        """Spark requests in the bot's window: all the sandbox served since the restart."""
        return int(self.counter.last["requests"] - self.first["requests"])

    def _user(self) -> str:
        return f"UB{next(self.users):04d}"

    async def fill_to(self, share: int) -> None:
        """Bursts of cold lookups until the window holds `share` requests."""
        while self.used() < share:
            burst = fill_burst(share, self.used())
            jobs = [(self._user(), next(self.emails)) for _ in range(burst)]
            replies = await asyncio.gather(*(_timed_command(self.stack, u, e) for u, e in jobs))
            routes, _ = await self.counter.delta()
            self.fill.append(routes)
            self.fill_lookups += burst
            self.fill_cards += sum(is_card(entry.body) for _, entry in replies)
            if not routes:
                raise RuntimeError("lookups while filling the budget sent no Spark request")

    async def probe(self) -> None:
        """One cold lookup past the share, recorded by the kind of reply."""
        before = self.used()
        took, entry = await _timed_command(self.stack, self._user(), next(self.emails))
        routes, _ = await self.counter.delta()
        kind = reply_kind(entry.body)
        if kind == "card":
            self.cards.append(routes)
            self.card_s.append(took)
            self.used_before.append(before)
        elif kind == "busy":
            self.busy_s.append(took)
            self.busy_requests += sum(routes.values())
            if (hint := retry_hint_s(entry.body)) is not None:
                self.hints.append(hint)
        else:
            self.other.append(str(entry.body.get("text"))[:200])

    def fill_summary(self, filled: int) -> dict[str, Any]:
        card = sum(_split_requests(r)[0] for r in self.fill)
        prefetch = sum(_split_requests(r)[1] for r in self.fill)
        return {
            "lookups": self.fill_lookups,
            "cards": self.fill_cards,
            "card_mean": stats.per(card, self.fill_lookups),
            "prefetch_mean": stats.per(prefetch, self.fill_lookups),
            "requests": filled,
        }

    def probe_summary(self) -> dict[str, Any]:
        """The "tight", "busy" and "other_replies" parts of the phase's result."""
        rtt = self.stack.rtt_s
        return {
            "tight": {
                **_requests_summary(self.cards),
                "used_before": self.used_before,
                "latency": _rtt_spread(self.card_s, rtt),
            },
            "busy": {
                "n": len(self.busy_s),
                "latency": _rtt_spread(self.busy_s, rtt),
                "spark_requests": self.busy_requests,
                "retry_in_s": self.hints,
            },
            "other_replies": self.other,
        }


def _is_digest_post(entry: Received) -> bool:
    return (
        entry.kind == "api"
        and entry.method == "chat.postMessage"
        and entry.body.get("channel") == DIGEST_CHANNEL
    )


def _subscribe_everyone(stack: Stack) -> Callable[[], int]:
    """While the bot is down: a digest of every contact, due now (00:00 UTC), in its database."""
    from storage import add_subscription, open_database

    def subscribe() -> int:
        assert stack.db_path is not None
        db = open_database(stack.db_path)
        try:
            return add_subscription(
                db,
                team_id=stack.standin.team_id,
                user_id=DEFAULT_USER_ID,
                channel_id=DIGEST_CHANNEL,
                local_time="00:00",
                timezone="UTC",
                scope="all",
                now=dt.datetime.now(dt.UTC),
            ).id
        finally:
            db.close()

    return subscribe


def _unsubscribe(stack: Stack, subscription_id: int) -> Callable[[], None]:
    from storage import open_database, remove_subscription

    def unsubscribe() -> None:
        assert stack.db_path is not None
        db = open_database(stack.db_path)
        try:
            remove_subscription(db, subscription_id)
        finally:
            db.close()

    return unsubscribe


async def _wait_for_gathering(
    stack: Stack, first: Mapping[str, Any], share: int, posted: asyncio.Future[Received]
) -> float:
    """Until the digest pass has sent its background share (or posted); seconds waited."""
    started = time.monotonic()
    while not posted.done():
        now = await stack.admin.stats()
        if now["requests"] - first["requests"] >= share:
            break
        if time.monotonic() - started > DIGEST_START_TIMEOUT_S:
            raise TimeoutError(
                f"the bot's digest pass sent {now['requests'] - first['requests']} Spark "
                f"requests in {DIGEST_START_TIMEOUT_S:g} s (its share is {share})"
            )
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _stats_once_done(admin: SandboxAdmin, posted: asyncio.Future[Received]) -> dict[str, Any]:
    """The sandbox's counters as soon as `posted` resolves (or fails)."""
    await asyncio.wait([posted])
    return await admin.stats()


CONTENTION_DEFINITION = (
    "lookups start once the pass has sent its background share; digest time "
    "= bot healthy (its first pass starts) -> digest post at the stand-in Slack; "
    "spark_requests and prefetch_requests: the pass and the lookups together, until the "
    "post; rate_limited: until everything settled"
)


async def digest_contention(stack: Stack, plan: Plan) -> dict[str, Any]:
    """Interactive lookups while the bot's own digest pass gathers on the same API key.

    With the bot down, a digest of every demo contact (300 reads plus the contact pages),
    due now, is written to its database; the bot restarts with `SPARK_RATE_LIMIT` =
    `rate_limit`/`rate_window_s` (the sandbox enforces the same for the key) and its scheduler
    starts the pass at once. Once the pass has used its background share of the window, cold
    lookups (fresh user and contact each) go one at a time, 2×RTT apart, until the digest is
    posted or `contention_max` were sent. The digest's time runs from the bot being healthy
    (its first pass starts then) to its post reaching the stand-in Slack. Afterwards the
    subscription is removed (the bot down again) and the bot restarts with the usual settings.
    """
    limit, window = plan.rate_limit, plan.rate_window_s
    share = background_share(limit)
    emails = _emails(stack.pools.everyone)
    posted: asyncio.Future[Received] = asyncio.ensure_future(
        stack.standin.wait_for(_is_digest_post, timeout=DIGEST_END_TIMEOUT_S)
    )
    at_post = asyncio.ensure_future(_stats_once_done(stack.admin, posted))
    subscription: list[int] = []
    subscribe = _subscribe_everyone(stack)
    await stack.admin.config(rate_limit={"limit": limit, "window_s": window})
    try:
        first = await stack.admin.settle()
        await stack.restart_bot(
            env={"SPARK_RATE_LIMIT": f"{limit}/{window:g}"},
            prepare=lambda: subscription.append(subscribe()),
        )
        started = time.monotonic()
        waited = await _wait_for_gathering(stack, first, share, posted)
        lookups = await _lookups_until(stack, posted, emails, plan.contention_max)
        post = await posted
        elapsed = post.at - started
        passed = await at_post
        last = await stack.admin.settle()
    finally:
        for task in (posted, at_post):
            if not task.done():
                task.cancel()
        await stack.admin.config(rate_limit=None)
        if subscription:
            await stack.restart_bot(prepare=_unsubscribe(stack, subscription[0]))
    stack.standin.clear()
    return {
        "limit": limit,
        "window_s": window,
        "reserve": DEFAULT_RESERVE,
        "background_share": share,
        "contacts": len(stack.pools.digest_ids),
        "lookups": lookups.sent,
        "replies": lookups.kinds,
        "other_replies": lookups.other,
        "lookup": _rtt_spread(lookups.samples, stack.rtt_s),
        "digest": _pass_summary(first, passed, last, elapsed=elapsed, waited=waited),
        "definition": CONTENTION_DEFINITION,
    }


@dataclass
class _Lookups:
    """Cold lookups sent while something else runs, counted by the kind of reply."""

    sent: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: {"card": 0, "busy": 0, "other": 0})
    samples: list[float] = field(default_factory=list)  # seconds, cards only
    other: list[str] = field(default_factory=list)  # the text of replies neither card nor busy

    def record(self, took: float, entry: Received) -> None:
        kind = reply_kind(entry.body)
        self.kinds[kind] += 1
        if kind == "card":
            self.samples.append(took)
        elif kind == "other":
            self.other.append(str(entry.body.get("text"))[:200])
        self.sent += 1


async def _lookups_until(
    stack: Stack, posted: asyncio.Future[Received], emails: Iterator[str], most: int
) -> _Lookups:
    """Cold lookups one at a time, 2×RTT apart, until `posted` resolves or `most` were sent."""
    lookups = _Lookups()
    for i in range(most):
        if posted.done():
            break
        took, entry = await _timed_command(stack, f"UD{i:04d}", next(emails))
        lookups.record(took, entry)
        await asyncio.sleep(2 * stack.rtt_s)
    return lookups


def _pass_summary(
    first: Mapping[str, Any],
    passed: Mapping[str, Any],
    last: Mapping[str, Any],
    *,
    elapsed: float,
    waited: float,
) -> dict[str, Any]:
    """The digest pass from the sandbox's stats at the start, at the post and once settled."""
    before = first.get("by_route", {})
    routes = {r: n - before.get(r, 0) for r, n in passed["by_route"].items()}
    _, prefetches = _split_requests(routes)
    return {
        "elapsed_s": elapsed,
        "gathering_after_s": waited,
        "spark_requests": passed["requests"] - first["requests"],
        "prefetch_requests": prefetches,
        "rate_limited": last["rate_limited"] - first["rate_limited"],
    }


# ------------------------------------------------------------------ 7. memory


def rss_mb(pid: int) -> dict[str, float | None]:
    kb = memory_kb(pid)
    return {k: None if v is None else stats.mb(v) for k, v in kb.items()}
