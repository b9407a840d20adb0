"""Reading what people type in Slack: undo Slack's escaping and split off a subcommand.

With `should_escape: true` Slack rewrites text: `jane@x.com` arrives as
`<mailto:jane@x.com|jane@x.com>`, phone numbers may arrive as `<tel:…|…>`, mentions as
`<@U123|name>`, channels as `<#C123|name>`, and `&`, `<`, `>` as HTML entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINK_RE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
USER_MENTION_RE = re.compile(r"^@[UW][A-Z0-9]+$")
CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,20}$")


@dataclass(frozen=True)
class SlackText:
    text: str  # plain text with links unwrapped
    user_mentions: tuple[str, ...]  # Slack user ids that were mentioned
    channels: tuple[str, ...] = ()  # Slack channel ids that were linked (`<#C123|name>`)


def unescape(raw: str) -> SlackText:
    """Unwrap Slack's `<…>` markup into what the person typed; note user mentions."""
    mentions: list[str] = []
    channels: list[str] = []

    def unwrap(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user_id = target[1:]
            if USER_MENTION_RE.match(target):
                mentions.append(user_id)
            return ""
        if target.startswith("#"):
            if CHANNEL_RE.match(target[1:]):
                channels.append(target[1:])
            return f"#{label}" if label else "#channel"
        if target.startswith("!"):
            return ""  # <!here>, <!channel>, <!subteam^…>: never part of a contact
        if label:
            return label
        for scheme in ("mailto:", "tel:"):
            if target.startswith(scheme):
                return target[len(scheme) :]
        return target

    text = LINK_RE.sub(unwrap, raw or "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return SlackText(" ".join(text.split()), tuple(mentions), tuple(channels))


def split_verb(text: str, verbs: set[str]) -> tuple[str | None, str]:
    """("viewed", "jane doe") for "viewed jane doe" when "viewed" is a verb, else (None, text)."""
    head, _, rest = text.partition(" ")
    if head.lower() in verbs:
        return head.lower(), rest.strip()
    return None, text


def strip_bot_mention(raw: str, bot_user_id: str | None) -> str:
    """Drop the leading @bot mention (and an optional word "activity") from a mention's text."""
    text = raw.strip()
    if bot_user_id:
        text = re.sub(rf"^<@{re.escape(bot_user_id)}(\|[^>]*)?>[\s:,]*", "", text)
    text = re.sub(r"^/?activity\b[\s:,]*", "", text, flags=re.IGNORECASE)
    return text
