"""The encryption key, checked at start-up against the Spark tokens already stored.

A lost or replaced key must not pass silently: the bot would start, every lookup would fail and
every agent would have to guess why. So when tokens are stored and the key in use opens none of
the ones tried, start-up stops with `KeyLost`, naming the key's source and the two ways out:
restore the key, or `python bot.py forget-tokens`. A key file that has gone missing is not
regenerated while tokens encrypted with it are still stored.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from storage.crypto import KEY_FILE_NAME, TokenCipher, load_or_create_key
from storage.tokens import KEY_CHECK_SAMPLE, check_token_key, count_connections

FORGET_COMMAND = "python bot.py forget-tokens"


class KeyLost(Exception):
    """Stored Spark tokens exist but the encryption key can't open them; the message says what to do."""


def key_source(data_dir: Path, configured: str | None) -> str:
    """Where the key comes from, in words an operator can act on."""
    if configured is not None and configured.strip():
        return "the TOKEN_ENCRYPTION_KEY setting"
    return f"the key file {Path(data_dir) / KEY_FILE_NAME}"


def load_checked_key(
    db: Database, data_dir: Path, configured: str | None, *, sample: int = KEY_CHECK_SAMPLE
) -> bytes:
    """The key from `load_or_create_key`, after making sure it opens the stored tokens.

    Raises `KeyLost` when the key file is missing while connections are stored, or when
    connections are stored and none of the `sample` most recent decrypts with the key. Some
    readable and some not is not an error: those agents are asked to reconnect.
    """
    configured_key = configured is not None and bool(configured.strip())
    key_file = Path(data_dir) / KEY_FILE_NAME
    if not configured_key and not key_file.exists():
        stored = count_connections(db)
        if stored:
            raise KeyLost(
                f"The encryption key file {key_file} is missing, but the database holds "
                f"{_connections(stored)} encrypted with it. {_ways_out()}"
            )
    key = load_or_create_key(data_dir, configured)
    check = check_token_key(db, TokenCipher(key), sample)
    if check.key_lost:
        tried = "" if check.sampled == check.stored else f", {check.sampled} most recent tried"
        raise KeyLost(
            f"The stored Flexmls tokens can't be decrypted with {key_source(data_dir, configured)}"
            f" ({_connections(check.stored)}{tried}, none opened). {_ways_out()}"
        )
    return key


def _connections(count: int) -> str:
    return f"{count} stored Flexmls connection{'s' if count != 1 else ''}"


def _ways_out() -> str:
    return (
        "Restore the original key (the key file, or TOKEN_ENCRYPTION_KEY), or run "
        f"`{FORGET_COMMAND}` to delete the stored tokens; every agent then reconnects "
        "with /activity connect."
    )
