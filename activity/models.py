"""What the core hands to the renderers: plain frozen dataclasses, nothing of Slack."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Literal

from spark import ActivitySummary, Contact, Listing, Page

ListKind = Literal["viewed", "shared"]
LIST_KINDS: tuple[ListKind, ...] = ("viewed", "shared")


def summary_delta(now: ActivitySummary, before: ActivitySummary) -> ActivitySummary:
    """Counter-by-counter difference `now - before` (may be negative if Spark corrected data)."""
    return ActivitySummary(
        **{f.name: getattr(now, f.name) - getattr(before, f.name) for f in fields(ActivitySummary)}
    )


def open_rate(opened: int, sent: int) -> float | None:
    """Opened / sent as a fraction in [0, 1], or None when nothing was sent."""
    if sent <= 0:
        return None
    return min(1.0, max(0.0, opened / sent))


@dataclass(frozen=True)
class ContactCard:
    """Everything the contact card shows."""

    contact: Contact
    summary: ActivitySummary
    looked_up_at: dt.datetime
    # The change since the most recent earlier snapshot (usually yesterday's), if any.
    baseline_day: dt.date | None = None
    delta: ActivitySummary | None = None

    @property
    def manual_open_rate(self) -> float | None:
        return open_rate(self.summary.manual_emails_opened, self.summary.manual_emails_sent)

    @property
    def subscription_open_rate(self) -> float | None:
        return open_rate(
            self.summary.subscription_emails_opened, self.summary.subscription_emails_sent
        )


@dataclass(frozen=True)
class ListingPage:
    """One page of the listings a contact viewed or was shared."""

    contact_id: str
    contact_name: str
    kind: ListKind
    page: Page[Listing]


@dataclass(frozen=True)
class Candidates:
    """Several contacts match: the picker. `contacts` are ranked best first (≤ 25)."""

    query: str
    contacts: tuple[Contact, ...]
    total: int


@dataclass(frozen=True)
class NoMatch:
    query: str


Resolution = ContactCard | Candidates | NoMatch
