"""Connecting an agent's own Flexmls account: OAuth (OpenID Connect) or a pasted token.

OAuth `state` values are random, stored server-side bound to the Slack team and user, single
use, expire after ten minutes, and carry an HMAC so a forged value is refused before the
database is touched. Every token is validated with `/v1/my/account` before it is stored, and
stored only encrypted.

The callback stores nothing: whoever signs in at Flexmls may not be the Slack user the link was
made for (a forwarded link). `begin_oauth` exchanges the code and parks the tokens in memory
(`PendingLinks`, ten minutes); the browser then shows who will be linked to what, and only the
"Link" POST, carrying a one-time HMAC-signed form token, stores the connection (`confirm_link`).
"Cancel", expiry or a restart discard the tokens.

Names on the page can be copied from a colleague, so the page also compares e-mails: the Slack
account's (`users:read.email`) with the Flexmls account's (`matching_email`). At "Link" the
Slack user is asked for again and refused when deleted, a stranger or in another team
(`check_link_user`); once linked, any other member who has the Flexmls account's e-mail is told
(`members_to_warn`). A Flexmls account already linked to another member of the team is refused
on both paths, OAuth and pasted token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from activity.models import ConnectionStatus
from activity.services import Services
from spark import Account, InvalidToken, PermissionDenied, SparkError
from spark.oauth import TokenSet
from storage import (
    Connection,
    consume_oauth_state,
    delete_connection,
    forget_contact_cache,
    get_connection,
    pause_subscriptions,
    resume_subscriptions,
    save_connection,
    save_oauth_state,
    users_linked_to,
)

STATE_TTL = dt.timedelta(minutes=10)
LINK_TTL = dt.timedelta(minutes=10)  # how long a signed-in account waits for "Link"
MAX_PENDING_LINKS = 500  # sign-ins waiting at once; the oldest is dropped beyond this
MAX_FORM_TOKEN_LENGTH = 1000
MAX_TOKEN_LENGTH = 500
TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces


def looks_like_token(text: str) -> bool:
    """True for what can only be a credential typed where a contact was expected.

    One word of 20+ characters mixing letters and digits, not an e-mail and not a contact id
    (ids are all digits): no contact name or phone number looks like that.
    """
    word = text.strip()
    return (
        20 <= len(word) <= MAX_TOKEN_LENGTH
        and TOKEN_RE.match(word) is not None
        and "@" not in word
        and any(c.isalpha() for c in word)
        and sum(c.isdigit() for c in word) >= 4
    )


class StateRejected(Exception):
    """The OAuth `state` is forged, expired or already used; the message is for the user."""


class LinkRejected(Exception):
    """The "Link"/"Cancel" form token is missing, forged, expired or used; message for the user."""


class AlreadyLinked(LinkRejected):
    """The Flexmls account is already linked to another Slack user of the same team."""


class SlackUserRefused(LinkRejected):
    """The Slack user the link was made for is deleted, a stranger or in another team."""


class TokenRejected(Exception):
    """A pasted token can't be used; the message says why, for the modal's inline error."""


ALREADY_LINKED = (
    "This Flexmls account is already linked to another Slack user in this workspace, "
    "so nothing was changed. To move it here, that person runs /activity disconnect first."
)


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
    expected = _signature(services, state_id).encode()
    # Bytes, not str: `compare_digest` raises on non-ASCII text, and the state is the browser's.
    if not state_id or not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
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
    resume_subscriptions(services.db, team_id, user_id)  # paused by an earlier disconnect
    return connection


@dataclass(frozen=True)
class PendingLink:
    """A Flexmls sign-in waiting for "Link": kept in memory only (`TokenSet` hides its tokens)."""

    team_id: str
    user_id: str
    account: Account
    tokens: TokenSet
    expires_at: dt.datetime


class PendingLinks:
    """Sign-ins waiting for "Link", by random id: in memory, bounded, each taken at most once.

    Nothing here reaches the disk; a restart forgets them (the agent runs connect again).
    """

    def __init__(self, *, limit: int = MAX_PENDING_LINKS) -> None:
        self._limit = limit
        self._items: OrderedDict[str, PendingLink] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, link: PendingLink, now: dt.datetime) -> str:
        """Park `link`; returns its id. Expired entries go first, then the oldest if full."""
        for link_id in [k for k, item in self._items.items() if item.expires_at <= now]:
            del self._items[link_id]
        while len(self._items) >= self._limit:
            self._items.popitem(last=False)
        link_id = secrets.token_urlsafe(24)
        self._items[link_id] = link
        return link_id

    def peek(self, link_id: str, now: dt.datetime) -> PendingLink | None:
        """The live link with this id, left in place; None when unknown or expired."""
        link = self._items.get(link_id)
        if link is None or link.expires_at <= now:
            return None
        return link

    def pop(self, link_id: str, now: dt.datetime) -> PendingLink | None:
        """The live link with this id, removed; None when unknown, already taken or expired."""
        link = self._items.pop(link_id, None)
        if link is None or link.expires_at <= now:
            return None
        return link


@dataclass(frozen=True)
class LinkOffer:
    """What the confirmation page shows: who signed in, whom they'd be linked to, the token."""

    team_id: str
    user_id: str
    account: Account
    form_token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class _FormClaims:
    link_id: str
    team_id: str
    user_id: str
    account_id: str
    expires_at: dt.datetime


