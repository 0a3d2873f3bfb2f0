"""Vectorized Monte Carlo simulation of PoQ rewards (the paper's Section on simulation, Table 4).

Each of R rounds draws a uniform record, a uniform inference node and K distinct evaluators (a
uniform K-subset); the evaluators' scores of that node's answer give the consensus centre, Q, R_F and
R_M through offchain.protocol.floats, on whole arrays at once (no Python loop over rounds). Arrays of
per-seat values are laid out (K, R): seat-major, so every per-seat operation is a contiguous vector op.
Optionally the first rounds are also settled exactly in WAD integers (simulation.exact).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError
from offchain.protocol import AGGREGATIONS, MAX_K, Params, floats, wad
from simulation.exact import ExactRounds, params_for, settle_rounds
from simulation.inputs import SimInputs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MAX_COMBINATIONS = 1 << 16  # above this many K-subsets, sample them by argpartition instead of a table


@dataclass(frozen=True)
class SimConfig:
    """One simulation: rounds, seed, panel size K and the reward weights (floats, paper's scale)."""

    rounds: int = 5000
    seed: int = 0
    k: int = 3
    alpha_f: float = 1.0
    beta_f: float = 0.5
    alpha_m: float = 1.0
    beta_m: float = 0.3
    aggregation: str = "mean"
    exact_rounds: int = 0  # settle the first N rounds in WAD integers too (K <= 3, as on chain)

    def params(self) -> Params:
        """The contract parameters (offchain.protocol.Params) with these weights, K and aggregation."""
        return params_for(self.alpha_f, self.beta_f, self.alpha_m, self.beta_m, self.k, self.aggregation)


@dataclass(frozen=True)
class RoleStats:
    """Per-node averages of one role, ordered like `names` (the paper's Table 4 columns)."""

    names: list[str]
    avg_reward: FloatArray  # NaN for a node that got no job
    jobs: IntArray
    cost_norm: FloatArray
    avg_latency_ms: FloatArray

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "avg_reward": None if math.isnan(self.avg_reward[i]) else float(self.avg_reward[i]),
                "jobs": int(self.jobs[i]),
                "cost_norm": float(self.cost_norm[i]),
                "avg_latency_ms": float(self.avg_latency_ms[i]),
            }
            for i, name in enumerate(self.names)
        }


@dataclass(frozen=True)
class Rounds:
    """What every round sampled and paid, for replay and further analysis."""

    record: IntArray  # (R,)
    node: IntArray  # (R,)
    evaluators: IntArray  # (R, K), distinct per row
    quality: FloatArray  # (R,) Q in [0, 1]
    node_reward: FloatArray  # (R,) R_F
    evaluator_rewards: FloatArray  # (R, K) R_M per seat
    f1: FloatArray | None = None  # (R,) ground-truth proxy of the sampled answer, when known


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    inputs: SimInputs
    inference: RoleStats
    evaluator: RoleStats
    rounds: Rounds
    exact: ExactRounds | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """`{"inference": {node: stats}, "evaluator": {name: stats}}` (plus "exact" when settled)."""
        out: dict[str, Any] = {"inference": self.inference.as_dict(), "evaluator": self.evaluator.as_dict()}
        if self.exact is not None:
            out["exact"] = {"rounds": len(self.exact.node_reward),
                            "max_float_diff": self.exact.max_float_diff}
        return out


def normalized_costs(latency_ms: FloatArray) -> FloatArray:
    """Min-max normalized cost per node of one role's pool (floats.normalized_cost)."""
    if len(latency_ms) == 0:
        return np.zeros(0)
    lo, hi = float(latency_ms.min()), float(latency_ms.max())
    return np.array([floats.normalized_cost(float(x), lo, hi) for x in latency_ms], dtype=np.float64)


def _sorted_seats(scores: FloatArray) -> FloatArray:
    """Each column of a (K, R) array sorted ascending; a compare-exchange network for K <= 3."""
    k = scores.shape[0]
    if k == 2:
        return np.stack([np.minimum(scores[0], scores[1]), np.maximum(scores[0], scores[1])])
    if k == 3:
        lo, hi = np.minimum(scores[0], scores[1]), np.maximum(scores[0], scores[1])
        top = np.maximum(hi, scores[2])
        rest = np.minimum(hi, scores[2])
        return np.stack([np.minimum(lo, rest), np.maximum(lo, rest), top])
    return np.sort(scores, axis=0)


def _seat_sum(rows: FloatArray) -> FloatArray:
    """Sum over seats in seat order (the order floats.consensus adds them)."""
    total = rows[0].copy()
    for row in rows[1:]:
        total += row
    return total


def centre(scores: FloatArray, mode: str = "mean") -> FloatArray:
    """Consensus centre of each column of a (K, R) score array, as floats.consensus computes it.

    mean: sum / K; median: middle score (mean of the two middle ones for even K); trimmed: mean of
    the scores left after dropping wad.trim_count(K) from each end.
    """
    k = scores.shape[0]
    if mode not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {mode!r}; choose one of {', '.join(AGGREGATIONS)}")
    if mode == "mean":
        return _seat_sum(scores) / k
    ordered = _sorted_seats(scores)
    if mode == "median":
        mid = k // 2
        return ordered[mid].copy() if k % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
    t = wad.trim_count(k)
    return _seat_sum(ordered[t : k - t]) / (k - 2 * t)


