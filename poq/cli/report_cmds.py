"""`poq report RUN_DIR`: Monte Carlo, Tables 1–4, Figs. 4–6, the findings' verdicts, the robust-PoQ
sweep and (after `poq eval multidim`) the multi-dimensional quality audit."""

from __future__ import annotations

from pathlib import Path

import click

from poq.cli.options import monte_carlo_options


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@monte_carlo_options
@click.option(
    "--sweep-rounds",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Rounds per cell of the robustness sweep (0 leaves the section out).",
)
def report_cmd(run_dir: Path, rounds: int, seed: int, k: int, sweep_rounds: int) -> None:
    """Write RUN_DIR/report/report.md with its tables, figures and verdicts."""
    from simulation.pipeline.report import build_report

    result = build_report(run_dir, rounds=rounds, seed=seed, k=k, sweep_rounds=sweep_rounds)
    for verdict in result.verdicts:
        click.echo(verdict.line)
    click.echo(f"report: {result.path}")
