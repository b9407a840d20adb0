"""Settings: the only module that reads the environment.

`load_settings()` turns the environment (after `.env` has been loaded by `bot.py`) into a
frozen `Settings`. A missing required variable raises `SettingsError` with a one-line message
that names it and says where to get it; `bot.py` prints that line and exits.
"""

from __future__ import annotations

import os
import string
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SPARK_API_URL = "https://sparkapi.com"
DEFAULT_SPARK_AUTH_URL = "https://sparkplatform.com"
DEFAULT_USER_AGENT = "ActivityBot/0.1"
DEFAULT_DATABASE_PATH = "data/activity.db"

# Where an operator finds each required value; used in the one-line error.
WHERE_TO_GET = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) on your Slack app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "the Signing Secret on your Slack app's Basic Information page"
    " (or set SLACK_APP_TOKEN for Socket Mode)",
}


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line, fit to print as-is."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    spark_api_url: str = DEFAULT_SPARK_API_URL
    spark_auth_url: str = DEFAULT_SPARK_AUTH_URL
    spark_access_token: str | None = field(default=None, repr=False)
    spark_client_id: str | None = None
    spark_client_secret: str | None = field(default=None, repr=False)
    spark_redirect_uri: str | None = None
    spark_user_agent: str = DEFAULT_USER_AGENT
    database_path: Path = Path(DEFAULT_DATABASE_PATH)
    token_encryption_key: str | None = field(default=None, repr=False)
    host: str = "0.0.0.0"
    port: int = 3000
    log_level: str = "INFO"
    log_slack_debug: bool = False  # let Bolt/slack_sdk DEBUG records (whole payloads) through
    listing_layout: str = "carousel"
    spark_oauth_grant: str = "openid"  # or "legacy": POST /v1/oauth2/grant
    workspace_token_for_all: bool = True
    digest_channels: frozenset[str] = frozenset()  # empty: any channel may get digests
    spark_rate_limit: tuple[int, float] = (1500, 300.0)  # requests per seconds, per API key
    spark_access_token_key: str = "own"  # or "oauth": SPARK_ACCESS_TOKEN shares the OAuth key
    flexmls_listing_url: str | None = None  # "View listing" template with {id} and/or {mls}
    flexmls_contact_url: str | None = None  # https template with one `{id}` ("Open in Flexmls")
    alerts_enabled: bool = True  # the "Active now" poller runs in `serve`
    alert_poll_min_s: int = 600  # how often a hot watched contact is checked (warm 3x, cold 12x)

    def flexmls_contact_link(self, contact_id: str) -> str | None:
        """The contact's page in Flexmls (the id URL-quoted), when the template is configured."""
        if not self.flexmls_contact_url:
            return None
        return fill_link(self.flexmls_contact_url, id=contact_id)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.spark_client_id and self.spark_client_secret and self.spark_redirect_uri)

    @property
    def data_dir(self) -> Path:
        return self.database_path.parent

    def secrets(self) -> tuple[str | None, ...]:
        """Every secret the bot holds, for the log redaction."""
        return (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.spark_access_token,
            self.spark_client_secret,
            self.token_encryption_key,
        )

    def require_slack(self) -> None:
        """Raise `SettingsError` unless the Slack credentials the run mode needs are present."""
        needed = ["SLACK_BOT_TOKEN"]
        if not self.socket_mode:
            needed.append("SLACK_SIGNING_SECRET")
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        for name in needed:
            if not values[name]:
                raise SettingsError(
                    f"{name} is not set: put {WHERE_TO_GET[name]} in .env (see .env.example)"
                )


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def parse_rate_limit(text: str) -> tuple[int, float]:
    """`<requests>/<seconds>` (e.g. `1500/300`) -> (1500, 300.0); `SettingsError` otherwise."""
    requests_text, sep, seconds_text = text.partition("/")
    try:
        if not sep:
            raise ValueError
        requests, seconds = int(requests_text.strip()), float(seconds_text.strip())
    except ValueError:
        raise SettingsError(
            f"SPARK_RATE_LIMIT must be <requests>/<seconds> like 1500/300, not {text!r}"
        ) from None
    if requests < 1 or not 0 < seconds <= 86_400:
        raise SettingsError(
            f"SPARK_RATE_LIMIT {text!r}: requests must be at least 1 and seconds above 0, at most 86400"
            " (Spark counts per 300 s: change only the first number)"
        ) from None
    return requests, seconds


LISTING_PLACEHOLDERS = ("id", "mls")
MAX_TEMPLATE_LENGTH = 1000


