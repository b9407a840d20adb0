"""Opening the SQLite database, and the timestamp format every storage table uses.

`open_database()` is called once at start-up (by `bot.py`) and the `Database` it returns is
injected wherever storage is needed; nothing here holds a module-level connection.

Connections are opened in driver-level autocommit mode (`isolation_level=None`): a single
statement commits on its own, and `db.atomic()` issues an explicit `BEGIN` … `COMMIT` (or
`ROLLBACK`) around multi-statement writes. `check_same_thread=False` lets an asyncio app hand the
connection to a worker thread; the caller must still use one connection from one thread at a time.

The database file is created 0600 (only the bot's user can read it): SQLite gives the `-wal`
and `-shm` files it creates later the main file's permissions, and files left too open by an
earlier version are tightened, with a warning, when the database is opened.

Timestamps are stored as fixed-width ISO-8601 UTC text (`2026-01-02T03:04:05.000000+00:00`), so
text comparison in SQL is chronological comparison. Dates are stored as `YYYY-MM-DD`.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from sqlite_utils import Database

from storage.files import create_private, make_database_private
from storage.migrations import apply_migrations

BUSY_TIMEOUT_MS = 5000
MEMORY = ":memory:"


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) the database at `path`, configured and fully migrated.

    Creates the parent folder and the file (mode 0600; existing files too open are tightened),
    turns on WAL with `synchronous=NORMAL` (not for `":memory:"`), a 5 s busy timeout and
    foreign keys, then applies any pending migrations.
    """
    is_memory = str(path) == MEMORY
    if not is_memory:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        create_private(Path(path))
        make_database_private(Path(path))
    conn = sqlite3.connect(
        MEMORY if is_memory else str(path),
        check_same_thread=False,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    try:
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not is_memory:
            db.enable_wal()
            # The usual WAL pairing: commits no longer wait on fsync, and the database stays
            # consistent after a crash (only the last commits can be lost on power failure).
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        apply_migrations(db)
    except BaseException:
        conn.close()
        raise
    return db


def open_memory_database() -> Database:
    """A fresh, migrated in-memory database (for tests and throwaway runs)."""
    return open_database(MEMORY)


def to_utc_text(moment: datetime) -> str:
    """`moment` (timezone-aware) as fixed-width ISO-8601 UTC text."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamps must be timezone-aware, got naive {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str) -> datetime:
    """The aware UTC datetime stored as `text` by `to_utc_text`."""
    return datetime.fromisoformat(text).astimezone(UTC)


def optional_utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else to_utc_text(moment)


def optional_from_utc_text(text: str | None) -> datetime | None:
    return None if text is None else from_utc_text(text)


def to_date_text(day: date) -> str:
    """`day` as `YYYY-MM-DD`; a `datetime` is refused so a time never leaks into a date key."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}")
    return day.isoformat()


def from_date_text(text: str) -> date:
    return date.fromisoformat(text)
