"""Digests in Slack: the `/activity digest …` subcommands, their buttons, and the poster.

`SlackPoster` is how the delivery pass (`activity.digests.run_pass`) reaches Slack: it posts
the digest with the bot token and, when a day is skipped, tells the subscriber in a DM.

`digest add` asks Slack about the target first (`conversations.info`, then
`conversations.members` until the person is found): `activity.digests.check_target` decides
from that whether the digest may go there. Scopes: `channels:read` and `groups:read`.
"""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activity import digests
from activity.models import Digest
from activity.services import Services
from blocks import (
    digest_added,
    digest_list,
    digest_message,
    digest_reconnect_dm,
    digest_removed,
    invalid_input,
    problem,
)
from handlers.slack_text import split_verb
from handlers.turn import Turn
from storage import Subscription, list_subscriptions, remove_subscription

USAGE = "`/activity digest add [#channel] [HH:MM] [recent | all | tag:<Tag>]`, `digest list`, `digest remove <n>`"
log = logging.getLogger(__name__)


def digest_layout(services: Services) -> str:
    return "sections" if services.listing_layout == "sections" else "table"


class SlackPoster:
    """Posts digests to channels and tells subscribers about skipped days, with the bot token."""

    def __init__(self, client: AsyncWebClient, services: Services) -> None:
        self.client = client
        self.services = services

    async def post(self, channel_id: str, digest: Digest) -> str:
        message = digest_message(
            digest,
            cursor_key=digests.cursor_key(self.services),
            layout=digest_layout(self.services),
        )
        try:
            response = await self.client.chat_postMessage(channel=channel_id, **message.as_kwargs())
        except SlackApiError as error:
            code = str(error.response.get("error") or "slack_error")
            raise digests.PostFailed(
                code, permanent=code in digests.PERMANENT_SLACK_ERRORS
            ) from None
        except (TimeoutError, aiohttp.ClientError):
            raise digests.PostFailed("slack_unreachable", permanent=False) from None
        return str(response.get("ts") or "")

    async def tell_subscriber(self, subscription: Subscription, reason: str) -> None:
        if reason == "reconnect":
            message = digest_reconnect_dm(subscription)
        elif reason == "role":
            message = problem(
                "Today's digest wasn't posted",
                "Your Flexmls key can't read contact activity.",
                "Contacts: Activity needs the Private role on the API key; ask your MLS or FBS "
                "support to enable it. Tomorrow's digest will try again.",
            )
        else:
            message = problem(
                "Today's digest wasn't posted",
                f"Slack refused the post ({reason}).",
                "Invite the bot to the channel (`/invite @Activity`), or remove the digest with "
                f"`/activity digest remove {subscription.id}`.",
            )
        try:
            await self.client.chat_postMessage(channel=subscription.user_id, **message.as_kwargs())
        except SlackApiError as error:
            log.warning("Could not DM a digest subscriber (%s)", error.response.get("error"))


async def user_timezone(turn: Turn) -> str:
    """The user's IANA zone from their Slack profile; UTC when Slack doesn't say."""
    if turn.client is not None:
        try:
            info = await turn.client.users_info(user=turn.user_id)
            zone = (info.get("user") or {}).get("tz")
            if isinstance(zone, str) and zone in zoneinfo.available_timezones():
                return zone
        except SlackApiError as error:
            turn.logger.warning("users.info failed (%s); using UTC", error.response.get("error"))
    return "UTC"


async def is_admin(turn: Turn) -> bool:
    if turn.client is None:
        return False
    try:
        user: dict[str, Any] = (await turn.client.users_info(user=turn.user_id)).get("user") or {}
    except SlackApiError:
        return False
    return bool(user.get("is_admin") or user.get("is_owner"))


MEMBER_PAGE = 200  # members per conversations.members call (Slack suggests at most 200)
MAX_MEMBER_PAGES = 50  # 10,000 members: past that, the person isn't found and is refused


async def _user_in_channel(client: AsyncWebClient, channel_id: str, user_id: str) -> bool:
    """True when `user_id` is among the channel's members (conversations.members, paged)."""
    cursor = ""
    for _ in range(MAX_MEMBER_PAGES):
        page = await client.conversations_members(
            channel=channel_id, limit=MEMBER_PAGE, **({"cursor": cursor} if cursor else {})
        )
        if user_id in (page.get("members") or []):
            return True
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return False
    return False