def parse_link_template(name: str, text: str, placeholders: tuple[str, ...]) -> str:
    """A link template: an https URL with a fixed host and at least one of `placeholders`
    (`{id}`…), nothing else in braces. `SettingsError` naming `name` otherwise."""
    allowed = " and/or ".join("{" + p + "}" for p in placeholders)
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise SettingsError(f"{name} is longer than {MAX_TEMPLATE_LENGTH} characters")
    try:
        pieces = [
            (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None
        ]
    except ValueError:
        raise SettingsError(f"{name} has an unmatched brace: use {allowed}") from None
    used = {f for f, _, _ in pieces}
    plain = all(not spec and not conv for _, spec, conv in pieces)
    if not used or not used <= set(placeholders) or not plain:
        raise SettingsError(f"{name} must contain {allowed} and no other {{…}}, not {text!r}")
    if any(ch.isspace() for ch in text):
        raise SettingsError(f"{name} must not contain spaces")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "https" or not parts.netloc or "{" in parts.netloc or "@" in parts.netloc:
        raise SettingsError(
            f"{name} must be an https:// URL with a fixed host (placeholders after it), not {text!r}"
        )
    return text


# Quoting keeps a value inside its path segment, except a value that *is* a dot segment: "." or
# ".." would climb the link's path, so such a value gets no link rather than a wrong one.
DOT_SEGMENTS = frozenset({".", ".."})


def fill_link(template: str, **values: str | None) -> str | None:
    """`template` with each placeholder replaced by its URL-quoted value (nothing is left safe,
    so a value can't add a path, query or fragment); None when a value it needs is missing or
    is a dot segment (`DOT_SEGMENTS`)."""
    needed = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    quoted = {}
    for name in needed:
        value = values.get(name)
        if not value or value in DOT_SEGMENTS:
            return None
        quoted[name] = urllib.parse.quote(value, safe="")
    return template.format(**quoted)


def parse_contact_link(name: str, text: str | None) -> str | None:
    """A link template with exactly one `{id}` (e.g. `FLEXMLS_CONTACT_URL`), or None."""
    if text is None:
        return None
    if text.count("{id}") != 1:
        raise SettingsError(f"{name} must contain {{id}} exactly once (and no other braces)")
    return parse_link_template(name, text, ("id",))


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _choice(
    env: Mapping[str, str],
    name: str,
    choices: tuple[str, ...],
    default: str,
    *,
    upper: bool = False,
) -> str:
    """One of `choices` (case-insensitive), or `SettingsError` naming them all."""
    value = _get(env, name) or default
    value = value.upper() if upper else value.lower()
    if value not in choices:
        allowed = ", ".join(choices[:-1]) + " or " + choices[-1]
        raise SettingsError(f"{name} must be {allowed}, not {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = _get(env, name)
    if text is None:
        return default
    if text.lower() not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be true or false, not {text!r}")
    return text.lower() in _TRUE


def _port(env: Mapping[str, str]) -> int:
    text = _get(env, "PORT") or "3000"
    try:
        port = int(text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise SettingsError(f"PORT must be a number from 0 to 65535, not {text!r}") from None
    return port


def _poll_seconds(env: Mapping[str, str]) -> int:
    text = _get(env, "ALERT_POLL_MIN_S") or "600"
    try:
        seconds = int(text)
        if not 1 <= seconds <= 86_400:
            raise ValueError
    except ValueError:
        raise SettingsError(
            f"ALERT_POLL_MIN_S must be a whole number of seconds from 1 to 86400, not {text!r}"
        ) from None
    return seconds


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: `os.environ`); a malformed value is a `SettingsError`."""
    env = os.environ if env is None else env
    oauth_configured = all(
        _get(env, name) for name in ("SPARK_CLIENT_ID", "SPARK_CLIENT_SECRET", "SPARK_REDIRECT_URI")
    )
    channels = frozenset(
        c.strip() for c in (_get(env, "DIGEST_CHANNELS") or "").split(",") if c.strip()
    )
    listing_url = _get(env, "FLEXMLS_LISTING_URL")
    slack_api_url = _get(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not slack_api_url.endswith("/"):
        slack_api_url += "/"
    return Settings(
        slack_bot_token=_get(env, "SLACK_BOT_TOKEN"),
        slack_signing_secret=_get(env, "SLACK_SIGNING_SECRET"),
        slack_app_token=_get(env, "SLACK_APP_TOKEN"),
        slack_api_url=slack_api_url,
        spark_api_url=(_get(env, "SPARK_API_URL") or DEFAULT_SPARK_API_URL).rstrip("/"),
        spark_auth_url=(_get(env, "SPARK_AUTH_URL") or DEFAULT_SPARK_AUTH_URL).rstrip("/"),
        spark_access_token=_get(env, "SPARK_ACCESS_TOKEN"),
        spark_client_id=_get(env, "SPARK_CLIENT_ID"),
        spark_client_secret=_get(env, "SPARK_CLIENT_SECRET"),
        spark_redirect_uri=_get(env, "SPARK_REDIRECT_URI"),
        spark_user_agent=_get(env, "SPARK_USER_AGENT") or DEFAULT_USER_AGENT,
        database_path=Path(_get(env, "DATABASE_PATH") or DEFAULT_DATABASE_PATH),
        token_encryption_key=_get(env, "TOKEN_ENCRYPTION_KEY"),
        host=_get(env, "HOST") or "0.0.0.0",
        port=_port(env),
        log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO", upper=True),
        log_slack_debug=_flag(env, "LOG_SLACK_DEBUG", False),
        listing_layout=_choice(env, "LISTING_LAYOUT", ("carousel", "sections"), "carousel"),
        spark_oauth_grant=_choice(env, "SPARK_OAUTH_GRANT", ("openid", "legacy"), "openid"),
        # With per-user connections configured, nobody silently reads through a shared token.
        workspace_token_for_all=_flag(env, "WORKSPACE_TOKEN_FOR_ALL", not oauth_configured),
        digest_channels=channels,
        spark_rate_limit=parse_rate_limit(_get(env, "SPARK_RATE_LIMIT") or "1500/300"),
        spark_access_token_key=_choice(env, "SPARK_ACCESS_TOKEN_KEY", ("own", "oauth"), "own"),
        flexmls_listing_url=listing_url
        and parse_link_template("FLEXMLS_LISTING_URL", listing_url, LISTING_PLACEHOLDERS),
        flexmls_contact_url=parse_contact_link(
            "FLEXMLS_CONTACT_URL", _get(env, "FLEXMLS_CONTACT_URL")
        ),
        alerts_enabled=_flag(env, "ALERTS_ENABLED", True),
        alert_poll_min_s=_poll_seconds(env),
    )
