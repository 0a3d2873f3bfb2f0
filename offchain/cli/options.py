"""Option factories shared by subcommands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

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


def monte_carlo_options(func: F) -> F:
    """`--rounds`, `--seed` and `--k` of a Monte Carlo run (`poq simulate`, `poq report`)."""
    func = click.option("--k", type=click.IntRange(min=1), default=3, show_default=True,
                        help="Evaluators per round (capped at the number of evaluators by `poq report`).")(func)
    func = click.option("--seed", type=int, default=0, show_default=True)(func)
    return click.option("--rounds", type=click.IntRange(min=1), default=5000, show_default=True)(func)


def key_options(func: F) -> F:
    """`--key-index N` (a dev key of anvil's mnemonic) or `--private-key HEX` (env POQ_PRIVATE_KEY)."""
    func = click.option(
        "--private-key",
        envvar="POQ_PRIVATE_KEY",
        default=None,
        help="Hex private key to sign with (overrides --key-index).",
    )(func)
    return click.option(
        "--key-index",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Index of the dev key (anvil's default mnemonic) to sign with.",
    )(func)


def load_account(key_index: int, private_key: str | None) -> Any:
    """The signing account named by the key options."""
    if private_key:
        from eth_account import Account

        try:
            return Account.from_key(private_key)
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(f"not a valid private key ({exc})", param_hint="--private-key") from None
    from offchain.chain.accounts import dev_account

    return dev_account(key_index)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def eth(wei: int) -> str:
    """Wei as ETH with 6 decimals, for tables."""
    return f"{wei / 10**18:,.6f}"
