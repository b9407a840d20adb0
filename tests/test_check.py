"""`python bot.py check` against the Spark sandbox and the stand-in Slack.

Each configuration is checked for the rows it prints, the exit code, and the number of
requests the sandbox saw (the check may spend at most ~15).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rich.console import Console

from devtools.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, NO_ROLE_TOKEN, Sandbox
from devtools.sandbox.server import SandboxThread
from devtools.slack_standin import SlackStandin
from devtools.slack_standin.server import DEFAULT_APP_TOKEN, DEFAULT_SCOPES, SlackStandinThread
from settings import load_settings
from setup_check import SPARK_REQUEST_BUDGET, CheckResult, Status, exit_code, render, run_checks
from setup_check.slack import REQUIRED_BOT_SCOPES
from storage import Connection, TokenCipher, open_database, save_connection

ROOT = Path(__file__).resolve().parent.parent
STORED_AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(sandbox, slack, tmp_path: Path, **extra: str | None) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token
        if hasattr(slack, "bot_token")
        else slack.standin.bot_token,
        "SLACK_SIGNING_SECRET": "check-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "SPARK_API_URL": sandbox.url,
        "SPARK_AUTH_URL": sandbox.url,
        "SPARK_ACCESS_TOKEN": DEMO_TOKEN,
        "DATABASE_PATH": str(tmp_path / "data" / "activity.db"),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


async def check(env: dict[str, str]) -> tuple[dict[str, CheckResult], str, int]:
    results = await run_checks(load_settings(env))
    out = io.StringIO()
    render(results, Console(file=out, width=220, color_system=None))
    return {r.name: r for r in results}, out.getvalue(), exit_code(results)


def spark_requests(sandbox: Sandbox) -> list:
    return sandbox.requests


def line(table: str, name: str) -> str:
    found = [text for text in table.splitlines() if name in text]
    assert found, f"no row {name!r} in:\n{table}"
    return found[0]


OAUTH = {
    "SPARK_CLIENT_ID": DEMO_CLIENT_ID,
    "SPARK_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    "SPARK_REDIRECT_URI": "http://127.0.0.1:3000/spark/oauth/callback",
}


# --- the default, healthy set-up ---------------------------------------------------------------


async def test_a_healthy_setup_passes_every_row_within_the_request_budget(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        rows, table, code = await check(env_for(sandbox, slack, tmp_path, **OAUTH))
        sent = spark_requests(sandbox)
    assert code == 0, table
    assert all(r.status is Status.OK for r in rows.values()), table
    for name in (
        "Slack bot token",
        "Slack scopes",
        "Slack mode (HTTP)",
        "Spark API",
        "Private role (activity)",
        "Search: e-mail",
        "Search: name",
        "Search: phone",
        "Search: contact id",
        "Search: tags",
        "Rate limit",
        "OAuth token endpoint",
        "OAuth authorize page",
        "Database",
        "Encryption key",
    ):
        assert "OK" in line(table, name)
    assert "Avery Agent" in rows["Spark API"].detail
    assert f"all {len(REQUIRED_BOT_SCOPES)} present" in rows["Slack scopes"].detail
    assert "1,500 requests / 300 s per API key" in rows["Rate limit"].detail
    assert "client id and secret accepted" in rows["OAuth token endpoint"].detail
    assert "All set" in table
    assert 0 < len(sent) <= SPARK_REQUEST_BUDGET, [r.path for r in sent]
    # Harmless probes only: nothing but reads and the made-up OAuth code.
    assert {r.method for r in sent if r.path != "/openid/token"} == {"GET"}


# --- Slack ---------------------------------------------------------------------------------------


async def test_a_missing_scope_fails_with_what_to_add(tmp_path):
    granted = [s for s in DEFAULT_SCOPES if s != "users:read.email"]
    async with Sandbox() as sandbox, SlackStandin(scopes=granted) as slack:
        rows, table, code = await check(env_for(sandbox, slack, tmp_path))
    assert code == 2, table
    scopes = rows["Slack scopes"]
    assert scopes.status is Status.FAIL and scopes.detail == "missing: users:read.email"
    assert "reinstall the app" in scopes.fix
    assert "FAIL" in line(table, "Slack scopes")


async def test_no_scopes_header_is_a_warning_not_a_failure(tmp_path):
    async with Sandbox() as sandbox, SlackStandin(scopes=None) as slack:
        rows, table, code = await check(env_for(sandbox, slack, tmp_path))
    assert code == 0, table
    assert rows["Slack scopes"].status is Status.WARN


async def test_a_wrong_bot_token_is_a_configuration_error(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(sandbox, slack, tmp_path, SLACK_BOT_TOKEN="xoxb-not-the-right-one")
        rows, table, code = await check(env)
    assert code == 2, table
    assert rows["Slack bot token"].detail == "Slack answered invalid_auth"
    assert "OAuth & Permissions" in rows["Slack bot token"].fix
    assert rows["Slack scopes"].status is Status.SKIP
    assert "xoxb-not-the-right-one" not in table


async def test_slack_unreachable_fails_as_an_outage(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(
            sandbox, slack, tmp_path, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/"
        )
        rows, table, code = await check(env)
    assert code == 1, table
    assert "Could not reach Slack" in rows["Slack bot token"].fix


@pytest.mark.parametrize(
    ("app_token", "status", "error"),
    [
        (DEFAULT_APP_TOKEN, Status.OK, None),
        ("xoxb-standin", Status.FAIL, "not_allowed_token_type"),  # the bot token pasted there
        ("xapp-1-revoked", Status.FAIL, "invalid_auth"),
    ],
)
async def test_socket_mode_checks_the_app_token(tmp_path, app_token, status, error):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(
            sandbox, slack, tmp_path, SLACK_APP_TOKEN=app_token, SLACK_SIGNING_SECRET=None
        )
        rows, table, code = await check(env)
    row = rows["Slack mode (Socket)"]
    assert row.status is status, table
    if error:
        assert code == 2 and error in row.detail
        assert "xapp-" in row.fix and "connections:write" in row.fix


async def test_http_mode_without_a_signing_secret_fails(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        rows, table, code = await check(
            env_for(sandbox, slack, tmp_path, SLACK_SIGNING_SECRET=None)
        )
    assert code == 2
    assert rows["Slack mode (HTTP)"].detail == "SLACK_SIGNING_SECRET is not set"


def test_the_required_scopes_are_the_manifests():
    assert set(REQUIRED_BOT_SCOPES) == manifest_bot_scopes() == set(DEFAULT_SCOPES)


# Every Slack Web API method the bot calls, and the bot scopes it needs (Slack's method pages).
# A method missing here fails the test below: decide its scope before calling it.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "apps.connections.open": frozenset(),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": frozenset({"chat:write"}),  # a user id as channel: the app's DM
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "conversations.info": frozenset({"channels:read", "groups:read"}),  # public / private
    "conversations.members": frozenset({"channels:read", "groups:read"}),
    "conversations.open": frozenset({"im:write"}),  # digest add me: the asker's DM with the bot
    "conversations.history": frozenset({"im:history"}),  # a crashed alert post: did the DM arrive?
    "team.info": frozenset({"team:read"}),
    "users.info": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
}
# Scopes no method call shows: the events subscribed to, the slash command, and two that widen
# what a method may do (email in users.info; chat.postMessage in public channels not joined).
OTHER_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "/activity": "commands",
    "users.info with email": "users:read.email",
    "digests in public channels": "chat:write.public",
}
PRODUCT = ("bot.py", "modes.py", "runtime.py", "settings.py", "activity", "blocks", "handlers",
           "setup_check", "spark", "storage", "console")  # fmt: skip
WEB_API_CALL = re.compile(r"\.(auth|apps|chat|conversations|team|users|views)_([A-Za-z]+)\(")


def web_api_methods() -> set[str]:
    """The Web API methods the product code calls through slack_sdk (`client.chat_postMessage`)."""
    found: set[str] = set()
    for name in PRODUCT:
        path = ROOT / name
        for source in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for family, method in WEB_API_CALL.findall(source.read_text()):
                found.add(f"{family}.{method.replace('_', '.')}")
    return found


def test_every_scope_is_used_and_every_call_has_its_scope():
    called = web_api_methods()
    assert {"chat.postMessage", "chat.delete", "users.info"} <= called  # the scan works
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"say which scope these need in METHOD_SCOPES: {unknown}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called)) | set(OTHER_SCOPES.values())
    assert manifest_bot_scopes() == needed  # nothing missing, nothing granted for nothing


def test_the_manifest_subscribes_to_the_events_the_handlers_listen_to():
    text = (ROOT / "manifest.yml").read_text()
    events = text.split("bot_events:", 1)[1].split("interactivity:", 1)[0]
    assert re.findall(r"-\s*([\w.]+)", events) == ["app_mention", "app_home_opened", "message.im"]


def manifest_bot_scopes() -> set[str]:
    """A tiny reader for manifest.yml's `oauth_config.scopes.bot` list."""
    lines = (ROOT / "manifest.yml").read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if text.strip() == "bot:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    scopes: set[str] = set()
    for text in lines[start + 1 :]:
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        match = re.match(r"\s*-\s*([\w:.]+)", text)
        if match:
            scopes.add(match.group(1))
    return scopes