async def target_channel(turn: Turn, channel_id: str) -> digests.TargetChannel | None:
    """What Slack says about `channel_id` for the person adding a digest; None when the bot
    can't see it. Any other Slack refusal is a `DigestArgsError`: we never guess."""
    if turn.client is None or not digests.is_channel_id(channel_id):
        return None
    try:
        info: dict[str, Any] = (await turn.client.conversations_info(channel=channel_id)).get(
            "channel"
        ) or {}
        member = await _user_in_channel(turn.client, channel_id, turn.user_id)
    except SlackApiError as error:
        code = str(error.response.get("error") or "slack_error")
        if code == "channel_not_found":
            return None
        turn.logger.warning("Checking a digest channel failed (%s)", code)
        raise digests.DigestArgsError(
            f"Slack didn't let me check that channel ({code}). Try again in a moment."
        ) from None
    slack_connect = bool(
        info.get("is_ext_shared")
        or info.get("is_pending_ext_shared")
        or (info.get("is_shared") and not info.get("is_org_shared"))
    )
    return digests.TargetChannel(
        channel_id=channel_id,
        is_channel=bool(info.get("is_channel") or info.get("is_group"))
        and not info.get("is_im")
        and not info.get("is_mpim"),
        is_private=bool(info.get("is_private")),
        is_archived=bool(info.get("is_archived")),
        bot_is_member=bool(info.get("is_member")),
        user_is_member=member,
        slack_connect=slack_connect,
    )


async def add(
    turn: Turn, words: str, channels: tuple[str, ...], user_mentions: tuple[str, ...] = ()
) -> None:
    request = digests.parse_add(words, channels, user_mentions)
    channel_id = request.channel_id or turn.channel_id
    if not channel_id:
        raise digests.DigestArgsError("Say which channel: `/activity digest add #channel`.")
    if not digests.is_channel_id(channel_id):  # typed in a DM with the bot, say
        raise digests.DigestArgsError(digests.NOT_A_CHANNEL)
    # The digest reads with the subscriber's access: they need some (own, for a whole book).
    credential = await turn.credential()
    subscription = digests.subscribe(
        turn.services, team_id=turn.team_id, user_id=turn.user_id,
        target=await target_channel(turn, channel_id), channel_id=channel_id, request=request,
        timezone=await user_timezone(turn), own_connection=not credential.workspace,
    )  # fmt: skip
    await turn.reply(digest_added(subscription))


async def remove(turn: Turn, words: str) -> None:
    number = words.lstrip("#")
    if not number.isdigit() or len(number) > 9:
        raise digests.DigestArgsError(
            "Say which digest: `/activity digest remove 7` (see `/activity digest list`)."
        )
    ours = {s.id: s for s in list_subscriptions(turn.services.db, turn.team_id)}
    subscription = ours.get(int(number))
    if subscription is None:
        raise digests.DigestArgsError(
            f"There is no digest #{number}. `/activity digest list` shows them."
        )
    if subscription.user_id != turn.user_id and not await is_admin(turn):
        raise digests.DigestArgsError(
            "Only the person who added that digest, or a workspace admin, can remove it."
        )
    remove_subscription(turn.services.db, subscription.id)
    await turn.reply(digest_removed(subscription))


async def run(
    turn: Turn, text: str, channels: tuple[str, ...], user_mentions: tuple[str, ...] = ()
) -> None:
    """`/activity digest …` (`channels` and `user_mentions`: what the text linked)."""
    verb, rest = split_verb(text, {"add", "list", "remove"})
    try:
        if verb == "add":
            await add(turn, rest, channels, user_mentions)
        elif verb == "remove":
            await remove(turn, rest)
        elif verb == "list" or not text:
            subscriptions = list_subscriptions(turn.services.db, turn.team_id)
            await turn.reply(digest_list(subscriptions, viewer_id=turn.user_id))
        else:
            raise digests.DigestArgsError(f"Try {USAGE}.")
    except digests.DigestArgsError as refusal:
        await turn.notify(invalid_input(str(refusal)))
