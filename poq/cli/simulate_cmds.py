"""`poq simulate`: the Monte Carlo simulation of PoQ rewards (the paper's Table 4).

`simulate_cmd` is a click group whose default action is the simulation: `poq simulate [RUN_DIR]
[options]` runs the subcommand `run` (so `poq simulate run …` is the same). Further analyses are added
as subcommands defined in their own module and added here (`sweep_cmds.sweep_cmd`); any first
argument that is not a subcommand's name is passed on to `run`.

Evaluator reward: `--evaluator-reward peer` (the default; simulation.peer: agreement of each seat's
sign against its evaluator's median over a batch of `--batch-size` rounds with its panel's signs) or
`paper` (Eqs. 3-5, closeness to the consensus: `poq report`'s Table 4; the exact rounds and the
on-chain replay check this one only). `--add-evaluator constant:VALUE[@MS]` / `random[@MS]` adds a
lazy evaluator (simulation.lazy) to compare with the run's.

Costs: `--cost-rule claimed` (the old contract: each node's report; the default, and with no liar and
`--evaluator-reward paper` the paper's Table 4) or `measured` (the contract now: response times from
block timestamps). `--liar NODE[:CLAIM_US]` makes a node report CLAIM_US; the run then also prints
what lying earns under both rules (simulation.lying).
"""

from __future__ import annotations

import json
from typing import Any

import click

from offchain.protocol import AGGREGATIONS, CENTER_MODES, TRUST_RULES
from poq.cli.options import json_option, monte_carlo_options
from poq.cli.sweep_cmds import sweep_cmd

SIM_AGGREGATIONS = AGGREGATIONS  # simulation.montecarlo.SIM_AGGREGATIONS, without importing numpy
COST_RULES = ("claimed", "measured")  # simulation.costs.COST_RULES
EVALUATOR_REWARDS = ("peer", "paper")  # simulation.peer.EVALUATOR_REWARDS
LAZY_SPEC = "constant:VALUE[@MS] | random[@MS]"  # simulation.lazy.SPEC_HELP
MAX_BATCH = 256  # simulation.costs.check_costs: the contract's MAX_BATCH


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
    help="Trust weight update: the paper's (saturates at w_max) or robust (median-centered, decaying).",
)
@click.option("--evaluator-reward", type=click.Choice(EVALUATOR_REWARDS), default="peer", show_default=True,
              help="R_M: peer = alpha_M I - beta_M C |I|, I the agreement of the seat's sign (score vs its "
              "evaluator's median over the batch) with its panel's; paper = alpha_M (1 - d) - beta_M C (Eqs. 3-5, "
              "Table 4). K=1 gives peer rewards of 0.")
@click.option("--batch-size", type=click.IntRange(min=1, max=MAX_BATCH), default=64, show_default=True,
              help="Consecutive rounds per batch, the contract's batch of tasks: the peer rule's medians and "
              "the measured rule's observation windows (one per node per batch).")
@click.option("--add-evaluator", "lazy_specs", multiple=True, metavar="SPEC",
              help=f"Repeatable: append a lazy evaluator, SPEC = {LAZY_SPEC}. constant:5.8 reports 5.8 on "
              "every seat (named constant-5.8); random a fresh uniform score in [0, 10] per seat, seeded by "
              "--seed (named random); @MS its latency in ms (default: the mean of the run's evaluators'). "
              "A repeated name is numbered (random-2).")
@click.option("--cost-rule", type=click.Choice(COST_RULES), default="claimed", show_default=True,
              help="Where C comes from: each node's latency report (the old contract) or the contract's clock (now).")
@click.option("--liar", "liars", multiple=True, metavar="NODE[:CLAIM_US]",
              help="Repeatable: NODE (an inference node or evaluator of the run) reports CLAIM_US µs (default 1); "
              "adds what lying earns under both rules.")
@click.option("--inclusion-delay", type=float, default=1.0, show_default=True,
              help="Measured rule: seconds every transaction takes to land.")
@click.option("--cost-smoothing", type=float, default=0.2, show_default=True,
              help="Measured rule: weight of a new observation in a node's cost (costSmoothing).")
