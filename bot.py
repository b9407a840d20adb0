"""Activity bot entry point: arguments, settings, logging, and the run mode.

    python bot.py [serve]            run the Slack app (Socket Mode if SLACK_APP_TOKEN, else HTTP)
    python bot.py console [--demo]   a local shell that answers like the bot (--demo: in-process sandbox)
    python bot.py sandbox [--port N] run the Spark sandbox alone
    python bot.py digest --now       post every digest that is due now, then exit
    python bot.py check              verify the set-up (Slack, Spark, OAuth, database), print a table
    python bot.py forget-tokens [--yes]  delete stored Spark tokens (after losing the key)

The app is assembled in `runtime.py`, the modes run in `modes.py`; no business logic here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

import modes
import redaction
from settings import Settings, SettingsError, load_settings
from setup_check.startup import DEFAULT_RETRY_FOR_S, StartupError
from storage import KeyLost


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx and aiohttp log request URLs; keep them out of normal logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not settings.log_slack_debug:
        # At DEBUG, Bolt and slack_sdk print whole payloads: client names, e-mails, OAuth
        # states, pasted tokens. Only an explicit LOG_SLACK_DEBUG=true lets that through.
        floor = max(logging.INFO, logging.getLevelName(settings.log_level))
        for name in ("slack_bolt", "slack_sdk"):
            logging.getLogger(name).setLevel(floor)
    redaction.install([secret for secret in settings.secrets() if secret])


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="Activity bot (Slack, Flexmls)")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the Slack app (default)")
    serve.add_argument(
        "--retry-for",
        type=float,
        default=DEFAULT_RETRY_FOR_S,
        metavar="SECONDS",
        help="keep retrying an unreachable Slack at start-up this long",
    )
    sub.add_parser(
        "check", help="verify the set-up and print a table", description=modes.CHECK_HELP
    )
    console = sub.add_parser("console", help="a local shell that answers like the bot")
    console.add_argument("--demo", action="store_true", help="start the Spark sandbox in-process")
    sandbox = sub.add_parser("sandbox", help="run the Spark sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8700)
    sandbox.add_argument("--latency-ms", type=int, default=0, help="added to every Spark request")
    digest = sub.add_parser("digest", help="post the digests that are due")
    digest.add_argument("--now", action="store_true", required=True, help="one pass, then exit")
    forget = sub.add_parser(
        "forget-tokens",
        help="delete stored Spark tokens (when the key is lost)",
        description=modes.FORGET_HELP,
    )
    forget.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "sandbox":
        return modes.sandbox(host=args.host, port=args.port, latency_ms=args.latency_ms)
    if args.command == "console":
        return asyncio.run(modes.console(settings, demo=args.demo))
    if args.command == "check":
        return asyncio.run(modes.check(settings))
    if args.command == "forget-tokens":
        return modes.forget_tokens(settings, yes=args.yes)
    if args.command == "digest":
        return asyncio.run(modes.digest_now(settings))
    retry_for = getattr(args, "retry_for", DEFAULT_RETRY_FOR_S)
    return asyncio.run(modes.serve(settings, retry_for=retry_for))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load_dotenv()
    try:
        settings = load_settings()
        configure_logging(settings)
        return run(args, settings)
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except KeyLost as error:
        print(f"Encryption key problem: {error}", file=sys.stderr)
        return 2
    except StartupError as error:
        print(f"Can't start: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
