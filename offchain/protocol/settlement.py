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
    trust_weights: tuple[int | None, ...] = ()  # trust mode: each seat's next weight (None: silent seat)
    information: tuple[int | None, ...] = ()  # each seat's informativeness I (WAD; None: silent seat)


def settle_round(
    params: Params,
    fee: int,
    seat_scores: Sequence[int | None],
    node_cost: int,
    evaluator_costs: Sequence[int],
    seat_weights: Sequence[int] | None = None,
    seat_signs: Sequence[int] | None = None,
) -> RoundSettlement:
    """Rewards of a Closed task. `seat_scores[j]` is seat j's revealed score or None.

    Costs are normalized WAD costs (wad.normalized_cost). Negative wei amounts are debits from stake,
    which the contract caps at the stake; positive ones are paid from `fee`. In trust mode
    `seat_weights[j]` is seat j's trust weight before the round (WAD; default params.trustInitial) and the result
    carries the revealed seats' next weights (the per-task rules; the informative rule moves them once
    per batch, in settle_batch). `seat_signs` are the revealed seats' split signs against their
    evaluators' batch medians (wad.split_sign), in seat order; a round settled on its own is a batch of
    one, every sign 0.
    """
    revealed = [s for s in seat_scores if s is not None]
    trust = params.aggregation == wad.TRUST
    weights = [params.trustInitial] * len(seat_scores) if seat_weights is None else list(seat_weights)
    revealed_weights = [w for s, w in zip(seat_scores, weights, strict=True) if s is not None]
    if trust:
        num, den = wad.weighted_center(revealed, revealed_weights)
    else:
        num, den = wad.center(revealed, params.aggregation)
    signs = list(seat_signs) if seat_signs is not None else [0] * len(revealed)
    info = iter([wad.seat_information(signs, i) for i in range(len(revealed))])
    information = tuple(None if s is None else next(info) for s in seat_scores)
    q = wad.quality(num, den) if revealed else 0
    node_reward = wad.inference_reward(params.alphaF, params.betaF, q, node_cost) if revealed else 0
    rewards = tuple(
        -params.slashPenalty
        if s is None
        else wad.peer_reward(params.alphaM, params.betaM, i, c)
        if params.evaluatorReward == wad.PEER and i is not None
        else wad.evaluator_reward(params.alphaM, params.betaM, wad.deviation(s, num, den), c)
        for s, c, i in zip(seat_scores, evaluator_costs, information, strict=True)
    )
    node_wei = wad.to_wei(node_reward, params.rewardUnit)
    evaluator_wei = tuple(wad.to_wei(r, params.rewardUnit) for r in rewards)
    paid = sum(max(0, x) for x in (node_wei, *evaluator_wei))
    next_weights: tuple[int | None, ...] = ()
    if trust and params.trustRule == wad.INFORMATIVE:  # moved once per batch (settle_batch)
        next_weights = tuple(None if s is None else w for s, w in zip(seat_scores, weights, strict=True))
    elif trust:
        moved = iter(wad.trust_next(revealed, revealed_weights, num, den, params.trustRule, params.trustLambda,
                                    params.trustMin, params.trustMax) if revealed else [])
        next_weights = tuple(None if s is None else next(moved) for s in seat_scores)
    return RoundSettlement(q, node_reward, rewards, node_wei, evaluator_wei, paid, fee - paid, next_weights,
                           information)


def expiry_penalty(params: Params) -> tuple[int, int]:
    """(reward WAD, wei) charged to a node that never answered: the slash penalty."""
    return -params.slashPenalty, wad.to_wei(-params.slashPenalty, params.rewardUnit)
