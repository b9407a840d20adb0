"""`python bot.py check`: verify a real set-up and print one table.

Rows, in order: Slack (bot token, scopes, the run mode's credentials), Spark (reachable and
whose token, the Private role, which searches work, the rate limit, the OAuth endpoints), then
the database and the encryption key. Exit code: 0 when nothing failed, 2 when a failure is a
configuration error (fix `.env` or the app settings), else 1.
"""

from __future__ import annotations

import aiohttp
import httpx
from rich.console import Console
from rich.table import Table
from rich.text import Text
from slack_sdk.web.async_client import AsyncWebClient

from settings import Settings
from setup_check.results import CheckResult, Status, exit_code
from setup_check.slack import check_slack
from setup_check.spark import SPARK_REQUEST_BUDGET, check_spark
from setup_check.storage import check_storage

__all__ = ["CheckResult", "Status", "exit_code", "render", "run_checks", "SPARK_REQUEST_BUDGET"]

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


async def run_checks(
    settings: Settings, *, budget: int = SPARK_REQUEST_BUDGET
) -> list[CheckResult]:
    """Every check, in table order. Never raises for a problem it was asked to find."""
    storage = check_storage(settings)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        # One attempt per call: a check reports what happens, it doesn't retry it away.
        slack = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            session=session,
            timeout=10,
            retry_handlers=[],
        )
        rows = await check_slack(settings, slack)
    if settings.spark_access_token:
        token, source = settings.spark_access_token, "SPARK_ACCESS_TOKEN"
    else:
        token, source = storage.agent_token, "the most recently connected agent's token"
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
        rows += await check_spark(settings, http, token=token, token_source=source, budget=budget)
    return rows + storage.rows


def printable(text: str) -> str:
    """`text` without control characters: details quote Slack and Spark, which could carry
    terminal escape sequences (a hostile or misconfigured endpoint)."""
    return "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text)


def render(results: list[CheckResult], console: Console) -> None:
    table = Table(title="Activity bot set-up check", show_lines=False)
    table.add_column("Check", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    # Long words (setting names, URLs) wrap instead of being cut: they are what to fix.
    table.add_column("Detail", overflow="fold")
    table.add_column("What to do", overflow="fold")
    for row in results:
        style = _STYLE[row.status]
        table.add_row(
            Text(printable(row.name)),
            Text(row.status.value.upper(), style=style),
            Text(printable(row.detail)),
            Text(printable(row.fix)),
        )
    console.print(table)
    code = exit_code(results)
    counts = {s: sum(r.status is s for r in results) for s in Status}
    warnings = "warning" if counts[Status.WARN] == 1 else "warnings"
    summary = (
        f"{counts[Status.OK]} ok, {counts[Status.WARN]} {warnings}, {counts[Status.FAIL]} failed"
    )
    if code == 0:
        console.print(f"All set: {summary}.")
    else:
        kind = "configuration problems" if code == 2 else "problems"
        console.print(f"[bold red]Found {kind}:[/] {summary} (exit code {code}).")
