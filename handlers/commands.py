"""The `/activity` slash command: ack at once, then answer through the response URL."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity.services import Services
from handlers.dispatch import answer
from handlers.people import asker_of
from handlers.turn import Turn, ephemeral

COMMAND = "/activity"


def register(app: AsyncApp, services: Services) -> None:
    async def on_activity(
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        await ack()  # first, and with no I/O: Slack gives us 3 seconds
        reply = ephemeral(respond)
        turn = Turn(
            services,
            command.get("team_id", ""),
            command.get("user_id", ""),
            reply,
            reply,
            logger,
            channel_id=command.get("channel_id", ""),
            client=client,
            channel_name=command.get("channel_name", ""),
            asker=asker_of(context),
        )
        await answer(turn, command.get("text", ""))

    app.command(COMMAND)(on_activity)
