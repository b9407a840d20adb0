"""Thin Bolt listeners, one module per surface, all wired by `register(app, services)`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from activity.services import Services
from handlers import actions, commands, home, mentions, messages, views  # the surfaces
from handlers.people import ASKER, Asker, People, is_foreign, request_teams

log = logging.getLogger(__name__)
WORK_SLOTS = 16  # requests doing their slow work at once (see `Asker.admission`)


def register(app: AsyncApp, services: Services) -> None:
    people = People(clock=lambda: services.clock().timestamp())
    admission = asyncio.Semaphore(WORK_SLOTS)

    async def gate(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:
        """Note, without any I/O, whether the request comes from outside the installed team."""
        result = context.authorize_result
        installed = (result.team_id if result is not None else None) or context.team_id or ""
        stranger = is_foreign(installed, request_teams(body))
        context[ASKER] = Asker(installed, stranger, people, admission)
        await next()

    app.use(gate)
    commands.register(app, services)
    actions.register(app, services)
    mentions.register(app, services)
    messages.register(app, services)
    home.register(app, services)
    views.register(app, services)

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Unhandled error in a listener (%s)", type(error).__name__, exc_info=error)

    app.error(on_error)
