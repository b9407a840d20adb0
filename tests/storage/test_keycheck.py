"""The start-up key check: stored tokens that no longer open stop the bot with a clear message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlite_utils import Database

from storage import (
    Connection,
    KeyLost,
    TokenCipher,
    count_connections,
    load_checked_key,
    load_or_create_key,
    save_connection,
)
from storage.crypto import KEY_FILE_NAME

from .support import NOW


def store(db: Database, key: bytes, user_id: str = "U1", age: timedelta = timedelta(0)) -> None:
    save_connection(
        db,
        TokenCipher(key),
        Connection(
            team_id="T1",
            user_id=user_id,
            access_token="access",
            refresh_token=None,
            expires_at=None,
            spark_user_id="S1",
            spark_user_name="Joe",
            kind="personal",
            status="ok",
            connected_at=NOW - age,
            updated_at=NOW - age,
        ),
    )


def test_a_fresh_install_gets_a_new_key_file(db: Database, tmp_path: Path) -> None:
    key = load_checked_key(db, tmp_path, None)
    assert (tmp_path / KEY_FILE_NAME).read_bytes().strip() == key


def test_the_key_that_opens_the_stored_tokens_is_returned(db: Database, tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, None)
    store(db, key)
    assert load_checked_key(db, tmp_path, None) == key


def test_a_missing_key_file_is_not_regenerated_while_tokens_are_stored(
    db: Database, tmp_path: Path
) -> None:
    store(db, load_or_create_key(tmp_path, None))
    (tmp_path / KEY_FILE_NAME).unlink()
    with pytest.raises(KeyLost) as raised:
        load_checked_key(db, tmp_path, None)
    message = str(raised.value)
    assert str(tmp_path / KEY_FILE_NAME) in message and "is missing" in message
    assert "python bot.py forget-tokens" in message
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert count_connections(db) == 1  # nothing deleted behind the operator's back


def test_a_replaced_key_file_is_refused(db: Database, tmp_path: Path) -> None:
    store(db, Fernet.generate_key())
    load_or_create_key(tmp_path, None)  # a different key in the file
    with pytest.raises(KeyLost) as raised:
        load_checked_key(db, tmp_path, None)
    message = str(raised.value)
    assert f"the key file {tmp_path / KEY_FILE_NAME}" in message
    assert "TOKEN_ENCRYPTION_KEY" in message and "python bot.py forget-tokens" in message


def test_a_changed_configured_key_is_refused_and_named(db: Database, tmp_path: Path) -> None:
    store(db, Fernet.generate_key())
    new_key = Fernet.generate_key().decode()
    with pytest.raises(KeyLost) as raised:
        load_checked_key(db, tmp_path, new_key)
    message = str(raised.value)
    assert "the TOKEN_ENCRYPTION_KEY setting" in message
    assert new_key not in message  # the key itself is never printed


def test_some_readable_tokens_are_enough_to_start(db: Database, tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, None)
    store(db, Fernet.generate_key(), "old", age=timedelta(days=30))
    store(db, key, "new")
    assert load_checked_key(db, tmp_path, None) == key
