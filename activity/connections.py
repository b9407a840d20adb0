"""Connecting an agent's own Flexmls account: OAuth (OpenID Connect) or a pasted token.

OAuth `state` values are random, stored server-side bound to the Slack team and user, single
use, expire after ten minutes, and carry an HMAC so a forged value is refused before the
database is touched. Every token is validated with `/v1/my/account` before it is stored, and
stored only encrypted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets

from activity.services import Services
from blocks import ConnectionStatus
from spark import Account, InvalidToken, PermissionDenied, SparkError
from spark.oauth import TokenSet
from storage import (
    Connection,
    consume_oauth_state,
    delete_connection,
    forget_contact_cache,
    get_connection,
    save_connection,
    save_oauth_state,
)

STATE_TTL = dt.timedelta(minutes=10)
MAX_TOKEN_LENGTH = 500
TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces


class StateRejected(Exception):
    """The OAuth `state` is forged, expired or already used; the message is for the user."""


class TokenRejected(Exception):
    """A pasted token can't be used; the message says why, for the modal's inline error."""


def _state_key(services: Services) -> bytes:
    return hmac.new(services.secret_key, b"spark-oauth-state", hashlib.sha256).digest()


def _signature(services: Services, state_id: str) -> str:
    digest = hmac.new(_state_key(services), state_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def new_state(services: Services, team_id: str, user_id: str) -> str:
    """A single-use, expiring `state` for (team, user)'s authorize link."""
    state_id = secrets.token_urlsafe(24)
    save_oauth_state(services.db, state_id, team_id, user_id, services.clock() + STATE_TTL)
    return f"{state_id}.{_signature(services, state_id)}"


def authorize_url(services: Services, team_id: str, user_id: str) -> str | None:
    """The "Connect Flexmls" link for this user, or None when OAuth is not configured."""
    if services.oauth is None:
        return None
    return services.oauth.authorize_url(new_state(services, team_id, user_id))


def claim_state(services: Services, state: str) -> tuple[str, str]:
    """(team_id, user_id) the state was issued to; it can't be claimed again."""
    state_id, _, signature = (state or "").partition(".")
    if not state_id or not hmac.compare_digest(signature, _signature(services, state_id)):
        raise StateRejected("This link isn't valid. Run /activity connect in Slack for a new one.")
    owner = consume_oauth_state(services.db, state_id, services.clock())
    if owner is None:
        raise StateRejected(
            "This link has expired or was already used. Run /activity connect in Slack again."
        )
    return owner


def _store(
    services: Services, team_id: str, user_id: str, tokens: TokenSet, account: Account, kind: str
) -> Connection:
    now = services.clock()
    previous = get_connection(services.db, services.cipher, team_id, user_id)
    connection = Connection(
        team_id=team_id,
        user_id=user_id,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        spark_user_id=account.id,
        spark_user_name=account.name,
        kind=kind,
        status="ok",
        connected_at=now,
        updated_at=now,
    )
    save_connection(services.db, services.cipher, connection)
    if previous is None or previous.spark_user_id != account.id:
        # Contacts found with another account's token must not be offered to this one.
        forget_contact_cache(services.db, team_id, user_id)
    return connection


async def complete_oauth(services: Services, state: str, code: str) -> tuple[str, str, Account]:
    """Finish the OAuth flow: claim the state, exchange the code, validate, store."""
    team_id, user_id = claim_state(services, state)
    if services.oauth is None:
        raise StateRejected("Flexmls sign-in is not configured for this workspace.")
    if not code:
        raise StateRejected("Flexmls sent no authorization code. Run /activity connect again.")
    tokens = await services.oauth.exchange_code(code)
    account = await services.spark.my_account(tokens.access_token)
    _store(services, team_id, user_id, tokens, account, "oauth")
    return team_id, user_id, account


def check_token_text(text: str | None) -> str:
    """The pasted token, trimmed; raises `TokenRejected` for what can't be a token."""
    token = (text or "").strip()
    if not token:
        raise TokenRejected("Paste the access token.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("That is too long to be a Flexmls access token.")
    if not TOKEN_RE.match(token):
        raise TokenRejected(
            "That doesn't look like an access token: it has spaces or odd characters."
        )
    return token


async def connect_personal(
    services: Services, team_id: str, user_id: str, text: str | None
) -> Account:
    """Validate a pasted personal access token with Flexmls, then store it (encrypted)."""
    token = check_token_text(text)
    try:
        account = await services.spark.my_account(token)
    except InvalidToken:
        raise TokenRejected("Flexmls didn't accept that token. Check it and try again.") from None
    except PermissionDenied:
        raise TokenRejected("Flexmls accepted the token but it can't read your account.") from None
    except SparkError:
        raise TokenRejected(
            "Couldn't reach Flexmls to check the token. Try again in a minute."
        ) from None
    tokens = TokenSet(access_token=token, refresh_token=None, expires_at=None)
    _store(services, team_id, user_id, tokens, account, "personal")
    return account


def disconnect(services: Services, team_id: str, user_id: str) -> bool:
    """Forget the user's tokens; True when there was a connection."""
    forget_contact_cache(services.db, team_id, user_id)
    return delete_connection(services.db, team_id, user_id)


def connection_status(services: Services, team_id: str, user_id: str) -> ConnectionStatus:
    settings = services.settings
    connection = get_connection(services.db, services.cipher, team_id, user_id)
    return ConnectionStatus(
        connected=connection is not None and connection.status == "ok",
        spark_user_name=connection.spark_user_name if connection else None,
        kind=connection.kind if connection else None,
        since=connection.connected_at if connection else None,
        broken=connection is not None and connection.status != "ok",
        workspace_token_available=bool(settings.spark_access_token),
        workspace_token_allowed=settings.workspace_token_for_all,
        oauth_available=services.oauth is not None,
    )
