"""Engagement history: daily increments, trends, a sparkline, and the engagement score.

Spark's activity counters are running totals, so what a contact did on a given day only exists
as the difference between two of our daily snapshots. Everything here is pure: it takes the
snapshot history (oldest first) and returns plain values, so the formula is tested directly.

The score, in one place, counts only what the **contact** did:

    score = Σ over days  points(day) × ½^(age_in_days / HALF_LIFE_DAYS)
    points(day) = 3 × listings viewed
                + 1 × manual e-mails opened + 0.5 × subscription e-mails opened

Listings shared and e-mails sent are the agent's own actions: the card shows them, but they earn
no points. Listing views weigh more than e-mail opens because mail privacy features (e.g. Apple
Mail Privacy Protection) open e-mails automatically; recent days weigh more than old ones.
Bands: hot ≥ 30 points, warm ≥ 8, cold below.

Until two snapshots exist (a new install, or a contact nobody looked up before), there is no
day-by-day history: the band is then a first estimate from today's running totals, the same
points divided by `LIFETIME_SCALE` (as if the whole history had happened over about ten days),
and says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal, TypeVar

from spark import ActivitySummary

Band = Literal["hot", "warm", "cold"]
History = Sequence[tuple[dt.date, ActivitySummary]]

# What the contact did, and its points. Listings shared and e-mails sent (the agent's actions)
# are deliberately absent.
WEIGHTS = {
    "listings_viewed": 3.0,
    "manual_emails_opened": 1.0,
    "subscription_emails_opened": 0.5,
}
LIFETIME_SCALE = 10.0
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
    # "history": the decayed score of our daily snapshots; "today": a first estimate from
    # today's running totals, before there are two days of history.
    basis: str = "history"

    @property
    def provisional(self) -> bool:
        return self.basis == "today"


@dataclass(frozen=True)
class Trend:
    """What the card shows beyond today's counters, once there is history."""

    week: ActivitySummary | None  # change over the last 7 days
    month: ActivitySummary | None  # change over the last 30 days
    sparkline: str | None  # daily listing views, oldest → newest
    engagement: Engagement | None
    # What happened over the last 7 days by our daily increments (None before two snapshots),
    # and the first day of our history when it is shorter than that ("since Tue").
    recent: ActivitySummary | None = None
    recent_since: dt.date | None = None


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


def points(summary: ActivitySummary) -> float:
    """The weighted sum of what the contact did (the agent's own actions earn nothing)."""
    return float(sum(weight * int(getattr(summary, name)) for name, weight in WEIGHTS.items()))


def contact_did(summary: ActivitySummary) -> tuple[int, int]:
    """(listings viewed, e-mails opened) in `summary`: the contact's own actions."""
    return (
        summary.listings_viewed,
        summary.manual_emails_opened + summary.subscription_emails_opened,
    )


def contact_did_words(summary: ActivitySummary) -> str:
    """ "13 listings viewed · 2 e-mails opened", "1 listing viewed", or "nothing viewed or opened"."""
    views, opens = contact_did(summary)
    parts = [
        plural(n, singular, many)
        for n, singular, many in (
            (views, "listing viewed", "listings viewed"),
            (opens, "e-mail opened", "e-mails opened"),
        )
        if n
    ]
    return " · ".join(parts) if parts else "nothing viewed or opened"


def plural(n: int, singular: str, many: str) -> str:
    """1 → "1 e-mail opened", 2 → "2 e-mails opened" (thousands separated)."""
    return f"{n:,} {singular if n == 1 else many}"


def week_activity(history: History, today: dt.date, days: int = WEEK_DAYS) -> ActivitySummary:
    """What happened over the last `days` days (today included), from the daily increments."""
    window = [grown for day, grown in daily_increments(history) if 0 <= (today - day).days < days]
    return ActivitySummary(
        **{f.name: sum(getattr(g, f.name) for g in window) for f in fields(ActivitySummary)}
    )


def engagement(history: History, today: dt.date) -> Engagement | None:
    """The decayed, weighted score; None until two snapshots give at least one day of activity."""
    increments = daily_increments(history)
    if not increments:
        return None
    score = 0.0
    for day, grown in increments:
        age = max(0, (today - day).days)
        score += points(grown) * 0.5 ** (age / HALF_LIFE_DAYS)
    band = band_for(score)
    week = week_activity(history, today)
    if any(contact_did(week)):
        what = contact_did_words(week) + " in the last 7 days"
    else:
        what = "nothing viewed or opened in the last 7 days"
    return Engagement(round(score, 1), band, f"{band.capitalize()} ({score:.0f} points): {what}.")


def provisional_engagement(summary: ActivitySummary) -> Engagement:
    """A first band from today's running totals, before there are two days of history."""
    score = points(summary) / LIFETIME_SCALE
    band = band_for(score)
    return Engagement(
        round(score, 1),
        band,
        f"{band.capitalize()}, from today's totals ({contact_did_words(summary)} so far); "
        "the 7-day score starts after a second day.",
        basis="today",
    )


Moment = TypeVar("Moment", dt.date, dt.datetime)


def last_active(readings: Sequence[tuple[Moment, ActivitySummary]]) -> Moment | None:
    """When the newest reading that showed the contact viewing or opening something was taken.

    `readings` are oldest first; growth between two readings is put at the later one. None when
    no growth is seen (fewer than two readings, or a quiet contact).
    """
    for (_, before), (moment, now) in zip(
        reversed(readings[:-1]), reversed(readings[1:]), strict=True
    ):
        grown = difference(now, before)
        if grown.listings_viewed > 0 or any(
            getattr(grown, name) > 0
            for name in ("manual_emails_opened", "subscription_emails_opened")
        ):
            return moment
    return None


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
    """Everything the card shows from the history; before two snapshots, the band is a first
    estimate from the newest snapshot's totals (`provisional_engagement`)."""
    scored = engagement(history, today)
    if scored is None and history:
        scored = provisional_engagement(history[-1][1])
    has_days = len(history) >= 2
    first_day = history[0][0] if history else None
    short = first_day is not None and (today - first_day).days < WEEK_DAYS
    return Trend(
        week=change_since(history, today, WEEK_DAYS),
        month=change_since(history, today, MONTH_DAYS),
        sparkline=sparkline(history, today),
        engagement=scored,
        recent=week_activity(history, today) if has_days else None,
        recent_since=first_day if has_days and short else None,
    )
