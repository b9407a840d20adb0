"""Activity bot entry point: wiring only.

    python bot.py [serve]          run the Slack app (Socket Mode if SLACK_APP_TOKEN, else HTTP)
    python bot.py console [--demo] a local shell that answers like the bot (--demo: in-process sandbox)
    python bot.py sandbox [--port N]   run the Spark sandbox alone
    python bot.py digest --now     post every digest that is due now, then exit

Loads `.env`, reads settings, opens the database, builds the HTTP and Spark clients, and hands
them to the chosen mode. Business logic lives in the packages, never here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from settings import Settings, SettingsError, load_settings


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs full request URLs at INFO; keep them out of normal logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="Activity bot for Slack and Flexmls"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the Slack app (default)")
    console = sub.add_parser("console", help="a local shell that answers like the bot")
    console.add_argument("--demo", action="store_true", help="start the Spark sandbox in-process")
    sandbox = sub.add_parser("sandbox", help="run the Spark sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8700)
    sandbox.add_argument("--latency-ms", type=int, default=0, help="added to every Spark request")
    digest = sub.add_parser("digest", help="post the digests that are due")
    digest.add_argument("--now", action="store_true", required=True, help="one pass, then exit")
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load_dotenv()
    try:
        settings = load_settings()
        configure_logging(settings)
        if args.command == "sandbox":
            from sandbox import run

            run(host=args.host, port=args.port, latency_ms=args.latency_ms)
            return 0
        if args.command == "console":
            from handlers.console import run_console

            return asyncio.run(run_console(settings, demo=args.demo))
        settings.require_slack()
        print(
            f"bot.py {args.command}: arrives with the /activity lookup (issue 3)", file=sys.stderr
        )
        return 2
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
