"""bot.py's run modes, started as real processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves_spark_over_http(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "sandbox", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
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
    done = subprocess.run([sys.executable, str(ROOT / "bot.py"), "console", "--demo"], cwd=tmp_path,
                          input="/activity janet doe\n1\n\n@bot nobody-by-this-name-zz\n", capture_output=True,
                          text=True, timeout=90, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    card_at = out.index("Janet Doe")
    assert "Listings viewed" in out[card_at:]
    assert "[1] Viewed" in out
    assert out.index("Page 1 of") > card_at  # button 1 opened the carousel
    assert "No contact matches" in out  # the mention answered too
    assert "Traceback" not in done.stderr
    assert (tmp_path / "data" / "activity.db").exists()  # SQLite in data/ by default
