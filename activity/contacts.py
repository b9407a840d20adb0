"""Contacts by id, cached per token so page flips don't refetch the name for their header."""

from __future__ import annotations

from activity.cache import AsyncCache
from activity.models import Access
from spark import Contact, SparkClient
from spark.ratelimit import token_key

CONTACT_TTL_S = 600.0  # a contact's name and details, for page headers


class ContactBook:
    """The contacts each token recently fetched or found; what one token saw is never served
    to another (keys carry the token's fingerprint)."""

    def __init__(self, spark: SparkClient, *, ttl: float = CONTACT_TTL_S) -> None:
        self._spark = spark
        self._cache: AsyncCache[Contact] = AsyncCache(ttl=ttl)

    def remember(self, token: str, contact: Contact) -> None:
        self._cache.put((token_key(token), contact.id), contact)

    async def get(self, access: Access, contact_id: str) -> Contact:
        """The contact, from this token's recent fetches or from Spark."""
        return await self._cache.get(
            (token_key(access.token), contact_id),
            lambda: self._spark.get_contact(access.token, contact_id, on_retry=access.on_retry),
        )
