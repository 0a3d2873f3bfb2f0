"""The PoQ equations in floating point, for fast simulation. Work on scalars and numpy arrays alike.

Scores here are on the paper's [0, 10] scale; costs in [0, 1]. These agree with the WAD versions
in offchain.protocol.wad to within rounding (a few 1e-18), which the differential tests check.
"""

from __future__ import annotations

from typing import Any

Number = Any  # float or numpy array


def quality(scores_sum: Number, k: Number) -> Number:
    """Q = sum(e) / (10 K) (Eq. 1)."""
    return scores_sum / (10.0 * k)


def inference_reward(alpha_f: float, beta_f: float, q: Number, cost: Number) -> Number:
    """R_F = alpha_F Q - beta_F C_F (Eq. 2)."""
    return alpha_f * q - beta_f * cost


def deviation(score: Number, center: Number) -> Number:
    """d = |e - center| / 10 (Eq. 3)."""
    return abs(score - center) / 10.0


def evaluator_reward(alpha_m: float, beta_m: float, d: Number, cost: Number) -> Number:
    """R_M = alpha_M (1 - d) - beta_M C_M (Eqs. 4-5)."""
    return alpha_m * (1.0 - d) - beta_m * cost


def normalized_cost(latency: float, lo: float, hi: float) -> float:
    """Min-max normalized latency in [0, 1]; 0 when the pool's latencies are all equal."""
    if hi <= lo:
        return 0.0
    return min(1.0, max(0.0, (latency - lo) / (hi - lo)))


def consensus(scores: list[float], mode: str = "mean") -> float:
    """Consensus center of scores on [0, 10]: mean, median or trimmed mean (wad.trim_count ends)."""
    from offchain.protocol.wad import trim_count

    n = len(scores)
    if n == 0:
        return 0.0
    if mode == "mean":
        return sum(scores) / n
    ordered = sorted(scores)
    if mode == "median":
        mid = n // 2
        return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0
    if mode == "trimmed":
        t = trim_count(n)
        kept = ordered[t : n - t]
        return sum(kept) / len(kept)
    raise ValueError(f"unknown aggregation mode {mode!r}")
