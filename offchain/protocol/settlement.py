"""Settlement of one finalized task, exactly as ProofOfQuality.finalize computes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.protocol import wad
from offchain.protocol.params import Params


@dataclass(frozen=True)
class RoundSettlement:
    quality: int  # Q in WAD (0 when nobody revealed)
    node_reward: int  # R_F in WAD
    evaluator_rewards: tuple[int, ...]  # R_M in WAD per seat; -slashPenalty for a seat that never revealed
    node_wei: int  # signed wei before the stake cap on debits
    evaluator_wei: tuple[int, ...]
    paid: int  # wei paid out of the fee
    refund: int  # wei returned to the requester


def settle_round(
    params: Params,
    fee: int,
    seat_scores: Sequence[int | None],
    node_cost: int,
    evaluator_costs: Sequence[int],
) -> RoundSettlement:
    """Rewards of a Closed task. `seat_scores[j]` is seat j's revealed score or None.

    Costs are normalized WAD costs (wad.normalized_cost). Negative wei amounts are debits from stake,
    which the contract caps at the stake; positive ones are paid from `fee`.
    """
    revealed = [s for s in seat_scores if s is not None]
    num, den = wad.center(revealed, params.aggregation)
    q = wad.quality(num, den) if revealed else 0
    node_reward = wad.inference_reward(params.alphaF, params.betaF, q, node_cost) if revealed else 0
    rewards = tuple(
        -params.slashPenalty
        if s is None
        else wad.evaluator_reward(params.alphaM, params.betaM, wad.deviation(s, num, den), c)
        for s, c in zip(seat_scores, evaluator_costs, strict=True)
    )
    node_wei = wad.to_wei(node_reward, params.rewardUnit)
    evaluator_wei = tuple(wad.to_wei(r, params.rewardUnit) for r in rewards)
    paid = sum(max(0, x) for x in (node_wei, *evaluator_wei))
    return RoundSettlement(q, node_reward, rewards, node_wei, evaluator_wei, paid, fee - paid)


def expiry_penalty(params: Params) -> tuple[int, int]:
    """(reward WAD, wei) charged to a node that never answered: the slash penalty."""
    return -params.slashPenalty, wad.to_wei(-params.slashPenalty, params.rewardUnit)
