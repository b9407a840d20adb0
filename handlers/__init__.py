"""Thin Bolt listeners, one module per surface, all wired by `register(app, services)`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from activity.services import Services
from handlers import actions, commands, home, mentions, views

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    mentions.register(app, services)
    home.register(app, services)
    views.register(app, services)

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("Unhandled error in a listener (%s)", type(error).__name__, exc_info=error)

    app.error(on_error)
