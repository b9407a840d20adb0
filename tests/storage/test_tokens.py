"""Spark connections (encrypted at rest) and one-time OAuth states."""

from __future__ import annotations

import base64
import dataclasses
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlite_utils import Database

from storage import (
    Connection,
    KeyCheck,
    TokenCipher,
    check_token_key,
    connections_expiring_before,
    consume_oauth_state,
    count_connections,
    delete_connection,
    forget_all_connections,
    get_connection,
    mark_broken,
    open_database,
    prune_oauth_states,
    save_connection,
    save_oauth_state,
    update_tokens,
)

from .support import NOW

ACCESS = "ACCESS-tok-7f3a9c2e41b8d05f6a1e"
REFRESH = "REFRESH-tok-0b9d8e7c6a5f4e3d2c1b"


def connection(**changes: object) -> Connection:
    base = Connection(
        team_id="T1",
        user_id="U1",
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=NOW + timedelta(hours=24),
        spark_user_id="20100000000000000000000000",
        spark_user_name="Joe Agent",
        kind="oauth",
        status="ok",
        connected_at=NOW,
        updated_at=NOW,
    )
    return dataclasses.replace(base, **changes)


# --- Connection ---------------------------------------------------------------------------


def test_repr_hides_both_tokens() -> None:
    conn = connection()
    for text in (repr(conn), str(conn), f"{conn}", f"{[conn]}"):
        assert ACCESS not in text
        assert REFRESH not in text
        assert "Joe Agent" in text


def test_repr_shows_a_missing_refresh_token_as_none() -> None:
    assert "refresh_token=None" in repr(connection(refresh_token=None))


@pytest.mark.parametrize(("field", "value"), [("kind", "robot"), ("status", "expired")])
def test_unknown_kind_or_status_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        connection(**{field: value})


def test_connection_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        connection().status = "broken"  # type: ignore[misc]


# --- CRUD ---------------------------------------------------------------------------------


def test_save_then_get_round_trips(db: Database, cipher: TokenCipher) -> None:
    saved = connection()
    save_connection(db, cipher, saved)
    assert get_connection(db, cipher, "T1", "U1") == saved


def test_personal_token_without_refresh_or_expiry_round_trips(
    db: Database, cipher: TokenCipher
) -> None:
    saved = connection(kind="personal", refresh_token=None, expires_at=None)
    save_connection(db, cipher, saved)
    assert get_connection(db, cipher, "T1", "U1") == saved


@pytest.mark.parametrize(("team", "user"), [("T1", "U2"), ("T2", "U1"), ("t1", "U1")])
def test_connections_are_per_team_and_user(
    db: Database, cipher: TokenCipher, team: str, user: str
) -> None:
    save_connection(db, cipher, connection())
    assert get_connection(db, cipher, team, user) is None


def test_saving_again_replaces_the_connection(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection())
    newer = connection(
        access_token="new-access", spark_user_name="Jo A.", updated_at=NOW + timedelta(1)
    )
    save_connection(db, cipher, newer)
    assert get_connection(db, cipher, "T1", "U1") == newer
    assert db.table("spark_connections").count == 1


def test_tokens_are_stored_encrypted(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection())
    row = db.execute("SELECT access_token, refresh_token FROM spark_connections").fetchone()
    assert ACCESS not in row[0] and REFRESH not in row[1]
    assert cipher.decrypt(row[0]) == ACCESS
    assert cipher.decrypt(row[1]) == REFRESH


def test_reading_with_another_key_gives_a_broken_connection_without_tokens(
    db: Database, cipher: TokenCipher
) -> None:
    save_connection(db, cipher, connection())
    read = get_connection(db, TokenCipher(Fernet.generate_key()), "T1", "U1")
    assert read is not None
    assert read.status == "broken"
    assert (read.access_token, read.refresh_token) == ("", None)
    assert (read.spark_user_id, read.spark_user_name) == ("20100000000000000000000000", "Joe Agent")
    # The row itself is untouched: the original key still reads it.
    assert get_connection(db, cipher, "T1", "U1") == connection()


def test_a_corrupt_refresh_token_also_reads_as_broken(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection())
    db.execute("UPDATE spark_connections SET refresh_token = 'not-fernet'")
    read = get_connection(db, cipher, "T1", "U1")
    assert read is not None and read.status == "broken" and read.access_token == ""


def test_saving_over_an_unreadable_row_replaces_it(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, TokenCipher(Fernet.generate_key()), connection())
    save_connection(db, cipher, connection(access_token="new-access"))
    read = get_connection(db, cipher, "T1", "U1")
    assert read is not None and read.status == "ok" and read.access_token == "new-access"


