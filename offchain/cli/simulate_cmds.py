"""`poq simulate`: the Monte Carlo simulation of PoQ rewards (the paper's Table 4).

`simulate_cmd` is a click group whose default action is the simulation: `poq simulate [RUN_DIR]
[options]` runs the subcommand `run` (so `poq simulate run …` is the same). Further analyses are added
as subcommands defined in their own module and added here (`sweep_cmds.sweep_cmd`); any first
argument that is not a subcommand's name is passed on to `run`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from offchain.cli.options import json_option, monte_carlo_options
from offchain.cli.sweep_cmds import sweep_cmd
from offchain.protocol import AGGREGATIONS, CENTER_MODES, TRUST_RULES

SIM_AGGREGATIONS = AGGREGATIONS  # simulation.montecarlo.SIM_AGGREGATIONS, without importing numpy


class DefaultGroup(click.Group):
    """A group that runs `default_command` when the first argument names no subcommand."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group("simulate", cls=DefaultGroup)
def simulate_cmd() -> None:
    """Monte Carlo simulation of PoQ rewards from a run directory's scores and costs.

    `poq simulate [RUN_DIR] [OPTIONS]` runs the simulation (the `run` subcommand).
    """


@simulate_cmd.command("run")
@click.argument("run_dir", required=False, type=click.Path(file_okay=False))
@click.option(
    "--scores",
    "scores_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="scores.jsonl: {record, node, evaluator, score} per line (overrides RUN_DIR's).",
)
@click.option(
    "--costs",
    "costs_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="costs.json: {inference: {node: ms}, evaluator: {name: ms}} (overrides RUN_DIR's).",
)
@monte_carlo_options
@click.option("--alpha-f", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--beta-f", type=click.FloatRange(min=0), default=0.5, show_default=True)
@click.option("--alpha-m", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--beta-m", type=click.FloatRange(min=0), default=0.3, show_default=True)
@click.option(
    "--aggregation",
    type=click.Choice(SIM_AGGREGATIONS),
    default="mean",
    show_default=True,
    help="Consensus center; trust = adaptive trust-weighted mean (simulation only, loops over rounds: slower).",
)
@click.option(
    "--trust-rule",
    type=click.Choice(TRUST_RULES),
    default="published",
    show_default=True,
    help="Trust weight update: the paper's (saturates at w_max) or robust (median-centerd, decaying).",
)
@click.option(
    "--exact-rounds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also settle the first N rounds in WAD integers and report the float difference.",
)
@click.option(
    "--replay-onchain",
    "replay_n",
    type=click.IntRange(min=1),
    default=None,
    help="Replay the first N rounds on the real contract (embedded EVM) and compare to the wei.",
)
@json_option
def run_cmd(
    run_dir: str | None,
    scores_path: str | None,
    costs_path: str | None,
    rounds: int,
    seed: int,
    k: int,
    alpha_f: float,
    beta_f: float,
    alpha_m: float,
    beta_m: float,
    aggregation: str,
    trust_rule: str,
    exact_rounds: int,
    replay_n: int | None,
    as_json: bool,
) -> None:
    """Simulate ROUNDS rounds and print average reward, latency, cost and jobs per node."""
    from simulation.inputs import load_inputs
    from simulation.montecarlo import SimConfig, TrustConfig, simulate

    if replay_n is not None and aggregation not in CENTER_MODES:
        raise click.UsageError(f"--replay-onchain replays {', '.join(CENTER_MODES)}; the on-chain trust mode is "
                               "checked against offchain.protocol by tests/contract/test_differential.py")
    inputs = load_inputs(run_dir, scores_path=scores_path, costs_path=costs_path)
    config = SimConfig(
        rounds=rounds,
        seed=seed,
        k=k,
        alpha_f=alpha_f,
        beta_f=beta_f,
        alpha_m=alpha_m,
        beta_m=beta_m,
        aggregation=aggregation,
        exact_rounds=exact_rounds,
        trust=TrustConfig(rule=trust_rule),
    )
    result = simulate(inputs, config)
    replay = None
    if replay_n is not None:
        from simulation.replay import replay_onchain

        replay = replay_onchain(result, replay_n)
    if as_json:
        out = result.as_dict()
        if replay is not None:
            out["replay"] = replay.as_dict()
        click.echo(json.dumps(out, indent=2))
        return
    print_table(result)
    if result.exact is not None:
        click.echo(
            f"exact: {len(result.exact.node_reward)} rounds in WAD, "
            f"max |float − WAD| = {result.exact.max_float_diff:.3g}"
        )
    if replay is not None:
        wei = max(replay.max_wad_diff, replay.max_wei_diff)
        click.echo(
            f"replay: {replay.rounds} rounds on chain, max |on-chain − simulated| = {wei} wei "
            f"(float equations within {replay.max_float_diff:.3g})"
        )


def print_table(result: Any) -> None:
    """The paper's Table 4: node, average reward, latency ms, normalized cost, jobs."""
    from rich.console import Console
    from rich.table import Table

    c = result.config
    mode = f"trust ({c.trust.rule})" if c.aggregation == "trust" else c.aggregation
    table = Table(
        title=f"PoQ Monte Carlo: {c.rounds} rounds, K={c.k}, {mode}",
        caption=f"seed {c.seed}; αF {c.alpha_f:g}, βF {c.beta_f:g}, αM {c.alpha_m:g}, βM {c.beta_m:g}",
        title_justify="left",
        caption_justify="left",
    )
    for header in ("node", "avg reward", "latency ms", "cost", "jobs"):
        table.add_column(header, justify="left" if header == "node" else "right")
    for role, stats in (("inference", result.inference), ("eval", result.evaluator)):
        for name, row in stats.as_dict().items():
            reward = "-" if row["avg_reward"] is None else f"{row['avg_reward']:.3f}"
            table.add_row(
                f"{role} {name}",
                reward,
                f"{row['avg_latency_ms']:.1f}",
                f"{row['cost_norm']:.3f}",
                str(row["jobs"]),
            )
    Console(width=120).print(table)


simulate_cmd.add_command(sweep_cmd)
