"""Pages of the listings a contact viewed or was shared, with prefetch of the next page."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from activity.cache import AsyncCache
from activity.contacts import ContactBook
from activity.models import Access, ListingPage, ListKind
from settings import fill_link
from spark import Listing, Page, SparkClient
from spark.budget import Priority, current_work, working_as
from spark.client import RetryCallback
from spark.ratelimit import token_key

LISTING_PAGE_SIZE = 10  # a carousel holds at most 10 cards
PAGE_TTL_S = 300.0  # a listing page stays fresh for a page flip or a prefetch

PageKey = tuple[str, str, str, int]


def page_key(token: str, contact_id: str, kind: ListKind, page: int) -> PageKey:
    """Pages are cached per token: what one agent's token fetched is never served to another."""
    return (token_key(token), contact_id, kind, page)


class ListingPages:
    """Listing pages fetched once per token, contact, list and page, and prefetched ahead."""

    def __init__(
        self,
        spark: SparkClient,
        contacts: ContactBook,
        *,
        page_size: int = LISTING_PAGE_SIZE,
        ttl: float = PAGE_TTL_S,
    ) -> None:
        self._spark = spark
        self._contacts = contacts
        self.page_size = page_size
        self._cache: AsyncCache[Page[Listing]] = AsyncCache(ttl=ttl)

    def _fetcher(
        self,
        token: str,
        contact_id: str,
        kind: ListKind,
        page: int,
        on_retry: RetryCallback | None = None,
    ) -> Callable[[], Awaitable[Page[Listing]]]:
        def fetch() -> Awaitable[Page[Listing]]:
            return self._spark.listings(
                token, contact_id, kind, page=page, limit=self.page_size, on_retry=on_retry
            )

        return fetch

    def prefetch(self, token: str, contact_id: str, kind: ListKind, page: int) -> None:
        """Fetch a page in the background so a later click finds it cached.

        A prefetch has the lowest priority in the key's Spark budget and never waits: when the
        budget is tight it is skipped (`PrefetchSkipped`, dropped by the cache) and the click
        fetches the page itself.
        """
        fetch = self._fetcher(token, contact_id, kind, page)
        owner = current_work().owner

        async def prefetch() -> Page[Listing]:
            with working_as(Priority.PREFETCH, owner):
                return await fetch()

        self._cache.prefetch(page_key(token, contact_id, kind, page), prefetch)

    def cached(self, token: str, contact_id: str, kind: ListKind, page: int) -> bool:
        """Whether that page is already fetched and fresh for this token."""
        return self._cache.peek(page_key(token, contact_id, kind, page)) is not None

    async def page(
        self,
        access: Access,
        contact_id: str,
        kind: ListKind,
        page: int,
        *,
        link_template: str | None = None,
        today: dt.date | None = None,
    ) -> ListingPage:
        """One page (cached or fetched, with the contact's name) and a prefetch of the next.

        Newest first when the listings carry dates; `link_template` (`FLEXMLS_LISTING_URL`,
        validated by the settings) gives each listing its "View listing" URL.
        """
        fetch = self._fetcher(access.token, contact_id, kind, page, access.on_retry)
        contact, result = await asyncio.gather(
            self._contacts.get(access, contact_id),
            self._cache.get(page_key(access.token, contact_id, kind, page), fetch),
        )
        if result.has_next:
            self.prefetch(access.token, contact_id, kind, page + 1)
        return ListingPage(
            contact_id=contact_id,
            contact_name=contact.display_name,
            kind=kind,
            page=replace(result, items=newest_first(result.items)),
            links=listing_links(link_template, result.items),
            today=today,
        )


def _last_activity(listing: Listing) -> dt.datetime | None:
    return listing.activity.last if listing.activity is not None else None


def newest_first(listings: tuple[Listing, ...]) -> tuple[Listing, ...]:
    """Listings with a `ContactActivity` date newest first; those without keep Spark's order,
    after them. Stable: equal dates keep Spark's order."""
    dated = [(last, x) for x in listings if (last := _last_activity(x)) is not None]
    if not dated:
        return listings
    dated.sort(key=lambda pair: pair[0], reverse=True)
    undated = [x for x in listings if _last_activity(x) is None]
    return tuple(x for _, x in dated) + tuple(undated)


def listing_links(template: str | None, listings: tuple[Listing, ...]) -> Mapping[str, str]:
    """Each listing's "View listing" URL, for those that have what the template needs."""
    if not template:
        return {}
    links = {}
    for listing in listings:
        url = fill_link(template, id=listing.id, mls=listing.mls_number)
        if url is not None:
            links[listing.id] = url
    return links
