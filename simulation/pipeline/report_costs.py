"""The report's section "Measured costs vs claimed costs": what a cost liar earned under the old contract
(C from the nodes' own reports) and earns under the new one (C from block timestamps), on the run's data.

The scenario is the one a rational node would pick: the slowest inference node and the slowest
evaluator, whose C is 1 when they tell the truth, each report 1 µs (the smallest report revealCost
accepts). simulation.lying runs the Monte Carlo truthful and lying on the same rounds under both
rules; the measured rule is also run with batches of 64 rounds, to show what the chain's one-second
clock resolves. Per-task figures use a task of quality Q = 0.8 and an evaluator on the consensus
(d = 0): the reward equations alone, without this run's scores. Every number is computed here.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from offchain.protocol import floats
from simulation.costs import CLAIMED, MEASURED, CostConfig, Liar
from simulation.inputs import SimInputs
from simulation.lying import LyingReport, NodeChange, RuleComparison, what_lying_earns
from simulation.montecarlo import SimConfig, SimResult, simulate
from simulation.peer import PAPER
from simulation.pipeline.markdown import fmt, md_table

TASK_Q = 0.8  # the per-task illustration: a task scored 8 / 10 by its panel
LARGE_BATCH = 64  # the contract's default maxBatchSize


def costs_section(inputs: SimInputs, *, rounds: int = 5000, seed: int = 0, k: int = 3) -> tuple[str, dict[str, Any]]:
    """The section's Markdown and its numbers (for report.json)."""
    slow_node = inputs.nodes[int(np.argmax(inputs.node_latency_ms))]
    slow_evaluator = inputs.evaluators[int(np.argmax(inputs.evaluator_latency_ms))]
    liars = (Liar(slow_node), Liar(slow_evaluator))
    config = SimConfig(rounds=rounds, seed=seed, k=k, evaluator_reward=PAPER)  # the paper's R_M
    lying = what_lying_earns(inputs, config, liars)
    batched = simulate(inputs, replace(config, costs=CostConfig(rule=MEASURED, batch_size=LARGE_BATCH)))
    claimed, measured = lying.rules[CLAIMED], lying.rules[MEASURED]
    parts = [
        "Until commit 38108dd each node reported its own latency and C was the min-max normalization of the "
        "reports; the contract now measures response times from block timestamps (an answer: its time "
        "minus the batch's open; a commit: its time minus the commit stage's start), smooths them per node "
        "and normalizes those, and a declared latency is only checked against the measurement. Scenario: "
        f"the slowest inference node **{slow_node}** ({inputs.node_latency_ms.max():.0f} ms) and the slowest "
        f"evaluator **{slow_evaluator}** ({inputs.evaluator_latency_ms.max():.1f} ms) each report 1 µs. "
        f"{rounds} rounds, K={k}, seed {seed}; every other node tells the truth, and the truthful and lying "
        "runs sample the same rounds. Measured rule: one-second timestamps, a 1 s inclusion delay, "
        "batches of one round, smoothing 0.2 (simulation/costs.py).",
        md_table(["liar", "rule", "C truthful → lying", "avg reward truthful → lying", "gain", "gain %",
                  "honest nodes' mean ΔR", "largest honest loss"], _liar_rows(lying)),
        _per_task(inputs, config, claimed),
        "Every node, the liars lying (R: average reward; the measured rule's figures are the same with or "
        f"without the lie; the last column: the measured rule with batches of {LARGE_BATCH} rounds):",
        md_table(["node", "latency ms", "C claimed, truthful", "C claimed, liars lie", "R claimed truthful → lying",
                  "C measured", "R measured", f"C measured, batches of {LARGE_BATCH}"],
                 _node_rows(inputs, claimed, measured, batched)),
        _verdicts(inputs, claimed, measured, batched),
    ]
    data = {**lying.as_dict(), "per_task_q": TASK_Q,
            "measured_batches_of_64": {"inference": batched.inference.as_dict(),
                                       "evaluator": batched.evaluator.as_dict()}}
    return "\n\n".join(parts), data


def _liar_rows(lying: LyingReport) -> list[list[str]]:
    rows = []
    for rule, comparison in lying.rules.items():
        for liar in comparison.liars:
            worst = comparison.worst_honest(liar.role)
            rows.append([f"{liar.role} {liar.name}", "claimed (old)" if rule == CLAIMED else "measured (now)",
                         f"{liar.cost_truthful:.3f} → {liar.cost_lying:.3f}",
                         f"{liar.reward_truthful:.3f} → {liar.reward_lying:.3f}", f"{liar.gain:+.3f}",
                         fmt(liar.gain_pct, "+.0f"), fmt(comparison.mean_honest_change(liar.role), "+.3f"),
                         "-" if worst is None else f"{worst.name} {worst.gain:+.3f}"])
    return rows


