"""Digests in Slack: the `/activity digest …` subcommands and their replies.

`digest add` reads what was typed (`handlers.digest_args.parse_add`), asks Slack about the
target (`handlers.poster.describe_channel`: the same question, with the same rules, that
`SlackPoster.refusal` asks before every delivery; for `me`, `conversations.open` names the
person's own DM with the bot), checks a `tag:` against the tags that exist
(`activity.digests.check_scope`, one Spark request) and lets `activity.digests.subscribe`
decide; a refusal is worded by `handlers.digest_args.refusal_words`.

`digest list` shows the viewer's own digests; workspace admins and owners see the team's.
The delivery pass reaches Slack through `handlers.poster.SlackPoster`.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from slack_sdk.errors import SlackApiError

from activity import digests
from activity.digests import DigestRefused, TargetChannel
from blocks import digest_added, digest_list, digest_preview, digest_removed, invalid_input
from handlers.digest_args import (
    NOT_A_CHANNEL,
    DigestArgsError,
    DigestRequest,
    parse_add,
    refusal_words,
)
from handlers.poster import describe_channel, digest_layout, own_dm, own_dm_target
from handlers.slack_text import split_verb
from handlers.turn import Turn
from storage import Subscription, list_subscriptions, remove_subscription

USAGE = "`/activity digest add [#channel | me] [HH:MM] [recent | all | tag:<Tag>]`, `digest list`, `digest preview <n>`, `digest remove <n>`"


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


async def target_channel(turn: Turn, channel_id: str) -> TargetChannel | None:
    """What Slack says about `channel_id` for the person adding a digest; None when the bot
    can't see it. Any other Slack refusal is a `DigestArgsError`: we never guess."""
    if turn.client is None:
        return None
    try:
        return await describe_channel(turn.client, channel_id, turn.user_id)
    except SlackApiError as error:
        code = str(error.response.get("error") or "slack_error")
        turn.logger.warning("Checking a digest channel failed (%s)", code)
        raise DigestArgsError(
            f"Slack didn't let me check that channel ({code}). Try again in a moment."
        ) from None


async def own_dm_of(turn: Turn) -> tuple[str, TargetChannel]:
    """The asker's own DM with the bot, as Slack names it (`conversations.open`)."""
    if turn.client is None:
        raise DigestArgsError("I can't open a DM with you right now. Try again in a moment.")
    try:
        channel_id = await own_dm(turn.client, turn.user_id)
    except SlackApiError as error:
        code = str(error.response.get("error") or "slack_error")
        turn.logger.warning("Opening a digest DM failed (%s)", code)
        raise DigestArgsError(
            f"Slack didn't let me open a DM with you ({code}). Try again in a moment."
        ) from None
    if not digests.is_dm_id(channel_id):
        raise DigestArgsError("Slack didn't give me a DM with you. Try again in a moment.")
    return channel_id, own_dm_target(channel_id, turn.user_id)


async def where_to(turn: Turn, request: DigestRequest) -> tuple[str, TargetChannel | None]:
    """The digest's target and what Slack says about it: the asker's own DM for `me`, else the
    channel named or typed in."""
    if request.to_me:
        return await own_dm_of(turn)
    channel_id = request.channel_id or turn.channel_id
    if not channel_id:
        raise DigestArgsError("Say which channel: `/activity digest add #channel`.")
    if not digests.is_channel_id(channel_id):  # typed in a DM, say: `me` is the way there
        raise DigestArgsError(NOT_A_CHANNEL)
    return channel_id, await target_channel(turn, channel_id)


async def add(
    turn: Turn, words: str, channels: tuple[str, ...], user_mentions: tuple[str, ...] = ()
) -> None:
    request = parse_add(words, channels, user_mentions)
    channel_id, target = await where_to(turn, request)
    # The digest reads with the subscriber's access: they need some (own, for a whole book).
    credential = await turn.credential()
    services = turn.services
    try:
        digests.refusal_before_reading(
            services,
            channel_id=channel_id,
            target=target,
            user_id=turn.user_id,
            scope=request.scope,
            own_connection=not credential.workspace,
        )
        checked = await digests.check_scope(services, credential.token, request.scope)
        subscription = digests.subscribe(
            services,
            team_id=turn.team_id,
            user_id=turn.user_id,
            target=target,
            channel_id=channel_id,
            local_time=request.local_time,
            scope=checked.scope,
            timezone=await user_timezone(turn),
            own_connection=not credential.workspace,
        )
    except DigestRefused as refused:
        raise DigestArgsError(refusal_words(refused)) from None
    await turn.reply(digest_added(subscription, tag_unchecked=checked.unchecked is not None))


def numbered(turn: Turn, words: str, verb: str) -> Subscription:
    """The team's digest `#n` as typed after `verb`; a clear refusal for anything else."""
    number = words.strip().lstrip("#")
    if not number.isdigit() or len(number) > 9:
        raise DigestArgsError(
            f"Say which digest: `/activity digest {verb} 7` (see `/activity digest list`)."
        )
    ours = {s.id: s for s in list_subscriptions(turn.services.db, turn.team_id)}
    subscription = ours.get(int(number))
    if subscription is None:
        raise DigestArgsError(f"There is no digest #{number}. `/activity digest list` shows them.")
    return subscription


async def preview(turn: Turn, words: str) -> None:
    """What one of your digests would post now, privately: read with your own access, nothing
    posted or recorded; only for digests of up to `PREVIEW_MAX_CONTACTS` contacts."""
    subscription = numbered(turn, words, "preview")
    if subscription.user_id != turn.user_id:
        raise DigestArgsError("You can preview only your own digests (`/activity digest list`).")
    access = await turn.access()
    local_date = digests.schedule_for(subscription, turn.services.clock())[0]
    try:
        digest = await digests.preview(
            turn.services, subscription, access.token, local_date=local_date
        )
    except digests.TooBigToPreview:
        raise DigestArgsError(
            f"Digest #{subscription.id} covers more than {digests.PREVIEW_MAX_CONTACTS} contacts: "
            "too many to read while you wait. It still posts as usual."
        ) from None
    key = digests.cursor_key(turn.services)
    await turn.reply(digest_preview(digest, cursor_key=key, layout=digest_layout(turn.services)))


async def remove(turn: Turn, words: str) -> None:
    subscription = numbered(turn, words, "remove")
    if subscription.user_id != turn.user_id and not await is_admin(turn):
        raise DigestArgsError(
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
    verb, rest = split_verb(text, {"add", "list", "remove", "preview"})
    try:
        if verb == "add":
            await add(turn, rest, channels, user_mentions)
        elif verb == "remove":
            await remove(turn, rest)
        elif verb == "preview":
            await preview(turn, rest)
        elif verb == "list" or not text:
            await show_list(turn)
        else:
            raise DigestArgsError(f"Try {USAGE}.")
    except DigestArgsError as refusal:
        await turn.notify(invalid_input(str(refusal)))