# --- Spark ---------------------------------------------------------------------------------------


async def test_a_token_without_the_private_role_fails_the_role_row(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        rows, table, code = await check(
            env_for(sandbox, slack, tmp_path, SPARK_ACCESS_TOKEN=NO_ROLE_TOKEN)
        )
        sent = spark_requests(sandbox)
    assert code == 2, table
    role = rows["Private role (activity)"]
    assert role.status is Status.FAIL and "Private role (403/1500)" in role.detail
    assert "FAIL" in line(table, "Private role")
    assert rows["Search: e-mail"].status is Status.OK  # the rest still ran
    assert len(sent) <= SPARK_REQUEST_BUDGET


async def test_spark_unreachable_fails_and_skips_the_rest(tmp_path):
    async with SlackStandin() as slack:
        fake = dataclasses.make_dataclass("Gone", [("url", str)])(f"http://127.0.0.1:{free_port()}")
        rows, table, code = await check(env_for(fake, slack, tmp_path))
    assert code == 1, table
    assert "could not reach Spark" in rows["Spark API"].detail
    assert rows["Private role (activity)"].status is Status.SKIP
    assert rows["Search: name"].status is Status.SKIP
    assert rows["Slack bot token"].status is Status.OK


async def test_a_rejected_spark_token_is_a_configuration_error(tmp_path):
    async with Sandbox() as sandbox, SlackStandin() as slack:
        rows, table, code = await check(
            env_for(sandbox, slack, tmp_path, SPARK_ACCESS_TOKEN="nope")
        )
    assert code == 2, table
    assert "token was rejected" in rows["Spark API"].detail


@pytest.mark.parametrize(
    "dialect",
    ["default", {"unfilterable": ["PrimaryPhoneNumber"]}, {"orderby": "rejected"}, "strict"],
)
async def test_each_sandbox_dialect_reports_what_works(tmp_path, dialect):
    """Which searches work is read from the account (spark_api.md §9), in every dialect."""
    async with Sandbox(dialect=dialect) as sandbox, SlackStandin() as slack:
        rows, table, code = await check(env_for(sandbox, slack, tmp_path))
        rules = sandbox.state.dialect
        sent = spark_requests(sandbox)
    assert code == 0, table  # a narrower dialect is a warning, never a failure
    assert len(sent) <= SPARK_REQUEST_BUDGET
    assert rows["Search: e-mail"].status is Status.OK
    phone = rows["Search: phone"]
    if "PrimaryPhoneNumber" in rules.unfilterable:
        assert phone.status is Status.WARN and "not available on this account" in phone.detail
        assert "WARN" in line(table, "Search: phone")
    else:
        assert phone.status is Status.OK
    name = rows["Search: name"]
    if rules.unfilterable & {"GivenName", "FamilyName"}:
        assert name.status is Status.WARN
        assert name.detail.startswith("works on DisplayName; not filterable: GivenName, FamilyName")
    else:
        assert name.status is Status.OK
    assert "Sorting (_orderby)" not in rows  # the bot never sorts at Spark: nothing to probe


# --- database and key ---------------------------------------------------------------------------


def store_a_connection(db_path: Path, key: bytes) -> None:
    db = open_database(db_path)
    try:
        save_connection(
            db,
            TokenCipher(key),
            Connection(
                team_id="T1",
                user_id="U1",
                access_token=DEMO_TOKEN,
                refresh_token=None,
                expires_at=None,
                spark_user_id="S1",
                spark_user_name="Avery",
                kind="personal",
                status="ok",
                connected_at=STORED_AT,
                updated_at=STORED_AT,
            ),
        )
    finally:
        db.close()


async def test_a_key_that_does_not_decrypt_the_stored_tokens_fails(tmp_path):
    store_a_connection(tmp_path / "data" / "activity.db", Fernet.generate_key())
    other_key = Fernet.generate_key().decode()
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(sandbox, slack, tmp_path, TOKEN_ENCRYPTION_KEY=other_key)
        rows, table, code = await check(env)
    assert code == 2, table
    key = rows["Encryption key"]
    assert key.status is Status.FAIL and "forget-tokens" in key.fix
    assert rows["Database"].status is Status.OK
    assert other_key not in table


async def test_without_a_workspace_token_the_latest_agent_token_is_used(tmp_path):
    key = Fernet.generate_key()
    store_a_connection(tmp_path / "data" / "activity.db", key)
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(
            sandbox, slack, tmp_path, SPARK_ACCESS_TOKEN=None, TOKEN_ENCRYPTION_KEY=key.decode()
        )
        rows, table, code = await check(env)
    assert code == 0, table
    assert "most recently connected agent" in rows["Spark API"].detail
    assert rows["Encryption key"].detail == "opens the stored Flexmls tokens (1 stored)"


async def test_a_database_that_cannot_be_written_fails(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    async with Sandbox() as sandbox, SlackStandin() as slack:
        env = env_for(sandbox, slack, tmp_path, DATABASE_PATH=str(blocked / "activity.db"))
        rows, table, code = await check(env)
    assert code == 2, table
    assert rows["Database"].status is Status.FAIL and "DATABASE_PATH" in rows["Database"].fix


# --- the command ---------------------------------------------------------------------------------


def test_bot_py_check_prints_the_table_and_exits_with_its_code(tmp_path):
    with SandboxThread() as sandbox, SlackStandinThread(scopes=DEFAULT_SCOPES[:-1]) as slack:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200",
               **env_for(sandbox, slack, tmp_path)}  # fmt: skip
        done = subprocess.run(
            [sys.executable, str(ROOT / "bot.py"), "check"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "missing: team:read" in line(done.stdout, "Slack scopes")
    assert "OK" in line(done.stdout, "Private role")
    assert "Traceback" not in done.stderr
