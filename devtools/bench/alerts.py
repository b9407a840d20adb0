"""10-12. "Active now" alerts on the shared key: alert latency, Spark requests per watched
contact per hour, and interactive lookups while the poller covers 1,000 watched contacts.

Both parts restart the bot with `ALERT_POLL_MIN_S=5` (hot every 5 s, warm 15 s, cold 60 s, a
pass every second), after writing the watches straight into its database while it is down
(agents of 50 watches each, the workspace access every bench lookup uses, quiet hours off so
the time of day doesn't hold the DMs):

- latency: a few heavy viewers are watched (few enough that the watch set fits the poller's
  share, so nothing is stretched); once the bot's first check has set each one's baseline, the
  driver raises a watched contact's views by 3 through `POST /_sandbox/activity` at a random
  moment within its check interval, and times raise → the alert DM (the first raise's
  `chat.postMessage`, later ones' `chat.update`) at the stand-in Slack; each sample is also
  read against that contact's interval (its band's cadence when raised);
- load: the sandbox generates contacts up to 1,000 (`POST /_sandbox/contacts`) and both the
  sandbox and the bot enforce Spark's `1500/300` on the key; 1,000 watches are written with
  their first checks spread over the stretched interval (as a running bot would have them).
  The poller runs alone for a while (its Spark requests per watched contact per hour), then
  cold lookups go one at a time, 2×RTT apart, while it keeps running: their p50/p95 against
  the idle cold lookup, and the sandbox's 429s over the whole part.

The phase runs last: it leaves the bot running with those watches and the sandbox with the
extra contacts until the run ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from activity.poll_budget import plan as poll_plan
from activity.poll_budget import usual_interval_s
from devtools.bench import stats
from devtools.bench.scenarios import Stack, _emails, _Lookups, _rtt_spread, _timed_command
from devtools.sandbox import DEMO_ACCOUNT_ID, cached_brokerage
from devtools.slack_standin import Received
from storage import open_database
from storage.alerts import (
    AlertSettings,
    Watch,
    add_watch,
    get_pulse,
    save_alert_settings,
    schedule_watch,
)
from storage.poll_demand import polled_reads

MIN_S = 5  # ALERT_POLL_MIN_S for the whole phase
RATE = (1500, 300.0)  # Spark's published limit per key, enforced by the sandbox and the bot
WATCHED = 1000
PER_AGENT = 50  # MAX_WATCHES
LATENCY_WATCHES = 8  # 8 hot contacts ask 1.6 reads/s: within the poller's 1.75 at 1500/300
RAISE_VIEWS = 3  # the default threshold: each raise makes (or updates) an alert
DM_TIMEOUT_FACTOR = 3.0  # a DM later than 3 check intervals (+ 5 s) counts as missed


@dataclass(frozen=True)
class AlertPlan:
    raised: int  # watched contacts whose views the driver raises
    rounds: int  # raises per contact
    poller_only_s: float  # the poller alone, for its request rate
    lookups_s: float  # lookups while it runs

    @classmethod
    def for_run(cls, quick: bool) -> AlertPlan:
        if quick:
            return cls(raised=4, rounds=2, poller_only_s=4.0, lookups_s=6.0)
        return cls(raised=6, rounds=5, poller_only_s=12.0, lookups_s=25.0)


# ------------------------------------------------------------------ pure parts


def stagger(n: int, start: dt.datetime, span: dt.timedelta) -> list[dt.datetime]:
    """`n` first checks spread evenly over `span` from `start` (the middle of each slice)."""
    return [start + span * ((i + 0.5) / n) for i in range(n)]


def per_contact_hour(requests: int, contacts: int, seconds: float) -> float:
    """Spark requests per watched contact per hour, from `requests` over `seconds`."""
    if contacts <= 0 or seconds <= 0:
        return float("nan")
    return requests * 3600.0 / (contacts * seconds)


def agents_for(n: int, per_agent: int = PER_AGENT) -> list[str]:
    """The Slack user watching each of `n` contacts: `per_agent` contacts per agent."""
    return [f"UBW{i // per_agent:04d}" for i in range(n)]


def alert_shows(entry: Received, name: str, views: int) -> bool:
    """Whether `entry` is the alert DM (posted or updated) about `name` showing `views` views."""
    if entry.kind != "api" or entry.method not in ("chat.postMessage", "chat.update"):
        return False
    text = str(entry.body.get("text") or "")
    return "is active now" in text and name in text and f"viewed {views} listing" in text


def latency_summary(samples: Sequence[tuple[float, float]], min_s: float) -> dict[str, Any]:
    """Samples of (latency s, the contact's check interval s): spreads in seconds, in
    multiples of the contact's interval and of `ALERT_POLL_MIN_S`."""
    seconds = [s for s, _ in samples]
    return {
        "s": stats.spread(seconds),
        "intervals": stats.spread([s / every for s, every in samples]),
        "min_s_multiples": stats.spread([s / min_s for s in seconds]),
    }


def planned(n: int, min_s: float = MIN_S, rate: tuple[int, float] = RATE) -> dict[str, float]:
    """What `activity.poll_budget` plans for `n` watched contacts of unknown band."""
    budget = poll_plan([None] * n, min_s=min_s, rate=(rate[0], rate[1]))
    return {
        "factor": budget.factor,
        "capacity_per_s": budget.capacity,
        "cold_interval_s": usual_interval_s(min_s, None) * budget.factor,
        "per_contact_hour": min(budget.demand, budget.capacity) * 3600 / max(1, n),
        "usual_per_contact_hour": budget.demand * 3600 / max(1, n),
    }


# ------------------------------------------------------------------ the bot's database


def _write_watches(
    stack: Stack, contacts: Sequence[tuple[str, str]], first: Sequence[dt.datetime] | None
) -> Callable[[], None]:
    """While the bot is down: stop every watch, then watch `contacts` ((id, name)), agents of
    `PER_AGENT`, quiet hours off; `first`: when each is first checked (None: at once)."""

    def write() -> None:
        assert stack.db_path is not None
        db = open_database(stack.db_path)
        team, now = stack.standin.team_id, dt.datetime.now(dt.UTC)
        quiet_off = AlertSettings(quiet_start=None, quiet_end=None)
        try:
            with db.atomic():
                db.execute("UPDATE alert_watches SET stopped = 1")
                for i, ((contact_id, name), user) in enumerate(
                    zip(contacts, agents_for(len(contacts)), strict=True)
                ):
                    if i % PER_AGENT == 0:
                        save_alert_settings(db, team, user, quiet_off, now=now)
                    add_watch(db, team_id=team, user_id=user, contact_id=contact_id,
                              display_name=name, access="workspace", now=now)  # fmt: skip
                    if first is not None:
                        w = Watch(team, user, contact_id, name, now)
                        schedule_watch(db, w, checked_at=None, next_check_at=first[i])
        finally:
            db.close()

    return write


def _bands(stack: Stack, contact_ids: Sequence[str]) -> dict[str, str | None]:
    """Each contact's band from the bot's last check (absent: not checked yet)."""
    assert stack.db_path is not None
    db = open_database(stack.db_path)
    try:
        pulses = {c: get_pulse(db, c) for c in contact_ids}
        return {c: p.band for c, p in pulses.items() if p is not None}
    finally:
        db.close()


def _stretch_now(stack: Stack) -> dict[str, float]:
    """The poller's budget as the bot sees it now (bands learned so far)."""
    assert stack.db_path is not None
    db = open_database(stack.db_path)
    try:
        reads = polled_reads(db, dt.datetime.now(dt.UTC))
    finally:
        db.close()
    budget = poll_plan((r.band for r in reads), min_s=MIN_S, rate=(RATE[0], RATE[1]))
    return {"factor": budget.factor, "reads": budget.reads, "demand_per_s": budget.demand}


# ------------------------------------------------------------------ latency


async def _first_checks(stack: Stack, ids: Sequence[str], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        bands = _bands(stack, ids)
        if len(bands) == len(ids):
            return bands
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot checked {len(bands)} of {len(ids)} watches in {timeout} s")
        await asyncio.sleep(0.2)


@dataclass
class _Raiser:
    stack: Stack
    rng: random.Random
    samples: list[tuple[float, float]] = field(default_factory=list)
    missed: int = 0

    async def rounds(self, contact_id: str, name: str, n: int) -> None:
        shown = 0
        for _ in range(n):
            every = usual_interval_s(MIN_S, _bands(self.stack, [contact_id]).get(contact_id))
            await asyncio.sleep(self.rng.uniform(0, every))
            shown += RAISE_VIEWS
            raised = time.monotonic()
            response = await self.stack.http.post(
                f"{self.stack.sandbox_url}/_sandbox/activity",
                json={"contact_id": contact_id, "listings_viewed": RAISE_VIEWS},
            )
            response.raise_for_status()
            try:
                entry = await self.stack.standin.wait_for(
                    functools.partial(alert_shows, name=name, views=shown),
                    timeout=DM_TIMEOUT_FACTOR * every + 5,
                )
            except TimeoutError:
                self.missed += 1
                return  # later raises would be measured against a DM that never came
            self.samples.append((entry.at - raised, every))


async def alert_latency(stack: Stack, plan: AlertPlan) -> dict[str, Any]:
    brokerage = cached_brokerage()
    heavy = sorted(stack.pools.everyone, key=lambda t: -t.viewed)[:LATENCY_WATCHES]
    contacts = [(t.contact_id, brokerage.contact(t.contact_id).display_name) for t in heavy]  # type: ignore[union-attr]
    stack.standin.clear()
    await stack.restart_bot(
        env={"ALERT_POLL_MIN_S": str(MIN_S)}, prepare=_write_watches(stack, contacts, None)
    )
    bands = await _first_checks(stack, [c for c, _ in contacts])
    order = {"hot": 0, "warm": 1}
    quick = sorted((c for c in contacts if bands[c[0]] in order), key=lambda c: order[bands[c[0]]])
    chosen = quick[: plan.raised]
    if not chosen:
        raise RuntimeError(f"none of the watched heavy viewers is hot or warm: {bands}")
    before, started = await stack.admin.stats(), time.monotonic()
    raiser = _Raiser(stack, random.Random(14))
    await asyncio.gather(*(raiser.rounds(c, name, plan.rounds) for c, name in chosen))
    after, elapsed = await stack.admin.stats(), time.monotonic() - started
    return {
        "min_s": MIN_S,
        "watched": len(contacts),
        "bands": bands,
        "raised": len(chosen),
        "rounds": plan.rounds,
        "missed": raiser.missed,
        "latency": latency_summary(raiser.samples, MIN_S),
        "spark_requests": after["requests"] - before["requests"],
        "elapsed_s": elapsed,
        "per_contact_hour": per_contact_hour(
            after["requests"] - before["requests"], len(contacts), elapsed
        ),
        "stretch": _stretch_now(stack),
    }


# ------------------------------------------------------------------ 1,000 watched contacts


async def _thousand(stack: Stack) -> list[tuple[str, str]]:
    """1,000 of the demo account's contacts (the sandbox generates what it lacks)."""
    own = [(c.id, c.display_name) for c in cached_brokerage().contacts_for(DEMO_ACCOUNT_ID)]
    missing = WATCHED - len(own)
    if missing > 0:
        response = await stack.http.post(
            f"{stack.sandbox_url}/_sandbox/contacts", json={"count": missing}
        )
        response.raise_for_status()
        own += [(i, f"Bench contact {n}") for n, i in enumerate(response.json()["ids"], 1)]
    return own[:WATCHED]


async def alert_load(stack: Stack, plan: AlertPlan, emails: Iterator[str]) -> dict[str, Any]:
    contacts = await _thousand(stack)
    expected = planned(len(contacts))
    start = dt.datetime.now(dt.UTC)
    first = stagger(len(contacts), start, dt.timedelta(seconds=expected["cold_interval_s"]))
    await stack.admin.config(rate_limit={"limit": RATE[0], "window_s": RATE[1]})
    try:
        before = await stack.admin.stats()
        await stack.restart_bot(
            env={"ALERT_POLL_MIN_S": str(MIN_S), "SPARK_RATE_LIMIT": f"{RATE[0]}/{RATE[1]:g}"},
            prepare=_write_watches(stack, contacts, first),
        )
        alone, t0 = await stack.admin.stats(), time.monotonic()
        await asyncio.sleep(plan.poller_only_s)
        polled, t1 = await stack.admin.stats(), time.monotonic()
        lookups = _Lookups()
        deadline, i = time.monotonic() + plan.lookups_s, 0
        while time.monotonic() < deadline:
            took, entry = await _timed_command(stack, f"UBL{i:04d}", next(emails))
            lookups.record(took, entry)
            i += 1
            await asyncio.sleep(2 * stack.rtt_s)
        last = await stack.admin.stats()
    finally:
        await stack.admin.config(rate_limit=None)
    stack.standin.clear()
    return {
        "watched": len(contacts),
        "limit": RATE[0],
        "window_s": RATE[1],
        "min_s": MIN_S,
        "planned": expected,
        "poller_only_s": t1 - t0,
        "poller_requests": polled["requests"] - alone["requests"],
        "per_contact_hour": per_contact_hour(
            polled["requests"] - alone["requests"], len(contacts), t1 - t0
        ),
        "lookups": lookups.sent,
        "replies": lookups.kinds,
        "other_replies": lookups.other,
        "lookup": _rtt_spread(lookups.samples, stack.rtt_s),
        "spark_requests": last["requests"] - before["requests"],
        "rate_limited": last["rate_limited"] - before["rate_limited"],
        "stretch": _stretch_now(stack),
    }


async def alerts(stack: Stack, quick: bool) -> dict[str, Any]:
    """Both parts, latency first (few watches), then the 1,000-watch load."""
    plan = AlertPlan.for_run(quick)
    started = time.monotonic()
    latency = await alert_latency(stack, plan)
    load = await alert_load(stack, plan, _emails(stack.pools.everyone))
    return {"latency": latency, "load": load, "elapsed_s": time.monotonic() - started}
