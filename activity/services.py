"""The services the core and the handlers share, built once by `bot.py` and injected."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sqlite_utils import Database

from activity.auth import TokenKeeper
from activity.cache import AsyncCache
from settings import Settings
from spark import Contact, Listing, Page, SparkClient
from storage import TokenCipher

if TYPE_CHECKING:
    from spark.oauth import OAuthClient

LISTING_PAGE_SIZE = 10  # a carousel holds at most 10 cards
WORK_SLOTS = 16
PAGE_TTL_S = 300.0  # a listing page stays fresh for a page flip or a prefetch
CONTACT_TTL_S = 600.0  # a contact's name and details, for page headers


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    cipher: TokenCipher
    spark: SparkClient
    clock: Callable[[], dt.datetime] = utc_now
    listing_layout: Literal["carousel", "sections"] = "carousel"
    page_size: int = LISTING_PAGE_SIZE
    pages: AsyncCache[Page[Listing]] = field(default_factory=lambda: AsyncCache(ttl=PAGE_TTL_S))
    contacts: AsyncCache[Contact] = field(default_factory=lambda: AsyncCache(ttl=CONTACT_TTL_S))
    # At most this many requests do their slow work at once; the rest wait their turn *after*
    # their ack, so a burst never starves the event loop of the time acks need.
    work: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WORK_SLOTS))
    oauth: OAuthClient | None = None
    secret_key: bytes = b""  # derives the key that signs OAuth `state` values
    keeper: TokenKeeper = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.keeper = TokenKeeper(self)
        if self.spark.refresher is None:
            self.spark.refresher = self.keeper.on_expired
