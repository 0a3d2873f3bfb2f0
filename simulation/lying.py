"""What lying about one's cost earns, under the old rule (claimed costs) and the new one (measured costs).

A rational node that could set its own C would report the smallest latency the contract accepts. For
each cost rule this runs the same Monte Carlo twice with one seed, everyone truthful and then the
liars lying, so both runs sample the same rounds (records, nodes, panels and, under the measured
rule, the same clock) and every difference comes from the reports alone. Under the claimed rule a
liar's gain is exactly beta x (its truthful C - 0) per job, paid for by the honest nodes of its role,
whose C the stretched range raises; under the measured rule the claim enters nothing, so both runs
are identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from simulation.costs import COST_RULES, Liar
from simulation.inputs import SimInputs
from simulation.montecarlo import RoleStats, SimConfig, SimResult, json_number, simulate

ROLES = ("inference", "evaluator")


@dataclass(frozen=True)
class NodeChange:
    """One node's C and average reward, everyone truthful against the liars lying."""

    role: str
    name: str
    cost_truthful: float
    cost_lying: float
    reward_truthful: float  # NaN: no job
    reward_lying: float

    @property
    def gain(self) -> float:
        return self.reward_lying - self.reward_truthful

    @property
    def gain_pct(self) -> float:
        """The gain relative to the truthful reward, in % (NaN for a truthful reward of 0)."""
        return 100.0 * self.gain / abs(self.reward_truthful) if self.reward_truthful else math.nan

    def as_dict(self) -> dict[str, Any]:
        numbers = ("cost_truthful", "cost_lying", "reward_truthful", "reward_lying", "gain", "gain_pct")
        return {"role": self.role, "name": self.name, **{key: json_number(getattr(self, key)) for key in numbers}}


@dataclass(frozen=True)
class RuleComparison:
    """One cost rule: the liars' gains and the honest nodes' changes (per role)."""

    rule: str
    liars: list[NodeChange]
    honest: list[NodeChange]
    truthful: SimResult
    lying: SimResult

    def honest_of(self, role: str) -> list[NodeChange]:
        return [c for c in self.honest if c.role == role and not math.isnan(c.gain)]

    def mean_honest_change(self, role: str) -> float:
        """Mean change of the honest nodes' average rewards in `role` (NaN: no honest node with jobs)."""
        changes = [c.gain for c in self.honest_of(role)]
        return sum(changes) / len(changes) if changes else math.nan

    def worst_honest(self, role: str) -> NodeChange | None:
        """The honest node of `role` whose average reward fell the most."""
        return min(self.honest_of(role), key=lambda c: c.gain, default=None)

    def as_dict(self) -> dict[str, Any]:
        worst = {role: self.worst_honest(role) for role in ROLES}
        return {"liars": [c.as_dict() for c in self.liars],
                "honest": {role: {"mean_change": json_number(self.mean_honest_change(role)),
                                  "worst": None if worst[role] is None else worst[role].as_dict(),  # type: ignore[union-attr]
                                  "nodes": {c.name: c.as_dict() for c in self.honest if c.role == role}}
                           for role in ROLES}}


@dataclass(frozen=True)
class LyingReport:
    liars: tuple[Liar, ...]
    rules: dict[str, RuleComparison]  # "claimed" (the old contract) and "measured" (the new one)

    def as_dict(self) -> dict[str, Any]:
        return {"liars": {liar.name: liar.claim_us for liar in self.liars},
                "rules": {rule: c.as_dict() for rule, c in self.rules.items()}}


def what_lying_earns(inputs: SimInputs, config: SimConfig, liars: tuple[Liar, ...]) -> LyingReport:
    """Truthful and lying runs of `config` (its rounds, seed, weights, measured-model settings) per rule."""
    rules = {}
    for rule in COST_RULES:
        honest = replace(config, exact_rounds=0, costs=replace(config.costs, rule=rule, liars=()))
        truthful = simulate(inputs, honest)
        lying = simulate(inputs, replace(honest, costs=replace(honest.costs, liars=liars)))
        rules[rule] = _compare(rule, liars, truthful, lying)
    return LyingReport(liars, rules)


def _compare(rule: str, liars: tuple[Liar, ...], truthful: SimResult, lying: SimResult) -> RuleComparison:
    lied = {liar.name for liar in liars}
    mine: list[NodeChange] = []
    others: list[NodeChange] = []
    for role, before, after in (("inference", truthful.inference, lying.inference),
                                ("evaluator", truthful.evaluator, lying.evaluator)):
        for i, name in enumerate(before.names):
            (mine if name in lied else others).append(_change(role, i, before, after))
    return RuleComparison(rule, mine, others, truthful, lying)


def _change(role: str, i: int, before: RoleStats, after: RoleStats) -> NodeChange:
    return NodeChange(role, before.names[i], float(before.cost_norm[i]), float(after.cost_norm[i]),
                      float(before.avg_reward[i]), float(after.avg_reward[i]))