def test_unreadable_connections_are_not_offered_for_refresh(
    db: Database, cipher: TokenCipher
) -> None:
    save_connection(db, cipher, connection(user_id="readable", expires_at=NOW))
    save_connection(
        db, TokenCipher(Fernet.generate_key()), connection(user_id="lost", expires_at=NOW)
    )
    due = connections_expiring_before(db, cipher, NOW + timedelta(hours=1))
    assert [c.user_id for c in due] == ["readable"]


# --- the key check and forget-tokens ------------------------------------------------------


def test_key_check_with_nothing_stored(db: Database, cipher: TokenCipher) -> None:
    check = check_token_key(db, cipher)
    assert check == KeyCheck(stored=0, sampled=0, readable=0)
    assert not check.key_lost


def test_key_check_with_the_right_key(db: Database, cipher: TokenCipher) -> None:
    for user in ("U1", "U2"):
        save_connection(db, cipher, connection(user_id=user))
    check = check_token_key(db, cipher)
    assert check == KeyCheck(stored=2, sampled=2, readable=2)
    assert not check.key_lost


def test_key_check_with_another_key_says_the_key_is_lost(db: Database, cipher: TokenCipher) -> None:
    for user in ("U1", "U2"):
        save_connection(db, cipher, connection(user_id=user))
    check = check_token_key(db, TokenCipher(Fernet.generate_key()))
    assert check == KeyCheck(stored=2, sampled=2, readable=0)
    assert check.key_lost


def test_key_check_tries_a_bounded_sample_of_the_newest(db: Database, cipher: TokenCipher) -> None:
    old_key = TokenCipher(Fernet.generate_key())
    for n in range(5):
        save_connection(db, old_key, connection(user_id=f"old{n}", updated_at=NOW))
    save_connection(db, cipher, connection(user_id="new", updated_at=NOW + timedelta(days=1)))
    check = check_token_key(db, cipher, sample=3)
    assert check == KeyCheck(stored=6, sampled=3, readable=1)
    assert not check.key_lost  # a mixed situation: the old ones are asked to reconnect


def test_forget_all_connections(db: Database, cipher: TokenCipher) -> None:
    for user in ("U1", "U2", "U3"):
        save_connection(db, cipher, connection(user_id=user))
    assert count_connections(db) == 3
    assert forget_all_connections(db) == 3
    assert count_connections(db) == 0
    assert forget_all_connections(db) == 0


def test_update_tokens_after_a_refresh(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection(status="broken"))
    later = NOW + timedelta(hours=23)
    assert update_tokens(
        db,
        cipher,
        "T1",
        "U1",
        access_token="fresh-access",
        refresh_token="fresh-refresh",
        expires_at=later + timedelta(hours=24),
        now=later,
    )
    got = get_connection(db, cipher, "T1", "U1")
    assert got == connection(
        access_token="fresh-access",
        refresh_token="fresh-refresh",
        expires_at=later + timedelta(hours=24),
        updated_at=later,
        status="ok",
    )


def test_update_tokens_without_a_new_refresh_token_keeps_the_old_one(
    db: Database, cipher: TokenCipher
) -> None:
    save_connection(db, cipher, connection())
    update_tokens(
        db, cipher, "T1", "U1", access_token="a2", refresh_token=None, expires_at=None, now=NOW
    )
    got = get_connection(db, cipher, "T1", "U1")
    assert got is not None
    assert (got.access_token, got.refresh_token, got.expires_at) == ("a2", REFRESH, None)


def test_update_tokens_for_an_unknown_user_changes_nothing(
    db: Database, cipher: TokenCipher
) -> None:
    assert not update_tokens(
        db, cipher, "T1", "nobody", access_token="a", refresh_token="r", expires_at=None, now=NOW
    )
    assert db.table("spark_connections").count == 0


def test_mark_broken(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection())
    later = NOW + timedelta(minutes=5)
    assert mark_broken(db, "T1", "U1", later)
    assert get_connection(db, cipher, "T1", "U1") == connection(status="broken", updated_at=later)
    assert not mark_broken(db, "T1", "nobody", later)


def test_delete_connection(db: Database, cipher: TokenCipher) -> None:
    save_connection(db, cipher, connection())
    save_connection(db, cipher, connection(user_id="U2"))
    assert delete_connection(db, "T1", "U1") is True
    assert delete_connection(db, "T1", "U1") is False
    assert get_connection(db, cipher, "T1", "U1") is None
    assert get_connection(db, cipher, "T1", "U2") is not None


def test_naive_timestamps_are_refused(db: Database, cipher: TokenCipher) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        save_connection(db, cipher, connection(connected_at=datetime(2026, 1, 1)))


