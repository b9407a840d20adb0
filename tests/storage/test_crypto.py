"""TokenCipher and the encryption key: round trips, wrong keys, and the generated key file."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import TokenCipher, TokenDecryptError, load_or_create_key
from storage.crypto import KEY_FILE_NAME

KEY = Fernet.generate_key()


@given(st.text())
@settings(max_examples=50, deadline=None)
def test_encrypt_then_decrypt_gives_back_the_text(plain: str) -> None:
    cipher = TokenCipher(KEY)
    assert cipher.decrypt(cipher.encrypt(plain)) == plain


def test_ciphertext_does_not_contain_the_plain_text(cipher: TokenCipher) -> None:
    token = "plain-token-abcdef0123456789"
    encrypted = cipher.encrypt(token)
    assert token not in encrypted
    assert encrypted != cipher.encrypt(token), "each encryption uses a fresh IV"


def test_decrypting_with_the_wrong_key_raises_token_decrypt_error(cipher: TokenCipher) -> None:
    encrypted = cipher.encrypt("secret")
    other = TokenCipher(Fernet.generate_key())
    with pytest.raises(TokenDecryptError, match="could not be decrypted"):
        other.decrypt(encrypted)


@pytest.mark.parametrize(
    "corrupt",
    ["", "not a token", "gAAAAA", "é-not-ascii", base64.urlsafe_b64encode(b"x" * 80).decode()],
)
def test_decrypting_a_corrupt_value_raises_token_decrypt_error(
    cipher: TokenCipher, corrupt: str
) -> None:
    with pytest.raises(TokenDecryptError):
        cipher.decrypt(corrupt)


def test_tampered_ciphertext_is_rejected(cipher: TokenCipher) -> None:
    encrypted = cipher.encrypt("secret")
    flipped = encrypted[:-6] + ("A" if encrypted[-6] != "A" else "B") + encrypted[-5:]
    with pytest.raises(TokenDecryptError):
        cipher.decrypt(flipped)


def test_repr_and_str_do_not_reveal_the_key() -> None:
    key = Fernet.generate_key()
    cipher = TokenCipher(key)
    for text in (repr(cipher), str(cipher), f"{cipher}"):
        assert key.decode() not in text
        assert "hidden" in text


def test_configured_key_is_used_as_is(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_or_create_key(tmp_path, key.decode()) == key
    assert load_or_create_key(tmp_path, f"  {key.decode()}\n") == key
    assert not (tmp_path / KEY_FILE_NAME).exists()


@pytest.mark.parametrize(
    "configured",
    [
        "not-a-key",
        base64.urlsafe_b64encode(b"x" * 16).decode(),  # 16 bytes, too short
        base64.urlsafe_b64encode(b"x" * 33).decode(),  # too long
        base64.b64encode(b"\xfb" * 32).decode(),  # standard, not URL-safe, alphabet
        Fernet.generate_key().decode()[:-1],  # truncated
        Fernet.generate_key().decode() + "x",
        "ä" * 44,
    ],
)
def test_an_invalid_configured_key_raises_a_one_line_value_error(
    tmp_path: Path, configured: str
) -> None:
    with pytest.raises(ValueError, match="TOKEN_ENCRYPTION_KEY is not a valid Fernet key") as info:
        load_or_create_key(tmp_path, configured)
    message = str(info.value)
    assert "\n" not in message
    assert configured not in message


@pytest.mark.parametrize("configured", [None, "", "   "])
def test_without_a_configured_key_one_is_generated_with_mode_0600(
    tmp_path: Path, configured: str | None
) -> None:
    data_dir = tmp_path / "data"
    key = load_or_create_key(data_dir, configured)
    path = data_dir / KEY_FILE_NAME
    assert path.read_bytes().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    TokenCipher(key)  # a usable Fernet key


def test_generated_key_is_reused_on_the_next_call(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path, None)
    second = load_or_create_key(tmp_path, None)
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE_NAME], "no temp files left"


def test_key_file_is_created_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key(tmp_path, None)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    count = 8
    barrier = threading.Barrier(count)
    keys: list[bytes] = []

    def start() -> None:
        barrier.wait()
        keys.append(load_or_create_key(tmp_path, None))

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == count
    assert len(set(keys)) == 1
    assert (tmp_path / KEY_FILE_NAME).read_bytes().strip() == keys[0]


def test_a_corrupt_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="does not hold a valid Fernet key"):
        load_or_create_key(tmp_path, None)
    assert path.read_bytes() == b"garbage"


def test_a_key_file_that_is_too_open_is_tightened_to_0600(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path, None)
    path = tmp_path / KEY_FILE_NAME
    os.chmod(path, 0o644)
    assert load_or_create_key(tmp_path, None) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
