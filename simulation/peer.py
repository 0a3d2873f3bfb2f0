"""The "peer" evaluator reward: multi-task peer prediction in the correlated-agreement style (floats).

The paper's rule (Eqs. 3-5, R_M = alpha_M (1 - d) - beta_M C with d = |e - center| / 10) pays
closeness to the panel's centre, so an evaluator that reveals a constant near the mean out-earns honest
ones. The peer rule pays an evaluator for agreeing with its panel *beyond what its own habits explain*:

- rounds are grouped into batches of `batch_size` consecutive rounds (the last batch may be shorter);
- within a batch, each evaluator m's median over all its seats' reported scores (numpy's median: the
  mean of the two middle values for an even count); a seat's sign is sigma = sign(score - median) in
  {-1, 0, +1}, so each evaluator is compared with itself only, and any strictly increasing transform
  of one evaluator's scores (stretching, compressing, shifting) leaves its signs, and so everyone's
  rewards, exactly as they were;
- a seat's informativeness I = mean over the OTHER seats of its round of sigma_self x sigma_other,
  in [-1, 1] (I = 0 when K = 1): a constant reporter has every sigma = 0 and earns exactly 0; a
  random one agrees with its panel by chance only, 0 in expectation;
- R_M = alpha_M I - beta_M C_M |I|: the cost discounts what was earned, so a zero-information seat
  earns 0 whatever its cost.

Arrays of per-seat values are (K, R), seat-major, as in simulation.montecarlo; everything is vectorized
(one stable sort of the K x R seats), with no Python loop over rounds or batches.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
PEER, PAPER = "peer", "paper"
EVALUATOR_REWARDS = (PEER, PAPER)  # the default first
DEFAULT_BATCH_SIZE = 64  # the contract's default maxBatchSize


def check_rule(rule: str, batch_size: int) -> None:
    """ConfigError for an unknown rule or a batch size below 1 (one line each)."""
    if rule not in EVALUATOR_REWARDS:
        raise ConfigError(f"unknown evaluator reward {rule!r}; choose one of {', '.join(EVALUATOR_REWARDS)}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")


def batch_medians(scores: FloatArray, seats: IntArray, n_evaluators: int, batch_size: int) -> FloatArray:
    """(K, R): for each seat, its evaluator's median over all its seats in the seat's batch.

    Rounds r and r' share a batch when r // batch_size == r' // batch_size. The median of an even
    count is the mean of the two middle scores, as numpy.median computes it.
    """
    k, rounds = scores.shape
    batch = np.arange(rounds, dtype=np.int64) // batch_size
    keys = (batch[None, :] * n_evaluators + seats).ravel()  # one group per (batch, evaluator)
    values = np.asarray(scores, dtype=np.float64).ravel()
    order = np.lexsort((values, keys))  # by group, then by score within the group
    ordered = values[order]
    counts = np.bincount(keys, minlength=int(batch[-1] + 1) * n_evaluators)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = len(ordered) - 1  # clamps the positions of empty groups, which no seat reads
    lo = np.minimum(starts + np.maximum(counts - 1, 0) // 2, last)  # the two middle positions (equal
    hi = np.minimum(starts + counts // 2, last)  # for an odd count)
    medians = (ordered[lo] + ordered[hi]) / 2.0  # x + x is exact, so an odd count gives the score itself
    return medians[keys].reshape(k, rounds)


def signs(scores: FloatArray, seats: IntArray, n_evaluators: int, batch_size: int) -> FloatArray:
    """(K, R) sigma = sign(score - the evaluator's batch median) in {-1, 0, +1}."""
    return np.sign(scores - batch_medians(scores, seats, n_evaluators, batch_size))


def informativeness(sigma: FloatArray) -> FloatArray:
    """(K, R) I of each seat: the mean over the other seats of its round of sigma_self x sigma_other."""
    k = sigma.shape[0]
    if k == 1:
        return np.zeros_like(sigma)
    return sigma * (sigma.sum(axis=0) - sigma) / (k - 1)


def peer_rewards(alpha_m: float, beta_m: float, info: FloatArray, cost: FloatArray) -> FloatArray:
    """R_M = alpha_M I - beta_M C |I| per seat."""
    return alpha_m * info - beta_m * cost * np.abs(info)


def round_peer_rewards(scores: FloatArray, seats: IntArray, n_evaluators: int, cost: FloatArray,
                       alpha_m: float, beta_m: float, batch_size: int = DEFAULT_BATCH_SIZE) -> FloatArray:
    """R_M of every seat of (K, R) scores held by `seats`, with seat costs `cost` (K, R)."""
    info = informativeness(signs(scores, seats, n_evaluators, batch_size))
    return peer_rewards(alpha_m, beta_m, info, cost)
