"""A DM to the bot (the Messages tab): `jane doe`, or any `/activity` grammar without the slash.

Answered in the DM with chat.postMessage, like the slash command but as ordinary messages (the
DM is the asker's own). Slack sends every message of the DM, so only what a person typed is
answered: the bot's own posts, other bots, edits, deletions and every other subtype are left
alone. A reply in a thread of the DM is answered in that thread. Slack may deliver an event more
than once (retries after a slow ack), so each `event_id` is processed once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from activity.services import Services
from blocks import Message
from handlers.dispatch import answer
from handlers.people import asker_of
from handlers.slack_text import strip_bot_mention
from handlers.turn import Turn, posted_notice
from storage import first_time_seen


def typed_by_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """Whether `event` is a new message a person typed in a DM with the bot."""
    return (
        event.get("type") == "message"
        and event.get("channel_type") == "im"
        and "subtype" not in event  # edits, deletions, bot_message, joins, file shares…
        and not event.get("bot_id")
        and not event.get("hidden")
        and isinstance(event.get("user"), str)
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
        and isinstance(event.get("channel"), str)
        and bool(event.get("channel"))
        and isinstance(event.get("text"), str)
        and bool(event["text"].strip())
    )


def register(app: AsyncApp, services: Services) -> None:
    async def on_message(
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        if not typed_by_a_person(event, context.bot_user_id):
            return
        event_id = body.get("event_id")
        if event_id and not first_time_seen(services.db, event_id, services.clock()):
            logger.info("Skipping event %s: already answered", event_id)
            return
        channel, user = event["channel"], event["user"]
        thread_ts = event.get("thread_ts")  # a reply in a thread is answered in that thread

        async def reply(message: Message) -> None:
            await client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **message.as_kwargs()
            )

        team_id = body.get("team_id") or event.get("team") or ""
        turn = Turn(
            services,
            team_id,
            user,
            reply,
            reply,
            logger,
            channel_id=channel,
            client=client,
            asker=asker_of(context),
            notice=posted_notice(client, channel, thread_ts),
        )
        await answer(turn, strip_bot_mention(event["text"], context.bot_user_id))

    # Every message event (not only the ones wanted): one left without a listener would be
    # answered 404 and retried by Slack.
    app.event("message")(on_message)
