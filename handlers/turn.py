"""One request's conversation with the user: who asked, how to reply, and the error net.

Every surface (command, click, mention, App Home) builds one `Turn` with the reply functions
of its surface (the response URL for commands and clicks, chat.postEphemeral for mentions, the
DM for App Home clicks) and runs the work inside `turn.guard()`: every failure becomes one
friendly message, never a traceback and never silence. The work asks `turn.access()` for the
one value the core needs: who is asking and with which Flexmls token.

Who may ask: `turn.admit()` refuses people from outside the installed workspace (Slack Connect
strangers) before anything else happens, and `turn.credential()` serves guests only with their
own Flexmls connection, never with the workspace token.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from activity.auth import ConnectionBroken, Credential, NotConnected
from activity.models import Access
from activity.services import Services
from blocks import (
    BadActionValue,
    Message,
    asker_unknown,
    guest_refused,
    internal_error,
    invalid_input,
    not_connected,
    problem,
    retrying_notice,
    search_unavailable,
    spark_problem,
    stale_button,
    stranger_refused,
)
from handlers.people import (
    Asker,
    AskerUnknown,
    GuestWithoutConnection,
    Person,
    Stranger,
    is_foreign,
)
from spark import InvalidQuery, SparkError
from spark.budget import INTERACTIVE_MAX_WAIT, Priority, working_as
from spark.search import SearchUnavailable

Reply = Callable[[Message], Awaitable[None]]
NOTICE_THRESHOLD_S = 1.5  # shorter waits are not worth a message

log = logging.getLogger(__name__)


async def reply_via(respond: AsyncRespond, message: Message, **options: Any) -> None:
    """Post to the response URL; Slack refusing it (expired, used up, 5xx) is logged, not lost."""
    response = await respond(**message.as_kwargs(), **options)
    status = getattr(response, "status_code", 200)
    if status >= 400:
        log.warning(
            "Slack refused a reply at the response URL (HTTP %s: %s)",
            status,
            str(getattr(response, "body", ""))[:80],
        )


def ephemeral(respond: AsyncRespond, *, replace: bool = False) -> Reply:
    """A reply through the response URL that only the asker sees."""

    async def send(message: Message) -> None:
        await reply_via(respond, message, response_type="ephemeral", replace_original=replace)

    return send


@dataclass
class Turn:
    services: Services
    team_id: str
    user_id: str
    reply: Reply  # the answer (replaces the clicked message where that makes sense)
    notify: Reply  # side messages: notices and problems (never replace what the user sees)
    logger: logging.Logger = log
    channel_id: str = ""  # where the request came from (for digests), if anywhere
    client: AsyncWebClient | None = None  # the Web API, for the surfaces that need it
    channels: tuple[str, ...] = ()  # channel ids linked in what the user typed
    user_mentions: tuple[str, ...] = ()  # Slack users linked (`<@U…>`) in what the user typed
    channel_name: str = ""  # the channel's name as Slack sent it ("privategroup" for private ones)
    asker: Asker = field(kw_only=True)  # what the gate learnt: installed team, stranger or not
    # The Spark budget's priority for this turn's requests: commands INTERACTIVE, clicks CLICK.
    priority: Priority = field(default=Priority.INTERACTIVE, kw_only=True)
    # Clicks: the response URL (absent for App Home clicks), the trigger for a modal, and
    # whether the clicked message is an ephemeral one.
    respond: AsyncRespond | None = field(default=None, kw_only=True)
    trigger_id: str = field(default="", kw_only=True)
    in_ephemeral: bool = field(default=False, kw_only=True)
    _credential: Credential | None = field(default=None, repr=False)
    _noticed: bool = False

    async def person(self) -> Person:
        """Who is asking, as Slack says (cached); unknown when Slack can't answer."""
        return await self.asker.people.get(self.client, self.user_id)

    async def admit(self) -> None:
        """Refuse (raise `Stranger`) anyone outside the installed workspace or deactivated.

        The payload's team ids are checked first (no I/O); then `users.info`, because a Slack
        Connect user's payload need not name their own team.
        """
        installed = self.asker.installed_team
        if self.asker.stranger or is_foreign(installed, [self.team_id]):
            raise Stranger
        if (await self.person()).outsider(installed):
            raise Stranger

    async def credential(self) -> Credential:
        """The asker's own connection, else the workspace token if they are a full member."""
        if self._credential is None:
            await self.admit()
            keeper = self.services.keeper
            credential = await keeper.own_credential(self.team_id, self.user_id)
            if credential is None:
                credential = keeper.workspace_credential()
                if credential is None:
                    raise NotConnected
                person = await self.person()
                if not person.known:
                    raise AskerUnknown
                if not person.member_of(self.asker.installed_team):
                    raise GuestWithoutConnection
            self._credential = credential
        return self._credential

    async def access(self) -> Access:
        """Who is asking and with which token (refreshed first if about to expire), for the core."""
        credential = await self.credential()
        person = await self.person()  # cached: credential() asked already
        return Access(
            self.team_id,
            self.user_id,
            credential.token,
            credential.workspace,
            tz=person.tz,
            on_retry=self.on_retry,
        )

    async def post_in_channel(self, message: Message) -> None:
        """A new message everyone in the channel sees; the asker's own copy stays as it is."""
        if self.respond is None:
            await self.reply(message)
            return
        await reply_via(self.respond, message, response_type="in_channel", replace_original=False)

    async def post_privately(self, message: Message, *, replace: bool = False) -> None:
        """A private message for the asker: new, or (`replace`) in place of the clicked one."""
        if self.respond is None:
            await self.reply(message)
            return
        await reply_via(self.respond, message, response_type="ephemeral", replace_original=replace)

    async def on_retry(self, error: SparkError, delay: float) -> None:
        """Tell the user once when Flexmls makes us wait noticeably."""
        if delay >= NOTICE_THRESHOLD_S and not self._noticed:
            self._noticed = True
            await self.notify(retrying_notice(math.ceil(delay)))

    async def _tell(self, message: Message) -> None:
        try:
            await self.notify(message)
        except Exception:  # Slack itself failed us: nothing left to tell the user through
            self.logger.exception("Could not deliver an error message to the user")

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the request's work in a work slot, turning every failure into one message.

        Spark requests made inside (and in tasks started inside) count as this person's work
        at the turn's priority, and wait at most `INTERACTIVE_MAX_WAIT` for a slot of the key's
        budget before the user is told "Flexmls is busy" (spark.budget).
        """
        owner = f"{self.team_id}:{self.user_id}"
        with working_as(self.priority, owner, max_wait=INTERACTIVE_MAX_WAIT):
            async with self.asker.admission, self._net():
                yield

    @asynccontextmanager
    async def _net(self) -> AsyncIterator[None]:
        try:
            yield
        except Stranger:
            self.logger.info("Refused a request from outside the installed workspace")
            await self._tell(stranger_refused())
        except GuestWithoutConnection:
            await self._tell(guest_refused())
        except AskerUnknown:
            await self._tell(asker_unknown())
        except InvalidQuery as refusal:
            await self._tell(invalid_input(str(refusal)))
        except ConnectionBroken:
            await self._tell(
                problem(
                    "Your Flexmls connection stopped working",
                    "Flexmls no longer accepts the access you granted earlier.",
                    "Reconnect with `/activity connect`.",
                )
            )
        except NotConnected:
            await self._tell(not_connected())
        except BadActionValue:
            await self._tell(stale_button())
        except SearchUnavailable as error:
            await self._tell(search_unavailable(error))
        except SparkError as error:
            workspace = self._credential is not None and self._credential.workspace
            self.logger.warning("Spark error for a request: %s", error)
            await self._tell(spark_problem(error, workspace_token=workspace))
        except Exception:
            self.logger.exception("Unexpected error while answering a request")
            await self._tell(internal_error())
