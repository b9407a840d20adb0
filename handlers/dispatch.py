"""The `/activity` grammar, shared by the slash command and mentions.

The console goes through the same path: it sends signed slash commands to the running bot.

Each subcommand is registered with its usage line, so `/activity help` is generated from the
same table that routes the text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import handlers.alerts as alert_commands
import handlers.digests as digest_commands
import redaction
from activity import connections
from activity.lookup import Match, find, resolve
from activity.models import Candidates, ContactCard, ListKind, Resolution
from blocks import (
    Message,
    card_message,
    connect_prompt,
    contact_picker,
    disconnected,
    help_message,
    invalid_input,
    listings_message,
    no_match,
    recent_message,
    share_place,
    status_message,
    token_typed,
)
from handlers.slack_text import split_verb, unescape
from handlers.turn import Turn
from storage import recent_lookups

Action = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    verbs: tuple[str, ...]
    usage: str
    description: str
    run: Action | None  # None: the line documents the default (a lookup)


def render_resolution(turn: Turn, result: Resolution) -> Message:
    if isinstance(result, ContactCard):
        return card_message(result, share_to=share_place(turn.channel_name))
    if isinstance(result, Candidates):
        return contact_picker(result)
    return no_match(result.query, result.suggestions)


async def lookup(turn: Turn, text: str) -> None:
    result = await resolve(turn.services, await turn.access(), text)
    await turn.reply(render_resolution(turn, result))


async def show_listings(
    turn: Turn, kind: ListKind, contact_id: str, page: int = 1, *, new_message: bool = False
) -> None:
    services = turn.services
    view = await services.listings.page(
        await turn.access(),
        contact_id,
        kind,
        page,
        link_template=services.settings.flexmls_listing_url,
        today=services.clock().date(),
    )
    message = listings_message(view, layout=services.settings.listing_layout)
    if new_message:  # below the clicked message, which stays (an alert DM, say)
        await turn.post_privately(message)
    else:
        await turn.reply(message)


def _list_command(kind: ListKind) -> Action:
    async def run(turn: Turn, text: str) -> None:
        if not text:
            await turn.notify(
                invalid_input(
                    "Say whose listings.", hint=f"For example `/activity {kind} jane doe`."
                )
            )
            return
        found = await find(turn.services, await turn.access(), text)
        if isinstance(found, Match):
            await show_listings(turn, kind, found.contact_id)
        elif isinstance(found, Candidates):  # Choose opens this list, not the card
            await turn.reply(contact_picker(found, intent=kind))
        else:
            await turn.reply(no_match(found.query, found.suggestions, intent=kind))

    return run


async def show_recent(turn: Turn, _: str) -> None:
    await turn.credential()  # past lookups name clients: only for who may look them up now
    items = recent_lookups(turn.services.db, turn.team_id, turn.user_id)
    await turn.reply(recent_message(items))


async def connect(turn: Turn, _: str) -> None:
    url = connections.authorize_url(turn.services, turn.team_id, turn.user_id)
    await turn.reply(connect_prompt(url, oauth_available=url is not None))


async def status(turn: Turn, _: str) -> None:
    status = connections.connection_status(turn.services, turn.team_id, turn.user_id)
    await turn.reply(status_message(status))


async def disconnect(turn: Turn, _: str) -> None:
    done = connections.disconnect(turn.services, turn.team_id, turn.user_id)
    await turn.reply(
        disconnected(was_connected=done.was_connected, digests_paused=done.digests_paused)
    )


async def digest(turn: Turn, text: str) -> None:
    await digest_commands.run(turn, text, turn.channels, turn.user_mentions)


async def show_help(turn: Turn, _: str) -> None:
    await turn.reply(help_message([(s.usage, s.description) for s in SUBCOMMANDS]))


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand((), "/activity <name | email | phone | contact id>",
               "how engaged a contact is: e-mails, listings viewed and shared, changes", None),
    Subcommand(("",), "/activity", "your recent lookups, one tap to reopen", show_recent),
    Subcommand(("viewed",), "/activity viewed <contact>", "the listings a contact viewed", _list_command("viewed")),
    Subcommand(("shared",), "/activity shared <contact>", "the listings shared with a contact", _list_command("shared")),
    Subcommand(("connect",), "/activity connect", "connect your own Flexmls account", connect),
    Subcommand(("status",), "/activity status", "who you are connected as, and since when", status),
    Subcommand(("disconnect",), "/activity disconnect", "forget your Flexmls tokens and pause your digests", disconnect),
    Subcommand(("digest",), "/activity digest add [#channel | me] [HH:MM] [recent | all | tag:<Tag>]",
               "a morning digest of who is heating up (08:00 your time by default), in a channel or (add me) privately in your DM with Activity: recent = who you looked up in the last 30 days, all = all your contacts, tag:<Tag> = one Flexmls tag", digest),
    Subcommand(("digest",), "/activity digest list | preview <n> | remove <n>", "your digests (admins: all); see what one would post now, privately; remove one of them", None),
    Subcommand(("watch",), "/activity watch <contact>",
               "a DM from Activity when the contact views 3 or more listings (your alerts threshold) after an hour with none, or is back after 14 quiet days (at most 50 watches)", alert_commands.watch_command),
    Subcommand(("watch",), "/activity watch tag:<Tag>", "watch the contacts of a Flexmls tag, as many as fit in your 50", None),
    Subcommand(("watch",), "/activity watch", "who you watch, their band, and how often each is checked; contacts you looked up in the last 14 days are watched automatically (marked auto)", None),
    Subcommand(("unwatch",), "/activity unwatch <contact> | tag:<Tag>", "stop watching a contact, or a tag's contacts", alert_commands.unwatch_command),
    Subcommand(("alerts",), "/activity alerts", "your alert settings: on or off, quiet hours, how many views make a contact active now, e-mail alerts, auto-watch", alert_commands.alerts_command),
    Subcommand(("alerts",), "/activity alerts on | off | quiet 21:00-07:30 | quiet off | threshold <2-20> | email on | email off | auto on | auto off",
               "turn alerts on or off; hold them during quiet hours (your Slack time zone; they arrive as one summary at the end); alert at that many listings viewed; a DM when a watched contact opens an e-mail you or your team sent (off unless you turn it on); watch the contacts you look up automatically, or not", None),
    Subcommand(("help",), "/activity help", "this list", show_help),
)  # fmt: skip
VERBS = {verb for s in SUBCOMMANDS for verb in s.verbs if verb}


async def answer(turn: Turn, raw_text: str) -> None:
    """Route what the user typed after `/activity` (or after @bot) and reply."""
    async with turn.guard():
        await turn.admit()
        typed = unescape(raw_text)
        turn.channels = typed.channels
        turn.user_mentions = typed.user_mentions
        text = typed.text
        if not text and typed.user_mentions:
            await turn.notify(
                invalid_input(
                    "That's a Slack member, not a Flexmls contact. Type the contact's name or e-mail."
                )
            )
            return
        tokens = [word for word in text.split() if connections.looks_like_token(word)]
        if tokens:  # whatever the verb: never searched for, echoed or logged
            redaction.remember(*tokens)
            await turn.notify(token_typed())
            return
        verb, rest = split_verb(text, VERBS)
        if not text:
            verb = ""
        for sub in SUBCOMMANDS:
            if verb is not None and verb in sub.verbs and sub.run is not None:
                await sub.run(turn, rest)
                return
        await lookup(turn, text)
