"""The simulation's rounds in the contract's integer units, settled with offchain.protocol.

Scores become integer score units, round(score x 1000) in [0, MAX_SCORE = 10_000]; each round's
costs come in as the normalized WAD costs the contract would read at settlement (simulation.costs:
claimed reports or measured microseconds, min-max normalized by wad.normalized_cost). Rounds are
settled by offchain.protocol.settle_round, so these numbers are the contract's to the wei.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from offchain.protocol import Params, RoundSettlement, settle_round, wad
from offchain.protocol.types import MAX_SCORE, UNITS_PER_POINT

IntArray = npt.NDArray[np.int64]


def score_units(scores: npt.NDArray[np.float64]) -> IntArray:
    """Scores on [0, 10] as contract score units: round(score x 1000), clipped to [0, 10_000]; NaN -> 0."""
    units = np.rint(np.asarray(scores, dtype=np.float64) * UNITS_PER_POINT)
    return np.clip(np.nan_to_num(units), 0, MAX_SCORE).astype(np.int64)  # NaN (not answered): never read


def params_for(alpha_f: float, beta_f: float, alpha_m: float, beta_m: float, k: int, aggregation: str,
               base: Params | None = None, *, evaluator_reward: str = "paper") -> Params:
    """Contract parameters with these float weights as exact decimals in WAD (0.3 -> 3e17).

    The evaluator reward rule is named (the exact rounds and the replay settle the paper's, the
    default here), and C is the min-max normalization the simulation computes (simulation.costs), so
    costRule is pinned to minmax whatever the contract's default.
    """
    return (base or Params()).with_overrides({
        "alphaF": repr(float(alpha_f)), "betaF": repr(float(beta_f)),
        "alphaM": repr(float(alpha_m)), "betaM": repr(float(beta_m)),
        "k": k, "aggregation": aggregation, "evaluatorReward": evaluator_reward, "costRule": "minmax",
    })


@dataclass(frozen=True)
class ExactRounds:
    """The first rounds of a simulation settled in WAD integers (rewards are signed WAD)."""

    quality: list[int]
    node_reward: list[int]
    evaluator_rewards: list[tuple[int, ...]]
    max_float_diff: float  # max |float reward - WAD reward / 1e18| over these rounds, reward units


def settle(params: Params, units: IntArray, record: int, node: int, evaluators: Sequence[int], node_cost: int,
           seat_costs: Sequence[int]) -> RoundSettlement:
    """settle_round for one round: `node` answered `record`, scored by `evaluators` (costs in WAD)."""
    fee = wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)
    seat_scores: list[int | None] = [int(units[record, node, m]) for m in evaluators]
    return settle_round(params, fee, seat_scores, node_cost, list(seat_costs))


def settle_rounds(
    params: Params,
    scores: npt.NDArray[np.float64],
    record: IntArray,
    node: IntArray,
    evaluators: IntArray,
    costs_of: Callable[[int], tuple[int, Sequence[int]]],
    float_node_reward: npt.NDArray[np.float64],
    float_evaluator_rewards: npt.NDArray[np.float64],
) -> ExactRounds:
    """Settle rounds i = 0..len(record)-1 exactly; `evaluators` is (rounds, K), `costs_of(i)` round i's
    (node cost, seat costs) in WAD.

    The float rewards of the same rounds are compared: they differ only by the rounding of scores to
    score units, latencies to microseconds and of the WAD arithmetic.
    """
    units = score_units(scores)
    quality, node_reward, evaluator_rewards = [], [], []
    worst = 0.0
    for i in range(len(record)):
        node_cost, seat_costs = costs_of(i)
        s = settle(params, units, int(record[i]), int(node[i]), [int(m) for m in evaluators[i]], node_cost,
                   seat_costs)
        quality.append(s.quality)
        node_reward.append(s.node_reward)
        evaluator_rewards.append(s.evaluator_rewards)
        worst = max(worst, abs(float(float_node_reward[i]) - s.node_reward / wad.WAD),
                    *(abs(float(x) - r / wad.WAD) for x, r in zip(float_evaluator_rewards[i],
                                                                  s.evaluator_rewards, strict=True)))
    return ExactRounds(quality, node_reward, evaluator_rewards, worst)
