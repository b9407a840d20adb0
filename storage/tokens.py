"""Spark connections per (Slack team, Slack user), and one-time OAuth `state` records.

Access and refresh tokens are encrypted with a `TokenCipher` before they reach SQLite and are
hidden from `repr()`; everything else is stored as plain values.

A row whose tokens don't decrypt (the encryption key changed, or the value is corrupt) is read
as a *broken* connection without tokens, so the agent is asked to reconnect and reconnecting
simply overwrites it. The row itself is left as it is: restoring the original key heals it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.crypto import TokenCipher, TokenDecryptError
from storage.db import (
    from_utc_text,
    optional_from_utc_text,
    optional_utc_text,
    to_utc_text,
)

KINDS = ("oauth", "personal")
STATUSES = ("ok", "broken")

_TABLE = "spark_connections"
_PK = ("team_id", "user_id")
_SECRET_FIELDS = frozenset({"access_token", "refresh_token"})
KEY_CHECK_SAMPLE = 20  # stored connections tried at start-up against the encryption key

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class Connection:
    """One agent's link to Flexmls. `kind` is "oauth" or "personal"; `status` "ok" or "broken"."""

    team_id: str
    user_id: str
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    spark_user_id: str | None
    spark_user_name: str | None
    kind: str
    status: str
    connected_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def __repr__(self) -> str:
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRET_FIELDS and value is not None:
                parts.append(f"{item.name}='***'")
            else:
                parts.append(f"{item.name}={value!r}")
        return f"Connection({', '.join(parts)})"

    __str__ = __repr__


def save_connection(db: Database, cipher: TokenCipher, connection: Connection) -> None:
    """Insert or replace the connection for (team, user); tokens are stored encrypted."""
    row = {
        "team_id": connection.team_id,
        "user_id": connection.user_id,
        "access_token": cipher.encrypt(connection.access_token),
        "refresh_token": _encrypt_optional(cipher, connection.refresh_token),
        "expires_at": optional_utc_text(connection.expires_at),
        "spark_user_id": connection.spark_user_id,
        "spark_user_name": connection.spark_user_name,
        "kind": connection.kind,
        "status": connection.status,
        "connected_at": to_utc_text(connection.connected_at),
        "updated_at": to_utc_text(connection.updated_at),
    }
    db.table(_TABLE).upsert(row, pk=_PK)


def get_connection(
    db: Database, cipher: TokenCipher, team_id: str, user_id: str
) -> Connection | None:
    """The connection for (team, user), tokens decrypted.

    When the tokens don't decrypt (wrong key, corrupt value) the connection comes back with
    status "broken" and empty tokens: the agent has to reconnect.
    """
    rows = list(
        db.query(
            f"SELECT * FROM {_TABLE} WHERE team_id = ? AND user_id = ?",
            [team_id, user_id],
        )
    )
    return _from_row(cipher, rows[0]) if rows else None


