"""Runners, health check, photos and the request log."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import pytest

from devtools.sandbox import DEMO_TOKEN, Brokerage, Sandbox, SandboxThread
from tests.helpers.sandbox import results, spark_headers

ROOT = Path(__file__).resolve().parents[3]


async def test_healthz_needs_no_auth(bare_client: httpx.AsyncClient) -> None:
    response = await bare_client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"


def parse_png(data: bytes) -> tuple[int, int, bytes]:
    """Check signature and every chunk CRC; return width, height and raw pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks[kind] = body
        pos += 12 + length
    assert list(chunks)[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    return width, height, zlib.decompress(chunks[b"IDAT"])


async def test_photo_urls_serve_valid_pngs(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    heavy = brokerage.notable["heavy_viewer"].id
    rows = results(
        await client.get(
            f"/v1/contacts/{heavy}/activity/listings/viewed",
            params={"_expand": "Photos", "_limit": 25},
        )
    )
    photo = next(p for r in rows for p in r["StandardFields"]["Photos"])
    for key in ("UriThumb", "Uri640", "UriLarge"):
        response = await client.get(photo[key], headers={"Authorization": ""})
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        width, height, pixels = parse_png(response.content)
        assert len(pixels) == height * (1 + 3 * width)


async def test_unknown_photos_are_404(client: httpx.AsyncClient, brokerage: Brokerage) -> None:
    listing = next(listing for listing in brokerage.listings if listing.photos)
    bare = next(listing for listing in brokerage.listings if not listing.photos)
    for path in (
        f"/photos/{listing.id}/{len(listing.photos) + 1}-640.png",
        f"/photos/{listing.id}/1-999.png",
        f"/photos/{listing.id}/0-640.png",
        f"/photos/{bare.id}/1-640.png",
        "/photos/123/1-640.png",
    ):
        assert (await client.get(path)).status_code == 404


async def test_request_log_never_keeps_the_token(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await client.get("/v1/contacts", params={"_limit": "2", "_filter": "Id Eq '1'"})
    (entry,) = sandbox.requests
    assert (entry.method, entry.path, entry.status) == ("GET", "/v1/contacts", 200)
    assert entry.query == {"_limit": "2", "_filter": "Id Eq '1'"}
    assert "authorization" not in {k.lower() for k in entry.headers}
    assert entry.headers["X-SparkApi-User-Agent"] == "SandboxTests/1.0"
    assert entry.token_fingerprint and DEMO_TOKEN not in repr(entry)
    assert DEMO_TOKEN not in str(entry.to_dict())


async def test_two_sandboxes_get_different_free_ports() -> None:
    async with Sandbox() as first, Sandbox() as second:
        assert first.url != second.url
        assert first.url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = first.url


def test_sandbox_thread_serves_synchronous_callers() -> None:
    runner = SandboxThread()
    url = runner.start()
    try:
        assert url == runner.url
        with httpx.Client(verify=False, base_url=url, headers=spark_headers(), timeout=5.0) as http:
            assert http.get("/healthz").text == "ok"
            assert http.get("/v1/contacts").status_code == 200
            runner.add_fault(kind="status", status=503, code=1550, times=1)
            assert http.get("/v1/contacts").status_code == 503
        assert len(runner.requests) == 3
    finally:
        runner.stop()
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_sandbox_thread_as_context_manager_with_a_hung_request() -> None:
    with (
        SandboxThread() as runner,
        httpx.Client(verify=False, base_url=runner.url, timeout=0.2) as http,
    ):
        runner.add_fault(kind="hang")  # a minute, unless the server stops first
        with pytest.raises(httpx.ReadTimeout):
            http.get("/v1/contacts", headers=spark_headers())
    # Leaving the block stopped the server without waiting for the hang.


def test_run_prints_the_url_and_stops_on_ctrl_c() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", f"from devtools.sandbox import run; run(port={port})"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(7)]
        assert banner[0].strip() == f"Spark sandbox listening on http://127.0.0.1:{port}"
        assert any(DEMO_TOKEN in line for line in banner)
        assert banner[-1].startswith("Press Ctrl-C")
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5.0, verify=False)
        assert response.text == "ok"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "Spark sandbox stopped."
    assert "Traceback" not in err
