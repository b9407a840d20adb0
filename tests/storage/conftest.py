"""Shared fixtures for storage tests: a fresh database per test, and a cipher.

The fixed clock is `support.NOW`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlite_utils import Database

from storage import TokenCipher, open_database, open_memory_database


@pytest.fixture
def db() -> Iterator[Database]:
    database = open_memory_database()
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "activity.db"


@pytest.fixture
def file_db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(Fernet.generate_key())
