"""Button clicks: pick a contact, page listings, share, refresh, reopen a card.

Every click is served with the *clicking* user's token, whatever message the button sits on;
the state a click needs travels in the button value and is parsed strictly.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity.lookup import contact_card as build_card
from activity.services import Services
from blocks import (
    LISTINGS_PAGE_RE,
    OPEN_CARD_RE,
    PICK_CONTACT_RE,
    REFRESH_CARD_RE,
    SHARE_CARD_RE,
    Message,
    contact_card,
    decode_contact_id,
    decode_cursor,
)
from handlers.commands import ephemeral
from handlers.dispatch import show_listings
from handlers.turn import Turn


def _turn(
    services: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    logger: logging.Logger,
) -> Turn:
    user = body.get("user") or {}
    user_id = user.get("id", "")
    team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    if body.get("response_url"):
        return Turn(
            services, team_id, user_id, ephemeral(respond, replace=True), ephemeral(respond), logger
        )

    # Clicks in the App Home carry no response URL: answer in the user's DM with the bot.
    async def direct(message: Message) -> None:
        await client.chat_postMessage(channel=user_id, **message.as_kwargs())

    return Turn(services, team_id, user_id, direct, direct, logger)


def _value(body: dict[str, Any]) -> object:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")


def register(app: AsyncApp, services: Services) -> None:
    async def open_card(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        logger: logging.Logger,
    ) -> None:
        await ack()
        turn = _turn(services, body, respond, client, logger)
        async with turn.guard():
            contact_id = decode_contact_id(_value(body))
            card = await build_card(
                services, token=turn.token, team_id=turn.team_id, user_id=turn.user_id,
                contact_id=contact_id, on_retry=turn.on_retry,
            )  # fmt: skip
            await turn.reply(contact_card(card))

    async def page_listings(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        logger: logging.Logger,
    ) -> None:
        await ack()
        turn = _turn(services, body, respond, client, logger)
        async with turn.guard():
            cursor = decode_cursor(_value(body))
            await show_listings(turn, cursor.kind, cursor.contact_id, cursor.page)

    async def share(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        logger: logging.Logger,
    ) -> None:
        await ack()
        turn = _turn(services, body, respond, client, logger)
        async with turn.guard():
            contact_id = decode_contact_id(_value(body))
            card = await build_card(
                services, token=turn.token, team_id=turn.team_id, user_id=turn.user_id,
                contact_id=contact_id, on_retry=turn.on_retry,
            )  # fmt: skip
            message = contact_card(card, shared_by=turn.user_id)
            # A new public message; the sharer's private copy stays as it is.
            if body.get("response_url"):
                await respond(
                    **message.as_kwargs(), response_type="in_channel", replace_original=False
                )
            else:
                await turn.reply(message)

    app.action(PICK_CONTACT_RE)(open_card)
    app.action(OPEN_CARD_RE)(open_card)
    app.action(REFRESH_CARD_RE)(open_card)
    app.action(LISTINGS_PAGE_RE)(page_listings)
    app.action(SHARE_CARD_RE)(share)
