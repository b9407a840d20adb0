"""Resolve what an agent typed to a contact, and assemble the contact card.

Cold lookup: one contact search, then (concurrently) the activity summary plus the first page
of viewed and shared listings, which warm the page cache so the carousel opens instantly.
Warm lookup (the same query recently, by the same agent): the cached contact id skips the
search, so the card needs one round trip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import re
import unicodedata
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, fields

from activity.models import (
    LIST_KINDS,
    Access,
    Candidates,
    ContactCard,
    EarlierLook,
    NoMatch,
    Resolution,
    summary_delta,
)
from activity.scoring import Trend, last_active, trend
from activity.services import Services
from spark import ActivitySummary, BadFilter, Contact, ContactQuery, NotFound, QueryKind, classify
from spark.search import SearchUnavailable
from spark.sparkql import normalize_typing, widened
from storage import (
    Counters,
    cache_contact_query,
    cached_contact_id,
    first_lookup_of_day,
    forget_contact_cache,
    latest_reading_before,
    recent_lookups,
    record_lookup,
    record_snapshot,
    snapshot_history,
    snapshot_readings,
)
from storage.auto_watches import add_auto_watch

MAX_CANDIDATES = 25
MAX_SUGGESTIONS = 3
MIN_CLOSENESS = 0.6  # difflib ratio; "jon smiht" ~ "John Smith" is 0.84, unrelated names < 0.5
RECENT_FOR_SUGGESTIONS = 50
# Letters NFKD does not split into a base letter and a mark.
_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                          "þ": "th", "ı": "i"})  # fmt: skip
_DROPPED = re.compile(r"['\".`]")  # O'Brien is OBrien, J.R. is JR
_SEPARATORS = re.compile(r"[\s,\-]+")  # Mary-Kate is Mary Kate
LAST_ACTIVE_DAYS = 400  # as far back as snapshots are kept (storage.retention)


def _fold(text: str) -> str:
    """The form names are compared in: case, accents, apostrophes and hyphens don't count.

    "Zoë O’Brien" folds to "zoe obrien", "Mary-Kate" to "mary kate".
    """
    decomposed = unicodedata.normalize("NFKD", normalize_typing(text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LETTERS)
    return " ".join(_SEPARATORS.split(_DROPPED.sub("", bare))).strip()


def fold_name(text: str) -> str:
    """The form names are compared in (see `_fold`), for other modules."""
    return _fold(text)


def _names(contact: Contact) -> list[str]:
    """The folded names a contact goes by: display name, then given + family name."""
    names = [_fold(contact.display_name)]
    if contact.given_name or contact.family_name:
        names.append(_fold(f"{contact.given_name or ''} {contact.family_name or ''}"))
    return names


def loosely_matches(query: str, contact: Contact) -> bool:
    """Whether `contact` is who a name `query` means, ignoring accents, case and punctuation:
    every typed word starts a word of one of the contact's names ("zoe obrien" → Zoë O'Brien,
    "nunez jose" → José Núñez), or the name starts with the whole text."""
    wanted = _fold(query)
    words = wanted.split()
    if not words:
        return False
    for name in _names(contact):
        name_words = name.split()
        if name.startswith(wanted) or name.replace(" ", "").startswith(wanted.replace(" ", "")):
            return True
        if all(any(n.startswith(w) for n in name_words) for w in words):
            return True
    return False


def closeness(query: str, name: str) -> float:
    """How alike a typed name and a contact's name are, 0..1 (for "did you mean")."""
    wanted, folded = _fold(query), _fold(name)
    if not wanted or not folded:
        return 0.0
    best = difflib.SequenceMatcher(None, wanted, folded).ratio()
    if " " not in wanted:  # one word: also against each word of the name ("smiht" ~ Smith)
        for word in folded.split():
            best = max(best, difflib.SequenceMatcher(None, wanted, word).ratio())
    return best


def suggestions(
    query: str, recent: Sequence[Contact], nearby: Sequence[Contact]
) -> tuple[Contact, ...]:
    """Up to 3 contacts whose names are close to `query`, closest first (recent ones win ties)."""
    pool: dict[str, Contact] = {}
    for contact in (*recent, *nearby):
        pool.setdefault(contact.id, contact)
    scored = [(closeness(query, c.display_name), i, c) for i, c in enumerate(pool.values())]
    close = sorted((s for s in scored if s[0] >= MIN_CLOSENESS), key=lambda s: (-s[0], s[1]))
    return tuple(c for _, _, c in close[:MAX_SUGGESTIONS])


