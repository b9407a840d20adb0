"""`python bot.py console [--demo]`: a local shell that looks contacts up like the bot.

Minimal until the /activity lookup lands: type a name, e-mail, phone or id (optionally after
`/activity`) and see the matching contacts and, for a single match, their activity counters.
Reads piped stdin too, printing replies and exiting at end of input.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import ExitStack

import httpx
from rich.console import Console
from rich.table import Table

from settings import Settings
from spark import InvalidQuery, SparkClient, SparkError


async def _answer(spark: SparkClient, token: str, line: str, out: Console) -> None:
    text = line.strip()
    for prefix in ("/activity", "activity"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    try:
        page = await spark.search_contacts(token, text, limit=10)
        if not page.items:
            out.print(
                f"No contact matches [bold]{text}[/bold]. Try part of the name or the e-mail."
            )
            return
        if len(page.items) > 1:
            out.print(f"{page.total_rows} contacts match:")
            for contact in page.items:
                hint = contact.email or contact.phone or ""
                out.print(f"  • {contact.display_name}  [dim]{hint}[/dim]")
            return
        contact = page.items[0]
        summary = await spark.activity_summary(token, contact.id)
    except InvalidQuery as refusal:
        out.print(str(refusal))
        return
    except SparkError as error:
        out.print(f"Flexmls said no: {error.message or type(error).__name__}")
        return
    table = Table(title=contact.display_name, show_header=False)
    table.add_row(
        "E-mails sent / opened", f"{summary.manual_emails_sent} / {summary.manual_emails_opened}"
    )
    table.add_row(
        "Subscription e-mails sent / opened",
        f"{summary.subscription_emails_sent} / {summary.subscription_emails_opened}",
    )
    table.add_row("Listings viewed", str(summary.listings_viewed))
    table.add_row("Listings shared", str(summary.listings_shared))
    out.print(table)


async def run_console(settings: Settings, *, demo: bool = False) -> int:
    out = Console(highlight=False)
    with ExitStack() as stack:
        api_url, token = settings.spark_api_url, settings.spark_access_token
        if demo:
            from sandbox import DEMO_TOKEN, SandboxThread

            api_url, token = stack.enter_context(SandboxThread()).url, DEMO_TOKEN
            out.print(f"[dim]Spark sandbox running at {api_url} (demo brokerage)[/dim]")
        if not token:
            out.print("No Spark token: set SPARK_ACCESS_TOKEN in .env, or run with --demo.")
            return 2
        interactive = sys.stdin.isatty()
        async with httpx.AsyncClient() as http:
            spark = SparkClient(http, base_url=api_url, user_agent=settings.spark_user_agent)
            if interactive:
                out.print("Type a contact (e.g. [bold]/activity jane doe[/bold]); Ctrl-D to quit.")
            while True:
                if interactive:
                    out.print("> ", end="")
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:
                    return 0
                if line.strip():
                    await _answer(spark, token, line, out)
