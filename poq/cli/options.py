"""Option factories shared by subcommands."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource

from offchain.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def rpc_url_option(func: F) -> F:
    """`--rpc-url`, from env POQ_RPC_URL, defaulting to the local anvil started by `poq chain up`."""
    return click.option(
        "--rpc-url",
        envvar="POQ_RPC_URL",
        default=DEFAULT_RPC_URL,
        show_default=True,
        show_envvar=True,
        help="Ethereum JSON-RPC endpoint.",
    )(func)


def deployments_option(func: F) -> F:
    """`--deployments DIR`: where manifests `<chainId>.json` live (env POQ_DEPLOYMENTS_DIR)."""
    return click.option(
        "--deployments",
        "deployments_dir",
        envvar="POQ_DEPLOYMENTS_DIR",
        default="deployments",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Directory of deployment manifests.",
    )(func)


def transaction_options(func: F) -> F:
    """`--max-fee-gwei` (a ceiling on what a transaction may pay per gas) and `--confirmations` (how
    deep a receipt must be before the agent acts on it)."""
    func = click.option(
        "--max-fee-gwei", type=click.FloatRange(min=0, min_open=True), default=None, envvar="POQ_MAX_FEE_GWEI",
        show_envvar=True,
        help="Never offer more than this per gas; while the base fee is above it, transactions wait "
        "(one warning line) [default: no ceiling: 2 x base fee + tip, read at each send].",
    )(func)
    return click.option(
        "--confirmations", type=click.IntRange(min=1), default=None,
        help="Blocks on top of a receipt before the agent acts on it; a transaction whose block a reorg "
        "replaces is followed and re-sent [default: 2 on a dev chain (31337, 1337), 5 elsewhere].",
    )(func)


def monte_carlo_options(func: F) -> F:
    """`--rounds`, `--seed` and `--k` of a Monte Carlo run (`poq simulate`, `poq report`)."""
    func = click.option("--k", type=click.IntRange(min=1), default=3, show_default=True,
                        help="Evaluators per round (capped at the number of evaluators by `poq report`).")(func)
    func = click.option("--seed", type=int, default=0, show_default=True)(func)
    return click.option("--rounds", type=click.IntRange(min=1), default=5000, show_default=True)(func)


@dataclass(frozen=True)
class KeyChoice:
    """What the key options of a signing command said (`key_options`); `load_account` resolves it."""

    keystore: Path | None = None
    password_file: Path | None = None
    dev_key: int | None = None  # None: not given
    private_key: str | None = None
    private_key_on_command_line: bool = False  # rather than from POQ_PRIVATE_KEY

    @property
    def is_dev(self) -> bool:
        """Signing with a dev key: named by --dev-key/--key-index, or dev key 0 by default."""
        return self.keystore is None and (self.dev_key is not None or self.private_key is None)

    @property
    def dev_index(self) -> int:
        return self.dev_key if self.dev_key is not None else 0

    @property
    def defaulted(self) -> bool:
        """No key option at all: dev key 0, with a warning."""
        return self.keystore is None and self.dev_key is None and self.private_key is None


def key_options(func: F) -> F:
    """The signing key: `--keystore FILE` [`--password-file FILE`], `--private-key HEX` (env
    POQ_PRIVATE_KEY) or `--dev-key N` (alias `--key-index N`: anvil's public mnemonic, dev chains only).

    The command receives them as one `key: KeyChoice` argument instead of four.
    """

    @functools.wraps(func)
    def with_key(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        kwargs["key"] = KeyChoice(
            keystore=kwargs.pop("keystore"),
            password_file=kwargs.pop("password_file"),
            dev_key=kwargs.pop("dev_key"),
            private_key=kwargs.pop("private_key"),
            private_key_on_command_line=ctx.get_parameter_source("private_key") is ParameterSource.COMMANDLINE,
        )
        return func(*args, **kwargs)

    options = [
        click.option(
            "--keystore",
            type=click.Path(path_type=Path),
            default=None,
            metavar="FILE",
            help="Sign with this encrypted key file (Web3 Secret Storage v3, as `poq account new`, geth "
            "and `cast wallet` write); its password from --password-file or a hidden prompt.",
        ),
        password_file_option("Password of --keystore: the file's first line (default: a hidden prompt)."),
        click.option(
            "--private-key",
            envvar="POQ_PRIVATE_KEY",
            show_envvar=True,
            default=None,
            metavar="HEX",
            help="Hex private key to sign with. Prefer the POQ_PRIVATE_KEY environment variable or "
            "--keystore: a key on the command line shows in the process list.",
        ),
        click.option(
            "--dev-key",
            "--key-index",
            "dev_key",
            type=click.IntRange(min=0),
            default=None,
            metavar="N",
            help="Sign with dev key N of anvil's public mnemonic (local chains 31337/1337 only). "
            "With no key option: dev key 0, with a warning.",
        ),
    ]
    command: Any = with_key
    for option in reversed(options):
        command = option(command)
    return cast(F, command)


def password_file_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--password-file",
        type=click.Path(path_type=Path),
        default=None,
        metavar="FILE",
        help=help_text,
    )


def stdin_is_tty() -> bool:
    """Whether a person can answer a prompt (tests replace this to drive the prompts)."""
    return sys.stdin.isatty()


def warn(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def ask_secret(what: str, fix: str, *, confirm: bool = False) -> str:
    """A hidden prompt for `what` ("password for ..."); with no terminal, a one-line error naming `fix`."""
    if not stdin_is_tty():
        raise ConfigError(f"no terminal to ask for the {what}: {fix}")
    answer: str = click.prompt(what[0].upper() + what[1:], hide_input=True, confirmation_prompt=confirm, err=True)
    return answer


def read_password(password_file: Path | None, what: str, *, confirm: bool = False) -> str:
    """The password from `--password-file FILE`, else from a hidden prompt (confirmed for new keys)."""
    if password_file is not None:
        from offchain.chain.keystore import read_password_file

        return read_password_file(password_file)
    return ask_secret(f"password {what}", "pass --password-file FILE", confirm=confirm)


def load_account(key: KeyChoice) -> Any:
    """The signing account the key options name (a LocalAccount); one-line ConfigErrors otherwise.

    Call `check_signing_chain(key, chain_id)` once connected: it refuses dev keys on real chains.
    """
    named = [name for name, given in (("--keystore", key.keystore is not None),
                                      ("--dev-key", key.dev_key is not None),
                                      ("--private-key", key.private_key_on_command_line)) if given]
    if len(named) > 1:
        raise ConfigError(f"{' and '.join(named)} both name a key: give only one")
    if key.password_file is not None and key.keystore is None:
        raise ConfigError("--password-file unlocks a keystore: give --keystore FILE with it")
    if key.keystore is not None:  # the command line beats POQ_PRIVATE_KEY from the environment
        from offchain.chain.keystore import decrypt_keystore, read_keystore

        data = read_keystore(key.keystore)  # a missing or malformed file fails before the prompt
        return decrypt_keystore(key.keystore, read_password(key.password_file, f"for keystore {key.keystore}"), data)
    if key.private_key is not None and key.dev_key is None:
        from offchain.chain.keystore import parse_private_key

        if key.private_key_on_command_line:
            warn("--private-key on the command line shows in the process list (ps); "
                 "use --keystore FILE or the POQ_PRIVATE_KEY environment variable")
        return parse_private_key(key.private_key, "--private-key" if key.private_key_on_command_line
                                 else "POQ_PRIVATE_KEY")
    from offchain.chain.accounts import dev_account

    return dev_account(key.dev_index)


def check_signing_chain(key: KeyChoice, chain_id: int) -> None:
    """Once a signing command knows its chain: a dev key only on a dev chain, and a warning when the
    key was chosen by default. The one place every signing command checks this."""
    if not key.is_dev:
        return
    from offchain.chain.accounts import require_dev_chain

    require_dev_chain(chain_id, key.dev_index)
    if key.defaulted:
        warn("no key given: signing with dev key 0 (anvil's public mnemonic); choose one with "
             "--keystore FILE, or --dev-key 0 to make it explicit")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def eth(wei: int) -> str:
    """Wei as ETH with 6 decimals, for tables."""
    return f"{wei / 10**18:,.6f}"