def round_rewards(
    scores: FloatArray, node_cost: FloatArray, evaluator_cost: FloatArray, config: SimConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(Q, R_F, R_M) of rounds given seat scores (K, R), node costs (R,) and seat costs (K, R)."""
    c = centre(scores, config.aggregation)
    q = floats.quality(c, 1.0)  # Q = centre / 10; for the mean, sum(e) / (10 K) (Eq. 1)
    r_f = floats.inference_reward(config.alpha_f, config.beta_f, q, node_cost)
    d = floats.deviation(scores, c)
    r_m = floats.evaluator_reward(config.alpha_m, config.beta_m, d, evaluator_cost)
    return q, r_f, r_m


def sample_evaluators(rng: np.random.Generator, rounds: int, m: int, k: int) -> IntArray:
    """K distinct evaluators per round, a uniform K-subset of range(m), as a (K, R) array.

    Small pools draw an index into the table of all C(m, K) subsets (fast); large pools take the K
    smallest of m uniforms per round (argpartition). Both give every subset probability 1/C(m, K).
    """
    if math.comb(m, k) <= MAX_COMBINATIONS:
        table = np.array(list(itertools.combinations(range(m), k)), dtype=np.int64).T  # (K, C)
        return np.ascontiguousarray(table[:, rng.integers(0, table.shape[1], rounds)])
    picks = rng.random((rounds, m)).argpartition(k - 1, axis=1)[:, :k]
    return np.ascontiguousarray(picks.T, dtype=np.int64)


def _check(inputs: SimInputs, config: SimConfig) -> None:
    n_records, n_nodes, n_evaluators = inputs.scores.shape
    if config.rounds < 1:
        raise ConfigError(f"rounds must be at least 1, got {config.rounds}")
    if min(n_records, n_nodes, n_evaluators) < 1:
        raise ConfigError("the simulation needs at least one record, inference node and evaluator")
    if not 1 <= config.k <= n_evaluators:
        raise ConfigError(f"k must be between 1 and the {n_evaluators} evaluators, got {config.k}")
    if config.aggregation not in AGGREGATIONS:
        choices = ", ".join(AGGREGATIONS)
        raise ConfigError(f"unknown aggregation {config.aggregation!r}; choose one of {choices}")
    if not 0 <= config.exact_rounds <= config.rounds:
        raise ConfigError(f"exact rounds must be between 0 and {config.rounds}, got {config.exact_rounds}")
    if config.exact_rounds and config.k > MAX_K:
        raise ConfigError(f"exact WAD rounds need k <= {MAX_K} (the contract's limit), got {config.k}")


def _stats(names: list[str], who: IntArray, rewards: FloatArray, cost: FloatArray,
           latency_ms: FloatArray) -> RoleStats:
    n = len(names)
    jobs = np.bincount(who, minlength=n).astype(np.int64)
    totals = np.bincount(who, weights=rewards, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(jobs > 0, totals / np.maximum(jobs, 1), np.nan)
    return RoleStats(list(names), avg, jobs, cost, np.asarray(latency_ms, dtype=np.float64))


def simulate(inputs: SimInputs, config: SimConfig | None = None) -> SimResult:
    """Run the Monte Carlo simulation; deterministic for a given seed."""
    config = config or SimConfig()
    _check(inputs, config)
    n_records, n_nodes, n_evaluators = inputs.scores.shape
    rng = np.random.default_rng(config.seed)
    record = rng.integers(0, n_records, config.rounds)
    node = rng.integers(0, n_nodes, config.rounds)
    seats = sample_evaluators(rng, config.rounds, n_evaluators, config.k)  # (K, R)

    flat = np.ascontiguousarray(inputs.scores, dtype=np.float64).ravel()
    base = (record * n_nodes + node) * n_evaluators
    scores = np.stack([flat[base + row] for row in seats])  # (K, R)
    node_cost, evaluator_cost = normalized_costs(inputs.node_latency_ms), normalized_costs(
        inputs.evaluator_latency_ms)
    q, r_f, r_m = round_rewards(scores, node_cost[node], evaluator_cost[seats], config)

    rounds = Rounds(record, node, seats.T, q, r_f, r_m.T,
                    inputs.f1[record, node] if inputs.f1 is not None else None)
    exact = None
    if config.exact_rounds:
        n = config.exact_rounds
        exact = settle_rounds(config.params(), inputs.scores, inputs.node_latency_ms,
                              inputs.evaluator_latency_ms, record[:n], node[:n], rounds.evaluators[:n],
                              r_f[:n], rounds.evaluator_rewards[:n])
    return SimResult(
        config,
        inputs,
        _stats(inputs.nodes, node, r_f, node_cost, inputs.node_latency_ms),
        _stats(inputs.evaluators, seats.ravel(), r_m.ravel(), evaluator_cost, inputs.evaluator_latency_ms),
        rounds,
        exact,
    )
