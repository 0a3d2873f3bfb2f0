"""`poq chain up|down|status`: a local anvil (or Hardhat node) in the background."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from poq.cli.options import json_option

port_option = click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".poq/chain"),
    show_default=True,
    help="Where the PID record and log are kept.",
)


@click.group("chain")
def chain_group() -> None:
    """Start, stop and inspect a local anvil (or Hardhat) chain."""


@chain_group.command("up")
@port_option
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load and save the chain state here, so a restarted chain keeps it.",
)
@click.option(
    "--block-time",
    type=click.IntRange(min=1),
    default=None,
    help="Mine a block every N seconds instead of on every transaction.",
)
@click.option(
    "--client",
    type=click.Choice(["anvil", "hardhat"]),
    default="anvil",
    show_default=True,
    help="The EVM client: anvil, or Hardhat's node (npm hardhat; no --state). See docs/evm-clients.md.",
)
@state_dir_option
def chain_up_cmd(port: int, state_file: Path | None, block_time: int | None, client: str,
                 state_dir: Path) -> None:
    """Start anvil (or Hardhat's node) in the background (no-op if a chain answers on the port)."""
    from deploy.localchain import chain_up

    status = chain_up(port=port, state_file=state_file, block_time=block_time, state_dir=state_dir,
                      client=client)
    if status.already_running:
        click.echo(f"chain already running at {status.rpc_url} (chain id {status.chain_id})")
    else:
        click.echo(
            f"{status.client} chain up at {status.rpc_url} (chain id {status.chain_id}, pid {status.pid}, "
            f"log {status.log_path})"
        )


@chain_group.command("down")
@port_option
@state_dir_option
def chain_down_cmd(port: int, state_dir: Path) -> None:
    """Stop the chain started by `poq chain up` (anvil saves --state first)."""
    from deploy.localchain import chain_down

    stopped = chain_down(port=port, state_dir=state_dir)
    click.echo(f"chain on port {port} stopped" if stopped else f"no chain of ours was running on port {port}")


@chain_group.command("status")
@port_option
@state_dir_option
@json_option
def chain_status_cmd(port: int, state_dir: Path, as_json: bool) -> None:
    """Whether a chain answers on the port, with its block number and PID."""
    from deploy.localchain import chain_status

    status = chain_status(port=port, state_dir=state_dir)
    if as_json:
        click.echo(json.dumps(asdict(status), default=str, indent=2))
    elif status.running:
        pid = f", {status.client} pid {status.pid}" if status.pid else " (not started by poq)"
        click.echo(
            f"running at {status.rpc_url}: chain id {status.chain_id}, block {status.block_number}{pid}"
        )
    else:
        click.echo(f"not running on port {port}")
