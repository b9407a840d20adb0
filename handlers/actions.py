"""Button clicks: pick a contact, page listings, share, refresh, reopen a card.

Every click is served with the *clicking* user's token, whatever message the button sits on;
the state a click needs travels in the button value and is parsed strictly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity import connections
from activity.digests import cursor_key, is_dm_id, stored_digest
from activity.lookup import contact_card
from activity.models import ContactCard
from activity.services import Services
from blocks import (
    ALERT_CARD_RE,
    ALERT_SETTING_RE,
    ALERT_SNOOZE_RE,
    ALERT_STOP_RE,
    ALERT_VIEWED_RE,
    CONNECT_OAUTH_RE,
    CONNECT_PASTE_RE,
    DIGEST_MORE_RE,
    DIGEST_OPEN_RE,
    DISCONNECT_RE,
    LISTING_LINK_RE,
    LISTINGS_PAGE_RE,
    OPEN_CARD_RE,
    OPEN_FLEXMLS_RE,
    PICK_CONTACT_RE,
    REFRESH_CARD_RE,
    SHARE_CARD_RE,
    BadActionValue,
    Message,
    card_message,
    decode_contact_id,
    decode_cursor,
    decode_digest_cursor,
    decode_pick,
    digest_page,
    disconnected,
    share_place,
    token_modal,
)
from handlers.alerts import snooze_click, watch_contact
from handlers.dispatch import show_listings
from handlers.home import in_home, refresh_home, setting_click, stop_watching
from handlers.people import Asker, asker_of
from handlers.turn import Turn, ephemeral, posted_notice
from spark.budget import Priority
from storage import list_subscriptions

# What a click's work gets: the turn (who clicked, where, how to answer) and the button's value.
Work = Callable[[Turn, object], Awaitable[None]]


def click_turn(
    services: Services,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    logger: logging.Logger,
    asker: Asker,
) -> Turn:
    """The turn of a click, filled from the payload the same way for every button."""
    user, team, channel, container = (
        _part(body, name) for name in ("user", "team", "channel", "container")
    )
    user_id = _text(user.get("id"))
    team_id = _text(team.get("id")) or _text(user.get("team_id"))
    where = {
        "channel_id": _text(channel.get("id")) or _text(container.get("channel_id")),
        "channel_name": _text(channel.get("name")),
        "client": client,
        "asker": asker,
        "priority": Priority.CLICK,  # after people waiting on a command, before background work
        "trigger_id": _text(body.get("trigger_id")),
        "in_ephemeral": bool(container.get("is_ephemeral")),
    }
    if body.get("response_url"):
        reply, notify = ephemeral(respond, replace=True), ephemeral(respond)
        return Turn(services, team_id, user_id, reply, notify, logger, respond=respond, **where)

    # Clicks in the App Home carry no response URL: answer in the user's DM with the bot.
    async def direct(message: Message) -> None:
        await client.chat_postMessage(channel=user_id, **message.as_kwargs())

    # A "still asking" notice goes to the same DM and is deleted once the answer is there.
    notice = posted_notice(client, user_id)
    return Turn(services, team_id, user_id, direct, direct, logger, notice=notice, **where)


def _part(body: dict[str, Any], name: str) -> dict[str, Any]:
    """An object of the payload; anything else (a forged shape) reads as empty."""
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    """A payload field that should be a string; anything else (a forged shape) reads as ""."""
    return value if isinstance(value, str) else ""


def button_value(body: dict[str, Any]) -> object:
    actions = body.get("actions") or [{}]
    return actions[0].get("value")


async def card_for(turn: Turn, value: object) -> ContactCard:
    return await contact_card(
        turn.services, await turn.access(), contact_id=decode_contact_id(value)
    )


async def open_card(turn: Turn, value: object) -> None:
    card = await card_for(turn, value)
    await turn.reply(card_message(card, share_to=share_place(turn.channel_name)))


async def pick_contact(turn: Turn, value: object) -> None:
    """A picker's Choose: what the agent asked for (the card, or a list of listings) about the
    chosen contact, read with the clicker's own access like every click."""
    pick = decode_pick(value)
    if pick.intent == "card":
        await open_card(turn, pick.contact_id)
    elif pick.intent == "watch":
        await watch_contact(turn, pick.contact_id)
    else:
        await show_listings(turn, pick.intent, pick.contact_id)


