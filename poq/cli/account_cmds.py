"""`poq account new | import | list`: encrypted key files (keystores) to sign with `--keystore FILE`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from poq.cli.options import ask_secret, json_option, password_file_option, read_password

keystore_dir_option = click.option(
    "--keystore-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".poq/keystores"),
    show_default=True,
    help="Directory of keystore files.",
)
new_password_option = password_file_option(
    "The new keystore's password: the file's first line (default: a hidden prompt, asked twice)."
)


@click.group("account")
def account_group() -> None:
    """Keystores: encrypted key files (Web3 Secret Storage v3, as geth and `cast wallet` use)."""


@account_group.command("new")
@keystore_dir_option
@new_password_option
def account_new_cmd(keystore_dir: Path, password_file: Path | None) -> None:
    """Create a random key and write it, encrypted, as a keystore file (mode 0600)."""
    from offchain.chain.keystore import new_keystore

    password = read_password(password_file, "for the new keystore", confirm=True)
    address, path = new_keystore(keystore_dir, password)
    _print_created(address, path)


@account_group.command("import")
@keystore_dir_option
@click.option(
    "--private-key-file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="File holding the hex private key (default: a hidden prompt; never a command-line argument).",
)
@new_password_option
def account_import_cmd(keystore_dir: Path, private_key_file: Path | None, password_file: Path | None) -> None:
    """Encrypt an existing private key into a keystore file (mode 0600)."""
    from offchain.chain.keystore import parse_private_key, read_private_key_file, write_keystore

    if private_key_file is not None:
        account = read_private_key_file(private_key_file)
    else:
        account = parse_private_key(
            ask_secret("private key to import (hex)", "pass --private-key-file FILE"), "the private key typed"
        )
    password = read_password(password_file, "for the new keystore", confirm=True)
    _print_created(account.address, write_keystore(keystore_dir, account, password))


@account_group.command("list")
@keystore_dir_option
@json_option
def account_list_cmd(keystore_dir: Path, as_json: bool) -> None:
    """Address and path of every keystore in the directory."""
    from offchain.chain.keystore import list_keystores

    found = list_keystores(keystore_dir)
    if as_json:
        click.echo(json.dumps([{"address": a, "path": str(p)} for a, p in found], indent=2))
        return
    if not found:
        click.echo(f"no keystores in {keystore_dir}: create one with `poq account new`")
        return
    for address, path in found:
        click.echo(f"{address or '(address not stored)':<42}  {path}")


def _print_created(address: str, path: Path) -> None:
    click.echo(f"address  {address}")
    click.echo(f"keystore {path}")
