"""The contract's types, mirrored once for all of Python: enums, the score scale and its conversions.

`IProofOfQuality.sol` declares Role, Status and Phase; these IntEnums carry the same names in the
same order, so `Phase(view["phase"])` reads a view and `Role.INFERENCE` is what `register` takes.
Scores travel on chain as integers in [0, MAX_SCORE] (10_000 = 10.0 points); everything off chain
(models, the paper's tables, the Monte Carlo) uses the paper's scale [0, SCORE_SCALE].
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    NONE = 0
    INFERENCE = 1
    EVALUATOR = 2

    @property
    def label(self) -> str:
        """The Solidity name ("Inference"), as tables and reverts spell it."""
        return self.name.capitalize()


class Status(IntEnum):
    NONE = 0  # never registered
    ACTIVE = 1  # in its role's pool, can be drawn
    SUSPENDED = 2  # stake fell below minStake; out of the pool until topped up
    EXITING = 3  # out of the pool; stake released after the unbonding delay
    EXITED = 4  # stake released; may register again

    @property
    def label(self) -> str:
        return self.name.capitalize()


class Phase(IntEnum):
    NONE = 0
    OPEN = 1  # waiting for the assigned node's answer
    ANSWERED = 2  # answered; waiting for the requester to reveal the reference
    COMMIT = 3  # selected evaluators commit hashed scores
    REVEAL = 4  # evaluators reveal scores
    CLOSED = 5  # reveal phase over; ready to finalize
    LAPSED = 6  # never answered in time; ready to finalize as expired
    FINALIZED = 7  # settled: rewards credited, surplus refunded
    EXPIRED = 8  # settled without an answer: requester refunded, node slashed

    @property
    def label(self) -> str:
        return self.name.capitalize()


# Enum types by their Solidity name, for decoding revert arguments and views.
ENUMS: dict[str, type[IntEnum]] = {"Role": Role, "Status": Status, "Phase": Phase}

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