async def alert_viewed(turn: Turn, value: object) -> None:
    """An alert's Viewed: the first page, as a new private message below the alert."""
    await show_listings(turn, "viewed", decode_contact_id(value), new_message=True)


async def page_listings(turn: Turn, value: object) -> None:
    cursor = decode_cursor(value)
    await show_listings(turn, cursor.kind, cursor.contact_id, cursor.page)


async def share(turn: Turn, value: object) -> None:
    await turn.post_in_channel(card_message(await card_for(turn, value), shared_by=turn.user_id))


async def paste_token(turn: Turn, value: object) -> None:
    assert turn.client is not None
    await turn.client.views_open(trigger_id=turn.trigger_id, view=token_modal())


async def forget(turn: Turn, value: object) -> None:
    done = connections.disconnect(turn.services, turn.team_id, turn.user_id)
    await turn.reply(
        disconnected(was_connected=done.was_connected, digests_paused=done.digests_paused)
    )
    if in_home(turn):  # clicked in the App Home: refresh it
        await refresh_home(turn)


async def digest_card(turn: Turn, value: object) -> None:
    # From a public digest: the card is a new private message for whoever clicked.
    card = await card_for(turn, value)
    await turn.post_privately(card_message(card, share_to=share_place(turn.channel_name)))


async def digest_more(turn: Turn, value: object) -> None:
    """The next page of a digest, only for a click in the digest's own channel (Slack lets only
    its members click there), with a value we signed for that digest and channel; a private
    digest's page (in the subscriber's DM) only for the subscriber."""
    services = turn.services
    if not turn.channel_id:
        raise BadActionValue("a digest page opens only from the digest's channel")
    key = cursor_key(services)
    cursor = decode_digest_cursor(value, key=key, channel_id=turn.channel_id)
    subscription = next(
        (
            s
            for s in list_subscriptions(services.db, turn.team_id)
            if s.id == cursor.subscription_id
        ),
        None,
    )
    if subscription is None or subscription.channel_id != turn.channel_id:
        raise BadActionValue("no such digest in this channel")
    if is_dm_id(subscription.channel_id) and subscription.user_id != turn.user_id:
        raise BadActionValue("a private digest pages only for its subscriber")
    digest = stored_digest(services, subscription, cursor.local_date)
    if digest is None:
        raise BadActionValue("no such digest")
    message = digest_page(digest, cursor.page, cursor_key=key)
    await turn.post_privately(message, replace=turn.in_ephemeral)


CLICKS: tuple[tuple[re.Pattern[str], Work], ...] = (
    (CONNECT_PASTE_RE, paste_token),
    (DISCONNECT_RE, forget),
    (DIGEST_OPEN_RE, digest_card),
    (DIGEST_MORE_RE, digest_more),
    (PICK_CONTACT_RE, pick_contact),
    (OPEN_CARD_RE, open_card),
    (REFRESH_CARD_RE, open_card),
    (LISTINGS_PAGE_RE, page_listings),
    (SHARE_CARD_RE, share),
    (ALERT_CARD_RE, digest_card),  # a new private card; the alert DM stays, to be updated
    (ALERT_VIEWED_RE, alert_viewed),
    (ALERT_SNOOZE_RE, snooze_click),
    (ALERT_STOP_RE, stop_watching),  # on an alert DM, or in the App Home's watch list
    (ALERT_SETTING_RE, setting_click),  # the App Home's alert settings
)


def listener(services: Services, work: Work) -> Callable[..., Awaitable[None]]:
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
        turn = click_turn(services, body, respond, client, logger, asker_of(context))
        async with turn.guard():
            await turn.admit()
            await work(turn, button_value(body))

    return on_click


async def just_ack(ack: AsyncAck) -> None:
    await ack()  # a URL button: the browser does the work, Slack still wants an ack


def register(app: AsyncApp, services: Services) -> None:
    app.action(CONNECT_OAUTH_RE)(just_ack)
    app.action(LISTING_LINK_RE)(just_ack)
    app.action(OPEN_FLEXMLS_RE)(just_ack)
    for pattern, work in CLICKS:
        app.action(pattern)(listener(services, work))
