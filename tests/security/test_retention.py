"""Trust, item 6: stored records don't grow forever, and a disconnected agent's digests stop.

The retention periods are enforced by the running bot (a daily background job, checked here on
a real `python bot.py serve` process) and by `python bot.py digest --now`; `/activity
disconnect` pauses the agent's digests and says so, and connecting again resumes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
import urllib.parse
from pathlib import Path

import httpx
import pytest
from sqlite_utils import Database

from activity.digests import run_pass
from devtools.sandbox import DEMO_TOKEN, Sandbox
from devtools.slack_standin import FORM_CONTENT_TYPE, SlackStandin
from devtools.slack_standin.messages import texts
from handlers.poster import SlackPoster
from modes import digest_now
from storage import (
    Counters,
    add_subscription,
    all_subscriptions,
    cache_contact_query,
    complete_delivery,
    first_time_seen,
    open_database,
    record_lookup,
    record_snapshot,
    save_oauth_state,
)
from tests.helpers.stack import OAUTH_ENV, button, env_for, free_port

ROOT = Path(__file__).resolve().parents[2]
TEAM, AGENT = "T0STANDIN", "U0AGENT1"
COUNTERS = Counters(1, 1, 1, 1, 1, 1)


def seed(db: Database, now: dt.datetime, *, label: str, age: dt.timedelta) -> None:
    """One record of every pruned kind, `age` old (the subscription itself is never pruned)."""
    then = now - age
    first_time_seen(db, f"E-{label}", then)
    save_oauth_state(db, f"state-{label}", TEAM, AGENT, then + dt.timedelta(minutes=10))
    cache_contact_query(
        db, team_id=TEAM, user_id=AGENT, query=label, contact_id=f"C-{label}", now=then
    )
    record_lookup(
        db,
        team_id=TEAM,
        user_id=AGENT,
        contact_id=f"C-{label}",
        display_name=label,
        query=label,
        now=then,
    )
    record_snapshot(db, contact_id=f"C-{label}", day=then.date(), counters=COUNTERS, now=then)
    sub = add_subscription(
        db,
        team_id=TEAM,
        user_id=f"U-{label}",
        channel_id="C0NONE",
        local_time="23:59",
        timezone="UTC",
        scope="recent",
        now=then,
    )
    complete_delivery(
        db,
        sub.id,
        then.date(),
        then,
        message_ts=None,
        late=False,
        failed_contacts=0,
        outcome="skipped",
    )


def remaining(db: Database) -> dict[str, list[str]]:
    queries = {
        "slack_events": "SELECT event_id FROM slack_events",
        "oauth_states": "SELECT state_id FROM oauth_states",
        "contact_cache": "SELECT query FROM contact_cache",
        "recent_lookups": "SELECT contact_id FROM recent_lookups",
        "snapshots": "SELECT contact_id FROM activity_snapshots",
        "deliveries": "SELECT s.user_id FROM digest_deliveries d"
        " JOIN digest_subscriptions s ON s.id = d.subscription_id",
    }
    return {name: sorted(row[0] for row in db.execute(sql)) for name, sql in queries.items()}


# -- digest --now --------------------------------------------------------------------------------


async def test_digest_now_prunes_what_is_past_its_retention(stack, capsys):
    db = stack.bot.services.db
    now = dt.datetime.now(dt.UTC)  # `digest --now` runs on the real clock
    seed(db, now, label="stale", age=dt.timedelta(days=500))
    seed(db, now, label="fresh", age=dt.timedelta(minutes=1))

    assert await digest_now(stack.bot.services.settings) == 0

    assert remaining(db) == {
        "slack_events": ["E-fresh"],
        "oauth_states": ["state-fresh"],
        "contact_cache": ["fresh"],
        "recent_lookups": ["C-fresh"],
        "snapshots": ["C-fresh"],
        "deliveries": ["U-fresh"],
    }
    assert "Digests:" in capsys.readouterr().out


# -- the running bot -----------------------------------------------------------------------------


async def wait_until(check, *, timeout: float, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert process.returncode is None, "the bot exited"
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_the_running_bot_prunes_at_start_and_then_daily(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(
            sandbox, slack, tmp_path, HOST="127.0.0.1", PORT=str(free_port()), LOG_LEVEL="INFO"
        )
        db = open_database(env["DATABASE_PATH"])
        now = dt.datetime.now(dt.UTC)
        seed(db, now, label="stale", age=dt.timedelta(days=500))
        seed(db, now, label="fresh", age=dt.timedelta(minutes=1))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            "serve",
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await wait_until(
                lambda: remaining(db)["slack_events"] == ["E-fresh"], timeout=60, process=process
            )
            assert remaining(db) == {
                "slack_events": ["E-fresh"],
                "oauth_states": ["state-fresh"],
                "contact_cache": ["fresh"],
                "recent_lookups": ["C-fresh"],
                "snapshots": ["C-fresh"],
                "deliveries": ["U-fresh"],
            }
        finally:
            if process.returncode is None:
                process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
            db.close()
        assert "Retention: pruned 6 records" in stderr.decode()


# -- disconnect pauses digests -------------------------------------------------------------------


def submission_body(token_text: str, view_id: str) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "standin"},
        "user": {"id": AGENT, "team_id": TEAM, "username": "agent"},
        "api_app_id": "A0ACTIVITY",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": view_id, "type": "modal", "callback_id": "connect_token", "team_id": TEAM,
            "state": {"values": {"token_input": {"token": {"type": "plain_text_input", "value": token_text}}}},
        },
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def paste(stack, token: str) -> httpx.Response:
    prompt = await stack.reply_to(
        (await stack.sender.command("connect", user_id=AGENT)).response_url
    )
    paste_button = button(prompt, "connect_paste")
    opened, updated = len(stack.slack.calls("views.open")), len(stack.slack.calls("views.update"))
    await stack.sender.action(
        paste_button["action_id"], paste_button["value"], user_id=AGENT, trigger_id="1337.42.abcd"
    )
    await stack.slack.wait_for_count(lambda r: r.method == "views.open", opened + 1)
    view_id = stack.slack.views()[-1]["id"]
    ack = await stack.sender.post(submission_body(token, view_id), FORM_CONTENT_TYPE)
    await stack.slack.wait_for_count(lambda r: r.method == "views.update", updated + 1)
    return ack


def posted_to(stack, channel: str) -> list[dict]:
    return [
        r.body for r in stack.slack.calls("chat.postMessage") if r.body.get("channel") == channel
    ]


async def run_digests(stack):
    services = stack.bot.services
    return await run_pass(services, SlackPoster(stack.bot.bot_client, services))


@pytest.mark.parametrize("bot_env", [OAUTH_ENV])
async def test_disconnect_pauses_the_digests_and_says_so_and_connecting_resumes_them(
    stack, bot_env
):
    await paste(stack, DEMO_TOKEN)
    await stack.reply_to((await stack.sender.command("janet doe", user_id=AGENT)).response_url)
    services = stack.bot.services
    for channel in ("C0SALES", "C0TEAM"):
        add_subscription(
            services.db,
            team_id=TEAM,
            user_id=AGENT,
            channel_id=channel,
            local_time="15:30",
            timezone="UTC",
            scope="recent",
            now=stack.clock(),
        )

    reply = texts(
        await stack.reply_to((await stack.sender.command("disconnect", user_id=AGENT)).response_url)
    )
    assert "Disconnected" in reply and "2 digests paused" in reply
    assert all(s.paused for s in all_subscriptions(services.db))

    stack.clock.advance(hours=1)  # 16:00 UTC: both digests are due
    posts_before = len(stack.slack.calls("chat.postMessage"))
    report = await run_digests(stack)
    assert report.due == 0 and report.skipped == 0
    assert len(stack.slack.calls("chat.postMessage")) == posts_before  # no digest, no DM

    await paste(stack, DEMO_TOKEN)
    assert not any(s.paused for s in all_subscriptions(services.db))
    report = await run_digests(stack)
    assert report.posted == 2, report.summary()
    assert len(posted_to(stack, "C0SALES")) == 1
