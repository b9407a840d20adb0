"""What the core hands to the renderers: plain frozen dataclasses, nothing of Slack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from activity.scoring import Engagement, Trend
from spark import ActivitySummary, Contact, Listing, Page
from spark.client import RetryCallback
from spark.models import ListKind as ListKind  # the core speaks of it too

LIST_KINDS: tuple[ListKind, ...] = ("viewed", "shared")


@dataclass(frozen=True)
class Access:
    """Who is asking the core for something, and with which Flexmls access.

    Built once per request by the handler's `Turn` (after it has checked who may use which
    token) and handed down whole, so the core never juggles a token apart from its owner.
    """

    team_id: str
    user_id: str
    token: str = field(repr=False)
    workspace: bool = False  # the token is the workspace-wide SPARK_ACCESS_TOKEN
    # The asker's IANA time zone (from Slack's users.info), for "since yesterday" and "last
    # active" in their own day; "UTC" when Slack did not say.
    tz: str = "UTC"
    # Told when Flexmls makes us wait (to say "still asking"); None where nobody is waiting.
    on_retry: RetryCallback | None = field(default=None, compare=False, repr=False)


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
class EarlierLook:
    """The viewer's first lookup of the contact earlier in their own (local) day."""

    at: dt.datetime  # when, in the viewer's time zone
    delta: ActivitySummary  # what changed since then


@dataclass(frozen=True)
class ContactCard:
    """Everything the contact card shows. Days and times are the viewer's own (their Slack time
    zone), except `looked_up_at`, which is the moment the data was read (UTC)."""

    contact: Contact
    summary: ActivitySummary
    looked_up_at: dt.datetime
    # The change since the newest snapshot recorded before the viewer's midnight (usually
    # yesterday's), if any, and the viewer's day it was recorded on.
    baseline_day: dt.date | None = None
    delta: ActivitySummary | None = None
    # 7/30-day changes, sparkline and engagement score (a first estimate on a new install).
    trend: Trend | None = None
    # The viewer's local date and time of the lookup (None: read `looked_up_at` as theirs).
    local_now: dt.datetime | None = None
    # The viewer's day on which the contact last viewed or opened something (None: not seen).
    last_active: dt.date | None = None
    # The viewer's earlier lookup today and what changed since, if any.
    earlier_today: EarlierLook | None = None
    # The contact's page in Flexmls, when FLEXMLS_CONTACT_URL is configured.
    flexmls_url: str | None = None

    @property
    def today(self) -> dt.date:
        """The viewer's date at the lookup."""
        return (self.local_now or self.looked_up_at).date()

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
    """One page of the listings a contact viewed or was shared.

    `page.items` are newest first when Spark's `ContactActivity` gave dates (within the page:
    Spark's own order across pages is undocumented); `links` maps a listing id to its
    "View listing" URL when `FLEXMLS_LISTING_URL` is set; `today` (the reader's date) lets dates
    drop the year when it is this year's.
    """

    contact_id: str
    contact_name: str
    kind: ListKind
    page: Page[Listing]
    links: Mapping[str, str] = field(default_factory=dict, compare=False)
    today: dt.date | None = None

    @property
    def active_count(self) -> int:
        """How many listings on this page are still on the market as active (not pending,
        closed, expired… and not of unknown status)."""
        return sum(1 for listing in self.page.items if listing.market == "active")


@dataclass(frozen=True)
class Candidates:
    """Several contacts match: the picker. `contacts` are ranked best first (≤ 25)."""

    query: str
    contacts: tuple[Contact, ...]
    total: int


@dataclass(frozen=True)
class NoMatch:
    """Nothing matches `query`. `suggestions`: up to 3 close names ("did you mean"), from the
    agent's recent lookups and the widened search, closest first (id and name only, maybe)."""

    query: str
    suggestions: tuple[Contact, ...] = ()


Resolution = ContactCard | Candidates | NoMatch


@dataclass(frozen=True)
class DigestEntry:
    """One contact in a digest."""

    contact_id: str
    name: str
    summary: ActivitySummary
    day: ActivitySummary | None  # change since the previous snapshot (usually yesterday)
    week: ActivitySummary | None  # change over 7 days
    engagement: Engagement | None
    previous_score: float | None  # the score a day earlier, to tell heating from cooling

    @property
    def movement(self) -> float:
        """How much the score moved since the day before (0 without history)."""
        if self.engagement is None:
            return 0.0
        return self.engagement.score - (self.previous_score or 0.0)


@dataclass(frozen=True)
class Digest:
    """A morning digest for one subscription and local date."""

    subscription_id: int
    subscriber_id: str  # Slack user whose Flexmls access gathered it
    channel_id: str
    local_date: dt.date
    scope: str  # "recent", "all" or "tag:<Tag>"
    entries: tuple[DigestEntry, ...]  # every contact read, most moved first
    heating: tuple[DigestEntry, ...]  # score up noticeably, best first
    cooling: tuple[DigestEntry, ...]  # score down noticeably, biggest drop first
    failed: int  # contacts that could not be read
    late: bool  # posted after its time (the bot was down at the time)

    @property
    def counts(self) -> dict[str, int]:
        bands = {"hot": 0, "warm": 0, "cold": 0}
        for entry in self.entries:
            if entry.engagement is not None:
                bands[entry.engagement.band] += 1
        return bands


@dataclass(frozen=True)
class ConnectionStatus:
    """What `/activity status` and the Home tab know about an agent's Flexmls access."""

    connected: bool = False  # the agent has their own connection
    spark_user_name: str | None = None
    kind: str | None = None  # "oauth" | "personal"
    since: dt.datetime | None = None
    broken: bool = False  # their connection stopped working; they must reconnect
    workspace_token_available: bool = False  # a workspace-wide token is configured
    workspace_token_allowed: bool = False  # the operator lets everyone use it
    oauth_available: bool = False  # the OAuth connect flow is configured

    @property
    def has_connection(self) -> bool:
        """True when the agent has a connection of their own, working or broken."""
        return self.connected or self.broken

    @property
    def uses_workspace_token(self) -> bool:
        """True when lookups fall back to the workspace's shared token."""
        return (
            (not self.connected or self.broken)
            and self.workspace_token_available
            and self.workspace_token_allowed
        )
