"""Pages of the listings a contact viewed or was shared, with prefetch of the next page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from activity.contacts import get_contact
from activity.models import ListingPage, ListKind
from activity.services import Services
from spark import Listing, Page
from spark.budget import Priority, current_work, working_as
from spark.client import RetryCallback
from spark.ratelimit import token_key


def page_key(key: str, contact_id: str, kind: ListKind, page: int) -> tuple[str, str, str, int]:
    return (key, contact_id, kind, page)


def _fetcher(services: Services, token: str, contact_id: str, kind: ListKind, page: int,
             on_retry: RetryCallback | None = None) -> Callable[[], Awaitable[Page[Listing]]]:  # fmt: skip
    def fetch() -> Awaitable[Page[Listing]]:
        return services.spark.listings(
            token, contact_id, kind, page=page, limit=services.page_size, on_retry=on_retry
        )

    return fetch


def prefetch_page(
    services: Services, *, token: str, contact_id: str, kind: ListKind, page: int
) -> None:
    """Fetch a page in the background so a later click finds it cached.

    A prefetch has the lowest priority in the key's Spark budget and never waits: when the
    budget is tight it is skipped (`PrefetchSkipped`, dropped by the cache) and the click
    fetches the page itself.
    """
    key = page_key(token_key(token), contact_id, kind, page)
    fetch = _fetcher(services, token, contact_id, kind, page)
    owner = current_work().owner

    async def prefetch() -> Page[Listing]:
        with working_as(Priority.PREFETCH, owner):
            return await fetch()

    services.pages.prefetch(key, prefetch)


async def listing_page(
    services: Services,
    *,
    token: str,
    contact_id: str,
    kind: ListKind,
    page: int,
    on_retry: RetryCallback | None = None,
) -> ListingPage:
    """One page (cached or fetched, with the contact's name) and a prefetch of the next."""
    key = page_key(token_key(token), contact_id, kind, page)
    result: Page[Listing]
    contact, result = await asyncio.gather(
        get_contact(services, token, contact_id, on_retry),
        services.pages.get(key, _fetcher(services, token, contact_id, kind, page, on_retry)),
    )
    if result.has_next:
        prefetch_page(services, token=token, contact_id=contact_id, kind=kind, page=page + 1)
    return ListingPage(
        contact_id=contact_id, contact_name=contact.display_name, kind=kind, page=result
    )
