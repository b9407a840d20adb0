"""One request's conversation with the user: who asked, how to reply, and the error net.

Every surface (command, click, mention, App Home) builds one `Turn` with the reply functions
of its surface (the response URL for commands and clicks, chat.postEphemeral for mentions, the
DM for App Home clicks) and runs the work inside `turn.guard()`: every failure becomes one
friendly message, never a traceback and never silence. The work asks `turn.access()` for the
one value the core needs: who is asking and with which Flexmls token.

Who may ask: `turn.admit()` refuses people from outside the installed workspace (Slack Connect
strangers) before anything else happens, and `turn.credential()` serves guests only with their
own Flexmls connection, never with the workspace token.

Slow Flexmls: inside `guard()` the work runs under the turn's `patience` (handlers.patience).
With no answer after `notice_after` (3 s) the turn shows one notice, "Still asking Flexmls…",
and the answer takes its place when it comes; after `deadline` (15 s) the work is cancelled and
the user reads "Flexmls is taking too long". A turn shows at most one notice: this one or
"retrying" (`on_retry`), whichever comes first. Where the notice goes and how the answer
replaces it depends on what Slack allows on the surface (`Notice`, `notice_for`):

- slash command: the notice is a new ephemeral reply at the response URL; the answer is sent
  there with `replace_original` (Slack may post it below instead: a slash command's response
  URL can't reliably replace its own earlier reply, and `delete_original` isn't supported);
- click on an ephemeral message (a card, a page, a picker): the notice takes the clicked
  message's place and the answer takes the notice's (the click's own response URL, which can
  replace ephemeral messages); an answer posted as a new message deletes the notice;
- click on a public message (a digest, a shared card): the notice is a new ephemeral message,
  never in place of the public one;
- DM (`posted_notice`): the notice is a message; the answer is posted as a new message (its
  `text` is the phone notification, which `chat.update` would not send) and the notice deleted;
- mention: the reply is ephemeral (chat.postEphemeral), which Slack can neither update nor
  delete, so the notice stays and the answer follows it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from blocks.waiting import still_asking, taking_too_long
from handlers.patience import DeadlinePassed, Patience, Sleep, watched
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
PATIENCE = Patience()  # every turn's unless it is given its own (tests shorten it)

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


@dataclass(frozen=True)
class Ephemeral:
    """A reply through the response URL that only the asker sees; `replace`: in place of the
    message the response URL belongs to (the clicked one, or the command's earlier reply)."""

    respond: AsyncRespond
    replace: bool = False

    async def __call__(self, message: Message) -> None:
        await reply_via(
            self.respond, message, response_type="ephemeral", replace_original=self.replace
        )


def ephemeral(respond: AsyncRespond, *, replace: bool = False) -> Reply:
    """A reply through the response URL that only the asker sees."""
    return Ephemeral(respond, replace)


@dataclass(frozen=True)
class Notice:
    """Where a turn's one "please wait" notice goes, and how the answer takes its place.

    `show` posts the notice; `replace` posts a message in its place (None: the surface can't,
    so the answer goes where it would have gone); `remove` takes the notice away after an
    answer went elsewhere (None: it stays).
    """

    show: Reply
    replace: Reply | None = None
    remove: Callable[[], Awaitable[None]] | None = None


def posted_notice(client: AsyncWebClient, channel: str, thread_ts: str | None = None) -> Notice:
    """A notice posted as a message (in a DM): deleted once the answer has been posted."""
    where: dict[str, str] = {}

    async def show(message: Message) -> None:
        posted = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **message.as_kwargs()
        )
        where.update(channel=str(posted.get("channel") or channel), ts=str(posted["ts"]))

    async def remove() -> None:
        if where:
            await client.chat_delete(channel=where["channel"], ts=where["ts"])

    return Notice(show, remove=remove)


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
    # Slow Flexmls: where the notice goes (None: derived from the surface, see `notice_for`),
    # when it shows and when the work is given up, and the sleep the timers use.
    notice: Notice | None = field(default=None, kw_only=True)
    patience: Patience = field(default_factory=lambda: PATIENCE, kw_only=True)
    sleep: Sleep = field(default=asyncio.sleep, kw_only=True, repr=False)
    _credential: Credential | None = field(default=None, repr=False)
    _answered: bool = field(default=False, init=False, repr=False)  # an answer is on its way
    _notice_used: bool = field(default=False, init=False, repr=False)  # one notice per turn
    _showing: Notice | None = field(default=None, init=False, repr=False)  # on screen now
    _slot: Notice | None = field(default=None, init=False, repr=False)
    _notice_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

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
        respond = self.respond

        async def public(message: Message) -> None:
            await reply_via(respond, message, response_type="in_channel", replace_original=False)

        await self._answer(public, message, in_place=False)

    async def post_privately(self, message: Message, *, replace: bool = False) -> None:
        """A private message for the asker: new, or (`replace`) in place of the clicked one."""
        if self.respond is None:
            await self.reply(message)
            return
        await self._answer(Ephemeral(self.respond, replace), message)

    async def on_retry(self, error: SparkError, delay: float) -> None:
        """Tell the user once when Flexmls makes us wait noticeably."""
        if delay >= NOTICE_THRESHOLD_S:
            await self._show_notice(retrying_notice(math.ceil(delay)))

    # -- the notice while Flexmls is slow --------------------------------------------------------

    def notice_for(self, reply: Reply, notify: Reply) -> Notice:
        """Where this turn's notice goes (the module docstring says why, surface by surface)."""
        if self.notice is not None:
            return self.notice
        if self.respond is not None:  # a click
            if self.in_ephemeral:  # the asker's own message: the notice may take its place
                here = Ephemeral(self.respond, replace=True)
                return Notice(here, here, self._delete_clicked)
            return Notice(notify)  # a public message is never replaced by a notice
        if isinstance(notify, Ephemeral) and not notify.replace:  # a slash command
            return Notice(notify, Ephemeral(notify.respond, replace=True))
        return Notice(notify)

    async def _delete_clicked(self) -> None:
        assert self.respond is not None
        response = await self.respond(delete_original=True)
        if getattr(response, "status_code", 200) >= 400:
            self.logger.warning("Slack refused to delete a notice (HTTP %s)", response.status_code)

    async def _show_notice(self, message: Message) -> None:
        """Show `message` as the turn's one notice, unless an answer or a notice came first."""
        async with self._notice_lock:
            if self._answered or self._notice_used:
                return
            self._notice_used = True
            notice = self._slot or self.notice_for(self.reply, self.notify)
            try:
                await notice.show(message)
            except Exception as error:  # a notice is a courtesy: never fail the work for it
                self.logger.warning("Could not post a notice (%s)", type(error).__name__)
                return
            self._showing = notice

    async def _answer(self, send: Reply, message: Message, *, in_place: bool = True) -> None:
        """Deliver `message` with `send`, or in place of the notice on screen."""
        self._answered = True
        async with self._notice_lock:  # a notice being posted finishes first
            notice, self._showing = self._showing, None
        if notice is None:
            await send(message)
        elif in_place and notice.replace is not None:
            await notice.replace(message)
        else:
            await send(message)
            if notice.remove is not None:
                try:
                    await notice.remove()
                except Exception as error:
                    self.logger.warning("Could not remove a notice (%s)", type(error).__name__)

    def _answering(self, send: Reply) -> Reply:
        async def answer(message: Message) -> None:
            await self._answer(send, message)

        return answer

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
        budget before the user is told "Flexmls is busy" (spark.budget). The work runs under
        the turn's `patience`: a notice when slow, cancelled at the deadline (module docstring).
        """
        owner = f"{self.team_id}:{self.user_id}"
        replies = self.reply, self.notify
        self._slot = self.notice_for(*replies)
        # While the work runs, every reply first takes the place of a notice on screen.
        self.reply, self.notify = (self._answering(send) for send in replies)
        try:
            with working_as(self.priority, owner, max_wait=INTERACTIVE_MAX_WAIT):
                async with self._net(), self._watch(), self.asker.admission:
                    yield
        finally:
            self.reply, self.notify = replies

    def _watch(self) -> AbstractAsyncContextManager[None]:
        async def slow() -> None:
            await self._show_notice(still_asking())

        return watched(
            self.patience, on_slow=slow, answered=lambda: self._answered, sleep=self.sleep
        )

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
        except DeadlinePassed as late:
            self.logger.warning("No answer within %g s; the request was given up", late.seconds)
            await self._tell(taking_too_long(late.seconds))
        except SparkError as error:
            workspace = self._credential is not None and self._credential.workspace
            self.logger.warning("Spark error for a request: %s", error)
            await self._tell(spark_problem(error, workspace_token=workspace))
        except Exception:
            self.logger.exception("Unexpected error while answering a request")
            await self._tell(internal_error())
