"""The `/activity` slash command: ack at once, then answer through the response URL."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity.services import Services
from blocks import Message
from handlers.dispatch import answer
from handlers.people import asker_of
from handlers.turn import Turn

COMMAND = "/activity"


log = logging.getLogger(__name__)


async def reply_via(respond: AsyncRespond, message: Message, **options: Any) -> None:
    """Post to the response URL; Slack refusing it (expired, used up, 5xx) is logged, not lost."""
    response = await respond(**message.as_kwargs(), **options)
    status = getattr(response, "status_code", 200)
    if status >= 400:
        log.warning("Slack refused a reply at the response URL (HTTP %s: %s)", status,
                    str(getattr(response, "body", ""))[:80])  # fmt: skip


def ephemeral(respond: AsyncRespond, *, replace: bool = False):
    async def send(message: Message) -> None:
        await reply_via(respond, message, response_type="ephemeral", replace_original=replace)

    return send


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
            services, command.get("team_id", ""), command.get("user_id", ""), reply, reply, logger,
            channel_id=command.get("channel_id", ""), client=client,
            channel_name=command.get("channel_name", ""), asker=asker_of(context),
        )  # fmt: skip
        await answer(turn, command.get("text", ""))

    app.command(COMMAND)(on_activity)
