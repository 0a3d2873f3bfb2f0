"""The contract's types, mirrored once for all of Python: enums, the score scale and its conversions.

`contracts/PoQTypes.sol` declares Role, Status and Stage; these IntEnums carry the same names in the
same order, so `Stage(view["stage"])` reads a view and `Role.INFERENCE` is what `register` takes.
Scores travel on chain as integers in [0, MAX_SCORE] (10_000 = 10.0 points); everything off chain
(models, the paper's tables, the Monte Carlo) uses the paper's scale [0, SCORE_SCALE].
"""

from __future__ import annotations

from enum import IntEnum


class _Labeled(IntEnum):
    @property
    def label(self) -> str:
        """The Solidity name ("Inference"), as tables and reverts spell it."""
        return self.name.capitalize()


class Role(_Labeled):
    NONE = 0
    INFERENCE = 1
    EVALUATOR = 2


class Status(_Labeled):
    NONE = 0  # never registered
    ACTIVE = 1  # in its role's pool: drawn for batches opened from now on
    SUSPENDED = 2  # stake fell below minStake; out of the pool until topped up
    STANDBY = 3  # evicted from a full pool by a larger stake; out until it outbids the lowest
    EXITING = 4  # out of the pool; stake released after the unbonding delay
    EXITED = 5  # stake released; may register again


class Stage(_Labeled):
    """A batch's stage (IPoQTypes.Stage); stages with deadlines end early when everyone acted."""

    NONE = 0
    OPENED = 1  # waiting for its draw block
    ANSWERING = 2  # drawn: assigned nodes answer
    REFERENCING = 3  # answered: the requester reveals the references
    COMMITTING = 4  # panels commit hashed scores
    REVEALING = 5  # panels reveal scores
    CLOSED = 6  # ready to finalize
    FINALIZED = 7  # settled


# A batch's participant flags (libraries/Packing.sol)
ANSWERED, COMMITTED, REVEALED = 1, 2, 4

# Enum types by their Solidity name, for decoding revert arguments and views.
ENUMS: dict[str, type[_Labeled]] = {"Role": Role, "Status": Status, "Stage": Stage}

MAX_SCORE = 10_000  # the contract's integer score for a perfect answer (Consensus.MAX_SCORE)
SCORE_SCALE = 10.0  # the paper's score scale: scores in [0, SCORE_SCALE]
UNITS_PER_POINT = MAX_SCORE // int(SCORE_SCALE)  # 1_000 contract units per point


def to_score_units(score: float) -> int:
    """A score on the paper's [0, 10] scale as contract units (10.0 -> 10_000), rounded and clamped."""
    return max(0, min(MAX_SCORE, int(round(score * UNITS_PER_POINT))))


def from_score_units(units: int) -> float:
    """Contract score units back on the paper's [0, 10] scale (10_000 -> 10.0)."""
    return units / UNITS_PER_POINT


def clamp_score(score: float) -> float:
    """A float score clipped to [0, SCORE_SCALE]."""
    return min(SCORE_SCALE, max(0.0, score))
