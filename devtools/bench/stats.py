"""Pure arithmetic of the benchmark: percentiles, spreads, ratios and the rate-limit floor.

Nothing here does I/O, so `tests/devtools/bench` checks it directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

SPREAD_KEYS = ("n", "min", "p50", "p95", "p99", "max", "mean")


def percentile(values: Iterable[float], p: float) -> float:
    """The `p`-th percentile (0..100) with linear interpolation between closest ranks.

    The same definition as numpy's default ("linear"): rank = p/100 * (n - 1).
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> dict[str, float]:
    """n, min, p50, p95, p99, max and mean of `values` (all NaN but n when empty)."""
    if not values:
        nan = float("nan")
        return {"n": 0, "min": nan, "p50": nan, "p95": nan, "p99": nan, "max": nan, "mean": nan}
    return {
        "n": len(values),
        "min": min(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def scaled(values: Iterable[float], factor: float) -> list[float]:
    return [v * factor for v in values]


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 or NaN."""
    if not denominator or math.isnan(denominator):
        return float("nan")
    return numerator / denominator


def in_rtt(seconds: Sequence[float], rtt_s: float) -> list[float]:
    """Latencies as multiples of one Spark round trip."""
    if rtt_s <= 0:
        raise ValueError("latencies in RTT need an RTT > 0")
    return [s / rtt_s for s in seconds]


def rate_limited_floor(n: int, limit: int, window_s: float, rtt_s: float = 0.0) -> float:
    """The time the rate limit allows for `n` requests: the least time any client can take.

    Under an exact sliding window of `limit` requests per `window_s` that starts empty, the
    first `limit` requests may go at once, the next `limit` one window later, and so on: the
    last request (number n-1, counting from 0) may leave at floor((n-1)/limit) * window_s and
    its answer arrives one round trip later. For n a multiple of `limit` this equals the
    fluid form max(0, n - limit) / (limit / window_s) (+ rtt).
    """
    if n < 1:
        return 0.0
    if limit < 1 or window_s <= 0:
        raise ValueError("a rate limit needs limit >= 1 and window > 0")
    return ((n - 1) // limit) * window_s + rtt_s


def per(total: float, count: int) -> float:
    return total / count if count else float("nan")


def mb(kilobytes: float) -> float:
    """kB (as /proc reports them) to MB (MiB)."""
    return kilobytes / 1024
