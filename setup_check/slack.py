"""Slack's side of the set-up: the bot token, its scopes, and the token the run mode needs.

The same wording serves `python bot.py check` (a table row) and `serve` (one line at start-up),
so an operator sees one explanation of a wrong token wherever they meet it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from settings import WHERE_TO_GET, Settings
from setup_check.results import CheckResult

# The bot scopes manifest.yml asks for (tests/test_check.py keeps the two lists equal).
REQUIRED_BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "app_mentions:read",
    "im:history",
    "im:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "team:read",
)
SCOPES_HEADER = "x-oauth-scopes"  # what `auth.test` (and every Web API call) reports granted

SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, asyncio.TimeoutError, OSError)

# Slack's answers that mean "this token is wrong", not "Slack is having a moment".
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "no_permission",
    }
)
APP_TOKEN_WHERE = (
    "an app-level token (xapp-…) with the connections:write scope, from your Slack app's "
    "Basic Information page → App-Level Tokens"
)


def _token_kind(token: str | None) -> str:
    """What a pasted token looks like, when it's visibly the wrong kind."""
    prefix = (token or "")[:5]
    return {
        "xoxb-": "a bot token (xoxb-)",
        "xoxp-": "a user token (xoxp-)",
        "xapp-": "an app-level token (xapp-)",
    }.get(prefix, "")


def bot_token_problem(error: str, token: str | None) -> str:
    """One line: Slack refused SLACK_BOT_TOKEN with `error`, and where to get the right one."""
    kind = _token_kind(token)
    pasted = f" (it looks like {kind})" if kind and not kind.startswith("a bot") else ""
    return (
        f"Slack rejected SLACK_BOT_TOKEN ({error}){pasted}: put "
        f"{WHERE_TO_GET['SLACK_BOT_TOKEN']} in .env; reinstall the app to the workspace if the "
        "token was revoked."
    )


def app_token_problem(error: str, token: str | None) -> str:
    """One line: Slack refused SLACK_APP_TOKEN with `error`, and what Socket Mode needs."""
    kind = _token_kind(token)
    pasted = f" (it looks like {kind})" if kind and not kind.startswith("an app") else ""
    return (
        f"Slack rejected SLACK_APP_TOKEN ({error}){pasted}: Socket Mode needs {APP_TOKEN_WHERE}. "
        "Or remove SLACK_APP_TOKEN to run in HTTP mode."
    )


def unreachable(api_url: str, error: BaseException) -> str:
    return (
        f"Could not reach Slack at {api_url} ({describe(error)}); check the "
        "network, a proxy, or SLACK_API_URL."
    )


def describe(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(_api_error(error) or f"HTTP {error.response.status_code}")
    return type(error).__name__


def _api_error(error: SlackApiError) -> str | None:
    try:
        value = error.response.get("error")
    except (AttributeError, TypeError, ValueError):
        return None
    return value if isinstance(value, str) else None


def token_error(error: BaseException) -> str | None:
    """Slack's error code when `error` says the token itself is wrong, else None."""
    if isinstance(error, SlackApiError):
        code = _api_error(error)
        if code in TOKEN_ERRORS:
            return code
    return None


def is_transient(error: BaseException) -> bool:
    """A failure that may pass by itself: no connection, a timeout, Slack's 5xx or 429."""
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return True
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        return status >= 500 or status == 429 or _api_error(error) == "ratelimited"
    return False


def granted_scopes(headers: Mapping[str, Any] | None) -> set[str] | None:
    """The scopes in Slack's `x-oauth-scopes` header; None when the header is absent."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == SCOPES_HEADER), None)
    if isinstance(value, list):
        value = ",".join(value)
    if value is None:
        return None
    return {s.strip() for s in str(value).split(",") if s.strip()}


# --------------------------------------------------------------------------------------------
# `bot.py check` rows


async def check_slack(settings: Settings, client: AsyncWebClient) -> list[CheckResult]:
    """Rows: the bot token (auth.test), its scopes, and the run mode's own credentials.

    `client` carries the bot token and makes one attempt per call (no retry handlers).
    """
    rows = await _bot_token_rows(settings, client)
    rows.append(await _mode_row(settings, client))
    return rows


async def _bot_token_rows(settings: Settings, client: AsyncWebClient) -> list[CheckResult]:
    token_name, scopes_name = "Slack bot token", "Slack scopes"
    if not settings.slack_bot_token:
        return [
            CheckResult.fail(
                token_name,
                "SLACK_BOT_TOKEN is not set",
                f"Put {WHERE_TO_GET['SLACK_BOT_TOKEN']} in .env.",
                configuration=True,
            ),
            CheckResult.skip(scopes_name, "needs a bot token"),
        ]
    try:
        auth = await client.auth_test()
    except SLACK_FAILURES as error:
        code = token_error(error)
        if code is not None:
            row = CheckResult.fail(
                token_name,
                f"Slack answered {code}",
                bot_token_problem(code, settings.slack_bot_token),
                configuration=True,
            )
        else:
            row = CheckResult.fail(
                token_name,
                f"Slack did not answer ({describe(error)})",
                unreachable(settings.slack_api_url, error),
            )
        return [row, CheckResult.skip(scopes_name, "needs a working bot token")]
    who = f"@{auth.get('user') or auth.get('user_id')} in {auth.get('team') or auth.get('team_id')}"
    return [CheckResult.ok(token_name, f"valid: {who}"), _scopes_row(scopes_name, auth.headers)]


def _scopes_row(name: str, headers: Mapping[str, Any] | None) -> CheckResult:
    granted = granted_scopes(headers)
    if granted is None:
        return CheckResult.warn(
            name,
            f"Slack did not report the granted scopes (no {SCOPES_HEADER} header)",
            "Compare OAuth & Permissions → Bot Token Scopes with manifest.yml by hand.",
        )
    missing = [s for s in REQUIRED_BOT_SCOPES if s not in granted]
    if missing:
        return CheckResult.fail(
            name,
            f"missing: {', '.join(missing)}",
            "Add them under OAuth & Permissions → Bot Token Scopes (or update the app from "
            "manifest.yml), then reinstall the app and copy the new bot token.",
            configuration=True,
        )
    return CheckResult.ok(name, f"all {len(REQUIRED_BOT_SCOPES)} present")


async def _mode_row(settings: Settings, client: AsyncWebClient) -> CheckResult:
    if not settings.socket_mode:
        name = "Slack mode (HTTP)"
        if not settings.slack_signing_secret:
            return CheckResult.fail(
                name,
                "SLACK_SIGNING_SECRET is not set",
                f"Put {WHERE_TO_GET['SLACK_SIGNING_SECRET']} in .env.",
                configuration=True,
            )
        return CheckResult.ok(name, "signing secret set; Slack posts to /slack/events")
    name = "Slack mode (Socket)"
    token = settings.slack_app_token
    try:
        await client.apps_connections_open(app_token=token)
    except SLACK_FAILURES as error:
        code = token_error(error)
        if code is not None:
            return CheckResult.fail(
                name, f"Slack answered {code}", app_token_problem(code, token), configuration=True
            )
        return CheckResult.fail(
            name,
            f"Slack did not answer ({describe(error)})",
            unreachable(settings.slack_api_url, error),
        )
    return CheckResult.ok(name, "app-level token accepted")
