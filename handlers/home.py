"""The App Home tab: recent lookups (one tap opens the card in a DM), digests, the "Active now"
alerts panel and the grammar.

Clicks in the Home (turning an alert setting on or off, Stop watching) answer by re-publishing
the Home: the change shows where it was made, with no DM. Commands that change the same things
(`/activity alerts …`, `watch`, `unwatch`) do not re-publish it: Slack sends `app_home_opened`
every time the agent enters the Home tab, which renders it afresh, and a command is never typed
from the Home tab itself, so a publish per command would cost a Slack call and show nothing new.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from activity.alert_panel import UnknownToggle, home_alerts, set_toggle
from activity.connections import connection_status
from activity.services import Services
from blocks import BadActionValue, Message, home_view
from blocks.actions import decode_setting_choice
from blocks.alerts import alert_settings_message
from handlers.alerts import stop_click, stop_own_watch
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
    tz: str = "UTC",
) -> None:
    """Render and publish the Home tab of (team, user) from what we know now (`tz`: the
    agent's Slack time zone, for quiet hours and snoozes)."""
    lookups = load_recent_lookups(services.db, team_id, user_id) if show_lookups else []
    view = home_view(
        lookups,
        [(s.usage, s.description) for s in SUBCOMMANDS],
        status=connection_status(services, team_id, user_id),
        subscriptions=list_subscriptions(services.db, team_id, user_id),
        alerts=home_alerts(services, team_id, user_id, tz, show_names=show_lookups),
    )
    await client.views_publish(user_id=user_id, view=view)


def in_home(turn: Turn) -> bool:
    """A click in the App Home: it carries no response URL (a message's click does)."""
    return turn.respond is None and turn.client is not None


async def refresh_home(turn: Turn) -> None:
    """Re-publish the clicking agent's Home tab (after a change made there)."""
    assert turn.client is not None
    show = await lookups_allowed(turn)
    tz = (await turn.person()).tz
    await publish_home(
        turn.services, turn.client, turn.team_id, turn.user_id, show_lookups=show, tz=tz
    )


async def setting_click(turn: Turn, value: object) -> None:
    """An alert setting's button: the clicker's own setting, to the state the value asks for;
    the Home re-published (or, clicked on a message, the settings as a private reply)."""
    choice = decode_setting_choice(value, clicked_by=turn.user_id)
    tz = (await turn.person()).tz
    try:
        view = set_toggle(turn.services, turn.team_id, turn.user_id, tz, choice.name, choice.on)
    except UnknownToggle:
        raise BadActionValue("no such setting") from None
    if in_home(turn):
        await refresh_home(turn)
    else:
        await turn.reply(alert_settings_message(view))


async def stop_watching(turn: Turn, value: object) -> None:
    """Stop watching: on an alert DM, a private "Stopped watching"; in the App Home, the Home
    re-published without that watch. The same re-checked value either way."""
    if not in_home(turn):
        await stop_click(turn, value)
        return
    stop_own_watch(turn, value)
    await refresh_home(turn)


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
        tz = (await turn.person()).tz
        await publish_home(services, client, team_id, user_id, show_lookups=show, tz=tz)

    app.event("app_home_opened")(on_home_opened)
