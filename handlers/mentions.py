"""`@Activity jane doe` in a channel or thread: answered in the thread, visible only to the asker.

Bolt acks events before the listener runs; Slack may still deliver an event more than once
(retries after a slow ack, or a second delivery), so each `event_id` is processed once.
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
from handlers.turn import Turn
from storage import first_time_seen


def register(app: AsyncApp, services: Services) -> None:
    async def on_mention(
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        event_id = body.get("event_id")
        if event_id and not first_time_seen(services.db, event_id, services.clock()):
            logger.info("Skipping event %s: already answered", event_id)
            return
        channel, user = event.get("channel"), event.get("user")
        if not channel or not user:
            return
        thread_ts = event.get("thread_ts") or event.get("ts")

        async def reply(message: Message) -> None:
            await client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, **message.as_kwargs()
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
        )
        await answer(turn, strip_bot_mention(event.get("text", ""), context.bot_user_id))

    app.event("app_mention")(on_mention)
