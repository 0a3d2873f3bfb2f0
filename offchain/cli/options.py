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