def _form_key(services: Services) -> bytes:
    return hmac.new(services.secret_key, b"spark-oauth-link-form", hashlib.sha256).digest()


def _form_signature(services: Services, body: str) -> str:
    digest = hmac.new(_form_key(services), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _form_token(services: Services, claims: _FormClaims) -> str:
    fields = [claims.link_id, claims.team_id, claims.user_id, claims.account_id,
              int(claims.expires_at.timestamp())]  # fmt: skip
    body = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
    return f"{body}.{_form_signature(services, body)}"


_FORGED = "This page isn't valid. Run /activity connect in Slack for a new link."
_USED = "This page has expired or was already used. Run /activity connect in Slack again."


def _read_form_token(services: Services, token: str | None) -> _FormClaims:
    """The claims of a form token we signed; `LinkRejected` for anything else."""
    token = token or ""
    body, _, signature = token.partition(".")
    if not body or len(token) > MAX_FORM_TOKEN_LENGTH:
        raise LinkRejected(_FORGED)
    if not hmac.compare_digest(signature.encode(), _form_signature(services, body).encode()):
        raise LinkRejected(_FORGED)
    try:
        fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        link_id, team_id, user_id, account_id, expires = fields
        expires_at = dt.datetime.fromtimestamp(int(expires), dt.UTC)
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise LinkRejected(_FORGED) from None  # signed by us, so only if the format changed
    if not all(isinstance(v, str) for v in (link_id, team_id, user_id, account_id)):
        raise LinkRejected(_FORGED)
    return _FormClaims(link_id, team_id, user_id, account_id, expires_at)


async def begin_oauth(
    services: Services, pending: PendingLinks, state: str, code: str
) -> LinkOffer:
    """Claim the state, exchange the code, read the account; park the tokens (nothing stored)."""
    team_id, user_id = claim_state(services, state)
    if services.oauth is None:
        raise StateRejected("Flexmls sign-in is not configured for this workspace.")
    if not code:
        raise StateRejected("Flexmls sent no authorization code. Run /activity connect again.")
    tokens = await services.oauth.exchange_code(code)
    account = await services.spark.my_account(tokens.access_token)
    expires_at = services.clock() + LINK_TTL
    link = PendingLink(team_id, user_id, account, tokens, expires_at)
    link_id = pending.add(link, services.clock())
    claims = _FormClaims(link_id, team_id, user_id, account.id, expires_at)
    return LinkOffer(team_id, user_id, account, _form_token(services, claims), expires_at)


def _matches(link: PendingLink, claims: _FormClaims) -> bool:
    return (link.team_id, link.user_id, link.account.id) == (
        claims.team_id,
        claims.user_id,
        claims.account_id,
    )


def _take(services: Services, pending: PendingLinks, token: str | None) -> PendingLink:
    """The pending sign-in a valid form token names, removed (so the token works once)."""
    claims = _read_form_token(services, token)
    now = services.clock()
    link = pending.pop(claims.link_id, now)  # popped even when expired: its tokens are dropped
    if claims.expires_at <= now or link is None:
        raise LinkRejected(_USED)
    if not _matches(link, claims):
        raise LinkRejected(_FORGED)
    return link


def confirm_link(services: Services, pending: PendingLinks, token: str | None) -> PendingLink:
    """ "Link": store the parked sign-in for the Slack user it was made for.

    Refused (`AlreadyLinked`, tokens dropped) when another Slack user of the same team already
    has this Flexmls account; their link is left as it is.
    """
    link = _take(services, pending, token)
    if _linked_elsewhere(services, link.team_id, link.user_id, link.account.id):
        raise AlreadyLinked(ALREADY_LINKED)
    # No await between the check and the write: two "Link" clicks can't both pass the check.
    _store(services, link.team_id, link.user_id, link.tokens, link.account, "oauth")
    return link


def _linked_elsewhere(services: Services, team_id: str, user_id: str, account_id: str) -> bool:
    """True when another Slack user of `team_id` already has this Flexmls account."""
    return any(user != user_id for user in users_linked_to(services.db, team_id, account_id))


def link_owner(services: Services, pending: PendingLinks, token: str | None) -> tuple[str, str]:
    """(team_id, user_id) a live form token links for; `LinkRejected` otherwise. Takes nothing."""
    claims = _read_form_token(services, token)
    now = services.clock()
    link = pending.peek(claims.link_id, now)
    if claims.expires_at <= now or link is None:
        raise LinkRejected(_USED)
    if not _matches(link, claims):
        raise LinkRejected(_FORGED)
    return link.team_id, link.user_id


def cancel_link(services: Services, pending: PendingLinks, token: str | None) -> None:
    """ "Cancel": drop the parked sign-in; `LinkRejected` if the token was no good."""
    _take(services, pending, token)


@dataclass(frozen=True)
class SlackAccount:
    """What Slack (`users.info`, `users.lookupByEmail`) says about a Slack user, for linking."""

    user_id: str
    team_id: str  # "" when Slack didn't say
    username: str | None = None  # `name`: unique in the workspace (display names are not)
    email: str | None = None  # `profile.email`, only with the `users:read.email` scope
    deleted: bool = False
    stranger: bool = False  # `is_stranger`: another organisation's user (Slack Connect)
    bot: bool = False


def _email_key(address: str | None) -> str:
    return (address or "").strip().casefold()


def matching_email(slack_email: str | None, flexmls_emails: Iterable[str]) -> str | None:
    """The Flexmls address that is the Slack account's e-mail (any case); None when none is."""
    wanted = _email_key(slack_email)
    local, _, domain = wanted.rpartition("@")
    if not local or not domain:
        return None
    return next((a for a in flexmls_emails if _email_key(a) == wanted), None)


_USER_GONE = "That Slack account can't be linked: it was deactivated. Nothing was linked."
_USER_OUTSIDE = (
    "That Slack account isn't a member of the workspace this link was made for, "
    "so nothing was linked."
)


def check_link_user(user: SlackAccount | None, team_id: str) -> None:
    """`SlackUserRefused` unless `user` is a live member of `team_id` (None: unknown to Slack)."""
    if user is None or user.deleted:
        raise SlackUserRefused(_USER_GONE)
    if user.stranger or user.team_id != team_id:
        raise SlackUserRefused(_USER_OUTSIDE)


def members_to_warn(owners: Iterable[SlackAccount], team_id: str, linked_user: str) -> list[str]:
    """The other live members of `team_id` among the Flexmls e-mails' owners, each once."""
    found = (
        o.user_id
        for o in owners
        if o.user_id
        and o.user_id != linked_user
        and o.team_id == team_id
        and not (o.deleted or o.stranger or o.bot)
    )
    return list(dict.fromkeys(found))


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
    if _linked_elsewhere(services, team_id, user_id, account.id):
        raise TokenRejected(ALREADY_LINKED)
    # No await between the check and the write, as in `confirm_link`.
    tokens = TokenSet(access_token=token, refresh_token=None, expires_at=None)
    _store(services, team_id, user_id, tokens, account, "personal")
    return account


@dataclass(frozen=True)
class Disconnection:
    """What `disconnect` did: whether there was a connection, and how many digests it paused."""

    was_connected: bool
    digests_paused: int = 0


def disconnect(services: Services, team_id: str, user_id: str) -> Disconnection:
    """Forget the user's tokens and pause their digests (connecting again resumes them)."""
    forget_contact_cache(services.db, team_id, user_id)
    if not delete_connection(services.db, team_id, user_id):
        return Disconnection(was_connected=False)
    return Disconnection(True, pause_subscriptions(services.db, team_id, user_id))


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
