"""The vectorized Monte Carlo: consensus semantics, closed-form expectations, sampling, seeds, WAD mode."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from offchain.errors import ConfigError
from offchain.protocol import CENTER_MODES, floats
from simulation import montecarlo
from simulation.inputs import SimInputs, load_inputs
from simulation.montecarlo import SimConfig, center, normalized_costs, simulate
from tests.unit.sim_data import write_run

MANY = 200_000


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> SimInputs:
    return load_inputs(write_run(tmp_path_factory.mktemp("sim") / "run", n_records=30, f1=True))


@pytest.mark.parametrize("mode", CENTER_MODES)
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
def test_vectorized_center_equals_floats_consensus(mode: str, k: int) -> None:
    rng = np.random.default_rng(k)
    continuous = rng.random((k, 300)) * 10
    ties = rng.integers(0, 4, (k, 300)).astype(np.float64) * 2.5  # many equal scores
    for scores in (continuous, ties):
        got = center(scores, mode)
        want = [floats.consensus(list(scores[:, i]), mode) for i in range(scores.shape[1])]
        assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_center_rejects_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="unknown aggregation 'mode'"):
        center(np.zeros((3, 2)), "mode")


def test_normalized_costs_follow_floats_semantics() -> None:
    assert list(normalized_costs(np.array([2.0, 4.0, 3.0]))) == [0.0, 1.0, 0.5]
    assert list(normalized_costs(np.array([5.0, 5.0]))) == [0.0, 0.0]  # all equal: no cost


def test_inference_reward_matches_closed_form_expectation(inputs: SimInputs) -> None:
    """Uniform node and panel: E[R_F(f)] = alpha_F E[Q_f] - beta_F C_F(f), E[Q_f] = mean S[:, f, :] / 10."""
    config = SimConfig(rounds=MANY, seed=7, k=2, alpha_f=1.3, beta_f=0.4)
    result = simulate(inputs, config)
    cost = normalized_costs(inputs.node_latency_ms)
    for f in range(len(inputs.nodes)):
        mine = result.rounds.node_reward[result.rounds.node == f]
        expected = config.alpha_f * inputs.scores[:, f, :].mean() / 10 - config.beta_f * cost[f]
        stderr = mine.std(ddof=1) / math.sqrt(len(mine))
        assert abs(result.inference.avg_reward[f] - expected) < 4 * stderr
        assert result.inference.avg_reward[f] == pytest.approx(mine.mean(), abs=1e-12)


@pytest.mark.parametrize("mode", CENTER_MODES)
def test_evaluator_reward_matches_exact_enumeration(inputs: SimInputs, mode: str) -> None:
    """E[R_M(m)] by enumerating every record, node and K-subset holding m, with floats.consensus."""
    k, rounds = 3, MANY
    small = SimInputs(inputs.records[:6], inputs.nodes, inputs.evaluators + ["extra"],
                      np.concatenate([inputs.scores[:6], inputs.scores[:6, :, :1] * 0.5], axis=2),
                      inputs.node_latency_ms, np.append(inputs.evaluator_latency_ms, 3.0))
    config = SimConfig(rounds=rounds, seed=3, k=k, aggregation=mode, beta_m=0.6, evaluator_reward="paper")
    result = simulate(small, config)
    cost = normalized_costs(small.evaluator_latency_ms)
    n_records, n_nodes, n_evaluators = small.scores.shape
    for m in range(n_evaluators):
        panels = [p for p in itertools.combinations(range(n_evaluators), k) if m in p]
        deviations = [
            floats.deviation(small.scores[r, f, m],
                             floats.consensus([small.scores[r, f, j] for j in p], mode))
            for r in range(n_records) for f in range(n_nodes) for p in panels
        ]
        expected = floats.evaluator_reward(config.alpha_m, config.beta_m, float(np.mean(deviations)), cost[m])
        mine = result.rounds.evaluator_rewards[result.rounds.evaluators == m]
        stderr = mine.std(ddof=1) / math.sqrt(len(mine))
        assert abs(result.evaluator.avg_reward[m] - expected) < 4 * stderr


def test_jobs_are_uniform_over_nodes_and_evaluators(inputs: SimInputs) -> None:
    rounds, k = MANY, 2
    result = simulate(inputs, SimConfig(rounds=rounds, seed=11, k=k))
    n_nodes, n_evaluators = len(inputs.nodes), len(inputs.evaluators)
    p = 1 / n_nodes
    assert result.inference.jobs.sum() == rounds
    assert np.all(np.abs(result.inference.jobs - rounds * p) < 4 * math.sqrt(rounds * p * (1 - p)))
    q = k / n_evaluators
    assert result.evaluator.jobs.sum() == rounds * k
    assert np.all(np.abs(result.evaluator.jobs - rounds * q) < 4 * math.sqrt(rounds * q * (1 - q)))
    records = np.bincount(result.rounds.record, minlength=len(inputs.records))
    r = 1 / len(inputs.records)
    assert np.all(np.abs(records - rounds * r) < 4.5 * math.sqrt(rounds * r * (1 - r)))


def test_evaluators_are_distinct_and_uniform_in_both_samplers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    for limit in (montecarlo.MAX_COMBINATIONS, 0):  # the subset table, then argpartition
        monkeypatch.setattr(montecarlo, "MAX_COMBINATIONS", limit)
        seats = montecarlo.sample_evaluators(rng, 60_000, 6, 3)
        assert seats.shape == (3, 60_000)
        assert np.all((seats[0] != seats[1]) & (seats[0] != seats[2]) & (seats[1] != seats[2]))
        subsets = np.bincount(np.sort(seats, axis=0).T @ np.array([36, 6, 1]), minlength=216)
        used = subsets[subsets > 0]
        assert len(used) == math.comb(6, 3)
        expected = 60_000 / 20
        assert np.all(np.abs(used - expected) < 4.5 * math.sqrt(expected))


def test_k_equal_to_m_puts_every_evaluator_in_every_round(inputs: SimInputs) -> None:
    m = len(inputs.evaluators)
    result = simulate(inputs, SimConfig(rounds=1000, k=m))
    assert list(result.evaluator.jobs) == [1000] * m
    assert np.all(np.sort(result.rounds.evaluators, axis=1) == np.arange(m))


def test_same_seed_reproduces_exactly_and_another_seed_differs(inputs: SimInputs) -> None:
    a = simulate(inputs, SimConfig(rounds=5000, seed=42, aggregation="trimmed"))
    b = simulate(inputs, SimConfig(rounds=5000, seed=42, aggregation="trimmed"))
    c = simulate(inputs, SimConfig(rounds=5000, seed=43, aggregation="trimmed"))
    for name in ("record", "node", "evaluators", "quality", "node_reward", "evaluator_rewards"):
        assert np.array_equal(getattr(a.rounds, name), getattr(b.rounds, name))
    assert a.as_dict() == b.as_dict()
    assert not np.array_equal(a.rounds.node, c.rounds.node)


def test_rounds_carry_the_sampled_answer_and_its_f1(inputs: SimInputs) -> None:
    result = simulate(inputs, SimConfig(rounds=500, seed=5))
    rounds = result.rounds
    assert inputs.f1 is not None and rounds.f1 is not None
    assert np.array_equal(rounds.f1, inputs.f1[rounds.record, rounds.node])
    i = 17
    seat_scores = inputs.scores[rounds.record[i], rounds.node[i], rounds.evaluators[i]]
    assert rounds.quality[i] == pytest.approx(seat_scores.mean() / 10, abs=1e-15)


@pytest.mark.parametrize("mode", CENTER_MODES)
def test_exact_wad_rounds_agree_with_floats(inputs: SimInputs, mode: str) -> None:
    """Scores with 3 decimals and latencies in whole microseconds: WAD and float differ by rounding only."""
    config = SimConfig(rounds=300, seed=1, aggregation=mode, exact_rounds=300, evaluator_reward="paper")
    result = simulate(inputs, config)
    assert result.exact is not None and len(result.exact.node_reward) == 300
    assert result.exact.max_float_diff < 1e-12
    assert result.as_dict()["exact"]["rounds"] == 300
    wad_q = np.array(result.exact.quality) / 1e18
    assert np.allclose(wad_q, result.rounds.quality[:300], rtol=0, atol=1e-12)


def test_bad_configs_are_config_errors(inputs: SimInputs) -> None:
    with pytest.raises(ConfigError, match="k must be between 1 and the 3 evaluators"):
        simulate(inputs, SimConfig(k=4))
    with pytest.raises(ConfigError, match="unknown aggregation"):
        simulate(inputs, SimConfig(aggregation="mode"))
    with pytest.raises(ConfigError, match="exact rounds"):
        simulate(inputs, SimConfig(rounds=10, exact_rounds=11))
    wide = SimInputs(inputs.records, inputs.nodes, [*inputs.evaluators, "e4"],
                     np.concatenate([inputs.scores, inputs.scores[:, :, :1]], axis=2),
                     inputs.node_latency_ms, np.append(inputs.evaluator_latency_ms, 2.0))
    assert simulate(wide, SimConfig(rounds=10, k=4)).evaluator.jobs.sum() == 40  # floats allow K > 3
    with pytest.raises(ConfigError, match="exact WAD rounds need k <= 3"):
        simulate(wide, SimConfig(rounds=10, k=4, exact_rounds=5, evaluator_reward="paper"))


def test_table_columns_in_json_shape(tmp_path: Path, inputs: SimInputs) -> None:
    out = simulate(inputs, SimConfig(rounds=2000)).as_dict()
    assert set(out) == {"inference", "evaluator", "costs", "evaluator_reward"}
    assert out["costs"] == {"rule": "claimed", "liars": {}}
    assert out["evaluator_reward"] == {"rule": "peer", "batch_size": 64}
    assert set(out["inference"]) == set(inputs.nodes)
    row = out["evaluator"]["sts"]
    assert set(row) == {"avg_reward", "jobs", "cost_norm", "avg_latency_ms", "cost_basis_ms"}
    assert row["cost_norm"] == 0.0 and row["avg_latency_ms"] == 0.9 and row["jobs"] == 2000
    assert row["cost_basis_ms"] == row["avg_latency_ms"]  # an honest claim is the profiled latency
