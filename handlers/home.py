"""The App Home tab: recent lookups (one tap opens the card in a DM) and the grammar."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from activity.connections import connection_status
from activity.services import Services
from blocks import home_view
from handlers.dispatch import SUBCOMMANDS
from handlers.people import asker_of
from storage import list_subscriptions
from storage import recent_lookups as load_recent_lookups


async def publish_home(
    services: Services, client: AsyncWebClient, team_id: str, user_id: str
) -> None:
    """Render and publish the Home tab of (team, user) from what we know now."""
    view = home_view(
        load_recent_lookups(services.db, team_id, user_id, limit=10),
        [(s.usage, s.description) for s in SUBCOMMANDS],
        status=connection_status(services, team_id, user_id),
        subscriptions=list_subscriptions(services.db, team_id, user_id),
    )
    await client.views_publish(user_id=user_id, view=view)


def register(app: AsyncApp, services: Services) -> None:
    async def on_home_opened(
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        logger: logging.Logger,
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        if asker_of(context).stranger:
            logger.info("Not publishing a Home tab for someone outside the workspace")
            return
        user_id = event.get("user", "")
        team_id = body.get("team_id", "")
        await publish_home(services, client, team_id, user_id)

    app.event("app_home_opened")(on_home_opened)
