"""The PoQ equations in WAD integers, bit-identical to contracts/libraries/{Consensus,Rewards,Trust}.sol.

Scores are integers in [0, MAX_SCORE] (10_000 = 10.0). The consensus center is an exact fraction
num/den of score units, so quality Q and deviations d are rounded once, in the protocol's favour:
gains round down, costs, deviations and debits round up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NewType

from offchain.protocol.types import MAX_SCORE

WAD = 10**18  # the fixed point of every reward, weight and cost (Solidity: libraries/Wad.sol)

Wad = NewType("Wad", int)
Wei = NewType("Wei", int)

MEAN, MEDIAN, TRIMMED, TRUST = 0, 1, 2, 3
PUBLISHED, ROBUST = 0, 1  # trust update rules


def trim_count(n: int) -> int:
    """Scores dropped from each end by the trimmed mean: none below 3, else max(1, n // 4)."""
    if n < 3:
        return 0
    return max(1, n // 4)


def center(scores: Sequence[int], mode: int = MEAN) -> tuple[int, int]:
    """Consensus center as (num, den) score units; (0, 1) for no scores."""
    n = len(scores)
    if n == 0:
        return 0, 1
    if mode == MEAN:
        return sum(scores), n
    ordered = sorted(scores)
    if mode == MEDIAN:
        if n % 2 == 1:
            return ordered[n // 2], 1
        return ordered[n // 2 - 1] + ordered[n // 2], 2
    if mode == TRIMMED:
        t = trim_count(n)
        return sum(ordered[t : n - t]), n - 2 * t
    raise ValueError(f"unknown aggregation mode {mode}")


def weighted_center(scores: Sequence[int], weights: Sequence[int]) -> tuple[int, int]:
    """Trust-weighted center sum(w e) / sum(w) as (num, den); (0, 1) for no scores."""
    if not scores:
        return 0, 1
    return sum(w * e for w, e in zip(weights, scores, strict=True)), sum(weights)


def trust_next(scores: Sequence[int], weights: Sequence[int], num: int, den: int, rule: int,
               lam: int, w_min: int, w_max: int) -> list[int]:
    """The revealed seats' next trust weights (Trust.next): clip(w (1 +- lam |pivot - d|), min, max).

    PUBLISHED: d against the round's weighted center num/den, pivot 0.5. ROBUST: d against the median
    of the scores, pivot the panel's mean d (floored).
    """
    if rule == ROBUST:
        num, den = center(scores, MEDIAN)
    d = [deviation(e, num, den) for e in scores]
    pivot = sum(d) // len(d) if rule == ROBUST else WAD // 2
    out = []
    for w, dj in zip(weights, d, strict=True):
        factor = WAD + lam * (pivot - dj) // WAD if pivot >= dj else WAD - lam * (dj - pivot) // WAD
        out.append(min(w_max, max(w_min, w * factor // WAD)))
    return out


def quality(num: int, den: int) -> Wad:
    """Q = center / MAX_SCORE in WAD, rounded down (Eq. 1)."""
    return Wad(num * WAD // (den * MAX_SCORE))


def deviation(score: int, num: int, den: int) -> Wad:
    """d = |score - center| / MAX_SCORE in WAD, rounded up (Eq. 3)."""
    denominator = den * MAX_SCORE
    return Wad(-(-abs(score * den - num) * WAD // denominator))


def mul_wad_down(x: int, y: int) -> int:
    return x * y // WAD


def mul_wad_up(x: int, y: int) -> int:
    return -(-x * y // WAD)


def inference_reward(alpha_f: int, beta_f: int, q: int, cost: int) -> Wad:
    """R_F = alpha_F * Q - beta_F * C_F (Eq. 2)."""
    return Wad(mul_wad_down(alpha_f, q) - mul_wad_up(beta_f, cost))


def evaluator_reward(alpha_m: int, beta_m: int, d: int, cost: int) -> Wad:
    """R_M = alpha_M * (1 - d) - beta_M * C_M (Eqs. 4-5)."""
    return Wad(mul_wad_down(alpha_m, WAD - d) - mul_wad_up(beta_m, cost))


def to_wei(reward: int, reward_unit: int) -> Wei:
    """Wei for a signed WAD reward, floored toward minus infinity (payouts down, debits up)."""
    return Wei(reward * reward_unit // WAD)


def normalized_cost(reported: bool, latency: int, lo: int, hi: int) -> Wad:
    """Min-max normalized cost in WAD, rounded up; 1 for a node that never reported, 0 if lo == hi."""
    if not reported:
        return Wad(WAD)
    if hi <= lo or latency <= lo:
        return Wad(0)
    if latency >= hi:
        return Wad(WAD)
    span = hi - lo
    return Wad(-(-(latency - lo) * WAD // span))


MAX_COST_US = 2**32 - 1


def per_item_us(elapsed_s: int, items: int) -> int:
    """Microseconds per item of an action `elapsed_s` seconds after its start, saturating (Costs.perItemUs)."""
    return min(elapsed_s * 10**6 // items, MAX_COST_US)


def smooth_cost(prev: int, measured: bool, observed: int, alpha: int) -> int:
    """A node's next measured cost: the first observation, then prev + alpha (obs - prev), floored."""
    if not measured:
        return observed
    return (prev * (WAD - alpha) + observed * alpha) // WAD


def cost_range(latencies: Sequence[int | None]) -> tuple[int, int]:
    """(min, max) over reported latencies of a role's active pool; (0, 0) when none reported."""
    reported = [x for x in latencies if x is not None]
    if not reported:
        return 0, 0
    return min(reported), max(reported)


def max_payout(alpha_f: int, alpha_m: int, k: int, reward_unit: int) -> Wei:
    """The fee a task must carry: ceil((alpha_F + K alpha_M) * rewardUnit / WAD)."""
    return Wei(-(-(alpha_f + k * alpha_m) * reward_unit // WAD))


# ---------------------------------------------------------------- the peer rule (libraries/Peer.sol)

PAPER, PEER = 0, 1  # evaluator reward rules (Params.evaluatorReward)
INFORMATIVE = 2  # the trust rule that moves weights by informativeness, once per batch
MINMAX, QUANTILE = 0, 1  # cost rules (Params.costRule)
REFUND, FIXED = 0, 1  # fee rules (Params.feeRule)


def middles(scores: Sequence[int]) -> tuple[int, int]:
    """The two middle values of an evaluator's revealed scores, the ((n-1)/2)-th and (n/2)-th smallest
    (equal for an odd count; (0, 0) for none): what `finalize` passes, checked by Peer.areMiddles."""
    if not scores:
        return 0, 0
    ordered = sorted(scores)
    n = len(ordered)
    return ordered[(n - 1) // 2], ordered[n // 2]


def doubled_median(scores: Sequence[int]) -> int:
    """Twice the median of an evaluator's revealed scores (the sum of its middles); 0 for none."""
    return sum(middles(scores))


def split_sign(score: int, median2: int) -> int:
    """+1, 0 or -1 as a score is above, at or below its evaluator's batch median (Peer.splitSign)."""
    return (2 * score > median2) - (2 * score < median2)


def seat_information(signs: Sequence[int], i: int) -> Wad:
    """Seat i's informativeness among a task's revealed seats (Peer.seatInformation): the mean of
    signs[i] * signs[k] over the other seats, in WAD; 0 without a peer. Truncates toward zero, as
    Solidity's signed division (exact for K <= 3)."""
    if len(signs) < 2 or signs[i] == 0:
        return Wad(0)
    agree = sum(signs[i] * s for k, s in enumerate(signs) if k != i)
    magnitude = abs(agree) * WAD // (len(signs) - 1)
    return Wad(magnitude if agree >= 0 else -magnitude)


def peer_reward(alpha_m: int, beta_m: int, information: int, cost: int) -> Wad:
    """R_M = alpha_M I - beta_M C |I| (Rewards.peerReward): gains round down, costs and losses up."""
    magnitude = abs(information)
    cost_part = mul_wad_up(beta_m, mul_wad_up(cost, magnitude))
    if information >= 0:
        return Wad(mul_wad_down(alpha_m, magnitude) - cost_part)
    return Wad(-(mul_wad_up(alpha_m, magnitude) + cost_part))


def trust_informed(w: int, information: int, seats: int, lam: int, w_min: int, w_max: int) -> int:
    """The informative trust rule's next weight (Trust.informed): clip(w (1 + lam I / seats))."""
    if seats == 0:
        return w
    step = lam * abs(information) // (WAD * seats)
    moved = w * (WAD + step if information >= 0 else WAD - step) // WAD
    return min(w_max, max(w_min, moved))


# ---------------------------------------------------------------- the quantile cost rule (libraries/CostQuantile.sol)

MAX_RANGE_US = 2**32 - 1  # costRange() returns 32-bit microseconds


def weighted_quantile(entries: Sequence[tuple[int, int]], quantile: int) -> int:
    """The lowest cost whose cumulative units (costs ascending) exceed `quantile` (WAD) of all units.

    `entries` are (cost_us, units) of a role's measured active nodes (CostQuantile.weighted; ties keep
    their pool order, which cannot change the cost returned)."""
    ordered = sorted(entries, key=lambda e: e[0])
    threshold = sum(u for _, u in ordered) * quantile
    cumulative = 0
    for cost, units in ordered:
        cumulative += units
        if cumulative * WAD > threshold:
            return cost
    return ordered[-1][0]


def pool_cost_range(entries: Sequence[tuple[int | None, int]], rule: int, quantile: int) -> tuple[int, int]:
    """The range a role's costs are normalized over (PoQBase._costRange): `entries` are (cost_us or None
    when never measured, units) of the role's active pool. minmax: (min, max); quantile: (0, 2 q) with q
    the stake-weighted quantile, capped to 32 bits, and (0, 1) when q is 0 (every slower node pays the
    full cost); (0, 0) when no node is measured."""
    measured = [(c, u) for c, u in entries if c is not None]
    if not measured:
        return 0, 0
    if rule == MINMAX:
        return cost_range([c for c, _ in measured])
    q = weighted_quantile(measured, quantile)
    return 0, min(2 * q, MAX_RANGE_US) if q else 1  # q = 0: any slower node pays the full cost
