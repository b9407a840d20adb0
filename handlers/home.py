"""The App Home tab: recent lookups (one tap opens the card in a DM) and the grammar."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from activity.connections import connection_status
from activity.services import Services
from blocks import Message, home_view
from handlers.dispatch import SUBCOMMANDS
from handlers.people import Stranger, asker_of
from handlers.turn import Turn
from storage import list_subscriptions
from storage import recent_lookups as load_recent_lookups


async def lookups_allowed(turn: Turn) -> bool:
    """May this person see the contacts they looked up before? Only if they may look them up
    now: the same rule as `/activity` (their own connection, or a member's workspace access)."""
    try:
        await turn.credential()
    except Exception:  # a guest, a stranger, not connected, Slack unsure: show no client names
        return False
    return True


async def publish_home(
    services: Services,
    client: AsyncWebClient,
    team_id: str,
    user_id: str,
    *,
    show_lookups: bool,
) -> None:
    """Render and publish the Home tab of (team, user) from what we know now."""
    lookups = load_recent_lookups(services.db, team_id, user_id) if show_lookups else []
    view = home_view(
        lookups,
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
        user_id = event.get("user", "")
        team_id = body.get("team_id", "")

        async def nowhere(_: Message) -> None:  # the Home tab is the answer; nothing to reply
            return None

        turn = Turn(
            services,
            team_id,
            user_id,
            nowhere,
            nowhere,
            logger,
            client=client,
            asker=asker_of(context),
        )
        try:
            await turn.admit()
        except Stranger:
            logger.info("Not publishing a Home tab for someone outside the workspace")
            return
        show = await lookups_allowed(turn)
        await publish_home(services, client, team_id, user_id, show_lookups=show)

    app.event("app_home_opened")(on_home_opened)
