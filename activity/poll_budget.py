"""How often the alert poller really checks: the watch set fitted into its share of the key.

Spark counts requests per API key (`spark.budget`), and the poller is background work: it may
only use what people's lookups leave. `spark.budget.Budget` keeps `DEFAULT_RESERVE` (30%) of
every window for people; the other 70% (the *background share*) is shared by every kind of
background work: morning digests (a burst over all of an agent's contacts), listing-page
prefetches, the extra read for an alert's newest listings, the watch command's first read.
The poller plans to use `POLLER_SHARE` (half) of that background share, i.e. 35% of the key's
rate (1500/300 → 1.75 reads/s, 525 per 5 minutes), so a digest or a burst of prefetches still
finds room when the watch set alone would fill its part.

Demand: each distinct (reader, contact) the poller reads (`storage.poll_demand`) asks
1/interval reads per second at its band's cadence (hot `ALERT_POLL_MIN_S`, warm 3×, cold 12×;
unknown as cold). When demand exceeds capacity, every interval is stretched by the same factor,
demand / capacity, so the whole set fits and hot contacts stay checked three times as often as
warm ones. Every reader is counted against one key: where the workspace token has a key of its
own this overestimates the demand on each key, so the poller errs towards checking less often,
never towards a 429.

The factor is computed from the database (one query over the watches) and kept for one pass
interval per database; `forget` drops it when the agent changes the watch set.

Bursts: stretching plans the steady state, but a start-up, a `watch tag:` or a morning of
lookups (auto watches) can make many checks due at once. Each pass may start only the reads
its allowance holds (`reads_allowed`): a token bucket filled at the poller's capacity and
holding at most `BURST_S` seconds of it, or one pass interval if longer (at least one read), so
even a burst of checks stays within the poller's part of the key; the checks left over stay due
for the next passes, oldest first. The allowance counts activity-summary reads: the one page of
newest viewed listings a DM carries (read only when a DM is posted or updated, background
priority, skipped on any refusal) comes on top. The bucket is per process: run one poller per API key (a second
instance's claims stop duplicate reads, not a second bucket).
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from activity.services import Services
from spark.budget import DEFAULT_RESERVE
from storage.poll_demand import polled_reads

CADENCE: dict[str, int] = {"hot": 1, "warm": 3, "cold": 12}  # × ALERT_POLL_MIN_S
POLLER_SHARE = 0.5  # of the background share (1 - reserve) of the key's rate
PASSES_PER_POLL = 5  # the pass runs every ALERT_POLL_MIN_S / 5; the factor is kept as long
BURST_S = 60.0  # a pass may read at once what the poller's share allows over this long


@dataclass(frozen=True)
class PollBudget:
    """The watch set against the poller's share of the key."""

    factor: float = 1.0  # >= 1: every check interval is multiplied by it
    demand: float = 0.0  # reads per second the watch set asks at the usual cadence
    capacity: float = math.inf  # reads per second the poller may use
    reads: int = 0  # distinct (reader, contact) reads

    @property
    def stretched(self) -> bool:
        return self.factor > 1.0


def poller_capacity(
    limit: int, window_s: float, reserve: float = DEFAULT_RESERVE, share: float = POLLER_SHARE
) -> float:
    """Reads per second the poller may plan for on a key allowing `limit` per `window_s`."""
    if limit < 1 or window_s <= 0:
        raise ValueError("a rate limit needs limit >= 1 and window > 0")
    return limit / window_s * (1.0 - reserve) * share


def usual_interval_s(min_s: float, band: str | None) -> float:
    """Seconds between checks of a contact of `band` before any stretching (unknown: cold)."""
    return min_s * CADENCE.get(band or "cold", CADENCE["cold"])


def demand(intervals_s: Iterable[float]) -> float:
    """Reads per second of reads repeated every `intervals_s` seconds."""
    return sum(1.0 / s for s in intervals_s)


def stretch_factor(asked: float, capacity: float) -> float:
    """The one factor that makes every interval long enough for `asked` to fit `capacity`."""
    if capacity <= 0:
        raise ValueError("the poller needs some capacity")
    return max(1.0, asked / capacity)


def plan(
    bands: Iterable[str | None],
    *,
    min_s: float,
    rate: tuple[int, float],
    reserve: float = DEFAULT_RESERVE,
) -> PollBudget:
    """The budget for reads of contacts in `bands` (one entry per distinct read)."""
    listed = list(bands)
    asked = demand(usual_interval_s(min_s, b) for b in listed)
    capacity = poller_capacity(rate[0], rate[1], reserve)
    return PollBudget(stretch_factor(asked, capacity), asked, capacity, len(listed))


@dataclass(frozen=True)
class _Kept:
    budget: PollBudget
    at: dt.datetime
    inputs: tuple[float, tuple[int, float]]


_KEPT: weakref.WeakKeyDictionary[Database, _Kept] = weakref.WeakKeyDictionary()


def poll_budget(services: Services) -> PollBudget:
    """The poller's budget now (kept for one pass interval; see `forget`)."""
    settings, now = services.settings, services.clock()
    inputs = (float(settings.alert_poll_min_s), settings.spark_rate_limit)
    kept = _KEPT.get(services.db)
    keep_for = dt.timedelta(seconds=max(1.0, settings.alert_poll_min_s / PASSES_PER_POLL))
    if kept is not None and kept.inputs == inputs and kept.at <= now < kept.at + keep_for:
        return kept.budget
    reads = polled_reads(services.db, now)
    budget = plan((r.band for r in reads), min_s=inputs[0], rate=inputs[1])
    _KEPT[services.db] = _Kept(budget, now, inputs)
    return budget


def forget(services: Services) -> None:
    """The watch set changed: compute the budget afresh next time."""
    _KEPT.pop(services.db, None)


@dataclass
class _Allowance:
    reads: float
    at: dt.datetime


_ALLOWANCE: weakref.WeakKeyDictionary[Database, _Allowance] = weakref.WeakKeyDictionary()


def reads_allowed(services: Services) -> int:
    """How many reads a pass may start now (see "Bursts" above); `spend_reads` takes them."""
    rate = poller_capacity(*services.settings.spark_rate_limit)
    # At least one pass interval's worth: passes come every ALERT_POLL_MIN_S / 5, and a smaller
    # bucket would be full at every pass and cap the poller below its plan.
    every = max(1.0, services.settings.alert_poll_min_s / PASSES_PER_POLL)
    most, now = max(1.0, rate * max(BURST_S, every)), services.clock()
    held = _ALLOWANCE.get(services.db)
    if held is None:
        reads = most  # a new process starts with a full allowance
    else:
        gained = max(0.0, (now - held.at).total_seconds()) * rate
        reads = min(most, held.reads + gained)
    _ALLOWANCE[services.db] = _Allowance(reads, now)
    return int(reads)


def spend_reads(services: Services, reads: int) -> None:
    held = _ALLOWANCE.get(services.db)
    if held is not None:
        held.reads = max(0.0, held.reads - reads)
