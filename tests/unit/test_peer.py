"""The peer evaluator reward (simulation.peer) by hand and inside the Monte Carlo; lazy evaluators' specs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from offchain.errors import ConfigError
from simulation import peer
from simulation.inputs import SimInputs, load_inputs
from simulation.lazy import LazyEvaluator, parse_lazies, parse_lazy, with_lazy
from simulation.montecarlo import SimConfig, normalized_costs, sample_evaluators, simulate
from tests.unit.sim_data import write_run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> SimInputs:
    return load_inputs(write_run(tmp_path_factory.mktemp("peer") / "run", n_records=30, f1=True))


@pytest.mark.parametrize(("k", "m", "rounds", "batch"), [(1, 3, 40, 4), (2, 4, 50, 64), (3, 5, 203, 7),
                                                         (4, 6, 301, 10), (3, 3, 64, 64)])
def test_batch_medians_are_numpys_median_per_evaluator_and_batch(k: int, m: int, rounds: int, batch: int) -> None:
    rng = np.random.default_rng(k * 100 + m)
    seats = sample_evaluators(rng, rounds, m, k)
    for scores in (rng.random((k, rounds)) * 10, rng.integers(0, 4, (k, rounds)) * 2.5):  # ties and even counts
        got = peer.batch_medians(scores, seats, m, batch)
        of_batch = np.arange(rounds) // batch
        for j, r in np.ndindex(k, rounds):
            mine = (of_batch == of_batch[r])[None, :] & (seats == seats[j, r])
            assert got[j, r] == np.median(scores[mine])


def test_informativeness_and_rewards_by_hand() -> None:
    sigma = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 1.0, 1.0]])  # (K=3, R=3)
    info = peer.informativeness(sigma)
    # round 0: (+, +, -): seat 0 agrees with seat 1, not seat 2: (1 - 1) / 2 = 0; seat 2 disagrees with both
    assert info[:, 0] == pytest.approx([0.0, 0.0, -1.0])
    assert info[:, 1] == pytest.approx([-1.0, 0.0, 0.0])
    assert info[:, 2] == pytest.approx([0.0, 0.5, 0.5])  # seat 0 at its median: 0, and it counts as a 0 peer
    assert np.array_equal(peer.informativeness(np.array([[1.0, -1.0]])), [[0.0, 0.0]])  # K = 1: no peer
    cost = np.array([[0.0, 1.0, 1.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.2]])
    rewards = peer.peer_rewards(2.0, 0.5, info, cost)
    assert rewards[2, 0] == pytest.approx(2.0 * -1 - 0.5 * 1.0 * 1)  # a loss costs its cost too
    assert rewards[1, 2] == pytest.approx(2.0 * 0.5 - 0.5 * 0.5 * 0.5)
    assert np.all(rewards[info == 0] == 0.0)  # no information, no reward, whatever the cost


def test_simulated_peer_rewards_follow_the_rule_from_the_rounds(inputs: SimInputs) -> None:
    """Recompute every seat's R_M from the rounds alone: np.median per (evaluator, batch), signs, I."""
    config = SimConfig(rounds=700, seed=9, batch_size=50, alpha_m=1.3, beta_m=0.4)
    result = simulate(inputs, config)
    rounds = result.rounds
    assert rounds.scores is not None
    batch = np.arange(config.rounds) // config.batch_size
    cost = normalized_costs(inputs.evaluator_latency_ms)
    for r in (0, 49, 50, 333, 699):
        seats = rounds.evaluators[r]
        sigma = [np.sign(rounds.scores[r, j] - np.median(rounds.scores[(batch == batch[r])[:, None]
                                                                      & (rounds.evaluators == m)]))
                 for j, m in enumerate(seats)]
        for j, m in enumerate(seats):
            info = np.mean([sigma[j] * sigma[i] for i in range(len(seats)) if i != j])
            want = 1.3 * info - 0.4 * cost[m] * abs(info)
            assert rounds.evaluator_rewards[r, j] == pytest.approx(want, abs=1e-12)


def test_peer_rewards_ignore_the_consensus_and_paper_rewards_are_unchanged(inputs: SimInputs) -> None:
    by_mode = [simulate(inputs, SimConfig(rounds=2000, seed=1, aggregation=mode)).rounds.evaluator_rewards
               for mode in ("mean", "median", "trimmed", "trust")]
    assert all(np.array_equal(by_mode[0], other) for other in by_mode[1:])
    paper = simulate(inputs, SimConfig(rounds=2000, seed=1, evaluator_reward="paper"))
    default = simulate(inputs, SimConfig(rounds=2000, seed=1))
    assert np.array_equal(paper.rounds.node_reward, default.rounds.node_reward)  # Q and R_F do not move
    assert not np.allclose(paper.rounds.evaluator_rewards, default.rounds.evaluator_rewards)


