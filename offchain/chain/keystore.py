"""Encrypted key files: Web3 Secret Storage v3, the format geth and `cast wallet` read and write.

Files are named like geth's (`UTC--<ISO time>--<address>`), written with mode 0600 in a 0700
directory, and encrypted with eth-account's default KDF (scrypt) unless a caller asks otherwise.
Every failure is a one-line ConfigError naming the file and what to fix; no message ever holds a
key or a password.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from offchain.errors import ConfigError, one_line

DEFAULT_KEYSTORE_DIR = Path(".poq/keystores")
MAX_KEYSTORE_BYTES = 1 << 20  # a v3 keystore is under 1 KiB; anything this big is not one
_HEX = frozenset("0123456789abcdefABCDEF")
_KEY_FORMAT = "64 hex digits, optionally 0x-prefixed"

Kdf = Literal["pbkdf2", "scrypt"]


def keystore_filename(address: str, when: datetime | None = None) -> str:
    """geth's name for a key file: `UTC--2024-05-01T12-30-05.123456000Z--<lowercase address>`."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime("%Y-%m-%dT%H-%M-%S") + f".{moment.microsecond * 1000:09d}Z"
    return f"UTC--{stamp}--{address.lower().removeprefix('0x')}"


def parse_private_key(text: str, source: str) -> LocalAccount:
    """The account of a hex private key; `source` names where it came from in the error."""
    digits = text.strip()
    digits = digits[2:] if digits[:2] in ("0x", "0X") else digits
    if len(digits) != 64 or not set(digits) <= _HEX:
        raise ConfigError(f"{source} is not a private key: expected {_KEY_FORMAT}")
    try:
        account: LocalAccount = Account.from_key("0x" + digits)
    except (ValueError, TypeError):
        raise ConfigError(f"{source} is not a valid secp256k1 private key (zero or out of range)") from None
    return account


def read_private_key_file(path: Path) -> LocalAccount:
    """The account of the hex private key in `path` (surrounding whitespace ignored)."""
    return parse_private_key(_read_text(path, "private key file"), f"private key file {path}")


def read_password_file(path: Path) -> str:
    """The password in `path`: its first line, without the line ending (as geth's --password reads it)."""
    text = _read_text(path, "password file")
    return text.split("\n", 1)[0].removesuffix("\r")


def write_keystore(
    directory: Path,
    account: LocalAccount,
    password: str,
    *,
    kdf: Kdf | None = None,
    iterations: int | None = None,
) -> Path:
    """Encrypt `account`'s key with `password` into a new file in `directory`; returns its path.

    `kdf` and `iterations` default to eth-account's (scrypt, n=2^18): leave them alone outside tests.
    Refuses a second keystore for an address the directory already holds.
    """
    if not password:
        raise ConfigError("empty password: a keystore needs a password (give it with --password-file FILE)")
    for address, existing in list_keystores(directory):
        if address is not None and address.lower() == account.address.lower():
            raise ConfigError(f"{directory} already holds a keystore for {account.address}: {existing}")
    data = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)
    path = directory / keystore_filename(account.address)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write a keystore to {directory}: {exc.strerror or one_line(exc)}") from None
    return path


def new_keystore(
    directory: Path, password: str, *, kdf: Kdf | None = None, iterations: int | None = None
) -> tuple[str, Path]:
    """A fresh random key, written as a keystore in `directory`: (address, path)."""
    account: LocalAccount = Account.create()
    return account.address, write_keystore(directory, account, password, kdf=kdf, iterations=iterations)


def read_keystore(path: Path) -> dict[str, Any]:
    """The JSON of a v3 keystore, checked for the fields decryption needs."""
    text = _read_text(path, "keystore file", missing_hint="create one with `poq account new`")
    try:
        data = json.loads(text)
    except ValueError:
        raise _not_a_keystore(path, "not JSON") from None
    if not isinstance(data, dict):
        raise _not_a_keystore(path, "not a JSON object")
    if data.get("version") != 3:
        raise _not_a_keystore(path, f"version {data.get('version')!r}, expected 3")
    crypto = data.get("crypto", data.get("Crypto"))
    if not isinstance(crypto, dict):
        raise _not_a_keystore(path, "no crypto section")
    missing = [f for f in ("cipher", "cipherparams", "ciphertext", "kdf", "kdfparams", "mac") if f not in crypto]
    if missing:
        raise _not_a_keystore(path, f"crypto section lacks {', '.join(missing)}")
    return data


def keystore_address(data: dict[str, Any]) -> str | None:
    """The checksummed address a keystore declares in clear (optional in v3), or None."""
    raw = data.get("address")
    if not isinstance(raw, str):
        return None
    digits = raw.removeprefix("0x").removeprefix("0X")
    if len(digits) != 40 or not set(digits) <= _HEX:
        return None
    return str(to_checksum_address("0x" + digits))


def decrypt_keystore(path: Path, password: str, data: dict[str, Any] | None = None) -> LocalAccount:
    """The account in keystore `path` (already read as `data`, or read here)."""
    data = read_keystore(path) if data is None else data
    try:
        key = Account.decrypt(data, password)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise ConfigError(f"wrong password for keystore {path}") from None
        raise _not_a_keystore(path, one_line(exc)) from None
    except (KeyError, TypeError, NotImplementedError, AssertionError) as exc:
        raise _not_a_keystore(path, one_line(exc)) from None
    account: LocalAccount = Account.from_key(key)
    declared = keystore_address(data)
    if declared is not None and declared != account.address:
        raise ConfigError(f"keystore {path} declares address {declared} but holds the key of {account.address}")
    return account


def list_keystores(directory: Path) -> list[tuple[str | None, Path]]:
    """(address or None, path) of every keystore file in `directory`, by name; other files are skipped."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            data = read_keystore(path)
        except ConfigError:
            continue
        found.append((keystore_address(data), path))
    return found


def _read_text(path: Path, what: str, missing_hint: str = "") -> str:
    hint = f": {missing_hint}" if missing_hint else ""
    try:
        if path.is_dir():
            raise ConfigError(f"{what} {path} is a directory, not a file")
        if path.stat().st_size > MAX_KEYSTORE_BYTES:
            raise ConfigError(f"{what} {path} is too large ({path.stat().st_size} bytes)")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}{hint}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or one_line(exc)}") from None


def _not_a_keystore(path: Path, reason: str) -> ConfigError:
    return ConfigError(f"{path} is not a keystore (Web3 Secret Storage v3 JSON): {reason}")
