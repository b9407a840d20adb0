""" "Active now": `/activity watch|unwatch`, the Snooze and Stop watching clicks, and the poster
that DMs alerts with the bot token.

Only the asker's own watches are ever listed or changed: every query here names
(team, the asking or clicking user); a Snooze/Stop value names its watcher and is refused for
anyone else (`blocks.actions.decode_watch_action`).

`SlackAlertPoster` implements `activity.alerts.AlertPoster`: `chat.postMessage` to the agent's
user id (the bot's DM with them), with the alert's key in the message metadata; `chat.update`
for later views; `conversations.open` + `conversations.history` (`im:write`, `im:history`) to
find a DM whose post was interrupted (`activity.alerts.recover`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activity.alert_kinds import BackAgain, EmailOpened
from activity.alert_settings import USAGE, BadSetting, change, show
from activity.alerts import (
    MAX_WATCHES,
    ActiveNow,
    Alert,
    PostFailed,
    PostUncertain,
    TooManyWatches,
    snooze,
    unwatch,
    watch,
    watch_list,
    watched_matching,
)
from activity.lookup import Match, find
from activity.models import Candidates
from activity.services import Services
from activity.watch_sources import (
    BadTag,
    NeedsOwnConnection,
    TagsUnavailable,
    UnknownTag,
    unwatch_tag,
    watch_tag,
)
from blocks import contact_picker, invalid_input, no_match
from blocks.actions import decode_watch_action
from blocks.alerts import (
    active_now_message,
    alert_settings_message,
    alerts_paused_dm,
    back_message,
    held_summary_message,
    not_watching,
    opened_message,
    snoozed_message,
    stopped_message,
    unwatch_which,
    unwatched,
    watch_added,
    watch_list_message,
    watch_refused_too_many,
)
from blocks.message import Message
from blocks.watch_sources import tag_unwatched, tag_watch_added, tags_unavailable
from handlers.digest_args import unknown_tag
from handlers.people import People
from handlers.poster import is_temporary, own_dm
from handlers.turn import Turn
from storage.alerts import get_watch

WORKSPACE_OFF = (
    "Alerts are turned off for this workspace, so nobody is watched. An admin turns them on "
    "(`ALERTS_ENABLED`)."
)
TAG_NEEDS_OWN_CONNECTION = (
    "Watching a tag reads a whole list of your contacts from Flexmls, so it uses your own "
    "account: connect it first with `/activity connect`, or watch contacts one by one."
)
MAX_QUERY = 200  # characters of a contact typed after `watch`/`unwatch`
MAX_SETTING = 40  # characters after `alerts`
ALERT_EVENT = "activity_alert"  # the DM's metadata event type
HISTORY_PAGE = 100

log = logging.getLogger(__name__)


# -- commands ----------------------------------------------------------------------------------


def _tag_text(text: str) -> str | None:
    """What follows `tag:` when the text names a tag, else None."""
    return text[4:] if text[:4].lower() == "tag:" else None


async def watch_command(turn: Turn, text: str) -> None:
    """`/activity watch` lists; `/activity watch <contact>` watches (a picker keeps the intent);
    `/activity watch tag:<Tag>` watches a tag's contacts. With alerts off for the workspace
    (`ALERTS_ENABLED=false`) nothing new is watched: it would never be checked."""
    if text and not turn.services.settings.alerts_enabled:
        await turn.notify(invalid_input(WORKSPACE_OFF))
        return
    if (tag := _tag_text(text)) is not None:
        await watch_tag_command(turn, tag)
        return
    if not text:
        await turn.credential()  # names of clients: only for who may look them up now
        await turn.reply(watch_list_message(watch_list(turn.services, turn.team_id, turn.user_id)))
        return
    if len(text) > MAX_QUERY:
        await turn.notify(
            invalid_input(f"That's too long to be a contact (over {MAX_QUERY} characters).")
        )
        return
    found = await find(turn.services, await turn.access(), text)
    if isinstance(found, Match):
        await watch_contact(
            turn, found.contact_id, found.contact.display_name if found.contact else None
        )
    elif isinstance(found, Candidates):
        await turn.reply(contact_picker(found, intent="watch"))
    else:
        await turn.reply(no_match(found.query, found.suggestions, intent="watch"))


async def watch_contact(turn: Turn, contact_id: str, name: str | None = None) -> None:
    """Watch one contact for the asker (from the command, or a picker's Choose)."""
    if not turn.services.settings.alerts_enabled:  # an old picker's Choose, say
        await turn.notify(invalid_input(WORKSPACE_OFF))
        return
    access = await turn.access()
    if name is None:
        name = (await turn.services.contacts.get(access, contact_id)).display_name
    try:
        watched = await watch(turn.services, access, contact_id, name)
    except TooManyWatches:
        await turn.reply(watch_refused_too_many(MAX_WATCHES))
        return
    await turn.reply(watch_added(watched))


async def watch_tag_command(turn: Turn, tag: str) -> None:
    """`/activity watch tag:<Tag>`: as many of the tag's contacts as fit in the 50."""
    try:
        done = await watch_tag(turn.services, await turn.access(), tag)
    except BadTag as error:
        await turn.notify(invalid_input(str(error)))
    except TooManyWatches:
        await turn.reply(watch_refused_too_many(MAX_WATCHES))
    except UnknownTag as error:
        await turn.notify(invalid_input(unknown_tag(error.tag, error.tags, "/activity watch")))
    except TagsUnavailable:
        await turn.reply(tags_unavailable())
    except NeedsOwnConnection:
        await turn.notify(invalid_input(TAG_NEEDS_OWN_CONNECTION))
    else:
        await turn.reply(tag_watch_added(done))


async def unwatch_command(turn: Turn, text: str) -> None:
    """`/activity unwatch <contact>` or `tag:<Tag>`: among the asker's own watches only (no
    Flexmls request)."""
    if (tag := _tag_text(text)) is not None:
        try:
            done = unwatch_tag(turn.services, turn.team_id, turn.user_id, tag)
        except BadTag as error:
            await turn.notify(invalid_input(str(error)))
            return
        await turn.reply(tag_unwatched(done))
        return
    if not text:
        await turn.notify(
            invalid_input(
                "Say who to stop watching.", hint="For example `/activity unwatch jane doe`."
            )
        )
        return
    if len(text) > MAX_QUERY:
        await turn.notify(
            invalid_input(f"That's too long to be a contact (over {MAX_QUERY} characters).")
        )
        return
    matches = watched_matching(turn.services, turn.team_id, turn.user_id, text)
    if not matches:
        await turn.reply(not_watching(text))
    elif len(matches) > 1:
        await turn.reply(unwatch_which(text, [w.display_name for w in matches]))
    else:
        unwatch(turn.services, turn.team_id, turn.user_id, matches[0].contact_id)
        await turn.reply(unwatched(matches[0].display_name))


async def alerts_command(turn: Turn, text: str) -> None:
    """`/activity alerts` shows the asker's settings; `alerts on|off|quiet …|threshold N`
    changes them (their own only; no Flexmls request)."""
    tz = (await turn.person()).tz
    if not text:
        await turn.reply(
            alert_settings_message(show(turn.services, turn.team_id, turn.user_id, tz))
        )
        return
    if len(text) > MAX_SETTING:
        await turn.notify(invalid_input("That's too long to be an alert setting.", hint=USAGE))
        return
    try:
        view = change(turn.services, turn.team_id, turn.user_id, tz, text)
    except BadSetting as error:
        await turn.notify(invalid_input(str(error), hint=USAGE))
        return
    await turn.reply(alert_settings_message(view))


# -- clicks on the alert -----------------------------------------------------------------------


async def snooze_click(turn: Turn, value: object) -> None:
    action = decode_watch_action(value, clicked_by=turn.user_id)
    services = turn.services
    existing = get_watch(services.db, turn.team_id, turn.user_id, action.contact_id)
    until = snooze(services, turn.team_id, turn.user_id, action.contact_id)
    await turn.post_privately(snoozed_message(existing.display_name if existing else None, until))


def stop_own_watch(turn: Turn, value: object) -> tuple[str | None, bool]:
    """A Stop watching value, re-checked against who clicks, applied to their own watch:
    the contact's name (if watched) and whether a watch stopped. Also the App Home's Stop."""
    action = decode_watch_action(value, clicked_by=turn.user_id)
    services = turn.services
    existing = get_watch(services.db, turn.team_id, turn.user_id, action.contact_id)
    stopped = unwatch(services, turn.team_id, turn.user_id, action.contact_id)
    return (existing.display_name if existing else None), stopped


async def stop_click(turn: Turn, value: object) -> None:
    name, stopped = stop_own_watch(turn, value)
    await turn.post_privately(stopped_message(name, stopped))


# -- the poster --------------------------------------------------------------------------------


# Slack's answers to a DM that asking again won't change.
DM_REFUSED_FOR_GOOD = frozenset(
    {"user_not_found", "account_inactive", "channel_not_found", "cannot_dm_bot",
     "messages_tab_disabled", "is_archived", "not_in_channel", "restricted_action"}
)  # fmt: skip


def _failure(error: Exception) -> Exception:
    """Slack's "no" means nothing went out; no answer (network, 5xx) means we can't know."""
    if isinstance(error, SlackApiError) and not is_temporary(error):
        code = str(error.response.get("error") or "slack_error")
        return PostFailed(code, permanent=code in DM_REFUSED_FOR_GOOD)
    return PostUncertain(type(error).__name__)


class SlackAlertPoster:
    """DMs alerts to agents with the bot token (see the module docstring)."""

    def __init__(self, client: AsyncWebClient, services: Services) -> None:
        self.client = client
        self.services = services
        # One users.info per agent per 5 minutes answers both "still a member?" and "which
        # zone?" (the same cache every request's gate uses).
        self.people = People()
        self._zones: dict[str, str] = {}  # the last zone Slack gave for each agent

    async def post(self, alert: Alert) -> tuple[str, str]:
        message = alert_message(alert)
        metadata = {"event_type": ALERT_EVENT, "event_payload": {"alert": alert.key}}
        try:
            response = await self.client.chat_postMessage(
                channel=alert.watcher_id, metadata=metadata, **message.as_kwargs()
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            raise _failure(error) from None
        return str(response.get("channel") or alert.watcher_id), str(response.get("ts") or "")

    async def update(
        self, channel: str, ts: str, alert: ActiveNow | BackAgain | EmailOpened
    ) -> None:
        message = alert_message(alert)
        try:
            await self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            raise PostFailed(type(error).__name__) from None

    async def find_posted(
        self, user_id: str, key_text: str, since: dt.datetime
    ) -> tuple[str, str] | None:
        try:
            channel = await own_dm(self.client, user_id)
            page = await self.client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp() - 60:.6f}",
                include_all_metadata=True,
                limit=HISTORY_PAGE,
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            raise PostFailed(type(error).__name__) from None
        for message in page.get("messages") or []:
            if _carries(message, key_text):
                return channel, str(message.get("ts") or "")
        return None

    async def time_zone(self, user_id: str) -> str | None:
        """The agent's zone from the people cache; the last known one (or None) when Slack
        can't answer now, never a guess."""
        person = await self.people.get(self.client, user_id)
        if person.known:
            self._zones[user_id] = person.tz
            return person.tz
        return self._zones.get(user_id)

    async def full_member(self, team_id: str, user_id: str) -> bool:
        # Fails closed: the people cache reads an unanswered users.info as "not certain".
        return (await self.people.get(self.client, user_id)).member_of(team_id)

    async def tell_paused(self, user_id: str, reason: str) -> None:
        try:
            await self.client.chat_postMessage(channel=user_id, **alerts_paused_dm().as_kwargs())
        except SlackApiError as error:
            log.warning(
                "Could not DM an agent about paused alerts (%s)", error.response.get("error")
            )


def alert_message(alert: Alert) -> Message:
    """The DM of any alert kind."""
    if isinstance(alert, ActiveNow):
        return active_now_message(alert)
    if isinstance(alert, BackAgain):
        return back_message(alert)
    if isinstance(alert, EmailOpened):
        return opened_message(alert)
    return held_summary_message(alert)


def _carries(message: Any, key_text: str) -> bool:
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != ALERT_EVENT:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("alert") == key_text
