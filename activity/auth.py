"""Which Spark token acts for a Slack user, and keeping OAuth tokens fresh.

Resolution, for every request: the user's own connection; else the workspace-wide
`SPARK_ACCESS_TOKEN` when the operator lets everyone use it; else `NotConnected`.

OAuth access tokens expire. They are refreshed shortly *before* expiry (when a request needs
the token, and by a background pass for idle users so digests find fresh tokens), and *on*
Spark's 401/1020 through the Spark client's refresher hook. Refreshes of one connection are
serialised, so concurrent requests share one refresh and a rotated refresh token is never
used twice. A refresh Spark rejects (`invalid_grant`) marks the connection broken: the next
request tells the user to reconnect.

Which Spark API key a token counts against (`key_for`, the Spark client's `key_of` resolver):
Spark limits requests per key (spark_api.md §9), so every token obtained through our OAuth
client shares that client's key; `SPARK_ACCESS_TOKEN` has its own key unless the operator sets
`SPARK_ACCESS_TOKEN_KEY=oauth`; a pasted personal token (and any token we don't know) is its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlite_utils import Database

from settings import Settings
from spark import RefreshFailed
from spark.budget import TokenKey
from spark.ratelimit import token_key
from storage import (
    Connection,
    TokenCipher,
    connections_expiring_before,
    get_connection,
    mark_broken,
    update_tokens,
)

if TYPE_CHECKING:
    from spark.oauth import OAuthClient

REFRESH_MARGIN = dt.timedelta(minutes=5)
SHARED = ("", "")  # the owner of a token more than one person used: nobody to refresh it for
OWNER_MEMORY = 4096

log = logging.getLogger(__name__)


class NotConnected(Exception):
    """Neither the user nor (for them) the workspace has a usable Spark token."""


class ConnectionBroken(NotConnected):
    """The user's own connection stopped working (e.g. its refresh was revoked): reconnect."""


@dataclass(frozen=True)
class Credential:
    token: str = field(repr=False)
    workspace: bool  # True when the workspace-wide SPARK_ACCESS_TOKEN is used


