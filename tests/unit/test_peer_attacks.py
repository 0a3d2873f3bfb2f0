"""Lazy and distorting evaluators against the peer rule, on the real run-400 inputs (docs/results/run-400).

The run's three honest evaluators (minilm-l6, mpnet-base, ce-minilm-l12) with a constant reporter
(5.8, about the run's mean score) and a random one (uniform per seat) added alone or together;
5,000 rounds, seed 0, K = 3, the default weights (alpha_M 1, beta_M 0.3), the lazy evaluators priced at
the honest evaluators' mean latency. Under the paper's rule the constant out-earns an honest
evaluator; under the peer rule neither lazy evaluator earns what any honest one does.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from offchain.metrics import pearson
from simulation.inputs import SimInputs, f1_pearson, load_inputs
from simulation.lazy import parse_lazies
from simulation.montecarlo import SimConfig, SimResult, simulate
from tests.unit.sim_data import RUN_400

HONEST = ("minilm-l6", "mpnet-base", "ce-minilm-l12")
LAZY_SETS = (("constant:5.8",), ("random",), ("constant:5.8", "random"))
MODES = ("mean", "median", "trust")


@pytest.fixture(scope="module")
def run400() -> SimInputs:
    inputs = load_inputs(RUN_400)
    assert tuple(inputs.evaluators) == HONEST and inputs.f1 is not None
    return inputs


def avg(result: SimResult, name: str) -> float:
    return float(result.evaluator.avg_reward[result.evaluator.names.index(name)])


def stderr(result: SimResult, m: int) -> float:
    mine = result.rounds.evaluator_rewards[result.rounds.evaluators == m]
    return float(mine.std(ddof=1) / math.sqrt(mine.size))


def with_scores(inputs: SimInputs, m: int, transform: object) -> SimInputs:
    scores = inputs.scores.copy()
    scores[:, :, m] = transform(scores[:, :, m])  # type: ignore[operator]
    return replace(inputs, scores=scores)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("specs", LAZY_SETS, ids="+".join)
def test_lazy_evaluators_earn_less_than_every_honest_one(run400: SimInputs, mode: str,
                                                         specs: tuple[str, ...]) -> None:
    lazy = parse_lazies(specs, run400.evaluators)
    result = simulate(run400, SimConfig(aggregation=mode, lazy=lazy))
    worst_honest = min(avg(result, name) for name in HONEST)
    assert worst_honest > 0.15  # observed 0.18-0.28 (mpnet-base, the dearest: C = 1)
    for x in lazy:
        assert avg(result, x.name) < worst_honest, (x.name, result.evaluator.as_dict())
        if x.kind == "constant":  # every sign 0: exactly nothing, on every seat
            mine = result.rounds.evaluator_rewards[result.rounds.evaluators == result.evaluator.names.index(x.name)]
            assert np.all(mine == 0.0)
        else:  # agrees by chance: 0 in expectation, minus its cost
            m = result.evaluator.names.index(x.name)
            assert avg(result, x.name) < 4 * stderr(result, m)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("specs", LAZY_SETS, ids="+".join)
def test_under_the_paper_rule_the_constant_beats_an_honest_evaluator(run400: SimInputs, mode: str,
                                                                     specs: tuple[str, ...]) -> None:
    lazy = parse_lazies(specs, run400.evaluators)
    result = simulate(run400, SimConfig(aggregation=mode, lazy=lazy, evaluator_reward="paper"))
    worst_honest = min(HONEST, key=lambda name: avg(result, name))
    for x in lazy:
        if x.kind == "constant":
            assert avg(result, x.name) > avg(result, worst_honest) + 0.03  # observed +0.04 to +0.15 over mpnet-base
    # and the random reporter still earns most of an honest evaluator's pay (observed 0.60-0.67 against
    # the worst honest evaluator's 0.59-0.66)
    if "random" in specs:
        assert avg(result, "random") > 0.85 * avg(result, worst_honest)


def test_the_paper_rule_reproduces_table_4(run400: SimInputs) -> None:
    """docs/results/run-400/report/report.md, Table 4 (5000 rounds, K=3, seed 0)."""
    result = simulate(run400, SimConfig(evaluator_reward="paper"))
    assert [round(avg(result, name), 3) for name in HONEST] == [0.940, 0.635, 0.821]
    assert [round(float(x), 3) for x in result.inference.avg_reward] == [0.470, 0.508, 0.548, 0.252]


@pytest.mark.parametrize("m", range(3))
@pytest.mark.parametrize("transform", [lambda e: 5 + 0.5 * (e - 5), lambda e: e * e / 10,
                                       lambda e: 10 / (1 + np.exp(-(e - 5)))], ids=["compress", "square", "sigmoid"])
def test_a_strictly_increasing_transform_of_one_evaluator_changes_no_peer_reward(run400: SimInputs, m: int,
                                                                                 transform: object) -> None:
    """Signs against an evaluator's own median survive any strictly increasing map of its scores, so
    every seat's I, and every reward, is the same to the bit; the paper's rule moves them."""
    lazy = parse_lazies(["constant:5.8", "random"])
    moved = with_scores(run400, m, transform)
    before, after = (simulate(x, SimConfig(lazy=lazy)) for x in (run400, moved))
    assert np.array_equal(before.rounds.evaluator_rewards, after.rounds.evaluator_rewards)
    old, new = (simulate(x, SimConfig(lazy=lazy, evaluator_reward="paper")) for x in (run400, moved))
    assert abs(avg(new, HONEST[m]) - avg(old, HONEST[m])) > 10 * stderr(old, m)  # observed 15-36 of them


@pytest.mark.parametrize("m", range(3))
@pytest.mark.parametrize("transform", [lambda e: np.clip(5 + 2 * (e - 5), 0, 10), lambda e: 5 + 0.5 * (e - 5)],
                         ids=["stretch", "compress"])
def test_stretching_or_compressing_scores_moves_peer_rewards_within_noise(run400: SimInputs, m: int,
                                                                          transform: object) -> None:
    """5 + 2 (e - 5) clipped to [0, 10] merges the top and bottom scores into ties, so it is not strictly
    increasing: in a batch whose median the clip reaches, the clipped seats' signs become 0. That
    moves peer rewards (observed at most 3.0 standard errors, minilm-l6 stretched) but less than the
    run's noise bound; the paper's rule moves the transformed evaluator by 21-44 standard errors."""
    lazy = parse_lazies(["constant:5.8", "random"])
    moved = with_scores(run400, m, transform)
    before, after = (simulate(x, SimConfig(lazy=lazy)) for x in (run400, moved))
    for j, name in enumerate(before.evaluator.names):
        assert abs(avg(after, name) - avg(before, name)) < 4 * max(stderr(before, j), 1e-12), name
    old, new = (simulate(x, SimConfig(lazy=lazy, evaluator_reward="paper")) for x in (run400, moved))
    assert abs(avg(new, HONEST[m]) - avg(old, HONEST[m])) > 10 * stderr(old, m)


def test_without_cost_the_peer_reward_order_is_the_f1_correlation_order(run400: SimInputs) -> None:
    """beta_M = 0: minilm-l6 > mpnet-base > ce-minilm-l12 both in reward and in Pearson r with F1 (0.634,
    0.633, 0.604 over the run's answers). The first two are close in both (r 0.0013 apart, rewards
    0.693 and 0.690): their order is this seed's (seed 2 swaps the rewards); ce-minilm-l12's lower
    reward is far outside the noise."""
    result = simulate(run400, SimConfig(beta_m=0.0))
    r = f1_pearson(run400)
    rewards = result.evaluator.avg_reward
    assert list(np.argsort(-rewards)) == list(np.argsort(-r)) == [0, 1, 2]
    assert rewards[1] - rewards[2] > 4 * math.hypot(stderr(result, 1), stderr(result, 2))
    known = run400.answered & ~np.isnan(run400.f1)  # type: ignore[operator]
    assert r[0] == pytest.approx(pearson(run400.scores[:, :, 0][known], run400.f1[known]))  # type: ignore[index]
