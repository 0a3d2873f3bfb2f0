"""`poq demo`: a local chain, a fresh deployment, a small fleet on real tasks, the on-chain balances."""

from __future__ import annotations

from pathlib import Path

import click

from offchain.cli.options import deployments_option


@click.command("demo")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--tasks", type=click.IntRange(min=1), default=None, help="Tasks to run (default 9: 6 SQuAD, 3 CNN/DM)."
)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@deployments_option
def demo_cmd(port: int, tasks: int | None, run_dir: Path | None, deployments_dir: str) -> None:
    """Start anvil, deploy PoQ, run 3 generators and 3 evaluators (K = 3) on real SQuAD and CNN/DM
    tasks, and print the balances settled on chain."""
    from offchain.cli.fleet_cmds import run_fleet_and_print

    run_fleet_and_print(None, tasks, None, port, run_dir, Path(deployments_dir))
    click.echo(
        "the chain keeps running: try `poq balances` and `poq task show 1`; "
        f"stop it with `poq chain down --port {port}`"
    )
