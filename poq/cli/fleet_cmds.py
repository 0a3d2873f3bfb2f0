"""`poq fleet run`: fund keys, start every agent as its own process, drive N tasks, print balances."""

from __future__ import annotations

import time
from pathlib import Path

import click

from poq.cli.options import deployments_option, transaction_options


@click.group("fleet")
def fleet_group() -> None:
    """Run a whole fleet of agents on one machine."""


@fleet_group.command("run")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="fleet.toml (default: the demo fleet).",
)
@click.option(
    "--tasks", type=click.IntRange(min=1), default=None, help="Tasks to open (default: from the config)."
)
@click.option(
    "--rpc-url", default=None, envvar="POQ_RPC_URL", help="Use this chain instead of a local one."
)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port of the local chain.")
@click.option("--client", type=click.Choice(["anvil", "hardhat"]), default=None,
              help="EVM client of the local chain started without --rpc-url (default: anvil; "
              "docs/evm-clients.md).")
@click.option("--batch-size", type=click.IntRange(1, 256), default=None,
              help="Tasks per batch (default: the config's, 16).")
@click.option("--transport", type=click.Choice(["ws", "http"]), default=None,
              help="How agents get events: ws (subscriptions, the default) or http (polling).")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where logs, agent state and the report go (default: runs/<time>).",
)
@transaction_options
@deployments_option
def fleet_run_cmd(
    config_path: Path | None,
    tasks: int | None,
    rpc_url: str | None,
    port: int | None,
    batch_size: int | None,
    transport: str | None,
    client: str | None,
    run_dir: Path | None,
    max_fee_gwei: float | None,
    confirmations: int | None,
    deployments_dir: str,
) -> None:
    """Deploy PoQ, run the fleet on real models for N tasks in batches, print the on-chain balances.

    Ctrl-C or SIGTERM stops every agent process; the chain keeps running."""
    run_fleet_and_print(config_path, tasks, rpc_url, port, run_dir, Path(deployments_dir),
                        batch_size=batch_size, transport=transport, client=client,
                        max_fee_gwei=max_fee_gwei, confirmations=confirmations)


def run_fleet_and_print(
    config_path: Path | None,
    tasks: int | None,
    rpc_url: str | None,
    port: int | None,
    run_dir: Path | None,
    deployments_dir: Path,
    *,
    batch_size: int | None = None,
    transport: str | None = None,
    client: str | None = None,
    max_fee_gwei: float | None = None,
    confirmations: int | None = None,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from offchain.chain.views import node_rows
    from poq.cli.query_cmds import print_balances
    from poq.fleet.audit import audit
    from poq.fleet.config import load_config
    from poq.fleet.report import write_report
    from poq.fleet.run import run_fleet

    overrides: dict[str, object] = {}
    if rpc_url:
        overrides["rpc_url"] = rpc_url
    if port:
        overrides["port"] = port
    if batch_size:
        overrides["batch_size"] = batch_size
    if transport:
        overrides["transport"] = transport
    if client:
        overrides["client"] = client
    if max_fee_gwei is not None:
        overrides["max_fee_gwei"] = max_fee_gwei
    if confirmations is not None:
        overrides["confirmations"] = confirmations
    config = load_config(config_path, overrides)
    run_dir = run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    n_nodes = sum(s.count for s in config.inference) + sum(s.count for s in config.evaluators)
    click.echo(f"fleet: {n_nodes} agents, K = {config.params['k']}, batches of {config.batch_size} tasks, "
               f"events over {config.transport}, run dir {run_dir}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        result = run_fleet(config, run_dir, deployments_dir=deployments_dir, n_tasks=tasks, progress=progress)
    report = write_report(result)
    print_balances(result.client.address, node_rows(result.client))
    click.echo(audit(result.client).summary())
    t = result.timings
    click.echo(
        f"{len(result.tasks)} tasks settled; agents ready in {t['agents_ready_s']:.0f} s, "
        f"workload {t['workload_s']:.0f} s, total {t['total_s']:.0f} s; report {report}"
    )
