"""`poq simulate sweep`: the robustness grid (malicious ratio x K x aggregation x attack) over a run's scores."""

from __future__ import annotations

import importlib.util
import json

import click

from offchain.protocol import AGGREGATIONS as SIM_AGGREGATIONS
from offchain.protocol import TRUST_RULES
from poq.cli.options import json_option

DEFAULT_RATIOS = "0,0.1,0.2,0.3,0.4,0.5"
DEFAULT_KS = "1,3,5,7"
DEFAULT_STRATEGIES = ("noise", "boost", "sabotage", "intermittent")


def _floats(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {text!r}", param_hint=flag) from None


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}", param_hint=flag) from None


@click.command("sweep")
@click.argument("run_dir", required=False, type=click.Path(file_okay=False))
@click.option("--scores", "scores_path", type=click.Path(dir_okay=False), default=None,
              help="scores.jsonl (overrides RUN_DIR's).")
@click.option("--costs", "costs_path", type=click.Path(dir_okay=False), default=None,
              help="costs.json (overrides RUN_DIR's).")
@click.option("--f1", "f1_path", type=click.Path(dir_okay=False), default=None,
              help="f1.jsonl ground-truth proxy (default: RUN_DIR's when present, else the honest mean).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Directory for sweep.md, sweep.csv, sweep.json and the figures.")
@click.option("--rounds", type=click.IntRange(min=2), default=2000, show_default=True, help="Rounds per cell.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ratios", default=DEFAULT_RATIOS, show_default=True, help="Malicious ratios of the pool.")
@click.option("--ks", default=DEFAULT_KS, show_default=True, help="Evaluators per round.")
@click.option("--aggregation", "aggregations", multiple=True, type=click.Choice(SIM_AGGREGATIONS),
              help="Repeatable; default all of mean, median, trimmed, trust.")
@click.option("--strategy", "strategies", multiple=True,
              help="Repeatable attack spec (e.g. boost:b=2, intermittent:p=0.5,inner=noise:sigma=3); "
                   "default noise, boost, sabotage, intermittent with their default parameters.")
@click.option("--pool", "pool_size", type=click.IntRange(min=1), default=10, show_default=True,
              help="Evaluator instances cloned from the run's evaluators.")
@click.option("--trust-rule", type=click.Choice(TRUST_RULES), default="published", show_default=True)
@click.option("--alpha-f", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--beta-f", type=click.FloatRange(min=0), default=0.5, show_default=True)
@click.option("--alpha-m", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--beta-m", type=click.FloatRange(min=0), default=0.3, show_default=True)
@click.option("--evaluator-reward", type=click.Choice(("peer", "paper")), default="peer", show_default=True,
              help="R_M: the peer rule (simulation.peer) or the paper's Eqs. 3-5 (what `poq report` sweeps).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Peer rule: consecutive rounds per batch.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures (they need matplotlib).")
@json_option
def sweep_cmd(run_dir: str | None, scores_path: str | None, costs_path: str | None, f1_path: str | None,
              out_dir: str, rounds: int, seed: int, ratios: str, ks: str, aggregations: tuple[str, ...],
              strategies: tuple[str, ...], pool_size: int, trust_rule: str, alpha_f: float, beta_f: float,
              alpha_m: float, beta_m: float, evaluator_reward: str, batch_size: int, no_figures: bool,
              as_json: bool) -> None:
    """Sweep malicious ratio x K x aggregation x attack over a pool of cloned evaluator instances.

    Honest instances reuse a real evaluator's scores; malicious ones (a seeded subset) apply the
    attack to them. Writes a Markdown table, CSV, JSON and figures under --out. The trust cells loop
    over rounds and take most of the time (the default grid: a few seconds).
    """
    from rich.progress import Progress

    from simulation.inputs import load_inputs
    from simulation.montecarlo import TrustConfig
    from simulation.sweep import SweepConfig, run_sweep, write_outputs

    config = SweepConfig(
        ratios=_floats(ratios, "--ratios"), ks=_ints(ks, "--ks"),
        aggregations=aggregations or SIM_AGGREGATIONS, strategies=strategies or DEFAULT_STRATEGIES,
        rounds=rounds, seed=seed, pool_size=pool_size, alpha_f=alpha_f, beta_f=beta_f, alpha_m=alpha_m,
        beta_m=beta_m, trust=TrustConfig(rule=trust_rule), evaluator_reward=evaluator_reward, batch_size=batch_size,
    )
    inputs = load_inputs(run_dir, scores_path=scores_path, costs_path=costs_path, f1_path=f1_path)
    figures = not no_figures and importlib.util.find_spec("matplotlib") is not None
    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task("sweep", total=None)
        result = run_sweep(inputs, config, lambda done, total: bar.update(task, completed=done, total=total))
    paths = write_outputs(result, out_dir, figures=figures)
    if as_json:
        click.echo(json.dumps({"proxy": result.proxy, "cells": len(result.rows), "files": [str(p) for p in paths]}))
        return
    click.echo(f"sweep: {len(result.rows)} cells x {config.rounds} rounds; alignment proxy: "
               f"{'F1 x 10 (f1.jsonl)' if result.proxy == 'f1' else 'mean of the honest evaluators'}")
    if not figures and not no_figures:
        click.echo("figures skipped: matplotlib is not installed (pip install -e .[report])")
    for path in paths:
        click.echo(f"wrote {path}")
