"""bot.py's run modes, started as real processes."""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from modes import forget_tokens
from settings import load_settings
from storage import (
    Connection,
    TokenCipher,
    count_connections,
    load_checked_key,
    open_database,
    save_connection,
)
from storage.crypto import KEY_FILE_NAME

ROOT = Path(__file__).resolve().parent.parent
STORED_AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves_spark_over_http(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "sandbox", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v1/my/account",
                    headers={
                        "Authorization": "Bearer sandbox-demo-token",
                        "X-SparkApi-User-Agent": "t",
                    },
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (
                    proc.stderr.read() if proc.poll() is not None else "timeout"
                )
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["D"]["Results"][0]["Name"] == "Avery Agent"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_piped_demo_console_prints_the_card_then_the_first_carousel_page(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "console", "--demo"],
        cwd=tmp_path,
        input="/activity janet doe\n1\n\n@bot nobody-by-this-name-zz\nhelp\n",
        capture_output=True,
        text=True,
        timeout=90,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    card_at = out.index("Janet Doe")
    assert "listings viewed" in out[card_at:]
    assert "[1] Viewed" in out
    # The demo starts with a month of history: the first card already has a band.
    assert any(band in out[card_at : out.index("[1] Viewed")] for band in ("🔥", "🌤", "🧊"))
    assert out.index("Page 1 of") > card_at  # button 1 opened the carousel
    assert "No contact matches" in out  # the mention answered too
    assert "Demo contacts worth trying" in out.split("How to use /activity")[1]  # after help
    assert "Traceback" not in done.stderr
    assert (tmp_path / "data" / "demo" / "activity.db").exists()  # the demo's own SQLite file
    assert not (tmp_path / "data" / "activity.db").exists()  # a real install's stays untouched


# --- the encryption key: refusing to start, and forget-tokens --------------------------------


def store_a_connection(data_dir: Path, key: bytes, user_id: str = "U1") -> None:
    db = open_database(data_dir / "activity.db")
    try:
        save_connection(
            db,
            TokenCipher(key),
            Connection(
                team_id="T1",
                user_id=user_id,
                access_token="access",
                refresh_token=None,
                expires_at=None,
                spark_user_id="S1",
                spark_user_name="Joe",
                kind="personal",
                status="ok",
                connected_at=STORED_AT,
                updated_at=STORED_AT,
            ),
        )
    finally:
        db.close()


def stored_connections(data_dir: Path) -> int:
    db = open_database(data_dir / "activity.db")
    try:
        return count_connections(db)
    finally:
        db.close()


def run_bot(tmp_path: Path, *args: str, stdin: str | None = None, **env: str):
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
        "DATABASE_PATH": str(tmp_path / "data" / "activity.db"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )


def test_serve_refuses_to_start_when_the_key_file_was_lost(tmp_path):
    data = tmp_path / "data"
    store_a_connection(data, Fernet.generate_key())  # its key file is gone
    done = run_bot(tmp_path, "serve")
    assert done.returncode == 2, done.stderr
    assert f"{data / KEY_FILE_NAME} is missing" in done.stderr
    assert "python bot.py forget-tokens" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (data / KEY_FILE_NAME).exists()


def test_serve_refuses_to_start_when_the_configured_key_changed(tmp_path):
    store_a_connection(tmp_path / "data", Fernet.generate_key())
    new_key = Fernet.generate_key().decode()
    done = run_bot(tmp_path, "serve", TOKEN_ENCRYPTION_KEY=new_key)
    assert done.returncode == 2, done.stderr
    assert "TOKEN_ENCRYPTION_KEY" in done.stderr and "forget-tokens" in done.stderr
    assert new_key not in done.stderr + done.stdout


def test_forget_tokens_with_yes_deletes_them_and_the_bot_can_start_again(tmp_path):
    data = tmp_path / "data"
    for user in ("U1", "U2"):
        store_a_connection(data, Fernet.generate_key(), user)
    done = run_bot(tmp_path, "forget-tokens", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Deleted 2 stored Flexmls connections" in done.stdout
    assert stored_connections(data) == 0
    settings = load_settings({"DATABASE_PATH": str(data / "activity.db")})
    db = open_database(settings.database_path)
    try:
        load_checked_key(db, settings.data_dir, None)  # no longer refused
    finally:
        db.close()


def test_forget_tokens_without_yes_and_without_a_terminal_deletes_nothing(tmp_path):
    data = tmp_path / "data"
    store_a_connection(data, Fernet.generate_key())
    done = run_bot(tmp_path, "forget-tokens", stdin="y\n")
    assert done.returncode == 2
    assert "--yes" in done.stderr
    assert stored_connections(data) == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("typed", "code", "left"), [("y\n", 0, 0), ("yes\n", 0, 0), ("n\n", 1, 1), ("\n", 1, 1)]
)
def test_forget_tokens_asks_on_a_terminal(tmp_path, capsys, typed, code, left):
    data = tmp_path / "data"
    store_a_connection(data, Fernet.generate_key())
    settings = load_settings({"DATABASE_PATH": str(data / "activity.db")})
    assert forget_tokens(settings, yes=False, stdin=Terminal(typed)) == code
    assert "This deletes 1 stored Flexmls connection;" in capsys.readouterr().out
    assert stored_connections(data) == left


def test_forget_tokens_with_nothing_stored(tmp_path, capsys):
    settings = load_settings({"DATABASE_PATH": str(tmp_path / "data" / "activity.db")})
    assert forget_tokens(settings, yes=False, stdin=io.StringIO("")) == 0
    assert "nothing to delete" in capsys.readouterr().out


def test_forget_tokens_is_in_the_help():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert "forget-tokens" in done.stdout


async def test_socket_mode_starts_without_a_signing_secret(tmp_path):
    """Socket Mode needs no signing secret: the HTTP side serves only /healthz and OAuth."""
    import httpx

    from devtools.slack_standin import SlackStandin
    from runtime import open_services, start_http
    from settings import load_settings

    async with SlackStandin() as slack:
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_APP_TOKEN": "xapp-1-test",
                "SLACK_API_URL": slack.api_url,
                "DATABASE_PATH": str(tmp_path / "a.db"),
            }
        )
        async with open_services(settings) as services:
            bot = await start_http(services, host="127.0.0.1", port=0, socket_mode=True)
            try:
                async with httpx.AsyncClient() as http:
                    assert (await http.get(f"{bot.url}/healthz")).status_code == 200
                    assert (await http.post(f"{bot.url}/slack/events")).status_code in (404, 405)
            finally:
                await bot.stop()


