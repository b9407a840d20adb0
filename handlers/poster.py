"""How the delivery pass reaches Slack: post the digest, ask whether it may still go out, and
tell the subscriber when a day is skipped.

`SlackPoster` implements `activity.digests.Poster` with the bot token. It is where Slack's
answers get their meaning: an error code on a post becomes `PostFailed` (permanent for the
codes in `PERMANENT_SLACK_ERRORS`, temporary for network trouble), and a delivery check that
Slack won't answer now (`is_temporary`) is retried by a later pass.

`describe_target` and `describe_subscriber` read what Slack says about a digest's channel
(`conversations.info`, then `conversations.members` until the person is found) and its
subscriber (`users.info`); `digest add` asks the same way (`handlers.digests`). A private
digest goes to a DM: it may only be the subscriber's own DM with the bot, which
`conversations.open` (users=<subscriber>) names, asked again before every delivery, so a
digest never goes to anyone else's DM. Nothing is cached: each delivery asks afresh.
Scopes: `channels:read`, `groups:read`, `users:read`, `im:write` (conversations.open).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activity import digests
from activity.digests import CHANNEL_REFUSALS, PostFailed, Refusal, Subscriber, TargetChannel
from activity.models import Digest
from activity.services import Services
from blocks import Message, digest_message, digest_reconnect_dm, problem
from blocks.digest import DigestLayout, digest_refused_dm, personal_digest_message
from storage import Subscription

# Slack errors after which retrying the post is pointless (the subscriber is told instead).
PERMANENT_SLACK_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}
)
# Slack answers that mean "not now" rather than "no": the check is retried by a later pass.
TEMPORARY_SLACK_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "bad_gateway",
        "gateway_timeout",
    }
)
MEMBER_PAGE = 200  # members per conversations.members call (Slack suggests at most 200)
MAX_MEMBER_PAGES = 50  # 10,000 members: past that, the person isn't found and is refused
log = logging.getLogger(__name__)


def digest_layout(services: Services) -> DigestLayout:
    return "sections" if services.settings.listing_layout == "sections" else "table"


class SlackPoster:
    """Posts digests to channels and tells subscribers about skipped days, with the bot token."""

    def __init__(self, client: AsyncWebClient, services: Services) -> None:
        self.client = client
        self.services = services

    async def post(self, channel_id: str, digest: Digest) -> str:
        key = digests.cursor_key(self.services)
        if digests.is_dm_id(channel_id):  # the subscriber's own DM (checked by `refusal`)
            message = personal_digest_message(digest, cursor_key=key)
        else:
            message = digest_message(digest, cursor_key=key, layout=digest_layout(self.services))
        try:
            response = await self.client.chat_postMessage(channel=channel_id, **message.as_kwargs())
        except SlackApiError as error:
            code = str(error.response.get("error") or "slack_error")
            raise PostFailed(code, permanent=code in PERMANENT_SLACK_ERRORS) from None
        except (TimeoutError, aiohttp.ClientError):
            raise PostFailed("slack_unreachable", permanent=False) from None
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
            target = await describe_target(
                self.client, subscription.channel_id, subscription.user_id
            )
        except SlackApiError as error:
            code = str(error.response.get("error") or "slack_error")
            if is_temporary(error):
                raise PostFailed(code, permanent=False) from None
            log.warning("Checking digest #%s with Slack failed (%s)", subscription.id, code)
            return Refusal.UNCHECKED
        except (TimeoutError, aiohttp.ClientError):
            raise PostFailed("slack_unreachable", permanent=False) from None
        return digests.target_refusal(
            self.services, subscription.channel_id, target, subscriber_id=subscription.user_id
        )

    async def tell_subscriber(self, subscription: Subscription, reason: str) -> None:
        message = skipped_day_dm(subscription, reason)
        try:
            await self.client.chat_postMessage(channel=subscription.user_id, **message.as_kwargs())
        except SlackApiError as error:
            log.warning("Could not DM a digest subscriber (%s)", error.response.get("error"))


def skipped_day_dm(subscription: Subscription, reason: str) -> Message:
    """The DM to a subscriber whose digest didn't go out today: a `Refusal`, or the code of
    the Slack error that refused the post."""
    if reason == Refusal.RECONNECT:
        return digest_reconnect_dm(subscription)
    if reason in CHANNEL_REFUSALS or reason in (Refusal.GUEST, Refusal.UNCHECKED):
        return digest_refused_dm(subscription, reason)
    if reason == Refusal.ROLE:
        return problem(
            "Today's digest wasn't posted",
            "Your Flexmls key can't read contact activity.",
            "Contacts: Activity needs the Private role on the API key; ask your MLS or FBS "
            "support to enable it. Tomorrow's digest will try again.",
        )
    return problem(
        "Today's digest wasn't posted",
        f"Slack refused the post ({reason}).",
        "Invite the bot to the channel (`/invite @Activity`), or remove the digest with "
        f"`/activity digest remove {subscription.id}`.",
    )


def is_temporary(error: SlackApiError) -> bool:
    """True when Slack's refusal means "not now" (5xx, rate limiting), not "no"."""
    status = getattr(error.response, "status_code", 200) or 200
    code = str(error.response.get("error") or "")
    return status == 429 or status >= 500 or code in TEMPORARY_SLACK_ERRORS


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


async def describe_channel(
    client: AsyncWebClient, channel_id: str, user_id: str
) -> TargetChannel | None:
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
    return TargetChannel(
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


async def own_dm(client: AsyncWebClient, user_id: str) -> str:
    """The id of `user_id`'s DM with the bot (`conversations.open`, users=<them>: it opens or
    resumes that one DM, never another). Slack's errors are raised, as in `describe_channel`."""
    opened = await client.conversations_open(users=user_id)
    channel = opened.get("channel") or {}
    return str(channel.get("id") or "") if isinstance(channel, dict) else ""


def own_dm_target(channel_id: str, user_id: str) -> TargetChannel:
    """What we know of `user_id`'s own DM with the bot, just named by `own_dm`."""
    return TargetChannel(
        channel_id=channel_id,
        is_channel=False,
        is_private=True,
        is_archived=False,
        bot_is_member=True,
        user_is_member=True,
        slack_connect=False,
        dm_of=user_id,
    )


async def describe_target(
    client: AsyncWebClient, channel_id: str, user_id: str
) -> TargetChannel | None:
    """`describe_channel` for a channel; for a DM, the DM only if it is `user_id`'s own DM
    with the bot (else None: `target_refusal` refuses it)."""
    if not digests.is_dm_id(channel_id):
        return await describe_channel(client, channel_id, user_id)
    if await own_dm(client, user_id) != channel_id:
        return None
    return own_dm_target(channel_id, user_id)


async def describe_subscriber(client: AsyncWebClient, user_id: str) -> Subscriber | None:
    """What `users.info` says about a digest's subscriber, asked afresh (never cached); None
    when Slack doesn't know them. Other Slack errors are raised, as in `describe_channel`."""
    try:
        user: dict[str, Any] = (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError as error:
        if error.response.get("error") == "user_not_found":
            return None
        raise
    return Subscriber(
        user_id=str(user.get("id") or user_id),
        team_id=str(user.get("team_id") or ""),
        deleted=bool(user.get("deleted")),
        stranger=bool(user.get("is_stranger")),
        guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )
