"""Digests in Slack: the `/activity digest …` subcommands, their buttons, and the poster.

`SlackPoster` is how the delivery pass (`activity.digests.run_pass`) reaches Slack: it posts
the digest with the bot token and, when a day is skipped, tells the subscriber in a DM.

`digest add` asks Slack about the target first (`conversations.info`, then
`conversations.members` until the person is found): `activity.digests.check_target` decides
from that whether the digest may go there. Before every delivery, `SlackPoster.refusal` asks
again, with the same function (`describe_channel`) and the same rules, and also asks
`users.info` whether the subscriber is still an active member of the team (guests only with
their own connection). Nothing is cached: each delivery asks afresh. Scopes: `channels:read`,
`groups:read`, `users:read`.

`digest list` shows the viewer's own digests; workspace admins and owners see the team's.
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
from blocks.digest import digest_refused_dm
from handlers.slack_text import split_verb
from handlers.turn import Turn
from storage import Subscription, list_subscriptions, remove_subscription

USAGE = "`/activity digest add [#channel] [HH:MM] [recent | all | tag:<Tag>]`, `digest list`, `digest remove <n>`"
# Slack answers that mean "not now" rather than "no": the check is retried by a later pass.
TEMPORARY_SLACK_ERRORS = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout", "bad_gateway", "gateway_timeout",
})  # fmt: skip
UNCHECKED = "unchecked"  # Slack refused to answer a delivery check for another reason
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

    async def refusal(self, subscription: Subscription, *, workspace_token: bool) -> str | None:
        """Why the digest must not go out now (see `activity.digests.Poster.refusal`).

        Fails closed: an unexpected Slack answer is a refusal, and one that means "try later"
        (network, 5xx, rate limiting) raises `PostFailed(permanent=False)`, never a pass.
        """
        try:
            person = await describe_subscriber(self.client, subscription.user_id)
            refused = digests.subscriber_refusal(
                subscription, person, workspace_token=workspace_token
            )
            if refused is not None:
                return refused
            target = await describe_channel(
                self.client, subscription.channel_id, subscription.user_id
            )
        except SlackApiError as error:
            code = str(error.response.get("error") or "slack_error")
            if is_temporary(error):
                raise digests.PostFailed(code, permanent=False) from None
            log.warning("Checking digest #%s with Slack failed (%s)", subscription.id, code)
            return UNCHECKED
        except (TimeoutError, aiohttp.ClientError):
            raise digests.PostFailed("slack_unreachable", permanent=False) from None
        return digests.target_refusal(self.services, subscription.channel_id, target)

    async def tell_subscriber(self, subscription: Subscription, reason: str) -> None:
        if reason == "reconnect":
            message = digest_reconnect_dm(subscription)
        elif reason in digests.TARGET_REFUSALS or reason in (digests.GUEST, UNCHECKED):
            message = digest_refused_dm(subscription, reason)
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


def is_temporary(error: SlackApiError) -> bool:
    """True when Slack's refusal means "not now" (5xx, rate limiting), not "no"."""
    status = getattr(error.response, "status_code", 200) or 200
    code = str(error.response.get("error") or "")
    return status == 429 or status >= 500 or code in TEMPORARY_SLACK_ERRORS


async def describe_channel(
    client: AsyncWebClient, channel_id: str, user_id: str
) -> digests.TargetChannel | None:
    """What Slack says about `channel_id` for `user_id` (who adds, or receives, a digest there);
    None when the bot can't see it. Other Slack errors are raised (`SlackApiError`, or aiohttp's
    and timeouts when Slack can't be reached)."""
    if not digests.is_channel_id(channel_id):
        return None
    try:
        info: dict[str, Any] = (await client.conversations_info(channel=channel_id)).get(
            "channel"
        ) or {}
        member = await _user_in_channel(client, channel_id, user_id)
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            return None
        raise
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


async def describe_subscriber(client: AsyncWebClient, user_id: str) -> digests.Subscriber | None:
    """What `users.info` says about a digest's subscriber, asked afresh (never cached); None
    when Slack doesn't know them. Other Slack errors are raised, as in `describe_channel`."""
    try:
        user: dict[str, Any] = (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError as error:
        if error.response.get("error") == "user_not_found":
            return None
        raise
    return digests.Subscriber(
        user_id=str(user.get("id") or user_id),
        team_id=str(user.get("team_id") or ""),
        deleted=bool(user.get("deleted")),
        stranger=bool(user.get("is_stranger")),
        guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


async def target_channel(turn: Turn, channel_id: str) -> digests.TargetChannel | None:
    """What Slack says about `channel_id` for the person adding a digest; None when the bot
    can't see it. Any other Slack refusal is a `DigestArgsError`: we never guess."""
    if turn.client is None:
        return None
    try:
        return await describe_channel(turn.client, channel_id, turn.user_id)
    except SlackApiError as error:
        code = str(error.response.get("error") or "slack_error")
        turn.logger.warning("Checking a digest channel failed (%s)", code)
        raise digests.DigestArgsError(
            f"Slack didn't let me check that channel ({code}). Try again in a moment."
        ) from None


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


async def show_list(turn: Turn) -> None:
    """The viewer's own digests; every digest in the team for a workspace admin or owner."""
    everyone = await is_admin(turn)
    subscriptions = list_subscriptions(
        turn.services.db, turn.team_id, None if everyone else turn.user_id
    )
    await turn.reply(digest_list(subscriptions, viewer_id=turn.user_id, team_wide=everyone))


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
            await show_list(turn)
        else:
            raise digests.DigestArgsError(f"Try {USAGE}.")
    except digests.DigestArgsError as refusal:
        await turn.notify(invalid_input(str(refusal)))