# --- start-up failures: one clear line, the right exit code, no traceback ---------------------


def test_serve_with_a_wrong_bot_token_says_which_setting_and_exits_2(tmp_path):
    from devtools.slack_standin.server import SlackStandinThread

    with SlackStandinThread() as slack:
        done = run_bot(
            tmp_path,
            "serve",
            SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN="xoxb-wrong-token",
            PORT=str(free_port()),
        )
        attempts = len(slack.calls("auth.test"))
    assert done.returncode == 2, done.stderr
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in done.stderr
    assert "OAuth & Permissions" in done.stderr
    assert "Traceback" not in done.stderr
    assert "xoxb-wrong-token" not in done.stderr
    assert attempts == 1  # a rejected token is not retried


def test_serve_retries_an_unreachable_slack_then_gives_up_clearly(tmp_path):
    started = time.monotonic()
    done = run_bot(tmp_path, "serve", "--retry-for", "8", PORT=str(free_port()))
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "Could not reach Slack at http://127.0.0.1:" in done.stderr
    assert "Gave up retrying" in done.stderr
    assert "retry 1 in 1 s" in done.stderr and "retry 2 in 2 s" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 30


def test_serve_stops_at_once_on_sigterm_while_retrying(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "secret", "PORT": str(free_port()),
           "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
           "DATABASE_PATH": str(tmp_path / "data" / "activity.db")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), "serve", "--retry-for", "600"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        lines: list[str] = []
        while not any("retry 1 in" in text for text in lines):
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(proc.stderr.readline())
        proc.terminate()
        stopped = time.monotonic()
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert time.monotonic() - stopped < 5
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_socket_mode_with_a_bot_token_as_app_token_fails_fast(tmp_path):
    from devtools.slack_standin.server import SlackStandinThread

    with SlackStandinThread() as slack:
        started = time.monotonic()
        done = run_bot(
            tmp_path,
            "serve",
            SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN=slack.standin.bot_token,
            SLACK_APP_TOKEN="xoxb-pasted-in-the-wrong-place",
            PORT=str(free_port()),
        )
        attempts = len(slack.calls("apps.connections.open"))
    assert done.returncode == 2, done.stderr
    assert "Slack rejected SLACK_APP_TOKEN (not_allowed_token_type)" in done.stderr
    assert "xapp-" in done.stderr and "connections:write" in done.stderr
    assert "Traceback" not in done.stderr
    assert attempts == 1
    assert time.monotonic() - started < 30


async def test_a_port_in_use_is_one_clear_line_not_a_traceback(tmp_path):
    import socket

    from devtools.slack_standin import SlackStandin
    from runtime import open_services, start_http
    from settings import load_settings
    from setup_check.startup import StartupError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with SlackStandin() as slack:
            settings = load_settings(
                {
                    "SLACK_BOT_TOKEN": slack.bot_token,
                    "SLACK_SIGNING_SECRET": "s",
                    "SLACK_API_URL": slack.api_url,
                    "DATABASE_PATH": str(tmp_path / "a.db"),
                }
            )
            async with open_services(settings) as services:
                with pytest.raises(StartupError) as refused:
                    await start_http(services, host="127.0.0.1", port=port)
    assert refused.value.exit_code == 2
    assert f"127.0.0.1:{port}" in str(refused.value) and "PORT" in str(refused.value)
