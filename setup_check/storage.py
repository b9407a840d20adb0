"""The database and the encryption key: writable, and the key opens the stored Flexmls tokens."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlite_utils import Database

from settings import Settings
from setup_check.results import CheckResult
from storage import (
    KeyLost,
    TokenCipher,
    check_token_key,
    get_connection,
    load_checked_key,
    open_database,
)

DB_ROW = "Database"
KEY_ROW = "Encryption key"


@dataclass
class StorageCheck:
    rows: list[CheckResult] = field(default_factory=list)
    # The most recently stored agent token, for the Spark probes when no SPARK_ACCESS_TOKEN.
    agent_token: str | None = field(default=None, repr=False)


def check_storage(settings: Settings) -> StorageCheck:
    path = settings.database_path
    try:
        db = open_database(path)
    except (sqlite3.Error, OSError) as error:
        return StorageCheck(
            [
                CheckResult.fail(
                    DB_ROW,
                    f"{path} can't be opened ({error})",
                    "Point DATABASE_PATH at a file in a folder the bot may write to.",
                    configuration=True,
                ),
                CheckResult.skip(KEY_ROW, "needs the database"),
            ]
        )
    try:
        writable = _writable_row(db, str(path))
        key = _key_check(db, settings)
        return StorageCheck([writable, *key.rows], key.agent_token)
    finally:
        db.close()


def _writable_row(db: Database, path: str) -> CheckResult:
    """Write inside a transaction and roll it back: proves the file (and its folder) writable."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE main._bot_py_check (x)")
            db.execute("INSERT INTO main._bot_py_check VALUES (1)")
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as error:
        return CheckResult.fail(
            DB_ROW,
            f"{path} is not writable ({error})",
            "Let the bot's user write the file and its folder, or change DATABASE_PATH.",
            configuration=True,
        )
    return CheckResult.ok(DB_ROW, f"{path} writable")


def _key_check(db: Database, settings: Settings) -> StorageCheck:
    try:
        key = load_checked_key(db, settings.data_dir, settings.token_encryption_key)
    except KeyLost as error:
        return StorageCheck(
            [
                CheckResult.fail(
                    KEY_ROW,
                    "can't decrypt the stored Flexmls tokens",
                    str(error),
                    configuration=True,
                )
            ]
        )
    except ValueError as error:  # a TOKEN_ENCRYPTION_KEY that is not a Fernet key
        return StorageCheck(
            [CheckResult.fail(KEY_ROW, str(error), "Fix TOKEN_ENCRYPTION_KEY.", configuration=True)]
        )
    cipher = TokenCipher(key)
    check = check_token_key(db, cipher)
    if not check.stored:
        return StorageCheck([CheckResult.ok(KEY_ROW, "ready (no Flexmls tokens stored yet)")])
    token = _latest_agent_token(db, cipher)
    if check.readable < check.sampled:
        unread = check.sampled - check.readable
        row = CheckResult.warn(
            KEY_ROW,
            f"{unread} of the {check.sampled} most recent stored tokens can't be decrypted",
            "Those agents are asked to reconnect with /activity connect.",
        )
    else:
        row = CheckResult.ok(KEY_ROW, f"opens the stored Flexmls tokens ({check.stored} stored)")
    return StorageCheck([row], token)


def _latest_agent_token(db: Database, cipher: TokenCipher) -> str | None:
    rows = db.execute(
        "SELECT team_id, user_id FROM spark_connections WHERE status = 'ok' "
        "ORDER BY updated_at DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    connection = get_connection(db, cipher, rows[0][0], rows[0][1])
    return connection.access_token if connection is not None and connection.access_token else None