def test_k_equal_to_one_pays_no_evaluator(inputs: SimInputs) -> None:
    result = simulate(inputs, SimConfig(rounds=300, k=1))
    assert np.all(result.rounds.evaluator_rewards == 0.0)


def test_rule_and_batch_errors(inputs: SimInputs) -> None:
    with pytest.raises(ConfigError, match="unknown evaluator reward 'closeness'; choose one of peer, paper"):
        simulate(inputs, SimConfig(rounds=10, evaluator_reward="closeness"))
    with pytest.raises(ConfigError, match="batch size must be at least 1, got 0"):
        simulate(inputs, SimConfig(rounds=10, batch_size=0))
    with pytest.raises(ConfigError, match=r"^exact WAD rounds settle the paper's per-round evaluator reward, not "
                                          r"'peer': set evaluator_reward 'paper' \(--evaluator-reward paper\)$"):
        simulate(inputs, SimConfig(rounds=10, exact_rounds=5))
    result = simulate(inputs, SimConfig(rounds=10))
    from simulation.replay import replay_onchain

    with pytest.raises(ConfigError, match="the replay checks the paper's per-round evaluator reward, not 'peer'"):
        replay_onchain(result, 1)


def test_lazy_specs() -> None:
    assert parse_lazy("constant:5.8") == LazyEvaluator("constant-5.8", "constant", 5.8, None)
    assert parse_lazy(" constant:10@15 ") == LazyEvaluator("constant-10", "constant", 10.0, 15.0)
    assert parse_lazy("random@0.5") == LazyEvaluator("random", "random", None, 0.5)
    assert [x.name for x in parse_lazies(["random", "random", "constant:5.80", "constant:5.8"], ["random-2"])] == [
        "random", "random-3", "constant-5.8", "constant-5.8-2"]
    for spec, message in (("constant", "bad lazy evaluator 'constant'; expected constant:VALUE"),
                          ("random:3", "bad lazy evaluator 'random:3'"), ("median", "bad lazy evaluator 'median'"),
                          ("constant:11", "the constant must be a score in \\[0, 10\\], got '11'"),
                          ("constant:x", "got 'x'"), ("constant:nan", "got 'nan'"),
                          ("random@-1", "the latency after '@' must be milliseconds >= 0, got '-1'"),
                          ("random@", "got ''")):
        with pytest.raises(ConfigError, match=message):
            parse_lazy(spec)


def test_lazy_evaluators_join_the_pool(inputs: SimInputs) -> None:
    lazy = parse_lazies(["constant:5.8", "random@4"], inputs.evaluators)
    extended = with_lazy(inputs, lazy)
    assert extended.evaluators == [*inputs.evaluators, "constant-5.8", "random"]
    assert extended.evaluator_latency_ms[-2] == pytest.approx(inputs.evaluator_latency_ms.mean())
    assert extended.evaluator_latency_ms[-1] == 4.0
    assert np.all(extended.scores[:, :, -2] == 5.8) and np.isnan(extended.scores[:, :, -1]).all()
    config = SimConfig(rounds=3000, seed=2, lazy=lazy)
    result = simulate(inputs, config)
    rounds = result.rounds
    assert result.evaluator.names == extended.evaluators and result.evaluator.jobs.sum() == 3 * 3000
    assert rounds.scores is not None
    constant, random = rounds.evaluators == 3, rounds.evaluators == 4
    assert np.all(rounds.scores[constant] == 5.8) and np.all(rounds.evaluator_rewards[constant] == 0.0)
    drawn = rounds.scores[random]
    assert drawn.min() >= 0 and drawn.max() <= 10 and np.array_equal(drawn, np.round(drawn, 3))
    assert len(np.unique(drawn)) > 0.9 * drawn.size  # a fresh draw per seat, not one per answer
    again = simulate(inputs, config)
    assert np.array_equal(again.rounds.scores, rounds.scores)  # seeded by the run's seed
    other = simulate(inputs, replace(config, seed=3))
    assert other.rounds.scores is not None and not np.array_equal(other.rounds.scores[other.rounds.evaluators == 4],
                                                                  drawn)
    paper = replace(config, evaluator_reward="paper", exact_rounds=10)
    with pytest.raises(ConfigError, match="a random evaluator's draws per seat are not among them"):
        simulate(inputs, paper)
    exact = simulate(inputs, replace(paper, lazy=lazy[:1]))  # a constant has a score per answer: settled too
    assert exact.exact is not None and exact.exact.max_float_diff < 1e-12