def test_connections_expiring_before(db: Database, cipher: TokenCipher) -> None:
    hour = timedelta(hours=1)
    save_connection(db, cipher, connection(user_id="later", expires_at=NOW + 3 * hour))
    save_connection(db, cipher, connection(user_id="soon", expires_at=NOW + hour))
    save_connection(db, cipher, connection(user_id="sooner", expires_at=NOW + hour / 2))
    save_connection(db, cipher, connection(user_id="exactly", expires_at=NOW + 2 * hour))
    save_connection(db, cipher, connection(user_id="broken", expires_at=NOW, status="broken"))
    save_connection(db, cipher, connection(user_id="no-refresh", refresh_token=None))
    save_connection(
        db,
        cipher,
        connection(user_id="personal", kind="personal", refresh_token=None, expires_at=None),
    )
    due = connections_expiring_before(db, cipher, NOW + 2 * hour)
    assert [c.user_id for c in due] == ["sooner", "soon"]
    assert due[0].access_token == ACCESS and due[0].refresh_token == REFRESH


# --- at rest ------------------------------------------------------------------------------


def _forms(secret: str) -> list[bytes]:
    """The secret and its encodings that a careless implementation might store."""
    raw = secret.encode()
    forms = [raw, raw.hex().encode(), secret.encode("utf-16-le")]
    for shift in range(3):  # base64 of the secret at every alignment within a larger blob
        chunk = raw[shift:]
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.append(encode(chunk)[:-4])
    return forms


def test_no_token_reaches_the_database_files_in_plain_text(
    tmp_path: Path, cipher: TokenCipher
) -> None:
    path = tmp_path / "activity.db"
    db = open_database(path)
    for n in range(3):
        save_connection(
            db,
            cipher,
            connection(
                user_id=f"U{n}", access_token=f"{ACCESS}-{n}", refresh_token=f"{REFRESH}-{n}"
            ),
        )
    update_tokens(
        db,
        cipher,
        "T1",
        "U0",
        access_token=f"{ACCESS}-x",
        refresh_token=f"{REFRESH}-x",
        expires_at=None,
        now=NOW,
    )
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert files[1].stat().st_size > 0, "the writes are in the WAL while the database is open"
    while_open = b"".join(p.read_bytes() for p in files if p.exists())
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    after_close = b"".join(p.read_bytes() for p in files if p.exists())

    assert b"Joe Agent" in while_open + after_close, "the test reads the real data"
    secrets = [ACCESS, REFRESH] + [f"{t}-{n}" for t in (ACCESS, REFRESH) for n in "012x"]
    for secret in secrets:
        for form in _forms(secret):
            assert form not in while_open, (secret, form)
            assert form not in after_close, (secret, form)


# --- OAuth state ----------------------------------------------------------------------------


def test_oauth_state_is_single_use(db: Database) -> None:
    save_oauth_state(db, "state-1", "T1", "U1", NOW + timedelta(minutes=10))
    assert consume_oauth_state(db, "state-1", NOW) == ("T1", "U1")
    assert consume_oauth_state(db, "state-1", NOW) is None


def test_unknown_oauth_state_is_none(db: Database) -> None:
    assert consume_oauth_state(db, "never-issued", NOW) is None


@pytest.mark.parametrize("after", [timedelta(minutes=10), timedelta(minutes=11)])
def test_expired_oauth_state_is_none_and_deleted(db: Database, after: timedelta) -> None:
    save_oauth_state(db, "state-1", "T1", "U1", NOW + timedelta(minutes=10))
    assert consume_oauth_state(db, "state-1", NOW + after) is None
    assert db.table("oauth_states").count == 0


def test_oauth_state_just_before_expiry_is_accepted(db: Database) -> None:
    save_oauth_state(db, "state-1", "T1", "U1", NOW + timedelta(minutes=10))
    almost = NOW + timedelta(minutes=10) - timedelta(microseconds=1)
    assert consume_oauth_state(db, "state-1", almost) == ("T1", "U1")


def test_prune_oauth_states(db: Database) -> None:
    save_oauth_state(db, "old", "T1", "U1", NOW - timedelta(seconds=1))
    save_oauth_state(db, "live", "T1", "U1", NOW + timedelta(minutes=1))
    assert prune_oauth_states(db, NOW) == 1
    assert consume_oauth_state(db, "live", NOW) == ("T1", "U1")


def test_concurrent_consumes_on_separate_connections_succeed_once(db_path: Path) -> None:
    count = 8
    setup = open_database(db_path)
    states = [f"state-{n}" for n in range(20)]
    for state in states:
        save_oauth_state(setup, state, "T1", "U1", NOW + timedelta(minutes=10))
    connections = [open_database(db_path) for _ in range(count)]
    wins: list[str] = []
    lock = threading.Lock()

    def consume(db: Database, barrier: threading.Barrier, state: str) -> None:
        barrier.wait()
        if consume_oauth_state(db, state, NOW) is not None:
            with lock:
                wins.append(state)

    try:
        for state in states:
            barrier = threading.Barrier(count)
            threads = [
                threading.Thread(target=consume, args=(c, barrier, state)) for c in connections
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert sorted(wins) == sorted(states)
    finally:
        for database in [setup, *connections]:
            database.close()
