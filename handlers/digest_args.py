"""What `/activity digest add …` accepts, and what the bot says when it refuses.

`parse_add` reads the words typed after `digest add` (a `DigestArgsError` says what to type
instead); `refusal_words` turns the core's reasons (`activity.digests.Refusal`) into the
sentence the person sees. The core decides; this module only words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from activity.digests import MAX_PER_USER, DigestRefused, Refusal, is_channel_id
from spark.client import MAX_TAG_LENGTH

SCOPE_RE = re.compile(rf"^(recent|all|tag:.{{1,{MAX_TAG_LENGTH}}})$", re.IGNORECASE)
TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")

NOT_A_CHANNEL = (
    "Digests go to channels, not to people or DMs. Try `/activity digest add #channel 08:00`, "
    "or `/activity digest add me 08:00` for a private one in your DM with me."
)
NOT_YOUR_DM = "A private digest goes only to your own DM with me: `/activity digest add me 08:00`."
CHANNEL_OR_ME = "A channel or `me`, not both: `/activity digest add me 08:00`."
MAX_TAGS_LISTED = 25
INVITE_FIRST = (
    "I can't see that channel. If it's private, invite me first (`/invite @Activity` in the "
    "channel), then add the digest again."
)
NOT_LISTED = "Your admin allows digests only in certain channels; this isn't one of them."
ARCHIVED = "That channel is archived. Pick another one."
SLACK_CONNECT = (
    "That channel is shared with people outside your workspace (Slack Connect), so a "
    "digest can't go there unless your admin lists it in DIGEST_CHANNELS."
)
NOT_A_MEMBER = "You can only add a digest to a channel you're in. Join it first, or pick another."
# Why a digest may not go to a channel (`activity.digests.target_refusal`), in words.
TARGET_REFUSALS = {
    Refusal.NOT_A_CHANNEL: NOT_A_CHANNEL,
    Refusal.INVITE_FIRST: INVITE_FIRST,
    Refusal.NOT_LISTED: NOT_LISTED,
    Refusal.ARCHIVED: ARCHIVED,
    Refusal.SLACK_CONNECT: SLACK_CONNECT,
    Refusal.NOT_MEMBER: NOT_A_MEMBER,
    Refusal.NOT_YOUR_DM: NOT_YOUR_DM,
}
NEEDS_OWN_CONNECTION = (
    "A digest of all your contacts, or of a tag, reads Flexmls with your own account: "
    "connect it first with `/activity connect`, or use `recent`."
)
TOO_MANY = (
    f"You already have {MAX_PER_USER} digests, the most one person can have. Remove one "
    "first: `/activity digest list` shows them."
)


class DigestArgsError(ValueError):
    """`/activity digest …` could not be understood or was refused; the message says what to
    type."""


@dataclass(frozen=True)
class DigestRequest:
    channel_id: str | None
    local_time: str | None
    scope: str
    to_me: bool = False  # `me`: a private digest in the subscriber's DM with the bot


def refusal_words(refused: DigestRefused) -> str:
    """What `digest add` says when `activity.digests.subscribe` refuses."""
    if refused.reason in TARGET_REFUSALS:
        return TARGET_REFUSALS[refused.reason]
    if refused.reason == Refusal.NEEDS_OWN_CONNECTION:
        return NEEDS_OWN_CONNECTION
    if refused.reason == Refusal.TOO_MANY:
        return TOO_MANY
    if refused.reason == Refusal.UNKNOWN_TAG:
        return unknown_tag(refused.detail, refused.choices)
    return refused.detail or str(refused)  # storage's own words about the time, zone or scope


def unknown_tag(tag: str, tags: tuple[str, ...], command: str = "/activity digest add") -> str:
    """ "No contact is tagged “Buyers”. Your tags: Buyer, Seller. Try …" (plain words: the
    reply escapes them, tags and all)."""
    said = f"No contact is tagged “{tag[:100]}” in your Flexmls."
    if not tags:
        if command != "/activity digest add":
            return f"{said} You have no contact tags yet."
        return f"{said} You have no contact tags yet; try `recent` or `all` instead."
    shown = ", ".join(t[:100] for t in tags[:MAX_TAGS_LISTED])
    more = f" and {len(tags) - MAX_TAGS_LISTED} more" if len(tags) > MAX_TAGS_LISTED else ""
    return (
        f"{said} Your tags: {shown}{more}. Try `{command} tag:{tags[0][:100]}` (spelled as listed)."
    )


def parse_add(
    words: str, channel_ids: tuple[str, ...], user_mentions: tuple[str, ...] = ()
) -> DigestRequest:
    """Read `[#channel] [HH:MM] [recent | all | tag:<Tag>]` (any order; the tag runs to the end).

    `channel_ids` and `user_mentions` are the channels and people linked in what was typed: a
    person is refused (digests go to channels); `me` asks for a private digest in the
    subscriber's own DM with the bot.
    """
    local_time, scope, to_me = None, "recent", False
    if user_mentions:
        raise DigestArgsError(NOT_A_CHANNEL)
    if len(channel_ids) > 1:
        raise DigestArgsError("One channel at a time, please: `/activity digest add #channel`.")
    if channel_ids and not is_channel_id(channel_ids[0]):
        raise DigestArgsError(NOT_A_CHANNEL)
    rest = words.strip()
    tag_at = rest.lower().find("tag:")
    if tag_at >= 0:
        scope = "tag:" + rest[tag_at + 4 :].strip()
        rest = rest[:tag_at]
        if scope == "tag:":
            raise DigestArgsError("Say which tag, e.g. `/activity digest add tag:Buyer`.")
    for word in rest.split():
        if word.startswith("#"):
            continue  # the channel, identified through Slack's link (channel_ids)
        if word.lower() == "me":
            to_me = True
            continue
        if TIME_RE.match(word):
            local_time = word
        elif word.lower() in ("recent", "all"):
            scope = word.lower()
        else:
            raise DigestArgsError(
                f"I don't understand “{word[:40]}”. Try `/activity digest add #channel 08:00 recent`."
            )
    if any(w.startswith("#") for w in rest.split()) and not channel_ids:
        raise DigestArgsError(
            "Pick the channel from Slack's suggestions as you type `#`, so I get its id."
        )
    if not SCOPE_RE.match(scope):
        raise DigestArgsError("A tag is at most 100 characters.")
    if to_me and channel_ids:
        raise DigestArgsError(CHANNEL_OR_ME)
    return DigestRequest(channel_ids[0] if channel_ids else None, local_time, scope, to_me)
