"""`/activity watch tag:<Tag>` and `/activity unwatch tag:<Tag>`: a Flexmls tag's contacts as
watches (`source = 'tag:<Tag>'`), within what the agent's manual and tag watches leave of the 50.

Cost, at the asker's (interactive) priority: one request to check the tag against the agent's
tags (`GET /contacts/tags`, as digests do: an unknown tag is refused with the list), then the
tag's contact pages (`GET /contacts/tags/<Tag>`, the tag URL-encoded in the path: nothing of it
reaches a filter) only until the room left is filled: at most ceil((room + already watched) /
25) pages. No contact's activity is read now: each tag watch's first check is its baseline.
Nothing is read when no room is left. Unwatching a tag makes no request.
"""

from __future__ import annotations

from dataclasses import dataclass

from activity.alerts import MAX_WATCHES, TooManyWatches
from activity.digests import DigestRefused, Refusal, check_scope
from activity.models import Access
from activity.poll_budget import forget
from activity.services import Services
from spark.client import MAX_TAG_LENGTH
from storage.alerts import active_watches
from storage.auto_watches import add_tag_watch, stop_source, tag_sources

# Pages of a tag read at most: enough to pass every kept watch and fill the 50 (25 a page), and a
# bound when Flexmls keeps saying "there is more" with nothing new.
MAX_TAG_PAGES = 5


class BadTag(ValueError):
    """The tag typed is empty or too long; the message says so."""


class UnknownTag(Exception):
    """No contact of the agent carries the tag; `tags` are the ones that exist."""

    def __init__(self, tag: str, tags: tuple[str, ...]) -> None:
        super().__init__(tag)
        self.tag, self.tags = tag, tags


class TagsUnavailable(Exception):
    """Flexmls could not say now which tags exist (busy or down)."""


class NeedsOwnConnection(Exception):
    """A tag is a whole list read from Flexmls: like a tag digest, with OAuth set up it is read
    with the agent's own connection, never the workspace token."""


@dataclass(frozen=True)
class TagWatched:
    """What `watch tag:<Tag>` did."""

    tag: str  # in Flexmls's own spelling (as typed when Flexmls won't list tags)
    added: int
    already: int  # watched before (manually or through a tag)
    not_fit: int  # the tag's other contacts: no room left for them
    unchecked: bool = False  # Flexmls won't list this key's tags: the name was taken as typed


def tag_name(text: str) -> str:
    """The tag after `tag:`, trimmed; raises `BadTag` when empty or too long."""
    tag = " ".join(text.split())
    if not tag:
        raise BadTag("Say which tag, e.g. `tag:Buyer`.")
    if len(tag) > MAX_TAG_LENGTH:
        raise BadTag(f"A tag is at most {MAX_TAG_LENGTH} characters.")
    return tag


def _kept(services: Services, access: Access) -> tuple[set[str], set[str]]:
    """(contacts watched other than automatically, contacts with a live auto watch)."""
    live = active_watches(services.db, access.team_id, access.user_id, services.clock())
    kept = {w.contact_id for w in live if w.source != "auto"}
    return kept, {w.contact_id for w in live if w.source == "auto"}


async def watch_tag(services: Services, access: Access, text: str) -> TagWatched:
    """Watch the contacts tagged `text` for the agent, as many as fit; raises `BadTag`,
    `TooManyWatches` (no room: nothing is read), `UnknownTag`, `TagsUnavailable`,
    `NeedsOwnConnection` (nothing is read)."""
    wanted = tag_name(text)
    if services.oauth is not None and access.workspace:
        raise NeedsOwnConnection
    kept, _ = _kept(services, access)
    if len(kept) >= MAX_WATCHES:
        raise TooManyWatches
    try:
        checked = await check_scope(services, access.token, "tag:" + wanted)
    except DigestRefused as refused:
        if refused.reason is Refusal.UNKNOWN_TAG:
            raise UnknownTag(refused.detail, refused.choices) from None
        raise
    if checked.unchecked == "unavailable":
        raise TagsUnavailable
    tag = checked.scope.split(":", 1)[1]
    contacts, total = await _tag_contacts(services, access, tag, MAX_WATCHES - len(kept), kept)
    result = _store(services, access, tag, contacts)
    forget(services)  # the watch set changed: the poller's budget plan is worked out afresh
    unread = max(0, total - len(contacts))
    return TagWatched(tag, result.added, result.already, result.not_fit + unread,
                      unchecked=checked.unchecked is not None)  # fmt: skip


async def _tag_contacts(
    services: Services, access: Access, tag: str, room: int, kept: set[str]
) -> tuple[list[tuple[str, str]], int]:
    """(contact id, name) of the tag's contacts, page by page until `room` new ones are found;
    and how many contacts Flexmls says the tag has."""
    found: dict[str, str] = {}
    total, number = 0, 1
    while True:
        page = await services.spark.contacts_with_tag(
            access.token, tag, page=number, on_retry=access.on_retry
        )
        total = max(total, page.total_rows)
        for contact in page.items:
            found.setdefault(contact.id, contact.display_name)
        new = sum(1 for cid in found if cid not in kept)
        if new >= room or not page.has_next or not page.items or number >= MAX_TAG_PAGES:
            return list(found.items()), max(total, len(found))
        number += 1


def _store(
    services: Services, access: Access, tag: str, contacts: list[tuple[str, str]]
) -> TagWatched:
    """Add what fits, in one transaction (re-checked: another watch may have come meanwhile)."""
    db, now = services.db, services.clock()
    added = already = not_fit = 0
    with db.atomic():
        kept, auto = _kept(services, access)
        room = MAX_WATCHES - len(kept)
        for contact_id, name in contacts:
            if contact_id in kept:
                already += 1
            elif room > 0:
                add_tag_watch(db, team_id=access.team_id, user_id=access.user_id,
                              contact_id=contact_id, display_name=name, source="tag:" + tag,
                              access="workspace" if access.workspace else "own", now=now,
                              fresh=contact_id not in auto)  # fmt: skip
                added, room = added + 1, room - 1
            else:
                not_fit += 1
    return TagWatched(tag, added, already, not_fit)


def _same_tag(tag: str) -> str:
    return " ".join(tag.split()).casefold()


@dataclass(frozen=True)
class TagUnwatched:
    tag: str
    stopped: int  # 0: no running watch came from that tag


def unwatch_tag(services: Services, team_id: str, user_id: str, text: str) -> TagUnwatched:
    """Stop the agent's watches that came from the tag (no Flexmls request); raises `BadTag`."""
    wanted = tag_name(text)
    for source in tag_sources(services.db, team_id, user_id):
        if _same_tag(source.split(":", 1)[1]) == _same_tag(wanted):
            stopped = stop_source(services.db, team_id, user_id, source)
            forget(services)
            return TagUnwatched(source.split(":", 1)[1], stopped)
    return TagUnwatched(wanted, 0)