def rank_contacts(query: str, contacts: Sequence[Contact]) -> list[Contact]:
    """Best first: exact name, then name prefix, then every typed word starting a word of the
    name ("okafor" finds "Chidi Okafor", which may carry only a DisplayName), then the rest;
    ties by name, then id."""
    wanted = _fold(query)
    wanted_words = wanted.split()

    def score(contact: Contact) -> tuple[int, str, str]:
        names = _names(contact)
        if contact.email:
            names.append(_fold(contact.email))
        if any(name == wanted for name in names):
            rank = 0
        elif any(name.startswith(wanted) for name in names):
            rank = 1
        elif wanted_words and all(
            any(word.startswith(w) for word in names[0].split()) for w in wanted_words
        ):
            rank = 2
        else:
            rank = 3
        return rank, _fold(contact.display_name), contact.id

    unique = {c.id: c for c in contacts}
    return sorted(unique.values(), key=score)


def to_counters(summary: ActivitySummary) -> Counters:
    return Counters(**{f.name: getattr(summary, f.name) for f in fields(ActivitySummary)})


def to_summary(counters: Counters) -> ActivitySummary:
    return ActivitySummary(**{f.name: getattr(counters, f.name) for f in fields(ActivitySummary)})


@dataclass(frozen=True)
class Match:
    """Exactly one contact: known in full after a search, or only by id from the query cache."""

    contact_id: str
    contact: Contact | None = None


async def find(services: Services, access: Access, text: str) -> Match | Candidates | NoMatch:
    """Turn typed text into one contact, several (ranked) or none, without fetching activity."""
    query = classify(text)  # InvalidQuery propagates: the caller explains it
    now = services.clock()
    cached = cached_contact_id(services.db, access.team_id, access.user_id, text, now)
    if cached is not None:
        return Match(cached)
    page = await services.spark.search_contacts(
        access.token, query, limit=MAX_CANDIDATES, on_retry=access.on_retry
    )
    ranked = rank_contacts(query.value, page.items)
    total = max(page.total_rows, len(ranked))
    nearby: list[Contact] = []
    if not ranked:
        ranked, nearby = await _widen(services, access, query)
        total = len(ranked)
    for contact in ranked:
        services.contacts.remember(access.token, contact)
    if not ranked:
        return NoMatch(normalize_typing(text), _suggest(services, access, query, nearby))
    if len(ranked) == 1:
        cache_contact_query(
            services.db,
            team_id=access.team_id,
            user_id=access.user_id,
            query=text,
            contact_id=ranked[0].id,
            now=now,
        )
        return Match(ranked[0].id, ranked[0])
    # What was searched, as the agent meant it (no doubled curly quotes echoed back).
    return Candidates(normalize_typing(text), tuple(ranked[:MAX_CANDIDATES]), total)


async def _widen(
    services: Services, access: Access, query: ContactQuery
) -> tuple[list[Contact], list[Contact]]:
    """One wider search when the exact one found nothing: (who the query means, the rest).

    A name: by initials, kept when it loosely matches (accents, apostrophes, hyphens aside). A
    phone number: by its last 7 digits, kept when the number agrees with every digit typed.
    Costs one request at the caller's priority; a search Flexmls refuses widens nothing.
    """
    wider = widened(query)
    if wider is None:
        return [], []
    try:
        page = await services.spark.search_contacts(
            access.token, wider, limit=MAX_CANDIDATES, on_retry=access.on_retry
        )
    except (BadFilter, SearchUnavailable):
        return [], []
    if query.kind is QueryKind.PHONE:
        return [c for c in page.items if _same_number(query.value, c.phone)], []
    ranked = rank_contacts(query.value, page.items)
    found = [c for c in ranked if loosely_matches(query.value, c)]
    return found, [c for c in ranked if c not in found]


def _same_number(digits: str, phone: str | None) -> bool:
    """Whether a stored number agrees with the digits typed (either may lack the area code)."""
    stored = re.sub(r"\D", "", phone or "")
    if len(stored) < 7:
        return False
    national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    stored = stored[1:] if len(stored) == 11 and stored.startswith("1") else stored
    return stored.endswith(national) or national.endswith(stored)


def _suggest(
    services: Services, access: Access, query: ContactQuery, nearby: Sequence[Contact]
) -> tuple[Contact, ...]:
    """ "Did you mean": close names among the agent's recent lookups and the widened search."""
    if query.kind is not QueryKind.NAME:
        return ()
    recent = recent_lookups(
        services.db, access.team_id, access.user_id, limit=RECENT_FOR_SUGGESTIONS
    )
    known = [Contact(item.contact_id, item.display_name) for item in recent]
    return suggestions(query.value, known, nearby)


async def resolve(services: Services, access: Access, text: str) -> Resolution:
    """Turn typed text into a card (one match), a picker (several) or a no-match."""
    found = await find(services, access, text)
    if not isinstance(found, Match):
        return found
    try:
        return await contact_card(
            services, access, contact_id=found.contact_id, contact=found.contact, query=text
        )
    except NotFound:
        if found.contact is not None:
            raise
        # The cached id is gone (deleted contact, or no longer this agent's): search afresh.
        forget_contact_cache(services.db, access.team_id, access.user_id)
        return await resolve(services, access, text)


