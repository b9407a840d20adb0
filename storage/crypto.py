"""Encryption at rest for Spark tokens (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from the `TOKEN_ENCRYPTION_KEY` setting when given; otherwise one is generated once
into `<data folder>/secret.key` with mode 0600 and reused on every later start. Losing the key
never exposes a token: start-up then stops and says how to recover (`storage.keycheck`), and
after `python bot.py forget-tokens` every agent reconnects.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from storage.files import make_private

KEY_FILE_NAME = "secret.key"
_KEY_BYTES = 32
_GENERATE_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class TokenDecryptError(Exception):
    """A stored token could not be decrypted: wrong encryption key, or a corrupt value."""


class TokenCipher:
    """Encrypts and decrypts token strings; the key never appears in `repr()` or `str()`."""

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plain: str) -> str:
        """Fernet ciphertext of `plain`, as URL-safe base64 text."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token_text: str) -> str:
        """The plain text behind `token_text`; `TokenDecryptError` if the key or value is wrong."""
        try:
            return self._fernet.decrypt(token_text.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, TypeError, ValueError) as exc:
            raise TokenDecryptError(
                "a stored Spark token could not be decrypted: the encryption key changed "
                "or the value is corrupt (the agent needs to reconnect)"
            ) from exc

    def __repr__(self) -> str:
        return "TokenCipher(key=<hidden>)"

    __str__ = __repr__


def is_fernet_key(value: str | bytes) -> bool:
    """True when `value` is URL-safe base64 text of exactly 32 bytes."""
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        return False
    # Re-encoding must give back the input, so stray characters are not silently dropped.
    return len(decoded) == _KEY_BYTES and base64.urlsafe_b64encode(decoded) == raw


def load_or_create_key(data_dir: Path, configured: str | None) -> bytes:
    """The Fernet key to use: `configured` if given, else `data_dir/secret.key` (created once).

    A configured key that is not a Fernet key raises `ValueError` with a one-line message
    (which never includes the value). The key file is created 0600 from the first byte, and if
    two processes race to create it both end up with the same key.
    """
    if configured is not None and configured.strip():
        key = configured.strip()
        if not is_fernet_key(key):
            raise ValueError(
                "TOKEN_ENCRYPTION_KEY is not a valid Fernet key (44 characters of URL-safe "
                f"base64 encoding 32 bytes); {_GENERATE_HINT}"
            )
        return key.encode("ascii")

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    with contextlib.suppress(FileNotFoundError):
        return _read_key_file(path)
    _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    key = path.read_bytes().strip()
    make_private(path)  # a key file copied in with looser permissions is tightened
    if not is_fernet_key(key):
        raise ValueError(
            f"{path} does not hold a valid Fernet key; restore the original file, or delete it "
            "to generate a new one (every agent will then have to reconnect to Flexmls)"
        )
    return key


def _create_key_file(path: Path) -> None:
    """Create `path` holding a new key, unless another process gets there first.

    The key is written to a private temporary file (O_EXCL, 0600) which is then hard-linked into
    place: the link either appears complete or fails with FileExistsError, so a concurrent
    reader never sees a half-written key and the first writer always wins.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _write_new_file(temp, Fernet.generate_key() + b"\n")
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another process created it first; use theirs
    except OSError:
        # A filesystem without hard links: fall back to exclusive creation of the file itself.
        with contextlib.suppress(FileExistsError):
            _write_new_file(path, temp.read_bytes())
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _write_new_file(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
