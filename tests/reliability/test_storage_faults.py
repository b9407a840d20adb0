"""Storage under stress: a locked database, a process killed mid digest pass, integrity after."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from devtools.sandbox import DEMO_TOKEN, Sandbox
from devtools.slack_standin import SlackStandin
from devtools.slack_standin.messages import texts
from storage import add_subscription, open_database, recent_lookups
from tests.fixtures.stack import e2e_stack  # noqa: F401  (the plain e2e `stack`)

ROOT = Path(__file__).resolve().parents[2]


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


async def test_a_database_locked_by_another_writer_for_seconds_loses_no_lookup(stack, tmp_path):
    path = tmp_path / "activity.db"
    locked = threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(path, timeout=5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('Ev-lock', 'x')")
        locked.set()
        threading.Event().wait(2.0)  # another process holds the write lock for 2 s
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    sent = await stack.sender.command("janet doe")
    assert sent.response.status_code == 200
    card = await stack.reply_to(sent.response_url, timeout=10)
    await asyncio.to_thread(holder.join, 10)
    assert card["blocks"][0]["text"]["text"] == "Janet Doe"
    services = stack.bot.services
    assert [r.display_name for r in recent_lookups(services.db, "T0STANDIN", "U0AGENT1")] == [
        "Janet Doe"
    ]
    assert integrity(path) == "ok"


async def run_digest_now(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        "digest",
        "--now",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


async def test_a_process_killed_mid_digest_pass_posts_exactly_once_after_restart(tmp_path):
    db_path = tmp_path / "data" / "activity.db"
    async with Sandbox(latency_ms=150) as sandbox, SlackStandin() as slack:
        db = open_database(db_path)
        add_subscription(
            db,
            team_id="T0STANDIN",
            user_id="U0AGENT1",
            channel_id="C0DIGEST",
            local_time="00:00",
            timezone="UTC",
            scope="all",
            now=dt.datetime.now(dt.UTC),
        )
        db.close()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url,
            "SPARK_API_URL": sandbox.url, "SPARK_ACCESS_TOKEN": DEMO_TOKEN,
            "DATABASE_PATH": str(db_path), "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        first = await run_digest_now(env, tmp_path)
        # Let it read a good part of the book (300 contacts at 150 ms each, 16 at a time)...
        for _ in range(200):
            if sum(r.path.endswith("/activity") for r in sandbox.requests) >= 40:
                break
            await asyncio.sleep(0.05)
        assert first.returncode is None, "the pass finished before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)  # ...then kill it without warning
        await first.wait()
        assert slack.calls("chat.postMessage") == []
        assert integrity(db_path) == "ok"

        second = await run_digest_now(env, tmp_path)
        out, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 0, err.decode()
        assert "1 posted" in out.decode()
        third = await run_digest_now(env, tmp_path)
        out, _ = await asyncio.wait_for(third.communicate(), 60)
        assert "0 due" in out.decode()
        posts = [r for r in slack.calls("chat.postMessage") if r.body.get("channel") == "C0DIGEST"]
        assert len(posts) == 1
        assert "Morning digest" in texts(posts[0].body)
        assert integrity(db_path) == "ok"
