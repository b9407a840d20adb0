"""The demo's "Active now" alert: the watched demo contact heats up, the real poller DMs the
console user, the DM renders as a DM and its buttons click; `watch`, `alerts`, `unwatch` work."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import queue
from types import SimpleNamespace

from rich.console import Console

from activity.alerts import MAX_WATCHES, TooManyWatches
from console import alert_demo
from console.alert_demo import DEMO_POLL_S, demo_settings, welcome_line
from console.repl import run_console
from devtools.sandbox.data import cached_brokerage
from handlers.alerts import SlackAlertPoster
from settings import load_settings
from storage import open_database
from storage.alerts import (
    AlertSettings,
    active_watches,
    add_watch,
    agent_pause,
    alert_settings,
    pause_agent,
    save_alert_settings,
    snooze_watch,
)


class TypedLines(io.TextIOBase):
    """A stdin the test types into while the console runs (readline waits for a line)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self.lines.put(line + "\n")

    def close_input(self) -> None:
        self.lines.put("")

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return self.lines.get(timeout=60)

    def isatty(self) -> bool:
        return False


async def shown_after(out: Console, mark: int, text: str, timeout: float = 30.0) -> str:
    """What the console printed after `mark`, once it contains `text`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        shown = out.file.getvalue()[mark:]
        if text in shown:
            return shown
        if loop.time() > deadline:
            raise AssertionError(f"{text!r} not shown; got:\n{shown}")
        await asyncio.sleep(0.05)


def test_the_demo_polls_every_few_seconds():
    settings = demo_settings(load_settings({"ALERTS_ENABLED": "false"}))
    assert settings.alerts_enabled and settings.alert_poll_min_s == DEMO_POLL_S <= 10


async def test_the_demo_contact_becomes_active_and_the_dm_shows_in_the_console(tmp_path):
    out = Console(file=io.StringIO(), width=120, highlight=False)
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "activity.db")})
    stdin = TypedLines()
    console = asyncio.create_task(
        run_console(
            settings,
            demo=True,
            stdin=stdin,
            out=out,
            alert_poster=SlackAlertPoster,
            active_after_s=1.0,
        )  # fmt: skip
    )
    welcome = await shown_after(out, 0, "Active now")
    assert "You watch Zoë O'Brien. In 1 second she views 5 listings" in welcome

    stdin.type("watch")
    listed = await shown_after(out, 0, "Who you watch")
    assert "Zoë O'Brien" in listed

    dm = await shown_after(out, 0, "is active now")
    assert "(a direct message from the bot)" in dm
    assert "Zoë O'Brien is active now: viewed 5 listings in the last" in dm
    assert "Newest viewed" in dm and "$" in dm  # the newest listings, from the sandbox
    assert "Card" in dm and "Stop watching" in dm

    mark = len(out.file.getvalue())
    stdin.type("1")  # the DM's first button: Card
    card = await shown_after(out, mark, "Zoë O'Brien")
    assert "is active now" not in card  # a new private card, not the DM again

    mark = len(out.file.getvalue())
    stdin.type("alerts")
    assert "Quiet hours: off" in await shown_after(out, mark, "Quiet hours")

    mark = len(out.file.getvalue())
    stdin.type("unwatch zoë")
    assert "Stopped watching Zoë O'Brien" in await shown_after(out, mark, "Stopped")
    stdin.close_input()
    assert await asyncio.wait_for(console, 30) == 0
    db = open_database(tmp_path / "demo" / "activity.db")
    assert active_watches(db, "T0STANDIN", "U0CONSOLE") == []
    assert db["alert_deliveries"].count == 1  # one DM


def leftovers_of_earlier_runs(path) -> None:
    """What earlier demo runs can leave: alerts off, a higher threshold, Zoë snoozed, the
    polling paused, and 50 other watches (the cap)."""
    db = open_database(path)
    now = dt.datetime.now(dt.UTC)
    team, user = "T0STANDIN", "U0CONSOLE"
    off = AlertSettings(enabled=False, threshold=6)
    save_alert_settings(db, team, user, off, now=now)
    zoe = cached_brokerage().notable["zoe_obrien"]
    for contact_id, name in [(zoe.id, zoe.display_name)] + [
        (f"X{n:03d}", f"Other {n}") for n in range(MAX_WATCHES)
    ]:
        add_watch(db, team_id=team, user_id=user, contact_id=contact_id, display_name=name,
                  access="workspace", now=now)  # fmt: skip
    snooze_watch(db, team, user, zoe.id, now + dt.timedelta(days=30))
    pause_agent(db, team, user, token_key="old", reason="token revoked", now=now)
    db.close()


async def test_each_run_starts_the_demo_users_alerts_afresh(tmp_path):
    (tmp_path / "demo").mkdir()
    leftovers_of_earlier_runs(tmp_path / "demo" / "activity.db")
    out = Console(file=io.StringIO(), width=120, highlight=False)
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "activity.db")})
    stdin = TypedLines()
    console = asyncio.create_task(
        run_console(
            settings,
            demo=True,
            stdin=stdin,
            out=out,
            alert_poster=SlackAlertPoster,
            active_after_s=1.0,
        )  # fmt: skip
    )
    dm = await shown_after(out, 0, "is active now")
    assert "Zoë O'Brien is active now: viewed 5 listings" in dm
    assert "Views counted since" in dm and "UTC" not in dm  # times in the user's zone
    mark = len(out.file.getvalue())
    stdin.type("alerts")
    settings_shown = await shown_after(out, mark, "Quiet hours")
    stdin.close_input()
    assert await asyncio.wait_for(console, 30) == 0
    assert "Quiet hours: off" in settings_shown
    db = open_database(tmp_path / "demo" / "activity.db")
    assert [w.display_name for w in active_watches(db, "T0STANDIN", "U0CONSOLE")] == ["Zoë O'Brien"]
    assert agent_pause(db, "T0STANDIN", "U0CONSOLE") is None
    assert alert_settings(db, "T0STANDIN", "U0CONSOLE") == AlertSettings(
        quiet_start=None, quiet_end=None
    )


async def test_a_demo_alert_that_cannot_be_set_up_is_one_line_not_a_crash(tmp_path, monkeypatch):
    async def refused(*args: object, **kwargs: object) -> None:
        raise TooManyWatches

    monkeypatch.setattr(alert_demo, "watch", refused)
    out = Console(file=io.StringIO(), width=200, highlight=False)
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "activity.db")})
    stdin = io.StringIO("watch\n")
    code = await run_console(
        settings, demo=True, stdin=stdin, out=out, alert_poster=SlackAlertPoster
    )
    shown = out.file.getvalue()
    assert code == 0
    assert "The demo's “Active now” alert is off this time (TooManyWatches)" in shown
    assert "You watch Zoë" not in shown  # no promise of a DM that won't come
    assert "(no reply)" not in shown and "Traceback" not in shown


def test_the_welcome_suggests_unwatching_only_after_the_dm():
    sandbox = SimpleNamespace(state=SimpleNamespace(brokerage=cached_brokerage()))
    welcome = welcome_line(sandbox)  # type: ignore[arg-type]
    assert "`unwatch zoë` once it has come" in welcome
    assert welcome.index("unwatch") > welcome.index("“Active now” DM")
