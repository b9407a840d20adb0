"""The long-lived collaborators the core and the handlers share, built once and injected.

`runtime.open_services` builds them with `assemble`; tests build them the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlite_utils import Database

from activity.auth import TokenKeeper
from activity.contacts import ContactBook
from activity.listings import ListingPages
from settings import Settings
from spark import SparkClient
from storage import TokenCipher

if TYPE_CHECKING:
    from spark.oauth import OAuthClient


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    cipher: TokenCipher
    keeper: TokenKeeper  # which token acts for whom; refreshes OAuth tokens
    spark: SparkClient  # refreshes through `keeper`, counts each token against its API key
    contacts: ContactBook
    listings: ListingPages
    clock: Callable[[], dt.datetime] = utc_now
    oauth: OAuthClient | None = None
    secret_key: bytes = b""  # derives the keys that sign OAuth `state` values and cursors


def assemble(
    *,
    settings: Settings,
    db: Database,
    cipher: TokenCipher,
    http: httpx.AsyncClient,
    clock: Callable[[], dt.datetime] = utc_now,
    oauth: OAuthClient | None = None,
    secret_key: bytes = b"",
    **spark_options: Any,
) -> Services:
    """Build the services in dependency order: keeper, Spark client, the caches on top.

    `spark_options` go to `SparkClient` (rate limiter, retry policy, timeouts); the base URL and
    user agent come from `settings`.
    """
    keeper = TokenKeeper(settings=settings, db=db, cipher=cipher, oauth=oauth, clock=clock)
    spark = SparkClient(
        http,
        base_url=settings.spark_api_url,
        user_agent=settings.spark_user_agent,
        refresher=keeper.on_expired,
        key_of=keeper.key_for,
        **spark_options,
    )
    contacts = ContactBook(spark)
    return Services(
        settings=settings,
        db=db,
        cipher=cipher,
        keeper=keeper,
        spark=spark,
        contacts=contacts,
        listings=ListingPages(spark, contacts),
        clock=clock,
        oauth=oauth,
        secret_key=secret_key,
    )
