"""File permissions for what the bot keeps on disk: the database (and its `-wal`/`-shm`/
`-journal` companions) and the key file are readable and writable by the bot's user only."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

PRIVATE_MODE = 0o600
DB_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it already exists (never truncates)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE))


def make_private(path: Path) -> bool:
    """Tighten `path` to 0600 if group or others may access it; True when it changed.

    A missing file is fine; a file we may not chmod (owned by someone else) is logged.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    try:
        os.chmod(path, PRIVATE_MODE)
    except OSError as error:
        log.warning(
            "%s is readable by others (mode %o) and can't be tightened: %s",
            path,
            mode,
            error.strerror,
        )
        return False
    log.warning("%s was readable by others (mode %o); set it to 0600", path, mode)
    return True


def make_database_private(path: Path) -> None:
    """Tighten the database file and whichever of its companion files exist."""
    make_private(path)
    for suffix in DB_COMPANIONS:
        make_private(path.with_name(path.name + suffix))