@click.option(
    "--exact-rounds",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also settle the first N rounds in WAD integers and report the float difference (--evaluator-reward paper).",
)
@click.option(
    "--replay-onchain",
    "replay_n",
    type=click.IntRange(min=1),
    default=None,
    help="Replay the first N rounds on the real contract (embedded EVM) and compare to the wei "
    "(--evaluator-reward paper).",
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
    evaluator_reward: str,
    batch_size: int,
    lazy_specs: tuple[str, ...],
    cost_rule: str,
    liars: tuple[str, ...],
    inclusion_delay: float,
    cost_smoothing: float,
    exact_rounds: int,
    replay_n: int | None,
    as_json: bool,
) -> None:
    """Simulate ROUNDS rounds and print average reward, latency, cost and jobs per node.

    The evaluator reward is the peer rule unless --evaluator-reward paper (the paper's Table 4, which
    --exact-rounds and --replay-onchain check). With the run's f1.jsonl, the table adds each
    evaluator's Pearson r of its scores with F1. Lazy evaluators, e.g. `--add-evaluator constant:5.8
    --add-evaluator random@15`, join the run's evaluators in the sampling.
    """
    from offchain.errors import ConfigError
    from simulation.costs import CostConfig, parse_liar
    from simulation.inputs import f1_pearson, load_inputs
    from simulation.lazy import parse_lazies
    from simulation.lying import what_lying_earns
    from simulation.montecarlo import SimConfig, TrustConfig, json_number, simulate

    if replay_n is not None and aggregation not in CENTER_MODES:
        raise click.UsageError(f"--replay-onchain replays {', '.join(CENTER_MODES)}; the on-chain trust mode is "
                               "checked against offchain.protocol by tests/contract/test_differential.py")
    for flag, used in (("--exact-rounds", exact_rounds > 0), ("--replay-onchain", replay_n is not None)):
        if used and evaluator_reward != "paper":
            raise click.UsageError(f"{flag} checks the paper's per-round evaluator reward; add --evaluator-reward "
                                   "paper")
    inputs = load_inputs(run_dir, scores_path=scores_path, costs_path=costs_path)
    try:
        lazy = parse_lazies(lazy_specs, inputs.evaluators)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="'--add-evaluator'") from None
    names = {*inputs.nodes, *inputs.evaluators, *(x.name for x in lazy)}
    parsed = tuple(parse_liar(spec, names) for spec in liars)
    repeated = sorted({liar.name for liar in parsed if sum(x.name == liar.name for x in parsed) > 1})
    if repeated:
        raise click.BadParameter(f"{repeated[0]!r} is given more than once; give each node one claim",
                                 param_hint="'--liar'")
    costs = CostConfig(rule=cost_rule, liars=parsed,
                       inclusion_delay_s=inclusion_delay, batch_size=batch_size, smoothing=cost_smoothing)
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
        costs=costs,
        evaluator_reward=evaluator_reward,
        batch_size=batch_size,
        lazy=lazy,
    )
    result = simulate(inputs, config)
    lying = what_lying_earns(inputs, config, costs.liars) if costs.liars else None
    replay = None
    if replay_n is not None:
        from simulation.replay import replay_onchain

        replay = replay_onchain(result, replay_n)
    if as_json:
        out = result.as_dict()
        if result.inputs.f1 is not None:
            out["f1_pearson"] = dict(zip(result.inputs.evaluators, map(json_number, f1_pearson(result.inputs)),
                                         strict=True))
        if replay is not None:
            out["replay"] = replay.as_dict()
        if lying is not None:
            out["lying"] = lying.as_dict()
        click.echo(json.dumps(out, indent=2))
        return
    print_table(result)
    if lying is not None:
        print_lying(lying)
    if result.exact is not None:
        click.echo(
            f"exact: {len(result.exact.node_reward)} rounds in WAD, "
            f"max |float − WAD| = {result.exact.max_float_diff:.3g}"
        )
    if replay is not None:
        click.echo(
            f"replay: {replay.rounds} rounds on chain (batches of one), max |on-chain − offchain.protocol| = "
            f"{replay.max_wei_diff} wei, {replay.max_wad_diff} WAD; measured costs max |chain − mirror| = "
            f"{replay.max_cost_us_diff} µs; float equations on the measured costs within "
            f"{replay.max_float_diff:.3g}; against the profiled costs max |ΔC| = {replay.max_cost_diff:.3g}, "
            f"max |ΔR| = {replay.max_profiled_diff:.3g}"
        )
        click.echo("measured µs per item: " + ", ".join(f"{k} {v:,}" for k, v in replay.measured_us.items()))


