"""Cost rules in the Monte Carlo: claimed reports (and a liar's), the contract's measured costs, and
what lying earns under each (simulation.costs, simulation.lying)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from offchain.errors import ConfigError
from offchain.protocol import wad
from simulation.costs import (
    MAX_CLAIM_US,
    MEASURED,
    CostConfig,
    Liar,
    measured_costs,
    normalized_costs,
    parse_liar,
)
from simulation.inputs import SimInputs, load_inputs
from simulation.lying import what_lying_earns
from simulation.montecarlo import SimConfig, simulate
from tests.unit.sim_data import write_run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> SimInputs:
    return load_inputs(write_run(tmp_path_factory.mktemp("costs") / "run", n_records=12))


def _slowest(inputs: SimInputs) -> tuple[Liar, Liar]:
    return (Liar(inputs.nodes[int(np.argmax(inputs.node_latency_ms))]),
            Liar(inputs.evaluators[int(np.argmax(inputs.evaluator_latency_ms))], 7))


def _claims_ms(latency_ms: np.ndarray, names: list[str], liars: tuple[Liar, ...]) -> np.ndarray:
    out = latency_ms.copy()
    for liar in liars:
        if liar.name in names:
            out[names.index(liar.name)] = liar.claim_us / 1000.0
    return out


@pytest.mark.parametrize("aggregation", ["mean", "median", "trust"])
def test_under_the_measured_rule_a_lie_changes_nothing(inputs: SimInputs, aggregation: str) -> None:
    liars = _slowest(inputs)
    config = SimConfig(rounds=3000, seed=5, aggregation=aggregation, costs=CostConfig(rule=MEASURED))
    truthful = simulate(inputs, config)
    lying = simulate(inputs, replace(config, costs=replace(config.costs, liars=liars)))
    assert np.array_equal(lying.rounds.node_reward, truthful.rounds.node_reward)
    assert np.array_equal(lying.rounds.evaluator_rewards, truthful.rounds.evaluator_rewards)
    report = what_lying_earns(inputs, config, liars).rules[MEASURED]
    assert [c.gain for c in report.liars + report.honest] == [0.0] * (len(inputs.nodes) + len(inputs.evaluators))


def test_under_the_claimed_rule_lying_pays_and_the_honest_pay_for_it(inputs: SimInputs) -> None:
    """Same rounds, so every change is beta x the change of C the claims make, node by node."""
    liars = _slowest(inputs)
    config = SimConfig(rounds=4000, seed=2, beta_f=0.7, beta_m=0.4, evaluator_reward="paper")  # C enters R_M alone
    report = what_lying_earns(inputs, config, liars).rules["claimed"]
    for role, names, latency, beta in (("inference", inputs.nodes, inputs.node_latency_ms, config.beta_f),
                                       ("evaluator", inputs.evaluators, inputs.evaluator_latency_ms, config.beta_m)):
        before = normalized_costs(latency)
        after = normalized_costs(_claims_ms(latency, names, liars))
        for change in report.liars + report.honest:
            if change.role != role:
                continue
            i = names.index(change.name)
            assert (change.cost_truthful, change.cost_lying) == (before[i], after[i])
            assert change.gain == pytest.approx(beta * (before[i] - after[i]), abs=1e-12)
        liar = next(c for c in report.liars if c.role == role)
        assert liar.gain > 0 and liar.gain_pct == pytest.approx(100 * liar.gain / abs(liar.reward_truthful))
        assert report.mean_honest_change(role) < 0
        worst = report.worst_honest(role)
        assert worst is not None and worst.gain == min(c.gain for c in report.honest_of(role))


def _measured_by_hand(latency_ms: np.ndarray, who: np.ndarray, config: CostConfig,
                      rng: np.random.Generator) -> np.ndarray:
    """The model of simulation.costs written out batch by batch with the contract's scalar functions:
    each job's cost (µs) at its batch's settlement."""
    n, rounds = len(latency_ms), who.shape[-1]
    jobs = who.reshape(-1, rounds)
    cost: dict[int, int] = {}
    out = np.zeros(jobs.shape, dtype=np.int64)
    alpha = config.smoothing_wad()
    for start in range(0, rounds, config.batch_size):
        window = range(start, min(rounds, start + config.batch_size))
        items = [sum(int(jobs[j, r]) == f for j in range(jobs.shape[0]) for r in window) for f in range(n)]
        acting = [f for f in range(n) if items[f]]
        draws = rng.random(len(acting))
        for f, u in zip(acting, draws, strict=True):
            elapsed = math.floor(u + items[f] * latency_ms[f] / 1000.0 + config.inclusion_delay_s)
            cost[f] = wad.smooth_cost(cost.get(f, 0), f in cost, wad.per_item_us(elapsed, items[f]), alpha)
        for j in range(jobs.shape[0]):
            for r in window:
                out[j, r] = cost[int(jobs[j, r])]
    return out.reshape(who.shape)


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_measured_costs_follow_the_contract_arithmetic(batch_size: int) -> None:
    latency_ms = np.array([15.0, 97.8, 2877.4, 9018.7])
    rng = np.random.default_rng(batch_size)
    who = np.stack([rng.permutation(4)[:2] for _ in range(50)]).T  # (K=2, R=50), distinct per round
    config = CostConfig(rule=MEASURED, batch_size=batch_size, inclusion_delay_s=1.3, smoothing=0.35)
    got = measured_costs(latency_ms, who, config, np.random.default_rng(9))
    want = _measured_by_hand(latency_ms, who, config, np.random.default_rng(9))
    assert np.array_equal(got.us, want)
    for index in [(0, 0), (1, 17), (0, 49)]:
        lo, hi = int(got.lo[index[1]]), int(got.hi[index[1]])
        assert got.wad(index) == wad.normalized_cost(True, int(want[index]), lo, hi)
        assert got.c[index] == pytest.approx(got.wad(index) / wad.WAD, abs=1e-15)


def test_measured_costs_resolve_sub_second_latencies_on_average(inputs: SimInputs) -> None:
    """floor(u + L + D) with u uniform is unbiased: each node's mean measured cost is L + D, within the
    sampling error (observations vary by at most one second: sd <= 0.5 s; the moving average keeps the
    variance of a long mean, and its flooring loses under 1 / alpha µs)."""
    config = SimConfig(rounds=40_000, seed=1, costs=CostConfig(rule=MEASURED, inclusion_delay_s=0.4))
    result = simulate(inputs, config)
    for stats, latency in ((result.inference, inputs.node_latency_ms), (result.evaluator, inputs.evaluator_latency_ms)):
        tolerance_ms = 5 * 500.0 / np.sqrt(stats.jobs) + 1e-3 / config.costs.smoothing
        assert np.all(np.abs(stats.cost_basis_ms - (latency + 400.0)) < tolerance_ms)


def test_exact_rounds_settle_the_measured_costs(inputs: SimInputs) -> None:
    config = SimConfig(rounds=400, seed=3, exact_rounds=400, costs=CostConfig(rule=MEASURED, batch_size=4),
                       evaluator_reward="paper")
    result = simulate(inputs, config)
    assert result.exact is not None and result.exact.max_float_diff < 1e-12


def test_parse_liar() -> None:
    names = {"gemma", "openai:gpt@host:8080", "sts"}
    assert parse_liar("gemma", names) == Liar("gemma", 1)
    assert parse_liar("sts:250", names) == Liar("sts", 250)
    assert parse_liar("openai:gpt@host:8080", names) == Liar("openai:gpt@host:8080", 1)
    assert parse_liar(f"openai:gpt@host:8080:{MAX_CLAIM_US}", names).claim_us == MAX_CLAIM_US
    with pytest.raises(ConfigError, match=r"^--liar: unknown node 'gema'; did you mean 'gemma'\?$"):
        parse_liar("gema", names)
    for claim in ("0", str(MAX_CLAIM_US + 1), "1.5", "x"):
        with pytest.raises(ConfigError, match=rf"^--liar sts: the claim must be whole microseconds .* got '{claim}'$"):
            parse_liar(f"sts:{claim}", names)


def test_bad_cost_settings_are_config_errors(inputs: SimInputs) -> None:
    for costs, message in ((CostConfig(rule="declared"), "unknown cost rule 'declared'"),
                           (CostConfig(batch_size=0), "batch size must be in"),
                           (CostConfig(smoothing=0.0), "cost smoothing must be in"),
                           (CostConfig(inclusion_delay_s=-1.0), "inclusion delay must be in"),
                           (CostConfig(liars=(Liar("nobody"),)), "unknown node 'nobody'")):
        with pytest.raises(ConfigError, match=message):
            simulate(inputs, SimConfig(rounds=10, costs=costs))
