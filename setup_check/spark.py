"""Spark's side of the set-up, probed with at most `SPARK_REQUEST_BUDGET` harmless requests.

Rows: Spark reachable and whose token it is (`/v1/my/account`); the Private role (one
`/contacts/<Id>/activity`, spark_api.md §4.4: 403/1500 without it); which searches the account
allows, by filters that match nothing (spark_api.md §9: only `PrimaryEmail Eq` is documented
as filterable, other fields may answer 400/1040); the rate limit as configured; the OAuth
endpoints when configured. No request is retried: each probe is one request.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from settings import Settings
from setup_check.results import CheckResult
from spark import SparkClient
from spark.client import SAFE_ID_RE, Envelope, RetryPolicy
from spark.errors import (
    BadFilter,
    BadRequest,
    InvalidToken,
    PermissionDenied,
    RefreshFailed,
    SparkError,
    SparkUnavailable,
    TokenExpired,
)
from spark.oauth import OAuthClient, OAuthConfigError

SPARK_REQUEST_BUDGET = 15  # the "at most ~15 Spark requests" (OAuth included)
NOTHING_EMAIL = "check@invalid.example"  # RFC 2606: can't belong to anyone
NOTHING_PREFIX = "Zzqx-bot-check*"
NOTHING_PHONE = "000-000-0000"
NAME_FIELDS = ("DisplayName", "GivenName", "FamilyName")
DEFAULT_RATE_LIMIT = "1500/300"  # spark_api.md §2.3: 1,500 per 5 minutes for an IDX key


class BudgetSpent(SparkError):
    """The check has used its Spark requests."""


@dataclass
class Probe:
    """A `SparkClient` that sends each request once and stops at the budget."""

    spark: SparkClient
    token: str
    budget: int
    sent: int = 0

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Envelope:
        if self.sent >= self.budget:
            raise BudgetSpent("the check's Spark request budget is spent")
        self.sent += 1
        return await self.spark.get(self.token, path, params)


def probe_client(http: httpx.AsyncClient, settings: Settings) -> SparkClient:
    return SparkClient(
        http,
        base_url=settings.spark_api_url,
        user_agent=settings.spark_user_agent,
        retry=RetryPolicy(attempts=1),
    )


async def check_spark(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    token: str | None,
    token_source: str,
    budget: int = SPARK_REQUEST_BUDGET,
) -> list[CheckResult]:
    """Every Spark row; OAuth rows only when OAuth is configured."""
    oauth_rows = 2 if settings.oauth_enabled else 0
    rows: list[CheckResult] = []
    if token is None:
        rows.append(
            CheckResult.warn(
                "Spark API",
                "no token to test with",
                "Set SPARK_ACCESS_TOKEN, or connect one agent with /activity connect, and run the "
                "check again.",
            )
        )
    else:
        probe = Probe(probe_client(http, settings), token, budget - oauth_rows)
        rows += await _api_rows(settings, probe, token_source)
    rows.append(rate_limit_row(settings))
    if settings.oauth_enabled:
        rows += await oauth_rows_for(settings, http)
    return rows


# -- the API -----------------------------------------------------------------------------------

SEARCH_ROWS = ("Search: e-mail", "Search: name", "Search: phone", "Search: contact id",
               "Search: tags")  # fmt: skip
ROLE_ROW = "Private role (activity)"


async def _api_rows(settings: Settings, probe: Probe, token_source: str) -> list[CheckResult]:
    name = "Spark API"
    try:
        account = (await probe.get("/my/account")).results
    except SparkError as error:
        return [
            _account_failure(name, settings, error),
            *(CheckResult.skip(r, "needs Spark") for r in (ROLE_ROW, *SEARCH_ROWS)),
        ]
    record = account[0] if account and isinstance(account[0], Mapping) else {}
    who = record.get("Name") or record.get("Id") or "unknown account"
    office = record.get("Office")  # spark_api.md §9: `Office`, not `OfficeName`
    rows = [CheckResult.ok(name, f"{who}{f', {office}' if office else ''} ({token_source})")]
    contact_id = await _one_contact_id(probe)
    rows.append(await _role_row(probe, contact_id))
    rows += await _search_rows(probe, contact_id)
    return rows


def _account_failure(name: str, settings: Settings, error: SparkError) -> CheckResult:
    if isinstance(error, InvalidToken | TokenExpired):
        return CheckResult.fail(
            name,
            f"the token was rejected ({_code(error)})",
            "Put a valid SPARK_ACCESS_TOKEN in .env (or have the agent reconnect).",
            configuration=True,
        )
    if isinstance(error, SparkUnavailable):
        return CheckResult.fail(
            name,
            f"could not reach Spark at {settings.spark_api_url} ({error.message})",
            "Check the network, a proxy, or SPARK_API_URL.",
        )
    return CheckResult.fail(
        name,
        f"Spark refused /v1/my/account: {error}",
        "Flexmls refused with the code shown: ask FBS support what it means for your API key.",
        configuration=True,
    )


def _code(error: SparkError) -> str:
    return f"HTTP {error.status}, code {error.code}" if error.code else f"HTTP {error.status}"


async def _one_contact_id(probe: Probe) -> str | None:
    try:
        results = (await probe.get("/contacts", {"_limit": 1, "_select": "Id"})).results
    except SparkError:
        return None
    first = results[0] if results and isinstance(results[0], Mapping) else {}
    value = first.get("Id")
    # It goes into a URL path: only a plain id, as the client itself insists (`SAFE_ID_RE`).
    return value if isinstance(value, str) and SAFE_ID_RE.match(value) else None


async def _role_row(probe: Probe, contact_id: str | None) -> CheckResult:
    if contact_id is None:
        return CheckResult.warn(
            ROLE_ROW,
            "no contact to try it on",
            "Add one contact in Flexmls and run the check again.",
        )
    try:
        await probe.get(f"/contacts/{contact_id}/activity")
    except PermissionDenied as error:
        if error.code == 1500:
            return CheckResult.fail(
                ROLE_ROW,
                "the token's API key lacks the Private role (403/1500)",
                "Contacts: Activity needs a key with the Private role: ask FBS to enable it "
                "for this key, or use a token from a key that has it.",
                configuration=True,
            )
        return CheckResult.fail(
            ROLE_ROW,
            f"refused: {error}",
            "Flexmls refused with the code shown: ask FBS support what it means for your API key.",
            configuration=True,
        )
    except SparkError as error:
        return CheckResult.fail(ROLE_ROW, f"/contacts/<Id>/activity failed: {error}")
    return CheckResult.ok(ROLE_ROW, "/contacts/<Id>/activity answers")


async def _search_rows(probe: Probe, contact_id: str | None) -> list[CheckResult]:
    email = await _try(probe, "/contacts", _filter(f"PrimaryEmail Eq '{NOTHING_EMAIL}'"))
    names = {
        f: await _try(probe, "/contacts", _filter(f"{f} Eq '{NOTHING_PREFIX}'"))
        for f in NAME_FIELDS
    }
    phone = await _try(probe, "/contacts", _filter(f"PrimaryPhoneNumber Eq '{NOTHING_PHONE}'"))
    if contact_id is None:
        ident_row = CheckResult.warn("Search: contact id", "no contact to try it on")
    else:
        ident = await _try(probe, f"/contacts/{contact_id}", {})
        ident_row = _search_row("Search: contact id", ident, "GET /contacts/<Id>")
    tags = await _try(probe, "/contacts/tags", {})
    rows = [
        _search_row("Search: e-mail", email, "PrimaryEmail Eq"),
        _name_row(names),
        _search_row("Search: phone", phone, "PrimaryPhoneNumber Eq"),
        ident_row,
        _search_row("Search: tags", tags, "GET /contacts/tags"),
    ]  # fmt: skip
    return rows  # no `_orderby` probe: the bot never sorts at Spark (it ranks results itself)


def _filter(text: str) -> dict[str, Any]:
    return {"_filter": text, "_limit": 1, "_select": "Id"}


async def _try(probe: Probe, path: str, params: Mapping[str, Any]) -> SparkError | None:
    """None when Spark answered the request, else the error."""
    try:
        await probe.get(path, params)
    except SparkError as error:
        return error
    return None


def _short(error: SparkError) -> str:
    if isinstance(error, BudgetSpent):
        return "not tried: request budget spent"
    return f"{_code(error)}: {error.message}" if error.status else error.message


def _not_available(error: SparkError) -> bool:
    return isinstance(error, BadFilter | BadRequest | PermissionDenied)


def _search_row(name: str, error: SparkError | None, how: str) -> CheckResult:
    if error is None:
        return CheckResult.ok(name, f"works ({how})")
    if _not_available(error):
        return CheckResult.warn(
            name,
            f"not available on this account ({_short(error)})",
            "Agents are told this kind of search isn't available.",
        )
    return CheckResult.fail(name, f"error ({_short(error)})")


def _name_row(results: Mapping[str, SparkError | None]) -> CheckResult:
    name = "Search: name"
    working = [f for f, e in results.items() if e is None]
    refused = [f for f, e in results.items() if e is not None and _not_available(e)]
    broken = [e for e in results.values() if e is not None and not _not_available(e)]
    if broken:
        return CheckResult.fail(name, f"error ({_short(broken[0])})")
    if not working:
        return CheckResult.fail(
            name,
            f"no name field is filterable ({', '.join(refused)})",
            "Agents can still look up by e-mail, id or tag.",
        )
    if refused:
        return CheckResult.warn(
            name,
            f"works on {', '.join(working)}; not filterable: {', '.join(refused)}",
            "Name lookups use the fields that work.",
        )
    return CheckResult.ok(name, f"works ({', '.join(working)})")


# -- rate limit --------------------------------------------------------------------------------


def rate_limit_row(settings: Settings) -> CheckResult:
    """The per-key budget as configured (SPARK_RATE_LIMIT; spark_api.md §2.3 and §9)."""
    name = "Rate limit"
    configured = getattr(settings, "spark_rate_limit", None)
    requests, seconds = _rate_parts(configured)
    source = "default; SPARK_RATE_LIMIT changes it" if configured is None else "SPARK_RATE_LIMIT"
    text = f"{requests:,} requests / {seconds:g} s per API key ({source})"
    if requests / seconds > 4000 / 300:
        return CheckResult.warn(
            name,
            text,
            "Spark allows 1,500 per 5 minutes for IDX keys and "
            "4,000 for VOW/Broker Back Office keys: lower SPARK_RATE_LIMIT.",
        )
    return CheckResult.ok(name, text)


def _rate_parts(value: Any) -> tuple[int, float]:
    """(requests, seconds) from whatever shape the setting has: "n/s", a pair or an object."""
    if value is None:
        value = DEFAULT_RATE_LIMIT
    if isinstance(value, str):
        count, _, window = value.partition("/")
        return int(count), float(window or 300)
    if isinstance(value, tuple | list) and len(value) == 2:
        return int(value[0]), float(value[1])
    count = next(
        (getattr(value, a) for a in ("requests", "limit", "count") if hasattr(value, a)), 1500
    )
    window = next(
        (getattr(value, a) for a in ("seconds", "window", "period") if hasattr(value, a)), 300
    )
    return int(count), float(window)


# -- OAuth -------------------------------------------------------------------------------------

TOKEN_ROW = "OAuth token endpoint"
AUTHORIZE_ROW = "OAuth authorize page"


async def oauth_rows_for(settings: Settings, http: httpx.AsyncClient) -> list[CheckResult]:
    oauth = OAuthClient(
        http,
        auth_url=settings.spark_auth_url,
        api_url=settings.spark_api_url,
        client_id=settings.spark_client_id or "",
        client_secret=settings.spark_client_secret or "",
        redirect_uri=settings.spark_redirect_uri or "",
        flow=settings.spark_oauth_grant,
        user_agent=settings.spark_user_agent,
    )
    return [await _token_row(oauth), await _authorize_row(oauth, http, settings)]


async def _token_row(oauth: OAuthClient) -> CheckResult:
    """A made-up code: `invalid_grant` proves the endpoint answers and the client is known."""
    try:
        await oauth.exchange_code("bot-py-check-not-a-real-code")
    except RefreshFailed:
        return CheckResult.ok(TOKEN_ROW, "answers; client id and secret accepted")
    except OAuthConfigError:
        return CheckResult.fail(
            TOKEN_ROW,
            "Spark rejected the client id or secret",
            "Check SPARK_CLIENT_ID and SPARK_CLIENT_SECRET (your Spark OAuth key's details).",
            configuration=True,
        )
    except SparkUnavailable as error:
        return CheckResult.fail(
            TOKEN_ROW,
            f"could not reach it ({error.message})",
            "Check the network, a proxy, SPARK_AUTH_URL / SPARK_API_URL.",
        )
    except SparkError as error:
        return CheckResult.warn(TOKEN_ROW, f"unexpected answer ({error})")
    return CheckResult.warn(TOKEN_ROW, "accepted a made-up code (not a real Spark?)")


async def _authorize_row(
    oauth: OAuthClient, http: httpx.AsyncClient, settings: Settings
) -> CheckResult:
    url = oauth.authorize_url("bot-py-check")
    host = urllib.parse.urlsplit(url).netloc
    try:
        response = await http.get(url, follow_redirects=False, timeout=10.0)
    except httpx.HTTPError as error:
        return CheckResult.fail(
            AUTHORIZE_ROW,
            f"{host} did not answer ({type(error).__name__})",
            "Check SPARK_AUTH_URL and the network.",
        )
    if response.status_code >= 500:
        return CheckResult.fail(AUTHORIZE_ROW, f"{host} answered HTTP {response.status_code}")
    redirect = settings.spark_redirect_uri or ""
    parts = urllib.parse.urlsplit(redirect)
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not local:
        return CheckResult.warn(
            AUTHORIZE_ROW,
            f"{host} answers, but SPARK_REDIRECT_URI is not https",
            "Use https://<your-host>/spark/oauth/callback.",
        )
    if not parts.path.endswith("/spark/oauth/callback"):
        return CheckResult.warn(
            AUTHORIZE_ROW,
            f"{host} answers, but SPARK_REDIRECT_URI doesn't end in /spark/oauth/callback",
            "The bot serves the callback there.",
        )
    return CheckResult.ok(AUTHORIZE_ROW, f"{host} answers (HTTP {response.status_code})")
