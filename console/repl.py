"""`python bot.py console [--demo]`: talk to the real bot from a terminal, like Hubot's shell.

The console starts the bot exactly as `serve` does (HTTP mode, same handlers and blocks) next to
a stand-in Slack on 127.0.0.1, then turns each line you type into the signed request Slack
would send: `/activity jane` → a slash command, `@bot jane` → an app mention, a number → a
click on that button of the last reply. Whatever the bot posts back (to the response URL or
the Web API) is rendered in the terminal. Piped stdin works: replies are printed and the
console exits at end of input. `--demo` also starts the Spark sandbox in-process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from activity.alerts import AlertPoster
from activity.services import Services
from console import alert_demo
from console.demo import HISTORY_DAYS, demo_hint, seed_history
from console.render import ConsoleButton, Reader, render_message
from console.views import OpenModal, input_fields, render_view, submission_body
from devtools.slack_standin import FORM_CONTENT_TYPE, Received, SlackSender, SlackStandin
from devtools.slack_standin.requests import new_trigger_id
from runtime import open_services, start_http
from settings import Settings

if TYPE_CHECKING:
    from devtools.sandbox import Sandbox

CONSOLE_USER = "U0CONSOLE"
CONSOLE_CHANNEL = "C0CONSOLE"
CONSOLE_TZ = "America/Denver"  # the console user's Slack zone (users.info `tz`)
FIRST_REPLY_TIMEOUT_S = 45.0  # Spark may rate-limit us for a while; the bot says so first
QUIET_S = 0.3
MENTION_PREFIXES = ("@bot", "@activity")


VIEW_METHODS = ("views.open", "views.update", "views.push")


def _utc_now() -> datetime:
    return datetime.now(ZoneInfo("UTC"))


def _is_reply(record: Received) -> bool:
    return record.kind == "response" or record.method in (
        "chat.postEphemeral", "chat.postMessage", *VIEW_METHODS,
    )  # fmt: skip


class ConsoleSession:
    def __init__(
        self,
        sender: SlackSender,
        slack: SlackStandin,
        out: Console,
        *,
        hint: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sender = sender
        self.slack = slack
        self.out = out
        self.clock = clock or _utc_now
        self.hint = hint  # shown after `help` (the demo's contacts worth trying)
        self.buttons: list[ConsoleButton] = []
        self.modal: OpenModal | None = None  # a modal waiting for what the user types
        self._busy = asyncio.Lock()  # a typed line being answered
        self._shown = 0  # records of the stand-in already dealt with

    async def handle(self, line: str) -> None:
        async with self._busy:
            await self._handle(line)
            self._shown = len(self.slack.received)

    async def follow_direct_messages(self) -> None:
        """Print what the bot sends on its own between typed lines (the alert DM, and its
        updates), as Slack would show a new or edited message."""
        while True:
            try:
                await self.slack.wait_for(
                    lambda r: _unprompted(r) and self._index(r) >= self._shown, timeout=3600
                )
            except TimeoutError:
                continue
            async with self._busy:
                new = self.slack.received[self._shown :]
                self._shown = len(self.slack.received)
                for record in new:
                    if _unprompted(record):
                        self._render(record)

    async def _handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        seen = len(self.slack.received)
        if self.modal is not None:
            if not await self._answer_modal(self.modal, text):
                return
        elif text.isascii() and text.isdigit():  # a number presses a button, never a search
            if not await self._click(int(text)):
                return
        elif text.lower().startswith(MENTION_PREFIXES):
            rest = text.split(" ", 1)[1] if " " in text else ""
            event = {"type": "app_mention", "user": CONSOLE_USER, "channel": CONSOLE_CHANNEL,
                     "text": f"<@{self.sender.bot_user_id}> {rest}", "ts": _ts()}  # fmt: skip
            await self.sender.event(event)
        else:
            command = text[len("/activity") :] if text.lower().startswith("/activity") else text
            await self.sender.command(link_channels(command.strip()))
        await self._show_replies(seen)
        if self.hint and text.lower().removeprefix("/activity").strip() == "help":
            self.out.print(self.hint)
            self.out.print()

    async def _click(self, number: int) -> bool:
        chosen = next((b for b in self.buttons if b.number == number), None)
        if chosen is None or chosen.action_id is None:
            choose = f"; choose 1 to {len(self.buttons)}." if self.buttons else " here."
            self.out.print(f"There's no button {number}{choose}")
            return False
        if chosen.confirm:  # Slack asks first; the console answers with the first choice
            self.out.print(f"[dim](Slack asks: {chosen.confirm} → confirmed)[/dim]")
        await self.sender.action(
            chosen.action_id, chosen.value or "", block_id=chosen.block_id or "b1",
            trigger_id=new_trigger_id(),
        )  # fmt: skip
        return True

    async def _answer_modal(self, modal: OpenModal, text: str) -> bool:
        """Submit the open modal with `text` as its (first) input, as Slack would."""
        self.modal = None
        if text.lower() == "cancel":
            self.out.print("[dim](modal closed)[/dim]")
            return False
        body = submission_body(modal, [text] * len(modal.fields), user_id=CONSOLE_USER,
                               team_id=self.sender.team_id, app_id=self.sender.api_app_id)  # fmt: skip
        ack = await self.sender.post(body, FORM_CONTENT_TYPE)
        answer = ack.json() if ack.content else {}
        if answer.get("response_action") in ("update", "push") and answer.get("view"):
            self._show_view(modal.view_id, answer["view"])
        elif answer.get("response_action") == "errors":
            for problem in (answer.get("errors") or {}).values():
                self.out.print(f"[red]{problem}[/red]")
            self.modal = modal  # Slack keeps the modal open for another try
        return True

    async def _show_replies(self, seen: int) -> None:
        try:
            await self.slack.wait_for(
                lambda r: _is_reply(r) and self._index(r) >= seen, timeout=FIRST_REPLY_TIMEOUT_S
            )
        except TimeoutError:
            self.out.print("[dim](no reply)[/dim]")
            return
        shown = seen
        while True:
            replies = [r for r in self.slack.received[shown:] if _is_reply(r)]
            shown = len(self.slack.received)
            for reply in replies:
                self._render(reply)
            waiting_on_retry = bool(replies) and "retrying" in (replies[-1].body.get("text") or "")
            try:
                await self.slack.wait_for(
                    lambda r, after=shown: _is_reply(r) and self._index(r) >= after,
                    timeout=FIRST_REPLY_TIMEOUT_S if waiting_on_retry else QUIET_S,
                )
            except TimeoutError:
                return

    def _index(self, record: Received) -> int:
        received = self.slack.received
        for index in range(len(received) - 1, -1, -1):
            if received[index] is record:
                return index
        return -1

    def reader(self) -> Reader:
        """The console user as Slack knows them: `<!date>` tokens show in their zone."""
        return Reader(ZoneInfo(CONSOLE_TZ), self.clock())

    def _show_view(self, view_id: str, view: dict[str, Any]) -> None:
        self.out.print(render_view(view, self.reader()))
        fields = input_fields(view)
        self.modal = OpenModal(view_id, view, fields) if fields else None
        self.out.print()

    def _render(self, reply: Received) -> None:
        if reply.method in VIEW_METHODS:
            stored = (
                self.slack.view(reply.body.get("view_id") or "") or (self.slack.views() or [{}])[-1]
            )
            self._show_view(stored.get("id", ""), stored)
            return
        body = reply.body
        channel = str(body.get("channel") or "")
        if reply.method == "chat.update":
            self.out.print("[dim](the bot updated its direct message)[/dim]")
        elif reply.method == "chat.postMessage" and (channel == CONSOLE_USER or channel[:1] == "D"):
            self.out.print("[dim](a direct message from the bot)[/dim]")
        elif body.get("response_type") == "in_channel" or reply.method == "chat.postMessage":
            self.out.print("[dim](posted to the channel)[/dim]")
        rendered = render_message(
            body.get("text") or "", body.get("blocks") or [], reader=self.reader()
        )
        self.out.print(rendered)
        if rendered.buttons:
            self.buttons = rendered.buttons
        self.out.print()


def _unprompted(record: Received) -> bool:
    """A message the bot sends without being asked: a DM to the console user, or an edit."""
    channel = str(record.body.get("channel") or "")
    direct = channel == CONSOLE_USER or channel[:1] == "D"
    return record.method in ("chat.postMessage", "chat.update") and direct


CHANNEL_NAME = re.compile(r"(?<![\w<|#])#([a-z0-9][a-z0-9_-]{0,79})\b")


def link_channels(text: str) -> str:
    """`#general` as Slack sends it once picked from the suggestions: `<#C0GENERAL|general>`."""
    return CHANNEL_NAME.sub(lambda m: f"<#C0{m.group(1).upper()}|{m.group(1)}>", text)


def _ts() -> str:
    return f"{time.time():.6f}"


async def _start_demo_sandbox(
    stack: AsyncExitStack, settings: Settings, out: Console
) -> tuple[Settings, Sandbox]:
    """Start the Spark sandbox in-process; the demo keeps its own database and key, apart
    from a real installation's."""
    from devtools.sandbox import DEMO_TOKEN, Sandbox

    sandbox = await stack.enter_async_context(Sandbox())
    out.print(f"[dim]Spark sandbox (demo brokerage) at {sandbox.url}[/dim]")
    demo_settings = dataclasses.replace(
        alert_demo.demo_settings(settings),
        spark_api_url=sandbox.url,
        spark_access_token=DEMO_TOKEN,
        database_path=settings.data_dir / "demo" / "activity.db",
        token_encryption_key=None,
    )
    return demo_settings, sandbox


