"""Engagement history: daily increments, trends, a sparkline, and the engagement score.

Spark's activity counters are running totals, so what a contact did on a given day only exists
as the difference between two of our daily snapshots. Everything here is pure: it takes the
snapshot history (oldest first) and returns plain values, so the formula is tested directly.

The score, in one place:

    score = Σ over days  points(day) × ½^(age_in_days / HALF_LIFE_DAYS)
    points(day) = 3 × listings viewed + 2 × listings shared
                + 1 × manual e-mails opened + 0.5 × subscription e-mails opened

Listing activity weighs more than e-mail opens because mail privacy features (e.g. Apple Mail
Privacy Protection) open e-mails automatically; recent days weigh more than old ones. Bands:
hot ≥ 30 points, warm ≥ 8, cold below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal

from spark import ActivitySummary

Band = Literal["hot", "warm", "cold"]
History = Sequence[tuple[dt.date, ActivitySummary]]

WEIGHTS = {
    "listings_viewed": 3.0,
    "listings_shared": 2.0,
    "manual_emails_opened": 1.0,
    "subscription_emails_opened": 0.5,
}
HALF_LIFE_DAYS = 7.0
HOT, WARM = 30.0, 8.0
SPARK_CHARS = "▁▂▃▄▅▆▇█"
SPARKLINE_DAYS = 14
WEEK_DAYS, MONTH_DAYS = 7, 30  # the card's and digests' two change windows
MIN_SPARKLINE_DAYS = 3


@dataclass(frozen=True)
class Engagement:
    score: float
    band: Band
    explanation: str  # one line, plain text


@dataclass(frozen=True)
class Trend:
    """What the card shows beyond today's counters, once there is history."""

    week: ActivitySummary | None  # change over the last 7 days
    month: ActivitySummary | None  # change over the last 30 days
    sparkline: str | None  # daily listing views, oldest → newest
    engagement: Engagement | None


def difference(now: ActivitySummary, before: ActivitySummary) -> ActivitySummary:
    return ActivitySummary(
        **{f.name: getattr(now, f.name) - getattr(before, f.name) for f in fields(ActivitySummary)}
    )


def daily_increments(history: History) -> list[tuple[dt.date, ActivitySummary]]:
    """What happened on each day: the growth since the previous snapshot (never negative)."""
    out: list[tuple[dt.date, ActivitySummary]] = []
    for (_, before), (day, now) in zip(history, history[1:], strict=False):
        grown = difference(now, before)
        out.append(
            (
                day,
                ActivitySummary(**{f.name: max(0, getattr(grown, f.name)) for f in fields(grown)}),
            )
        )
    return out


def change_since(history: History, today: dt.date, days: int) -> ActivitySummary | None:
    """Change from the newest snapshot at least `days` old to the newest snapshot."""
    if not history:
        return None
    cutoff = today - dt.timedelta(days=days)
    older = [summary for day, summary in history if day <= cutoff]
    if not older:
        return None
    return difference(history[-1][1], older[-1])


def band_for(score: float) -> Band:
    return "hot" if score >= HOT else "warm" if score >= WARM else "cold"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def engagement(history: History, today: dt.date) -> Engagement | None:
    """The decayed, weighted score; None until two snapshots give at least one day of activity."""
    increments = daily_increments(history)
    if not increments:
        return None
    score = 0.0
    for day, grown in increments:
        age = max(0, (today - day).days)
        points = sum(weight * getattr(grown, name) for name, weight in WEIGHTS.items())
        score += points * 0.5 ** (age / HALF_LIFE_DAYS)
    band = band_for(score)
    week = [grown for day, grown in increments if (today - day).days < 7]
    views = sum(g.listings_viewed for g in week)
    shares = sum(g.listings_shared for g in week)
    opens = sum(g.manual_emails_opened + g.subscription_emails_opened for g in week)
    if views or shares or opens:
        parts = [
            p
            for p in (
                _plural(views, "listing view") if views else "",
                _plural(shares, "listing shared") if shares else "",
                _plural(opens, "e-mail open") if opens else "",
            )
            if p
        ]
        what = ", ".join(parts) + " in the last 7 days"
    else:
        what = "no activity in the last 7 days"
    return Engagement(round(score, 1), band, f"{band.capitalize()} ({score:.0f} points): {what}.")


def sparkline(history: History, today: dt.date, days: int = SPARKLINE_DAYS) -> str | None:
    """Daily listing views as ▁▂▃▄▅▆▇█ over the last `days` days, once there are a few days."""
    increments = {day: grown.listings_viewed for day, grown in daily_increments(history)}
    if len(increments) < MIN_SPARKLINE_DAYS:
        return None
    first = max(min(increments), today - dt.timedelta(days=days - 1))
    values = [
        increments.get(first + dt.timedelta(days=i), 0) for i in range((today - first).days + 1)
    ]
    top = max(values)
    if top == 0:
        return SPARK_CHARS[0] * len(values)
    return "".join(
        SPARK_CHARS[min(len(SPARK_CHARS) - 1, round(v / top * (len(SPARK_CHARS) - 1)))]
        for v in values
    )


def trend(history: History, today: dt.date) -> Trend:
    return Trend(
        week=change_since(history, today, WEEK_DAYS),
        month=change_since(history, today, MONTH_DAYS),
        sparkline=sparkline(history, today),
        engagement=engagement(history, today),
    )