async def contact_card(
    services: Services,
    access: Access,
    *,
    contact_id: str | None = None,
    contact: Contact | None = None,
    query: str | None = None,
) -> ContactCard:
    """Fetch what the card shows, record today's snapshot and the lookup, and compute deltas."""
    if contact is None and contact_id is None:
        raise ValueError("contact_card needs a contact or a contact_id")
    contact_id = contact.id if contact is not None else contact_id
    assert contact_id is not None
    # The card's own request goes first; the carousel's first pages are warmed behind it.
    summary_task = asyncio.ensure_future(
        services.spark.activity_summary(access.token, contact_id, on_retry=access.on_retry)
    )
    summary_task.add_done_callback(lambda task: task.cancelled() or task.exception())
    for kind in LIST_KINDS:
        services.listings.prefetch(access.token, contact_id, kind, 1)
    if contact is None:
        contact, summary = await asyncio.gather(
            services.contacts.get(access, contact_id), summary_task
        )
    else:
        summary = await summary_task
    assert contact is not None  # fetched above when the caller had none
    return _record_and_compare(services, access, contact, summary, query)


def viewer_zone(name: str) -> dt.tzinfo:
    """The viewer's time zone by IANA name; UTC when the name is empty or unknown."""
    try:
        return zoneinfo.ZoneInfo(name) if name else dt.UTC
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return dt.UTC


def _record_and_compare(
    services: Services,
    access: Access,
    contact: Contact,
    summary: ActivitySummary,
    query: str | None,
) -> ContactCard:
    """Store today's snapshot and the lookup; compare with the viewer's yesterday and with
    their earlier lookup today."""
    now = services.clock()
    zone = viewer_zone(access.tz)
    local_now = now.astimezone(zone)
    midnight = dt.datetime.combine(local_now.date(), dt.time(), tzinfo=zone)
    baseline = latest_reading_before(services.db, contact.id, midnight)
    earlier = first_lookup_of_day(
        services.db,
        team_id=access.team_id,
        user_id=access.user_id,
        contact_id=contact.id,
        local_day=local_now.date(),
        counters=to_counters(summary),
        now=now,
    )
    record_snapshot(
        services.db, contact_id=contact.id, day=now.date(), counters=to_counters(summary), now=now
    )
    record_lookup(
        services.db,
        team_id=access.team_id,
        user_id=access.user_id,
        contact_id=contact.id,
        display_name=contact.display_name,
        query=query or contact.display_name,
        now=now,
    )
    _watch_automatically(services, access, contact, now)
    baseline_day, delta = None, None
    if baseline is not None:
        recorded_at, counters = baseline
        baseline_day = recorded_at.astimezone(zone).date()
        delta = summary_delta(summary, to_summary(counters))
    return ContactCard(
        contact=contact,
        summary=summary,
        looked_up_at=now,
        baseline_day=baseline_day,
        delta=delta,
        trend=contact_trend(services, contact.id, now.date()),
        local_now=local_now,
        last_active=_last_active_day(services, contact.id, now.date(), zone),
        earlier_today=_earlier_look(earlier, summary, zone),
        flexmls_url=services.settings.flexmls_contact_link(contact.id),
    )


def _watch_automatically(
    services: Services, access: Access, contact: Contact, now: dt.datetime
) -> None:
    """A lookup starts (or refreshes) the agent's auto watch of the contact; no extra request:
    the poller's next read is its baseline (`storage.auto_watches`)."""
    if not services.settings.alerts_enabled:
        return
    add_auto_watch(
        services.db,
        team_id=access.team_id,
        user_id=access.user_id,
        contact_id=contact.id,
        display_name=contact.display_name,
        access="workspace" if access.workspace else "own",
        now=now,
    )


def _earlier_look(
    earlier: tuple[dt.datetime, Counters] | None, summary: ActivitySummary, zone: dt.tzinfo
) -> EarlierLook | None:
    if earlier is None:
        return None
    seen_at, counters = earlier
    return EarlierLook(seen_at.astimezone(zone), summary_delta(summary, to_summary(counters)))


def _last_active_day(
    services: Services, contact_id: str, today: dt.date, zone: dt.tzinfo
) -> dt.date | None:
    """The viewer's day of the newest snapshot that showed the contact viewing or opening."""
    rows = snapshot_readings(
        services.db, contact_id, today - dt.timedelta(days=LAST_ACTIVE_DAYS), today
    )
    moment = last_active([(recorded_at, to_summary(c)) for _, recorded_at, c in rows])
    return moment.astimezone(zone).date() if moment is not None else None


def history(
    services: Services, contact_id: str, today: dt.date, days: int = 31
) -> list[tuple[dt.date, ActivitySummary]]:
    """The contact's daily snapshots over the last `days` days, oldest first."""
    rows = snapshot_history(services.db, contact_id, today - dt.timedelta(days=days), today)
    return [(day, to_summary(counters)) for day, counters in rows]


def contact_trend(services: Services, contact_id: str, today: dt.date) -> Trend:
    return trend(history(services, contact_id, today), today)
