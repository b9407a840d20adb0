"""Talking to the Spark sandbox directly: Spark headers, envelope checks, requests it saw."""

from __future__ import annotations

from typing import Any

import httpx

from devtools.sandbox import DEMO_TOKEN, Sandbox


def spark_headers(token: str | None = DEMO_TOKEN, scheme: str = "Bearer") -> dict[str, str]:
    headers = {"X-SparkApi-User-Agent": "SandboxTests/1.0", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return headers


def assert_spark_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """Assert Spark's failure envelope with this status and code; return `D`."""
    assert response.status_code == status, response.text
    assert response.headers.get("x-request-id")
    body = response.json()
    assert set(body) == {"D"}
    d = body["D"]
    assert d["Success"] is False
    assert d["Code"] == code
    assert isinstance(d["Message"], str) and d["Message"]
    return d


def results(response: httpx.Response) -> list[dict[str, Any]]:
    """Assert Spark's success envelope; return `D.Results`."""
    assert response.status_code == 200, response.text
    d = response.json()["D"]
    assert d["Success"] is True
    assert isinstance(d["Results"], list)
    return d["Results"]


def spark_paths(sandbox: Sandbox) -> list[str]:
    """The Spark API paths (`/v1/...`) the sandbox served, in order."""
    return [r.path for r in sandbox.requests if r.path.startswith("/v1/")]
