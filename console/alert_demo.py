"""The demo's "Active now" alert: a watched contact heats up about a minute after start.

`make demo` watches one demo contact (Zoë O'Brien) for the console's user, runs the real alert
poller (`activity.alerts.run_alert_pass`) with a short `ALERT_POLL_MIN_S`, and a minute in adds
five viewed listings to her counters in the sandbox (`add_activity`, as an agent's client would
by browsing). The next check sees the burst and the bot DMs the user, rendered in the console like
any message; its buttons click like any other.

The demo keeps its own database: each run starts the demo user's alerts afresh (default settings,
no watches, pauses or alert DMs left from an earlier run, whose DMs lived in a stand-in Slack that
is gone), and quiet hours are off for the demo user so the DM shows up whatever the time. If the
alert still can't be set up, the console says why in one line and the rest of the demo runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from activity.alerts import AlertPoster, pass_every_s, run_alert_pass, watch
from activity.models import Access
from activity.services import Services
from settings import Settings
from storage.alerts import (
    AlertSettings,
    Watch,
    clear_agent_alerts,
    get_watch,
    resume_agent,
    save_alert_settings,
    schedule_watch,
)

if TYPE_CHECKING:
    from devtools.sandbox import Sandbox

DEMO_POLL_S = 10  # ALERT_POLL_MIN_S in the demo: a pass every 2 s
ACTIVE_AFTER_S = 60.0  # when the demo contact becomes active
DEMO_VIEWS = 5  # listings she views then
DEMO_WATCHED = "zoe_obrien"  # the sandbox's notable contact the demo user watches

PosterFactory = Callable[[AsyncWebClient, Services], AlertPoster]  # SlackAlertPoster

log = logging.getLogger(__name__)


def demo_settings(settings: Settings) -> Settings:
    """The demo's poller: on, and checking every few seconds."""
    return dataclasses.replace(settings, alerts_enabled=True, alert_poll_min_s=DEMO_POLL_S)


def welcome_line(sandbox: Sandbox, after_s: float = ACTIVE_AFTER_S) -> str:
    name = sandbox.state.brokerage.notable[DEMO_WATCHED].display_name
    when = "about a minute" if after_s >= 45 else f"{after_s:g} second{'' if after_s == 1 else 's'}"
    return (
        f"You watch {name}. In {when} she views {DEMO_VIEWS} listings, and the bot's "
        "“Active now” DM shows up here (a number clicks its buttons). "
        "Try `watch` and `alerts` meanwhile, and `unwatch zoë` once it has come."
    )


async def prepare(services: Services, sandbox: Sandbox, team_id: str, user_id: str) -> Watch:
    """Start the user's alerts afresh (default settings with quiet hours off; no watches,
    pauses or alert DMs from earlier runs), then watch the demo contact (one activity read)."""
    db, now = services.db, services.clock()
    clear_agent_alerts(db, team_id, user_id)
    resume_agent(db, team_id, user_id)
    fresh = AlertSettings(quiet_start=None, quiet_end=None)
    save_alert_settings(db, team_id, user_id, fresh, now=now)
    contact = sandbox.state.brokerage.notable[DEMO_WATCHED]
    token = services.settings.spark_access_token or ""
    access = Access(team_id, user_id, token, workspace=True)
    await watch(services, access, contact.id, contact.display_name)
    found = get_watch(db, team_id, user_id, contact.id)
    if found is None:
        raise RuntimeError(f"{contact.display_name} could not be watched")
    return found


def why_not(error: BaseException) -> str:
    """One line for the console when the demo alert can't be set up."""
    lines = str(error).strip().splitlines()
    reason = lines[0][:120] if lines else type(error).__name__
    return f"The demo's “Active now” alert is off this time ({reason}); the rest of the demo works."


async def become_active(
    services: Services, sandbox: Sandbox, watched: Watch, after_s: float = ACTIVE_AFTER_S
) -> None:
    """After `after_s`, the contact views listings; her watch is checked at the next pass
    (whatever her band's cadence), so the DM arrives on cue."""
    await asyncio.sleep(after_s)
    sandbox.state.add_activity(watched.contact_id, listings_viewed=DEMO_VIEWS)
    schedule_watch(services.db, watched, checked_at=None, next_check_at=services.clock())


async def poll(services: Services, poster: AlertPoster) -> None:
    """The alert poller, as `serve` runs it."""
    while True:
        try:
            await run_alert_pass(services, poster)
        except Exception:
            log.exception("Demo alert pass failed")
        await asyncio.sleep(pass_every_s(services))


def start(
    services: Services, poster: AlertPoster, sandbox: Sandbox, watched: Watch, after_s: float
) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(become_active(services, sandbox, watched, after_s)),
        asyncio.create_task(poll(services, poster)),
    ]
