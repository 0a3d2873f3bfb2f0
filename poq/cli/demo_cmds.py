"""`poq demo`: a local chain, a fresh deployment, a small fleet on real tasks, the on-chain balances,
and a live dashboard of it all in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from poq.cli.options import deployments_option


@click.command("demo")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--tasks", type=click.IntRange(min=1), default=None, help="Tasks to run (default 9: 6 SQuAD, 3 CNN/DM)."
)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--batch-size", type=click.IntRange(1, 256), default=3, show_default=True,
              help="Tasks per batch (the demo's 9 tasks settle as 3 batches).")
@click.option("--dashboard/--no-dashboard", default=True, show_default=True,
              help="Serve `poq dashboard` in the background while the chain runs.")
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@deployments_option
def demo_cmd(
    port: int, tasks: int | None, run_dir: Path | None, batch_size: int, dashboard: bool, dashboard_port: int,
    deployments_dir: str,
) -> None:
    """Start anvil, deploy PoQ, run 3 generators and 3 evaluators (K = 3) on real SQuAD and CNN/DM
    tasks, and print the balances settled on chain. The dashboard shows the batches settle live."""
    from poq.cli.fleet_cmds import run_fleet_and_print

    url = _start_dashboard(port, Path(deployments_dir), dashboard_port) if dashboard else None
    run_fleet_and_print(None, tasks, None, port, run_dir, Path(deployments_dir), batch_size=batch_size)
    if url:
        click.echo(f"the dashboard keeps serving at {url} while the chain runs")
    click.echo(
        "the chain keeps running: try `poq balances` and `poq task show 1`; "
        f"stop it with `poq chain down --port {port}`"
    )


def _start_dashboard(port: int, deployments_dir: Path, dashboard_port: int) -> str | None:
    """The chain first (the fleet reuses it), then a detached dashboard that ends with the chain.
    The dashboard is a view: when it cannot start (its port taken, say), the demo goes on without it."""
    from deploy.localchain import chain_up
    from offchain.errors import PoQError
    from poq.cli.background_dashboard import start_background

    chain = chain_up(port=port)
    try:
        started = start_background(chain.rpc_url, deployments_dir, port=dashboard_port)
    except PoQError as exc:
        click.echo(f"dashboard: not started ({exc})", err=True)
        return None
    where = f"pid {started.pid}, log {started.log_path}" if started.pid else "already running"
    click.echo(f"dashboard: open {started.url} to watch the batches settle ({where})")
    return started.url
