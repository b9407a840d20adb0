"""The App Home tab: the Flexmls connection, recent lookups, digests, the "Active now" alerts
panel (settings and watch list, `blocks.home_alerts`) and the grammar (≤ 100 blocks).

The connection is described with the same words as `/activity status`. "Connect Flexmls" is not
a URL button here: its sign-in link carries a single-use state, which can't be made in advance
for every Home render, so Home offers "Paste a token" and points to `/activity connect`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from activity.alert_panel import HomeAlerts
from activity.models import ConnectionStatus
from blocks.connection import (
    connection_lines,
    disconnect_button,
    paste_button,
)
from blocks.help import help_message
from blocks.home_alerts import alerts_panel
from blocks.message import identified
from blocks.recent import recent_message
from blocks.text import user_mrkdwn
from storage.digests import Subscription
from storage.lookups import RecentLookup

MAX_HOME_BLOCKS = 100
MAX_DIGESTS = 20
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")
NO_DIGESTS = "No digests yet. `/activity digest add` posts one every morning."
OAUTH_HINT = "Or type `/activity connect` to sign in with Flexmls."


def channel_mrkdwn(channel_id: str) -> str:
    """`<#C123>` for a well-formed channel id; anything else as escaped text."""
    if isinstance(channel_id, str) and CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return user_mrkdwn(channel_id, 24, fallback="an unknown channel")


def digest_line(subscription: Subscription) -> str:
    """ "• <#C123> at 08:00 America/Denver · recent" (at most ~135 characters)."""
    return (
        f"• {channel_mrkdwn(subscription.channel_id)}"
        f" at {user_mrkdwn(subscription.local_time, 10, fallback='—')}"
        f" {user_mrkdwn(subscription.timezone, 40, fallback='—')}"
        f" · {user_mrkdwn(subscription.scope, 50, fallback='—')}"
    )


def _connection_blocks(status: ConnectionStatus) -> list[tuple[str, Block]]:
    body, _ = connection_lines(status)
    blocks: list[tuple[str, Block]] = [
        ("home_connection", SectionBlock(text=MarkdownTextObject(text=body, verbatim=True)))
    ]
    elements: list[ButtonElement] = []
    if not status.connected or status.broken:
        elements.append(paste_button(primary=True))
    if status.has_connection:
        elements.append(disconnect_button())
    blocks.append(("home_connection_actions", ActionsBlock(elements=elements)))
    if status.oauth_available and (not status.connected or status.broken):
        blocks.append(
            ("home_connection_hint", ContextBlock(elements=[MarkdownTextObject(text=OAUTH_HINT)]))
        )
    return blocks


def _digest_blocks(subscriptions: Sequence[Subscription]) -> list[tuple[str, Block]]:
    blocks: list[tuple[str, Block]] = [
        ("home_digests_header", HeaderBlock(text=PlainTextObject(text="Your digests")))
    ]
    if not subscriptions:
        text = NO_DIGESTS
    else:
        text = "\n".join(digest_line(s) for s in subscriptions[:MAX_DIGESTS])
    blocks.append(("home_digests", SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))))
    hidden = len(subscriptions) - MAX_DIGESTS
    if hidden > 0:
        blocks.append(
            (
                "home_digests_more",
                ContextBlock(elements=[PlainTextObject(text=f"and {hidden} more")]),
            )
        )
    return blocks


def home_view(
    recent: Sequence[RecentLookup],
    commands: Sequence[tuple[str, str]],
    *,
    status: ConnectionStatus,
    subscriptions: Sequence[Subscription] = (),
    alerts: HomeAlerts | None = None,
) -> dict[str, Any]:
    """A Home view: connection, recent lookups (buttons open the card in a DM), digests, the
    alerts panel (when given), help."""
    own: list[tuple[str, Block]] = [
        ("home_header", HeaderBlock(text=PlainTextObject(text="Activity bot"))),
        *_connection_blocks(status),
    ]
    blocks = [identified(role, block).to_dict() for role, block in own]
    blocks.append(DividerBlock(block_id="home_divider_1").to_dict())
    blocks += recent_message(recent).blocks
    blocks.append(DividerBlock(block_id="home_divider_2").to_dict())
    blocks += [identified(role, block).to_dict() for role, block in _digest_blocks(subscriptions)]
    if alerts is not None:
        blocks.append(DividerBlock(block_id="home_divider_alerts").to_dict())
        blocks += [identified(role, block).to_dict() for role, block in alerts_panel(alerts)]
    blocks.append(DividerBlock(block_id="home_divider_3").to_dict())
    blocks += help_message(commands).blocks[: MAX_HOME_BLOCKS - len(blocks)]
    return View(type="home", blocks=blocks).to_dict()