def update_tokens(
    db: Database,
    cipher: TokenCipher,
    team_id: str,
    user_id: str,
    *,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> bool:
    """Store tokens from a refresh and mark the connection "ok" again.

    `refresh_token=None` keeps the stored refresh token (some refresh responses omit it).
    Returns False when there is no connection for (team, user).
    """
    cursor = db.execute(
        f"""
        UPDATE {_TABLE}
        SET access_token = ?, refresh_token = COALESCE(?, refresh_token), expires_at = ?,
            status = 'ok', updated_at = ?
        WHERE team_id = ? AND user_id = ?
        """,
        [
            cipher.encrypt(access_token),
            _encrypt_optional(cipher, refresh_token),
            optional_utc_text(expires_at),
            to_utc_text(now),
            team_id,
            user_id,
        ],
    )
    return cursor.rowcount == 1


def mark_broken(db: Database, team_id: str, user_id: str, now: datetime) -> bool:
    """Flag the connection as needing a reconnect; False when there is none."""
    cursor = db.execute(
        f"UPDATE {_TABLE} SET status = 'broken', updated_at = ? WHERE team_id = ? AND user_id = ?",
        [to_utc_text(now), team_id, user_id],
    )
    return cursor.rowcount == 1


def delete_connection(db: Database, team_id: str, user_id: str) -> bool:
    """Forget the connection; True when one existed."""
    cursor = db.execute(
        f"DELETE FROM {_TABLE} WHERE team_id = ? AND user_id = ?", [team_id, user_id]
    )
    return cursor.rowcount == 1


def users_linked_to(db: Database, team_id: str, spark_user_id: str) -> list[str]:
    """The Slack users of `team_id` whose connection (working or broken) is this Flexmls account."""
    rows = db.query(
        f"SELECT user_id FROM {_TABLE} WHERE team_id = ? AND spark_user_id = ? ORDER BY user_id",
        [team_id, spark_user_id],
    )
    return [row["user_id"] for row in rows]


def connections_expiring_before(
    db: Database, cipher: TokenCipher, when: datetime
) -> list[Connection]:
    """Connections worth refreshing in the background, soonest expiry first.

    Only "ok" connections that have a refresh token and an `expires_at` earlier than `when`.
    """
    rows = db.query(
        f"""
        SELECT * FROM {_TABLE}
        WHERE expires_at IS NOT NULL AND expires_at < ?
          AND refresh_token IS NOT NULL AND status = 'ok'
        ORDER BY expires_at, team_id, user_id
        """,
        [to_utc_text(when)],
    )
    connections = (_from_row(cipher, row) for row in rows)
    return [connection for connection in connections if connection.status == "ok"]


def save_oauth_state(
    db: Database, state_id: str, team_id: str, user_id: str, expires_at: datetime
) -> None:
    """Remember an OAuth `state` value issued to (team, user) until `expires_at`."""
    db.execute(
        "INSERT INTO oauth_states (state_id, team_id, user_id, expires_at) VALUES (?, ?, ?, ?)",
        [state_id, team_id, user_id, to_utc_text(expires_at)],
    )


def consume_oauth_state(db: Database, state_id: str, now: datetime) -> tuple[str, str] | None:
    """(team_id, user_id) the first time a live `state` is presented; None otherwise.

    The record is deleted whether it was live or expired. Only the caller whose DELETE removed
    the row wins, so two concurrent consumes (even on two connections) cannot both succeed.
    """
    now_text = to_utc_text(now)
    rows = list(
        db.query(
            "SELECT team_id, user_id, expires_at FROM oauth_states WHERE state_id = ?",
            [state_id],
        )
    )
    if not rows:
        return None
    cursor = db.execute("DELETE FROM oauth_states WHERE state_id = ?", [state_id])
    if cursor.rowcount != 1:
        return None  # someone else consumed it between our read and our delete
    row = rows[0]
    if row["expires_at"] <= now_text:
        return None
    return row["team_id"], row["user_id"]


def prune_oauth_states(db: Database, now: datetime) -> int:
    """Delete expired, never-consumed `state` records; returns how many."""
    cursor = db.execute("DELETE FROM oauth_states WHERE expires_at <= ?", [to_utc_text(now)])
    return cursor.rowcount


@dataclass(frozen=True)
class KeyCheck:
    """How the stored connections fare against an encryption key (see `check_token_key`)."""

    stored: int  # connections in the database
    sampled: int  # how many were tried
    readable: int  # how many of those decrypted

    @property
    def key_lost(self) -> bool:
        """True when tokens are stored and not one of those tried opens with the key."""
        return self.sampled > 0 and self.readable == 0


def count_connections(db: Database) -> int:
    """How many connections (working or broken) are stored."""
    return int(db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()[0])


def check_token_key(db: Database, cipher: TokenCipher, sample: int = KEY_CHECK_SAMPLE) -> KeyCheck:
    """Try the `sample` most recently updated connections' access tokens with `cipher`."""
    rows = db.execute(
        f"SELECT access_token FROM {_TABLE} ORDER BY updated_at DESC LIMIT ?", [sample]
    ).fetchall()
    readable = sum(_decrypts(cipher, row[0]) for row in rows)
    return KeyCheck(stored=count_connections(db), sampled=len(rows), readable=readable)


def forget_all_connections(db: Database) -> int:
    """Delete every stored connection (for a lost encryption key); returns how many."""
    return db.execute(f"DELETE FROM {_TABLE}").rowcount


def _decrypts(cipher: TokenCipher, token_text: str) -> bool:
    try:
        cipher.decrypt(token_text)
    except TokenDecryptError:
        return False
    return True


def _encrypt_optional(cipher: TokenCipher, plain: str | None) -> str | None:
    return None if plain is None else cipher.encrypt(plain)


def _from_row(cipher: TokenCipher, row: dict[str, Any]) -> Connection:
    refresh = row["refresh_token"]
    status = row["status"]
    try:
        access = cipher.decrypt(row["access_token"])
        refresh = None if refresh is None else cipher.decrypt(refresh)
    except TokenDecryptError:
        # Never a crash and never a token: the agent reconnects, which overwrites the row.
        log.warning("A stored Flexmls connection can't be decrypted; treating it as broken")
        access, refresh, status = "", None, "broken"
    return Connection(
        team_id=row["team_id"],
        user_id=row["user_id"],
        access_token=access,
        refresh_token=refresh,
        expires_at=optional_from_utc_text(row["expires_at"]),
        spark_user_id=row["spark_user_id"],
        spark_user_name=row["spark_user_name"],
        kind=row["kind"],
        status=status,
        connected_at=from_utc_text(row["connected_at"]),
        updated_at=from_utc_text(row["updated_at"]),
    )
