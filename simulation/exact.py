"""The simulation's inputs in the contract's integer units, and rounds settled with offchain.protocol.

Scores become integer score units, round(score x 1000) in [0, MAX_SCORE = 10_000], and
latencies integer microseconds, round(ms x 1000), the unit the contract's cost reports use; costs are
then min-max normalized in WAD by wad.normalized_cost exactly as the contract does. Rounds are settled
by offchain.protocol.settle_round, so these numbers are the contract's to the wei.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError
from offchain.protocol import Params, RoundSettlement, settle_round, wad
from offchain.protocol.types import MAX_SCORE, UNITS_PER_POINT

UINT32_MAX = 2**32 - 1
IntArray = npt.NDArray[np.int64]


def score_units(scores: npt.NDArray[np.float64]) -> IntArray:
    """Scores on [0, 10] as contract score units: round(score x 1000), clipped to [0, 10_000]."""
    units = np.rint(np.asarray(scores, dtype=np.float64) * UNITS_PER_POINT)
    return np.clip(units, 0, MAX_SCORE).astype(np.int64)


def latency_us(latency_ms: npt.NDArray[np.float64]) -> list[int]:
    """Latencies in ms as the integer microseconds a node reports on chain (uint32)."""
    values = [int(x) for x in np.rint(np.asarray(latency_ms, dtype=np.float64) * 1000.0)]
    for value in values:
        if not 0 <= value <= UINT32_MAX:
            raise ConfigError(f"latency {value} us does not fit the contract's uint32 cost report")
    return values


def wad_costs(latencies_us: Sequence[int]) -> list[int]:
    """Normalized WAD cost of each node of one role's pool (every node reported)."""
    lo, hi = wad.cost_range(list(latencies_us))
    return [wad.normalized_cost(True, x, lo, hi) for x in latencies_us]


def params_for(alpha_f: float, beta_f: float, alpha_m: float, beta_m: float, k: int, aggregation: str,
               base: Params | None = None) -> Params:
    """Contract parameters with these float weights as exact decimals in WAD (0.3 -> 3e17)."""
    return (base or Params()).with_overrides({
        "alphaF": repr(float(alpha_f)), "betaF": repr(float(beta_f)),
        "alphaM": repr(float(alpha_m)), "betaM": repr(float(beta_m)),
        "k": k, "aggregation": aggregation,
    })


@dataclass(frozen=True)
class ExactRounds:
    """The first rounds of a simulation settled in WAD integers (rewards are signed WAD)."""

    quality: list[int]
    node_reward: list[int]
    evaluator_rewards: list[tuple[int, ...]]
    max_float_diff: float  # max |float reward - WAD reward / 1e18| over these rounds, reward units


def settle(
    params: Params,
    units: IntArray,
    node_costs: Sequence[int],
    evaluator_costs: Sequence[int],
    node: int,
    evaluators: Sequence[int],
    record: int,
) -> RoundSettlement:
    """settle_round for one round: node `node` answered `record`, scored by `evaluators`."""
    fee = wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)
    seat_scores: list[int | None] = [int(units[record, node, m]) for m in evaluators]
    return settle_round(params, fee, seat_scores, node_costs[node], [evaluator_costs[m] for m in evaluators])


def settle_rounds(
    params: Params,
    scores: npt.NDArray[np.float64],
    node_latency_ms: npt.NDArray[np.float64],
    evaluator_latency_ms: npt.NDArray[np.float64],
    record: IntArray,
    node: IntArray,
    evaluators: IntArray,
    float_node_reward: npt.NDArray[np.float64],
    float_evaluator_rewards: npt.NDArray[np.float64],
) -> ExactRounds:
    """Settle rounds i = 0..len(record)-1 exactly; `evaluators` is (rounds, K).

    The float rewards of the same rounds are compared: they differ only by the rounding of scores to
    score units, latencies to microseconds and of the WAD arithmetic.
    """
    units = score_units(scores)
    node_costs = wad_costs(latency_us(node_latency_ms))
    evaluator_costs = wad_costs(latency_us(evaluator_latency_ms))
    quality, node_reward, evaluator_rewards = [], [], []
    worst = 0.0
    for i in range(len(record)):
        seats = [int(m) for m in evaluators[i]]
        s = settle(params, units, node_costs, evaluator_costs, int(node[i]), seats, int(record[i]))
        quality.append(s.quality)
        node_reward.append(s.node_reward)
        evaluator_rewards.append(s.evaluator_rewards)
        worst = max(worst, abs(float(float_node_reward[i]) - s.node_reward / wad.WAD),
                    *(abs(float(x) - r / wad.WAD) for x, r in zip(float_evaluator_rewards[i],
                                                                  s.evaluator_rewards, strict=True)))
    return ExactRounds(quality, node_reward, evaluator_rewards, worst)
