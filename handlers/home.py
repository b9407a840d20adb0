"""The App Home tab: recent lookups (one tap opens the card in a DM) and the grammar."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from activity.services import Services
from blocks import home_view
from handlers.dispatch import SUBCOMMANDS
from storage import recent_lookups as load_recent_lookups


def register(app: AsyncApp, services: Services) -> None:
    async def on_home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, logger: logging.Logger
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event.get("user", "")
        team_id = body.get("team_id", "")
        recent = load_recent_lookups(services.db, team_id, user_id, limit=10)
        view = home_view(recent, [(s.usage, s.description) for s in SUBCOMMANDS])
        await client.views_publish(user_id=user_id, view=view)

    app.event("app_home_opened")(on_home_opened)
