"""Button clicks: pick a contact, page listings, share, refresh, reopen a card.

Every click is served with the *clicking* user's token, whatever message the button sits on;
the state a click needs travels in the button value and is parsed strictly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity import connections
from activity.digests import cursor_key, stored_digest
from activity.lookup import contact_card as build_card
from activity.models import ContactCard
from activity.services import Services
from blocks import (
    CONNECT_OAUTH_RE,
    CONNECT_PASTE_RE,
    DIGEST_MORE_RE,
    DIGEST_OPEN_RE,
    DISCONNECT_RE,
    LISTINGS_PAGE_RE,
    OPEN_CARD_RE,
    PICK_CONTACT_RE,
    REFRESH_CARD_RE,
    SHARE_CARD_RE,
    BadActionValue,
    Message,
    contact_card,
    decode_contact_id,
    decode_cursor,
    decode_digest_cursor,
    digest_page,
    disconnected,
    share_place,
    token_modal,
)
from handlers.commands import ephemeral, reply_via
from handlers.dispatch import show_listings
from handlers.home import lookups_allowed, publish_home
from handlers.people import Asker, asker_of
from handlers.turn import Turn
from spark.budget import Priority
from storage import list_subscriptions


def _turn(
    services: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    logger: logging.Logger,
    asker: Asker,
) -> Turn:
    user = body.get("user") or {}
    user_id = user.get("id", "")
    team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    channel = body.get("channel") or {}
    where = {
        "channel_id": channel.get("id") or (body.get("container") or {}).get("channel_id") or "",
        "channel_name": channel.get("name") or "",
        "client": client,
        "asker": asker,
        "priority": Priority.CLICK,  # after people waiting on a command, before background work
    }
    if body.get("response_url"):
        reply, notify = ephemeral(respond, replace=True), ephemeral(respond)
        return Turn(services, team_id, user_id, reply, notify, logger, **where)

    # Clicks in the App Home carry no response URL: answer in the user's DM with the bot.
    async def direct(message: Message) -> None:
        await client.chat_postMessage(channel=user_id, **message.as_kwargs())

    return Turn(services, team_id, user_id, direct, direct, logger, **where)


def _value(body: dict[str, Any]) -> object:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")


Work = Callable[[Turn, dict[str, Any], AsyncRespond, AsyncWebClient], Awaitable[None]]


def register(app: AsyncApp, services: Services) -> None:
    def listener(work: Work) -> Callable[..., Awaitable[None]]:
        """A Bolt listener that acks first, then runs `work` inside the turn's error net."""

        async def on_click(
            ack: AsyncAck,
            body: dict[str, Any],
            respond: AsyncRespond,
            client: AsyncWebClient,
            context: AsyncBoltContext,
            logger: logging.Logger,
        ) -> None:
            await ack()
            turn = _turn(services, body, respond, client, logger, asker_of(context))
            async with turn.guard():
                await turn.admit()
                await work(turn, body, respond, client)

        return on_click

    async def card_for(turn: Turn, body: dict[str, Any]) -> ContactCard:
        return await build_card(
            services, token=await turn.token(), team_id=turn.team_id, user_id=turn.user_id,
            contact_id=decode_contact_id(_value(body)), on_retry=turn.on_retry,
        )  # fmt: skip

    async def open_card(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        card = await card_for(turn, body)
        await turn.reply(contact_card(card, share_to=share_place(turn.channel_name)))

    async def page_listings(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        cursor = decode_cursor(_value(body))
        await show_listings(turn, cursor.kind, cursor.contact_id, cursor.page)

    async def share(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        message = contact_card(await card_for(turn, body), shared_by=turn.user_id)
        if body.get("response_url"):
            # A new public message; the sharer's private copy stays as it is.
            await reply_via(respond, message, response_type="in_channel", replace_original=False)
        else:
            await turn.reply(message)

    async def paste_token(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await client.views_open(trigger_id=body.get("trigger_id"), view=token_modal())

    async def forget(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        done = connections.disconnect(services, turn.team_id, turn.user_id)
        await turn.reply(
            disconnected(was_connected=done.was_connected, digests_paused=done.digests_paused)
        )
        if not body.get("response_url"):  # clicked in the App Home: show the new state there
            show = await lookups_allowed(turn)
            await publish_home(services, client, turn.team_id, turn.user_id, show_lookups=show)

    async def digest_card(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # From a public digest: the card is a new private message for whoever clicked.
        card = await card_for(turn, body)
        message = contact_card(card, share_to=share_place(turn.channel_name))
        await reply_via(respond, message, response_type="ephemeral", replace_original=False)

    async def digest_more(
        turn: Turn, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # Only for a click in the digest's own channel (Slack lets only its members click
        # there), with a value we signed for that digest and channel.
        clicked_in = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        if not isinstance(clicked_in, str) or not clicked_in:
            raise BadActionValue("a digest page opens only from the digest's channel")
        key = cursor_key(services)
        cursor = decode_digest_cursor(_value(body), key=key, channel_id=clicked_in)
        subscription = next(
            (
                s
                for s in list_subscriptions(services.db, turn.team_id)
                if s.id == cursor.subscription_id
            ),
            None,
        )
        if subscription is None or subscription.channel_id != clicked_in:
            raise BadActionValue("no such digest in this channel")
        digest = stored_digest(services, subscription, cursor.local_date)
        if digest is None:
            raise BadActionValue("no such digest")
        in_place = bool((body.get("container") or {}).get("is_ephemeral"))
        message = digest_page(digest, cursor.page, cursor_key=key)
        await reply_via(respond, message, response_type="ephemeral", replace_original=in_place)

    async def just_ack(ack: AsyncAck) -> None:
        await ack()  # a URL button: the browser does the work, Slack still wants an ack

    app.action(CONNECT_OAUTH_RE)(just_ack)
    for pattern, work in (
        (CONNECT_PASTE_RE, paste_token),
        (DISCONNECT_RE, forget),
        (DIGEST_OPEN_RE, digest_card),
        (DIGEST_MORE_RE, digest_more),
        (PICK_CONTACT_RE, open_card),
        (OPEN_CARD_RE, open_card),
        (REFRESH_CARD_RE, open_card),
        (LISTINGS_PAGE_RE, page_listings),
        (SHARE_CARD_RE, share),
    ):
        app.action(pattern)(listener(work))