class TokenKeeper:
    """Hands out usable tokens and refreshes OAuth ones; one per process, in `Services`.

    Built before the Spark client, which takes `on_expired` as its refresher and `key_for` as
    its key resolver: a 1020 has one path, client → keeper → OAuth client → database.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        cipher: TokenCipher,
        oauth: OAuthClient | None,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.settings = settings
        self.db = db
        self.cipher = cipher
        self.oauth = oauth
        self.clock = clock
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # Who each token acts for; SHARED once two people used the same token.
        self._owners: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._oauth: set[str] = set()  # token keys of tokens obtained through our OAuth client

    def _remember(self, token: str, team_id: str, user_id: str, *, oauth: bool = False) -> None:
        key = token_key(token)
        known = self._owners.get(key)
        self._owners[key] = (
            SHARED if known not in (None, (team_id, user_id)) else (team_id, user_id)
        )
        self._owners.move_to_end(key)
        if oauth:
            self._oauth.add(key)
        while len(self._owners) > OWNER_MEMORY:
            forgotten, _ = self._owners.popitem(last=False)
            self._oauth.discard(forgotten)

    def oauth_key(self) -> str:
        """The budget name of our OAuth client's API key."""
        return "oauth:" + (self.settings.spark_client_id or "")

    def key_for(self, token: str) -> TokenKey:
        """Which API key `token` counts against (see the module docstring)."""
        settings = self.settings
        if settings.spark_access_token and token == settings.spark_access_token:
            if settings.spark_access_token_key == "oauth":
                return TokenKey(self.oauth_key())
            return TokenKey("workspace")
        if token_key(token) in self._oauth:
            return TokenKey(self.oauth_key(), oauth=True)
        return TokenKey("token:" + token_key(token))

    def _lock(self, team_id: str, user_id: str) -> asyncio.Lock:
        return self._locks.setdefault((team_id, user_id), asyncio.Lock())

    async def credential(self, team_id: str, user_id: str) -> Credential:
        """The token to act with for (team, user); raises `NotConnected` if there is none."""
        credential = await self.own_credential(team_id, user_id) or self.workspace_credential()
        if credential is None:
            raise NotConnected
        return credential

    async def own_credential(self, team_id: str, user_id: str) -> Credential | None:
        """The user's own connection (refreshed if about to expire); None if they have none."""
        connection = get_connection(self.db, self.cipher, team_id, user_id)
        if connection is None:
            return None
        if connection.status != "ok":
            raise ConnectionBroken
        token = connection.access_token
        if self._expiring(connection):
            token = await self.refresh(team_id, user_id, expired=connection.access_token)
        self._remember(token, team_id, user_id, oauth=connection.kind == "oauth")
        return Credential(token, workspace=False)

    def workspace_credential(self) -> Credential | None:
        """`SPARK_ACCESS_TOKEN`, when the operator lets members without a connection use it."""
        settings = self.settings
        if settings.spark_access_token and settings.workspace_token_for_all:
            return Credential(settings.spark_access_token, workspace=True)
        return None

    def _expiring(self, connection: Connection) -> bool:
        return (
            connection.expires_at is not None
            and connection.refresh_token is not None
            and connection.expires_at - REFRESH_MARGIN <= self.clock()
        )

    async def refresh(self, team_id: str, user_id: str, *, expired: str) -> str:
        """A fresh access token for (team, user), replacing `expired`; shared by concurrent callers.

        The exchange runs in its own task: a caller cancelled mid-way (a shutdown, a deadline)
        never leaves Flexmls' rotated refresh token unsaved.
        """
        exchange = asyncio.ensure_future(self._refresh(team_id, user_id, expired))
        exchange.add_done_callback(lambda task: task.cancelled() or task.exception())
        return await asyncio.shield(exchange)

    async def _refresh(self, team_id: str, user_id: str, expired: str) -> str:
        async with self._lock(team_id, user_id):
            connection = get_connection(self.db, self.cipher, team_id, user_id)
            if connection is None or connection.status != "ok":
                raise ConnectionBroken
            if connection.access_token != expired:
                return connection.access_token  # someone refreshed while we waited
            if connection.refresh_token is None or self.oauth is None:
                mark_broken(self.db, team_id, user_id, self.clock())
                raise RefreshFailed("This Flexmls token expired and cannot be renewed")
            try:
                tokens = await self.oauth.refresh(connection.refresh_token)
            except RefreshFailed:
                mark_broken(self.db, team_id, user_id, self.clock())
                log.warning("Refresh rejected for a connection; marked broken")
                raise
            update_tokens(
                self.db,
                self.cipher,
                team_id,
                user_id,
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
                now=self.clock(),
            )
            self._remember(tokens.access_token, team_id, user_id, oauth=True)
            return tokens.access_token

    async def on_expired(self, token: str) -> str:
        """The Spark client's refresher: Spark said 1020 (or 1000 for an OAuth token).

        Only a token with exactly one known owner is refreshed, through that owner's connection:
        the workspace token, or a token several people used, is never renewed with anyone's
        connection (that would hand one agent's access to the others).
        """
        if token == self.settings.spark_access_token:
            raise RefreshFailed("The workspace's Flexmls token expired")
        owner = self._owners.get(token_key(token))
        if owner is None or owner == SHARED:
            raise RefreshFailed("This Flexmls token expired and cannot be renewed")
        return await self.refresh(*owner, expired=token)

    async def refresh_expiring(self) -> int:
        """Refresh every connection that expires soon; returns how many were refreshed."""
        due = connections_expiring_before(self.db, self.cipher, self.clock() + REFRESH_MARGIN * 2)
        refreshed = 0
        for connection in due:
            try:
                await self.refresh(
                    connection.team_id, connection.user_id, expired=connection.access_token
                )
                refreshed += 1
            except Exception as error:  # one bad connection must not stop the pass
                log.warning("Background refresh failed (%s)", type(error).__name__)
        return refreshed
