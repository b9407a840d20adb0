"""open_database: configuration, transactions, use from more than one thread, file modes."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import open_database, open_memory_database
from storage.db import from_utc_text, to_date_text, to_utc_text


def test_creates_the_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "bot.db"
    db = open_database(path)
    try:
        assert path.exists()
    finally:
        db.close()


def test_accepts_a_string_path(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "bot.db"))
    try:
        assert "slack_events" in db.table_names()
    finally:
        db.close()


def test_file_database_uses_wal(file_db: Database) -> None:
    assert file_db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert file_db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_busy_timeout_and_foreign_keys_are_on(kind: str, tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db") if kind == "file" else open_memory_database()
    try:
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.close()


@pytest.mark.parametrize("path", [":memory:", Path(":memory:")])
def test_memory_path_skips_wal_and_creates_no_file(
    path: str | Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = open_database(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "memory"
        assert "spark_connections" in db.table_names()
    finally:
        db.close()
    assert list(tmp_path.iterdir()) == []


def test_connection_autocommits_outside_atomic(file_db: Database, db_path: Path) -> None:
    file_db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E1', 'x')")
    assert not file_db.conn.in_transaction
    other = open_database(db_path)
    try:
        assert other.execute("SELECT count(*) FROM slack_events").fetchone()[0] == 1
    finally:
        other.close()


def test_failed_atomic_block_rolls_back_every_write(file_db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), file_db.atomic():
        file_db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E1', 'x')")
        file_db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E2', 'x')")
        raise Boom

    assert file_db.execute("SELECT count(*) FROM slack_events").fetchone()[0] == 0
    assert not file_db.conn.in_transaction


def test_successful_atomic_block_commits(file_db: Database, db_path: Path) -> None:
    with file_db.atomic():
        file_db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E1', 'x')")
        file_db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E2', 'x')")
    other = open_database(db_path)
    try:
        assert other.execute("SELECT count(*) FROM slack_events").fetchone()[0] == 2
    finally:
        other.close()


def test_database_can_be_used_from_another_thread(db: Database) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E1', 'x')")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert db.execute("SELECT count(*) FROM slack_events").fetchone()[0] == 1


def test_processes_opening_a_new_file_at_once_all_succeed(db_path: Path) -> None:
    count = 6
    barrier = threading.Barrier(count)
    opened: list[Database] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            opened.append(open_database(db_path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        names = [r[0] for r in opened[0].execute("SELECT name FROM _sqlite_migrations")]
        assert names == [
            "m001_initial",
            "m002_delivery_posting",
            "m003_delivery_owner",
            "m004_subscription_paused",
            "m005_first_lookups",
            "m006_alerts",
            "m007_alert_settings",
            "m008_alert_kinds",
            "m009_auto_watch",
        ]  # each applied exactly once
    finally:
        for database in opened:
            database.close()


def test_timestamps_are_fixed_width_utc_text() -> None:
    denver = timezone(timedelta(hours=-7))
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=denver)
    text = to_utc_text(moment)
    assert text == "2026-01-02T10:04:05.000000+00:00"
    assert from_utc_text(text) == moment


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_utc_text(datetime(2026, 1, 2, 3, 4, 5))


def test_a_datetime_is_not_accepted_as_a_date() -> None:
    with pytest.raises(TypeError):
        to_date_text(datetime(2026, 1, 2, tzinfo=UTC))


# --- file modes -----------------------------------------------------------------------------


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_database_wal_and_shm_are_created_0600(db_path: Path, mask: int) -> None:
    with umask(mask):
        db = open_database(db_path)
        try:
            db.execute("INSERT INTO slack_events (event_id, seen_at) VALUES ('E1', 'x')")
            files = [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm"))]
            assert all(path.exists() for path in files)
            assert {path.name: mode_of(path) for path in files} == {
                path.name: 0o600 for path in files
            }
        finally:
            db.close()


def test_existing_files_that_are_too_open_are_tightened(db_path: Path) -> None:
    with umask(0o022):
        open_database(db_path).close()
        wal = db_path.with_name(db_path.name + "-wal")
        wal.write_bytes(b"")  # a leftover from an earlier, looser run
        for path in (db_path, wal):
            os.chmod(path, 0o644)
        db = open_database(db_path)
        try:
            assert mode_of(db_path) == 0o600
            assert mode_of(wal) == 0o600
            assert mode_of(db_path.with_name(db_path.name + "-shm")) == 0o600
        finally:
            db.close()
