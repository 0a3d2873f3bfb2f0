"""Vectorized Monte Carlo simulation of PoQ rewards (the paper's Section on simulation, Table 4).

Each of R rounds draws a uniform record, a uniform inference node and K distinct evaluators (a
uniform K-subset); the evaluators' scores of that node's answer give the consensus center, Q and R_F
through offchain.protocol.floats, on whole arrays at once (no Python loop over rounds). Arrays of
per-seat values are laid out (K, R): seat-major, so every per-seat operation is a contiguous vector op.

The evaluator reward R_M follows `SimConfig.evaluator_reward`:
- "peer" (the default; simulation.peer): multi-task peer prediction, correlated-agreement style.
  Rounds are grouped into batches of `SimConfig.batch_size` consecutive rounds; a seat's sign is
  sign(score - its evaluator's median over the batch), its informativeness I the mean over the other
  seats of its round of the product of signs, and R_M = alpha_M I - beta_M C |I|. A constant
  reporter earns exactly 0, a random one's I is 0 in expectation (so its R_M, net of its cost, is
  below 0), and a strictly increasing transform of one evaluator's scores changes nobody's reward.
- "paper" (Eqs. 3-5): R_M = alpha_M (1 - d) - beta_M C with d = |e - center| / 10, closeness to the
  consensus center. It pays a constant near the panel's mean more than an honest evaluator; it is
  what `poq report` uses to reproduce the paper's Table 4, and the only rule of the exact rounds.
Optionally the first rounds are also settled exactly in WAD integers (simulation.exact; paper rule only:
they check the contract's per-round equations).

Two simulation-only extensions for the robustness study (adaptive robust PoQ, arXiv 2601.21189):
- aggregation "trust": an adaptive trust-weighted consensus Σ w_m e_m / Σ w_m whose weights are updated
  after every round from each sampled evaluator's deviation (see `trust_consensus`). Round r's consensus
  depends on the weights after round r - 1, so this mode loops over rounds (numpy over the K seats of
  each round): about 40x slower than mean/median/trimmed (bench/simulate.py on a 2-core CPU: ~100,000
  vs ~4,000,000 rounds/s; 5,000 rounds take ~0.05 s). The trust rules drive the consensus (Q, R_F and
  the paper rule's R_M); the peer rule's R_M does not read the consensus.
- an `Adversary`: a subset of evaluators whose scores pass through an attack (offchain.agents.strategies)
  before aggregation, drawn from its own seeded Generator.

Costs follow `SimConfig.costs` (simulation.costs): the nodes' claims, honest or not (the old contract,
and with no liar and the paper rule the paper's Table 4), or what the contract measures from block
timestamps.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from offchain.agents.strategies import Strategy
from offchain.errors import ConfigError
from offchain.protocol import AGGREGATIONS, CENTER_MODES, MAX_K, TRUST_RULES, Params, floats, wad
from simulation.costs import CostConfig, RoleCosts, check_costs, role_costs
from simulation.costs import normalized_costs as normalized_costs  # re-exported: the paper's static C
from simulation.exact import ExactRounds, params_for, settle_rounds
from simulation.inputs import SimInputs
from simulation.lazy import LazyEvaluator, draw_random_seats, random_indices, with_lazy
from simulation.peer import DEFAULT_BATCH_SIZE, PAPER, PEER, check_rule, round_peer_rewards
from simulation.peer import EVALUATOR_REWARDS as EVALUATOR_REWARDS  # re-exported: peer | paper

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MAX_COMBINATIONS = 1 << 16  # above this many K-subsets, sample them by argpartition instead of a table
TRUST = "trust"
SIM_AGGREGATIONS = AGGREGATIONS  # the contract's modes; trust runs here with float weights (TrustConfig)


@dataclass(frozen=True)
class TrustConfig:
    """Adaptive trust weights, updated for the K sampled evaluators after every round.

    rule "published" (the follow-up paper's): d = |e - consensus| / 10 against the trust-weighted
    consensus itself, w <- clip(w (1 + lam (0.5 - d)), w_min, w_max). Scores within 5 points of the
    consensus always gain weight, so honest weights saturate at w_max and attackers drift up too.
    rule "robust" (ours): after the round's consensus, every evaluator's weight (sampled or not)
    decays toward w0, w <- w0 + (1 - decay)(w - w0); then each seat's d is measured against the
    median of the round's scores, and the pivot is the panel's mean deviation (pivot "panel") instead
    of 0.5: w <- clip(w (1 + lam (mean(d) - d)), w_min, w_max). A seat gains only by agreeing with
    the robust center better than its panel does. Pivot "fixed" keeps 0.5, i.e. median center and
    decay alone: that does not stop the saturation (tests/unit/test_trust.py).
    """

    rule: str = "published"
    lam: float = 0.5
    w_min: float = 0.1
    w_max: float = 2.0
    w0: float = 1.0
    decay: float = 0.01  # robust rule only
    pivot: str = "panel"  # robust rule only: "panel" (the round's mean deviation) or "fixed" (0.5)


@dataclass(frozen=True)
class SimConfig:
    """One simulation: rounds, seed, panel size K, the reward weights (floats, paper's scale) and rule.

    `evaluator_reward` "peer" (the default) or "paper" (Eqs. 3-5; the exact rounds need it);
    `batch_size`: consecutive rounds per batch of the peer rule (the contract's batch of tasks);
    `lazy`: constant or random evaluators appended to the inputs' evaluators (simulation.lazy).
    """

    rounds: int = 5000
    seed: int = 0
    k: int = 3
    alpha_f: float = 1.0
    beta_f: float = 0.5
    alpha_m: float = 1.0
    beta_m: float = 0.3
    aggregation: str = "mean"  # mean | median | trimmed | trust (simulation only)
    exact_rounds: int = 0  # settle the first N rounds in WAD integers too (K <= 3, as on chain)
    trust: TrustConfig = field(default_factory=TrustConfig)  # used when aggregation == "trust"
    costs: CostConfig = field(default_factory=CostConfig)  # claimed (default) or measured, and any liars
    evaluator_reward: str = PEER  # peer | paper (simulation.peer.EVALUATOR_REWARDS)
    batch_size: int = DEFAULT_BATCH_SIZE  # rounds per batch of the peer rule
    lazy: tuple[LazyEvaluator, ...] = ()  # evaluators appended to the inputs' (simulation.lazy)

    def params(self) -> Params:
        """The contract parameters (offchain.protocol.Params) with these weights, K, aggregation, evaluator
        reward rule and smoothing (the min-max cost rule: simulation.exact.params_for)."""
        params = params_for(self.alpha_f, self.beta_f, self.alpha_m, self.beta_m, self.k, self.aggregation,
                            evaluator_reward=self.evaluator_reward)
        return replace(params, costSmoothing=self.costs.smoothing_wad())


@dataclass(frozen=True)
class RoleStats:
    """Per-node averages of one role, ordered like `names` (the paper's Table 4 columns)."""

    names: list[str]
    avg_reward: FloatArray  # NaN for a node that got no job
    jobs: IntArray
    cost_norm: FloatArray  # C: the node's (claimed rule) or its mean over its jobs (measured; NaN: no job)
    avg_latency_ms: FloatArray  # the profiled latency (costs.json)
    cost_basis_ms: FloatArray  # what C priced: the node's claim, or its mean measured cost over its jobs

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {"avg_reward": json_number(self.avg_reward[i]), "jobs": int(self.jobs[i]),
                       "cost_norm": json_number(self.cost_norm[i]), "avg_latency_ms": float(self.avg_latency_ms[i]),
                       "cost_basis_ms": json_number(self.cost_basis_ms[i])}
                for i, name in enumerate(self.names)}


def json_number(x: float) -> float | None:
    """A float for JSON: None for NaN (a node without a job)."""
    return None if math.isnan(x) else float(x)


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
    scores: FloatArray | None = None  # (R, K) the scores the seats reported (after any attack)
    trust_weights: FloatArray | None = None  # (R, M) every evaluator's weight after each round (trust mode)


@dataclass(frozen=True)
class Adversary:
    """Malicious evaluators: those with malicious[m] True report strategy(score) instead of their score.

    The attack draws from its own Generator seeded with `seed`, so the rounds sampled (record, node,
    panel) are the same with or without it, and the same seed reproduces the attack.
    """

    malicious: npt.NDArray[np.bool_]  # (M,) over the evaluators of the inputs
    strategy: Strategy
    seed: int = 0


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    inputs: SimInputs
    inference: RoleStats
    evaluator: RoleStats
    rounds: Rounds
    exact: ExactRounds | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """`{"inference": {node: stats}, "evaluator": {name: stats}, "costs": {rule, liars},
        "evaluator_reward": {rule, batch_size}}` (+ "exact")."""
        costs = self.config.costs
        out: dict[str, Any] = {"inference": self.inference.as_dict(), "evaluator": self.evaluator.as_dict(),
                               "costs": {"rule": costs.rule,
                                         "liars": {liar.name: liar.claim_us for liar in costs.liars}},
                               "evaluator_reward": {"rule": self.config.evaluator_reward,
                                                    "batch_size": self.config.batch_size}}
        if self.exact is not None:
            out["exact"] = {"rounds": len(self.exact.node_reward),
                            "max_float_diff": self.exact.max_float_diff}
        return out


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


def center(scores: FloatArray, mode: str = "mean") -> FloatArray:
    """Consensus center of each column of a (K, R) score array, as floats.consensus computes it.

    mean: sum / K; median: middle score (mean of the two middle ones for even K); trimmed: mean of
    the scores left after dropping wad.trim_count(K) from each end.
    """
    k = scores.shape[0]
    if mode not in CENTER_MODES:
        raise ConfigError(f"unknown aggregation {mode!r}; choose one of {', '.join(CENTER_MODES)}")
    if mode == "mean":
        return _seat_sum(scores) / k
    ordered = _sorted_seats(scores)
    if mode == "median":
        mid = k // 2
        return ordered[mid].copy() if k % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
    t = wad.trim_count(k)
    return _seat_sum(ordered[t : k - t]) / (k - 2 * t)


@dataclass(frozen=True)
class TrustTrace:
    """What the trust-weighted consensus computed: per-round center, final and (optionally) all weights."""

    center: FloatArray  # (R,) Σ w e / Σ w with the weights before the round's update
    weights: FloatArray  # (M,) after the last round
    history: FloatArray | None = None  # (R, M) weights after each round


def trust_consensus(scores: FloatArray, seats: IntArray, n_evaluators: int, trust: TrustConfig | None = None,
                    *, history: bool = False) -> TrustTrace:
    """Trust-weighted consensus of each column of (K, R) scores, updating the seats' weights per round.

    Round r: c = Σ w_m e_m / Σ w_m over its seats, with every weight at w0 before round 0; then the
    seats' weights are updated by `trust.rule` (see TrustConfig). Sequential over rounds (numpy over
    the K seats of a round), so much slower than the other modes.
    """
    trust = trust or TrustConfig()
    _check_trust(trust)
    n_rounds = scores.shape[1]
    weights = np.full(n_evaluators, trust.w0, dtype=np.float64)
    out = np.empty(n_rounds, dtype=np.float64)
    trail = np.empty((n_rounds, n_evaluators), dtype=np.float64) if history else None
    by_round, seats_by_round = np.ascontiguousarray(scores.T), np.ascontiguousarray(seats.T)
    steps = None  # the robust rule's steps need no weights: all rounds at once, (R, K)
    if trust.rule == "robust":
        d = np.abs(scores - center(scores, "median")) / 10.0
        steps = np.ascontiguousarray(((d.mean(axis=0) if trust.pivot == "panel" else 0.5) - d).T)
    keep, lam, lo, hi, w0 = 1.0 - trust.decay, trust.lam, trust.w_min, trust.w_max, trust.w0
    for r in range(n_rounds):
        e, who = by_round[r], seats_by_round[r]
        w = weights[who]
        c = float(w @ e) / float(w.sum())
        out[r] = c
        if steps is None:
            step = 0.5 - np.abs(e - c) / 10.0
        else:  # decay every evaluator's weight toward w0 before the multiplicative update
            weights -= w0
            weights *= keep
            weights += w0
            w = weights[who]
            step = steps[r]
        weights[who] = np.clip(w * (1.0 + lam * step), lo, hi)
        if trail is not None:
            trail[r] = weights
    return TrustTrace(out, weights, trail)


def _check_trust(trust: TrustConfig) -> None:
    if trust.rule not in TRUST_RULES:
        raise ConfigError(f"unknown trust rule {trust.rule!r}; choose one of {', '.join(TRUST_RULES)}")
    if not 0 < trust.w_min <= trust.w0 <= trust.w_max:
        raise ConfigError(f"trust weights need 0 < w_min <= w0 <= w_max, got {trust.w_min:g}, {trust.w0:g}, "
                          f"{trust.w_max:g}")
    if not 0 <= trust.lam <= 2:
        raise ConfigError(f"trust lambda must be in [0, 2] (so weights stay positive), got {trust.lam:g}")
    if trust.pivot not in ("panel", "fixed"):
        raise ConfigError(f"unknown trust pivot {trust.pivot!r}; choose panel or fixed")
    if not 0 <= trust.decay <= 1:
        raise ConfigError(f"trust decay must be in [0, 1], got {trust.decay:g}")


def round_rewards(
    scores: FloatArray, node_cost: FloatArray, evaluator_cost: FloatArray, config: SimConfig,
    consensus: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(Q, R_F, R_M) of rounds given seat scores (K, R), node costs (R,) and seat costs (K, R).

    R_M is the paper's per-round rule (Eqs. 3-5), whatever `config.evaluator_reward` says: the peer
    rule needs the round's batch (simulate applies it). `consensus` (R,) overrides the center (the
    trust mode computes it); the evaluators' deviations are measured against the same center that
    gives Q.
    """
    c = center(scores, config.aggregation) if consensus is None else consensus
    q = floats.quality(c, 1.0)  # Q = center / 10; for the mean, sum(e) / (10 K) (Eq. 1)
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


def answered_records(answered: npt.NDArray[np.bool_], node: IntArray, rng: np.random.Generator) -> IntArray:
    """Per round, a record drawn uniformly among those its node answered (``answered[r, f]``).

    With a complete grid this is the same law as an independent uniform record; it lets a heavy
    node that answered only a subset take part without discarding everyone else's records.
    """
    by_node = [np.flatnonzero(answered[:, f]) for f in range(answered.shape[1])]
    counts = np.array([len(rows) for rows in by_node])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.concatenate(by_node)
    pick = (rng.random(len(node)) * counts[node]).astype(np.int64)
    return flat[offsets[node] + pick]


def _check(inputs: SimInputs, config: SimConfig) -> None:
    n_records, n_nodes, n_evaluators = inputs.scores.shape
    if config.rounds < 1:
        raise ConfigError(f"rounds must be at least 1, got {config.rounds}")
    if min(n_records, n_nodes, n_evaluators) < 1:
        raise ConfigError("the simulation needs at least one record, inference node and evaluator")
    answered_any: npt.NDArray[np.bool_] = np.asarray(inputs.answered.any(axis=0))
    idle = [name for f, name in enumerate(inputs.nodes) if not answered_any[f]]
    if idle:
        raise ConfigError(f"node(s) {', '.join(map(repr, idle))} answered no record")
    if not 1 <= config.k <= n_evaluators:
        raise ConfigError(f"k must be between 1 and the {n_evaluators} evaluators, got {config.k}")
    if config.aggregation not in SIM_AGGREGATIONS:
        choices = ", ".join(SIM_AGGREGATIONS)
        raise ConfigError(f"unknown aggregation {config.aggregation!r}; choose one of {choices}")
    if config.aggregation == TRUST:
        _check_trust(config.trust)
        if config.exact_rounds:
            raise ConfigError("exact WAD rounds replay the stateless modes (mean, median, trimmed), not trust")
    if not 0 <= config.exact_rounds <= config.rounds:
        raise ConfigError(f"exact rounds must be between 0 and {config.rounds}, got {config.exact_rounds}")
    if config.exact_rounds and config.k > MAX_K:
        raise ConfigError(f"exact WAD rounds need k <= {MAX_K} (the contract's limit), got {config.k}")
    check_costs(config.costs, inputs.nodes, inputs.evaluators)
    check_rule(config.evaluator_reward, config.batch_size)


def _stats(names: list[str], who: IntArray, rewards: FloatArray, costs: RoleCosts,
           latency_ms: FloatArray) -> RoleStats:
    n = len(names)
    jobs = np.bincount(who, minlength=n).astype(np.int64)
    totals = np.bincount(who, weights=rewards, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(jobs > 0, totals / np.maximum(jobs, 1), np.nan)
    return RoleStats(list(names), avg, jobs, costs.norm, np.asarray(latency_ms, dtype=np.float64),
                     costs.basis_ms)


def simulate(inputs: SimInputs, config: SimConfig | None = None, adversary: Adversary | None = None,
             *, trust_history: bool = False) -> SimResult:
    """Run the Monte Carlo simulation; deterministic for a given seed (and the adversary's seed).

    With an adversary, malicious seats report the attacked score; rewards use the reported scores.
    `config.lazy` evaluators are appended to the inputs first (an adversary's mask covers them too).
    R_M follows `config.evaluator_reward` (module docstring).
    `trust_history` keeps every evaluator's weight after every round (trust mode; Rounds.trust_weights).
    """
    config = config or SimConfig()
    inputs = with_lazy(inputs, config.lazy)  # SimResult.inputs holds the lazy evaluators' columns too
    _check(inputs, config)
    if adversary is not None and np.shape(adversary.malicious) != (inputs.scores.shape[2],):
        raise ConfigError(f"the adversary marks {np.shape(adversary.malicious)} evaluators, "
                          f"the inputs have {inputs.scores.shape[2]}")
    if adversary is not None and config.exact_rounds:
        raise ConfigError("exact WAD rounds settle the honest scores; they cannot be combined with an adversary")
    randoms = random_indices(inputs, config.lazy)
    if config.exact_rounds and randoms:
        raise ConfigError("exact WAD rounds settle the run's scores; a random evaluator's draws per seat are not "
                          "among them")
    if config.exact_rounds and config.evaluator_reward != PAPER:
        raise ConfigError(f"exact WAD rounds settle the paper's per-round evaluator reward, not "
                          f"{config.evaluator_reward!r}: set evaluator_reward 'paper' (--evaluator-reward paper)")
    n_records, n_nodes, n_evaluators = inputs.scores.shape
    rng = np.random.default_rng(config.seed)
    record = rng.integers(0, n_records, config.rounds)
    node = rng.integers(0, n_nodes, config.rounds)
    if not inputs.answered.all():
        record = answered_records(inputs.answered, node, np.random.default_rng([config.seed, 1]))
    seats = sample_evaluators(rng, config.rounds, n_evaluators, config.k)  # (K, R)

    flat = np.ascontiguousarray(inputs.scores, dtype=np.float64).ravel()
    base = (record * n_nodes + node) * n_evaluators
    scores = np.stack([flat[base + row] for row in seats])  # (K, R)
    if randoms:
        draw_random_seats(scores, seats, randoms, config.seed)
    if adversary is not None:
        bad = np.asarray(adversary.malicious, dtype=bool)[seats]
        if bad.any():
            scores[bad] = adversary.strategy(scores[bad], np.random.default_rng(adversary.seed))
    cost_rng = np.random.default_rng([config.seed, 2])  # the measured model's own draws
    node_costs = role_costs(config.costs, inputs.node_latency_ms, inputs.nodes, node, cost_rng)
    seat_costs = role_costs(config.costs, inputs.evaluator_latency_ms, inputs.evaluators, seats, cost_rng)
    trace = None
    if config.aggregation == TRUST:
        trace = trust_consensus(scores, seats, n_evaluators, config.trust, history=trust_history)
    q, r_f, r_m = round_rewards(scores, node_costs.c, seat_costs.c, config,
                                None if trace is None else trace.center)
    if config.evaluator_reward == PEER:
        r_m = round_peer_rewards(scores, seats, n_evaluators, seat_costs.c, config.alpha_m, config.beta_m,
                                 config.batch_size)

    rounds = Rounds(record, node, seats.T, q, r_f, r_m.T,
                    inputs.f1[record, node] if inputs.f1 is not None else None,
                    scores.T, None if trace is None else trace.history)
    exact = None
    if config.exact_rounds:
        n = config.exact_rounds

        def costs_of(i: int) -> tuple[int, list[int]]:
            return node_costs.wad((i,)), [seat_costs.wad((j, i)) for j in range(config.k)]

        exact = settle_rounds(config.params(), inputs.scores, record[:n], node[:n], rounds.evaluators[:n],
                              costs_of, r_f[:n], rounds.evaluator_rewards[:n])
    return SimResult(config, inputs, _stats(inputs.nodes, node, r_f, node_costs, inputs.node_latency_ms),
                     _stats(inputs.evaluators, seats.ravel(), r_m.ravel(), seat_costs, inputs.evaluator_latency_ms),
                     rounds, exact)
