"""Contacts by id, cached per token so page flips don't refetch the name for their header."""

from __future__ import annotations

from activity.services import Services
from spark import Contact
from spark.client import RetryCallback
from spark.ratelimit import token_key


def remember_contact(services: Services, token: str, contact: Contact) -> None:
    services.contacts.put((token_key(token), contact.id), contact)


async def get_contact(
    services: Services, token: str, contact_id: str, on_retry: RetryCallback | None = None
) -> Contact:
    """The contact, from this token's recent fetches or from Spark."""
    return await services.contacts.get(
        (token_key(token), contact_id),
        lambda: services.spark.get_contact(token, contact_id, on_retry=on_retry),
    )