def _per_task(inputs: SimInputs, config: SimConfig, claimed: RuleComparison) -> str:
    """The rewards of one task under the old rule, before and after the lie."""
    node = next(c for c in claimed.liars if c.role == "inference")
    evaluator = next(c for c in claimed.liars if c.role == "evaluator")
    before_f = floats.inference_reward(config.alpha_f, config.beta_f, TASK_Q, node.cost_truthful)
    after_f = floats.inference_reward(config.alpha_f, config.beta_f, TASK_Q, node.cost_lying)
    before_m = floats.evaluator_reward(config.alpha_m, config.beta_m, 0.0, evaluator.cost_truthful)
    after_m = floats.evaluator_reward(config.alpha_m, config.beta_m, 0.0, evaluator.cost_lying)
    honest = [c for c in claimed.honest if c.role == "inference"]
    text = (f"Per task under the old rule: {node.name}'s R_F = αF Q − βF C at Q = {TASK_Q:g} goes from "
            f"{before_f:.2f} to {after_f:.2f} ({_pct(before_f, after_f)}), and {evaluator.name}'s R_M = αM (1 − d) "
            f"− βM C at d = 0 from {before_m:.2f} to {after_m:.2f} ({_pct(before_m, after_m)}).")
    if not honest:  # a run with a single generator: nobody else's cost moves
        return text
    fastest = min(honest, key=lambda c: float(inputs.node_latency_ms[inputs.nodes.index(c.name)]))
    return (f"{text} The lie moves the bottom of the range to 1 µs, so the fastest honest inference node, "
            f"{fastest.name}, goes from C = {fastest.cost_truthful:.2f} to {fastest.cost_lying:.2f}: the liar's "
            "gain is the honest nodes' loss.")


def _node_rows(inputs: SimInputs, claimed: RuleComparison, measured: RuleComparison,
               batched: SimResult) -> list[list[str]]:
    rows = []
    for role, names, latency in (("inference", inputs.nodes, inputs.node_latency_ms),
                                 ("evaluator", inputs.evaluators, inputs.evaluator_latency_ms)):
        stats = batched.inference if role == "inference" else batched.evaluator
        for i, name in enumerate(names):
            old, new = _of(claimed, role, name), _of(measured, role, name)
            rows.append([f"{role} {name}", f"{latency[i]:.1f}", f"{old.cost_truthful:.3f}", f"{old.cost_lying:.3f}",
                         f"{old.reward_truthful:.3f} → {old.reward_lying:.3f}", f"{new.cost_lying:.3f}",
                         f"{new.reward_lying:.3f}", fmt(float(stats.cost_norm[i]), ".3f")])
    return rows


def _verdicts(inputs: SimInputs, claimed: RuleComparison, measured: RuleComparison, batched: SimResult) -> str:
    gains = {rule: max(abs(c.gain) for c in comparison.liars + comparison.honest if not math.isnan(c.gain))
             for rule, comparison in (("claimed", claimed), ("measured", measured))}
    lines = [f"- Old rule: lying pays (largest gain {max(c.gain for c in claimed.liars):+.3f} per job) and the "
             "honest nodes of the liar's role pay for it. New rule: the largest change of any node's average "
             f"reward is {gains['measured']:.3g}: the claim enters no reward."]
    truthful = claimed.truthful
    for role in ("inference", "evaluator"):
        profiled = getattr(truthful, role).cost_norm
        one = getattr(measured.truthful, role).cost_norm
        many = getattr(batched, role).cost_norm
        lines.append(f"- {role.capitalize()} costs, measured against profiled: max |ΔC| {_gap(one, profiled)} "
                     f"with batches of one, {_gap(many, profiled)} with batches of {LARGE_BATCH}.")
    lo, hi = inputs.evaluator_latency_ms.min(), inputs.evaluator_latency_ms.max()
    if hi < 1000:
        lines.append(f"- A one-second clock sees a {lo:.0f}-{hi:.0f} ms evaluator only through where its start "
                     "falls within the second: with one seat per observation its measured C is noisy, and batches "
                     "with more seats per observation resolve it.")
    lines.append("- The inclusion delay is common to a role in a batch of one and cancels in the min-max "
                 "normalization; what remains is the clock's quantization and the smoothing.")
    return "\n".join(lines)


def _of(comparison: RuleComparison, role: str, name: str) -> NodeChange:
    return next(c for c in comparison.liars + comparison.honest if c.role == role and c.name == name)


def _gap(a: Any, b: Any) -> str:
    return f"{float(np.nanmax(np.abs(np.asarray(a) - np.asarray(b)))):.3f}"


def _pct(before: float, after: float) -> str:
    return f"{100 * (after - before) / abs(before):+.0f} %" if before else "n/a"