def _give_demo_history(services: Services, sandbox: Sandbox, out: Console) -> None:
    from devtools.sandbox import DEMO_ACCOUNT_ID

    state = sandbox.state
    written = seed_history(services.db, state.brokerage, DEMO_ACCOUNT_ID, services.clock().date())
    if written:
        out.print(
            f"[dim]Demo history: {HISTORY_DAYS} days of snapshots for the demo contacts[/dim]"
        )


async def _read_lines(
    session: ConsoleSession, stdin: TextIO, out: Console, *, interactive: bool
) -> int:
    """Hand each typed line to the session until end of input or `quit`."""
    while True:
        if interactive:
            out.print("[bold]>[/bold] ", end="")
        line = await asyncio.to_thread(stdin.readline)
        if not line or line.strip().lower() in ("quit", "exit"):
            return 0
        await session.handle(line)


async def _start_alert_demo(
    services: Services,
    poster: AlertPoster,
    sandbox: Sandbox,
    session: ConsoleSession,
    after_s: float,
) -> list[asyncio.Task[None]]:
    """The demo contact becomes active in `after_s`; the poller and the DM follower run. If the
    alert can't be set up, one line says why and the console carries on without it."""
    try:
        watched = await alert_demo.prepare(services, sandbox, session.sender.team_id, CONSOLE_USER)
    except Exception as error:  # the demo must start whatever an earlier run left behind
        session.out.print(alert_demo.why_not(error))
        return []
    session.out.print(alert_demo.welcome_line(sandbox, after_s))
    tasks = alert_demo.start(services, poster, sandbox, watched, after_s)
    return [*tasks, asyncio.create_task(session.follow_direct_messages())]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_console(
    settings: Settings,
    *,
    demo: bool = False,
    stdin: TextIO | None = None,
    out: Console | None = None,
    alert_poster: alert_demo.PosterFactory | None = None,
    active_after_s: float = alert_demo.ACTIVE_AFTER_S,
) -> int:
    """With `demo` and `alert_poster` (modes passes `SlackAlertPoster`), the demo's alert runs
    too (`console.alert_demo`)."""
    stdin = stdin or sys.stdin
    out = out or Console(highlight=False, soft_wrap=False)
    interactive = stdin.isatty()
    async with AsyncExitStack() as stack:
        sandbox = None
        if demo:
            settings, sandbox = await _start_demo_sandbox(stack, settings, out)
        if not settings.spark_access_token:
            out.print("No Spark token: set SPARK_ACCESS_TOKEN in .env, or run with --demo.")
            return 2
        slack = await stack.enter_async_context(SlackStandin())
        slack.set_user(CONSOLE_USER, name="you", real_name="You (console)", tz=CONSOLE_TZ)
        secret = secrets.token_hex(16)
        settings = dataclasses.replace(
            settings,
            slack_bot_token=slack.bot_token,
            slack_signing_secret=secret,
            slack_api_url=slack.api_url,
            slack_app_token=None,
        )
        services = await stack.enter_async_context(open_services(settings))
        if sandbox is not None:
            _give_demo_history(services, sandbox, out)
        bot = await start_http(services, host="127.0.0.1", port=0)
        stack.push_async_callback(bot.stop)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        sender = SlackSender(
            http,
            f"{bot.url}/slack/events",
            secret,
            standin=slack,
            user_id=CONSOLE_USER,
            channel_id=CONSOLE_CHANNEL,
        )
        session = ConsoleSession(
            sender, slack, out, hint=demo_hint() if demo else None, clock=services.clock
        )
        if sandbox is not None and alert_poster is not None:
            poster = alert_poster(bot.bot_client, services)
            tasks = await _start_alert_demo(services, poster, sandbox, session, active_after_s)
            stack.push_async_callback(_stop, tasks)
        if interactive:
            out.print(
                "Type [bold]/activity jane doe[/bold], [bold]@bot jane[/bold] or "
                "[bold]help[/bold]; a number clicks a button; Ctrl-D quits."
            )
        return await _read_lines(session, stdin, out, interactive=interactive)