def print_table(result: Any) -> None:
    """The paper's Table 4: node, average reward, latency ms, the ms its cost priced, normalized cost, jobs;
    with the run's f1.jsonl also each evaluator's Pearson r of its scores with F1."""
    from rich.console import Console
    from rich.table import Table

    from simulation.inputs import f1_pearson

    c = result.config
    mode = f"trust ({c.trust.rule})" if c.aggregation == "trust" else c.aggregation
    reward = f"R_M peer (batches of {c.batch_size})" if c.evaluator_reward == "peer" else "R_M paper"
    f1_r = dict(zip(result.inputs.evaluators, f1_pearson(result.inputs), strict=True)) \
        if result.inputs.f1 is not None else None
    rule = c.costs.rule + (f", liars {', '.join(f'{x.name} {x.claim_us} µs' for x in c.costs.liars)}"
                           if c.costs.liars else "")
    if c.costs.rule == "measured":
        rule += f" (delay {c.costs.inclusion_delay_s:g} s, batches of {c.costs.batch_size}, smoothing " \
                f"{c.costs.smoothing:g})"
    table = Table(
        title=f"PoQ Monte Carlo: {c.rounds} rounds, K={c.k}, {mode}, {reward}, costs {rule}",
        caption=f"seed {c.seed}; αF {c.alpha_f:g}, βF {c.beta_f:g}, αM {c.alpha_m:g}, βM {c.beta_m:g}; "
                "priced ms: the claim, or the mean measured cost over the node's jobs"
                + ("; F1 r: Pearson of the evaluator's scores with F1 over the run's answers" if f1_r else ""),
        title_justify="left",
        caption_justify="left",
    )
    headers = ("node", "avg reward", "latency ms", "priced ms", "cost", "jobs") + (("F1 r",) if f1_r else ())
    for header in headers:
        table.add_column(header, justify="left" if header == "node" else "right")
    for role, stats in (("inference", result.inference), ("eval", result.evaluator)):
        for name, row in stats.as_dict().items():
            priced = row["cost_basis_ms"]
            cells = [f"{role} {name}", _fmt(row["avg_reward"], ".3f"), f"{row['avg_latency_ms']:.1f}",
                     _fmt(priced, ".3f" if priced is not None and priced < 0.1 else ".1f"),
                     _fmt(row["cost_norm"], ".3f"), str(row["jobs"])]
            if f1_r:
                cells.append(_fmt(f1_r.get(name) if role == "eval" else None, ".4f"))
            table.add_row(*cells)
    Console(width=140).print(table)


def print_lying(report: Any) -> None:
    """What lying earns: per liar and rule, C and average reward truthful → lying, and the honest nodes' loss."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="What lying earns (same rounds, truthful vs lying)", title_justify="left",
                  caption="claimed: C from the nodes' reports (the old contract); measured: C from block "
                          "timestamps (the contract now). Honest ΔR: mean change of the other nodes of the "
                          "liar's role, and the largest loss.", caption_justify="left")
    for header in ("liar", "claim µs", "rule", "C", "avg reward", "gain", "gain %", "honest ΔR", "worst honest"):
        table.add_column(header, justify="left" if header in ("liar", "rule", "worst honest") else "right",
                         no_wrap=header in ("liar", "C", "avg reward"))
    for rule, comparison in report.rules.items():
        for liar in comparison.liars:
            claim = next(x.claim_us for x in report.liars if x.name == liar.name)
            worst = comparison.worst_honest(liar.role)
            table.add_row(f"{liar.role} {liar.name}", str(claim), rule,
                          f"{liar.cost_truthful:.3f} → {liar.cost_lying:.3f}",
                          f"{liar.reward_truthful:.3f} → {liar.reward_lying:.3f}", f"{liar.gain:+.3f}",
                          _fmt(liar.gain_pct, "+.0f"), _fmt(comparison.mean_honest_change(liar.role), "+.3f"),
                          "-" if worst is None else f"{worst.name} {worst.gain:+.3f}")
    Console(width=140).print(table)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or value != value else format(value, spec)


simulate_cmd.add_command(sweep_cmd)
