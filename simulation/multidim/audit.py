"""Reliability audit of the quality dimensions and the calibrated composite (pure).

Records are split, seeded, into a calibration half and a held-out half. On the calibration half each
dimension's Spearman correlation with the reference quality (token F1) is measured per task; the
calibrated composite considers the dimensions with rho >= MIN_RELIABILITY, most reliable first, keeps
each only if it raises the composite's calibration Spearman, and weights the kept ones by rho,
re-normalized to sum to 1. Every comparison in the report is on the held-out half: the default
composite (all dimensions, equal weights), the calibrated one, each single evaluator, the
mean-consensus baseline, and ablations that drop one kept dimension at a time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from offchain.metrics import pearson, spearman
from simulation.multidim.dimensions import DIMENSIONS

MIN_RELIABILITY = 0.1
Key = tuple[str, str]  # (record, node)
Weights = dict[str, float]


def split_records(records: Sequence[str], seed: int) -> tuple[set[str], set[str]]:
    """(calibration, held-out): a seeded half of the records each (the calibration half rounds down)."""
    ordered = sorted(records)
    random.Random(seed).shuffle(ordered)
    half = len(ordered) // 2
    return set(ordered[:half]), set(ordered[half:])


def correlations(signal: Mapping[Key, float], truth: Mapping[Key, float], keys: Sequence[Key]) -> dict[str, float]:
    xs, ys = [signal[k] for k in keys], [truth[k] for k in keys]
    return {"pearson": pearson(xs, ys), "spearman": spearman(xs, ys), "n": len(keys)}


def calibrated_weights(rho: Mapping[str, float], floor: float = MIN_RELIABILITY) -> Weights:
    """Weights proportional to rho over the dimensions with rho >= floor (NaN counts as unreliable).

    No reliable dimension: every dimension weighs the same (the default composite).
    """
    kept = {d: r for d, r in rho.items() if r == r and r >= floor}
    if not kept:
        return {d: 1.0 / len(rho) for d in rho}
    total = sum(kept.values())
    return {d: r / total for d, r in kept.items()}


def forward_select(table: Mapping[Key, Mapping[str, float]], truth: Mapping[Key, float],
                   keys: Sequence[Key], rho: Mapping[str, float], floor: float = MIN_RELIABILITY) -> Weights:
    """Calibrated weights by greedy forward selection on the calibration keys: start from the most
    reliable dimension and add the next (weights proportional to rho, re-normalized) only while the
    composite's Spearman with the truth improves. Unreliable dimensions (rho < floor) never enter."""
    order = sorted((d for d, r in rho.items() if r == r and r >= floor), key=lambda d: -rho[d])
    if not order:
        return calibrated_weights(rho, floor)
    chosen = [order[0]]
    best = correlations(composite(table, {order[0]: 1.0}, keys), truth, keys)["spearman"]
    for d in order[1:]:
        trial = calibrated_weights({c: rho[c] for c in [*chosen, d]}, floor)
        score = correlations(composite(table, trial, keys), truth, keys)["spearman"]
        if score > best:
            chosen, best = [*chosen, d], score
    return calibrated_weights({c: rho[c] for c in chosen}, floor)


def composite(table: Mapping[Key, Mapping[str, float]], weights: Weights, keys: Sequence[Key]) -> dict[Key, float]:
    return {k: sum(w * table[k][d] for d, w in weights.items()) for k in keys}


def _without(weights: Weights, dimension: str) -> Weights:
    rest = {d: w for d, w in weights.items() if d != dimension}
    total = sum(rest.values())
    return {d: w / total for d, w in rest.items()} if total > 0 else rest


@dataclass(frozen=True)
class TaskAudit:
    """One task's audit: reliability per dimension (both halves), weights, held-out comparisons."""

    reliability: dict[str, dict[str, dict[str, float]]]  # dimension -> half -> {pearson, spearman, n}
    weights: Weights
    holdout: dict[str, dict[str, float]]  # signal -> {pearson, spearman, n}
    ablations: dict[str, dict[str, float]]  # dropped dimension -> {pearson, spearman, n}


def audit_task(
    table: Mapping[Key, Mapping[str, float]],
    truth: Mapping[Key, float],
    evaluators: Mapping[Key, Mapping[str, float]],
    calibration: Sequence[Key],
    holdout: Sequence[Key],
) -> TaskAudit:
    """Audit one task's answers: ``table`` holds the dimensions, ``evaluators`` the normalized scores."""
    reliability = {
        d: {half: correlations({k: table[k][d] for k in keys}, truth, keys)
            for half, keys in (("calibration", calibration), ("holdout", holdout))}
        for d in DIMENSIONS
    }
    weights = forward_select(table, truth, calibration,
                             {d: reliability[d]["calibration"]["spearman"] for d in DIMENSIONS})
    equal = {d: 1.0 / len(DIMENSIONS) for d in DIMENSIONS}
    names = sorted({e for k in holdout for e in evaluators[k]})
    signals = {
        "composite (calibrated)": composite(table, weights, holdout),
        "composite (default)": composite(table, equal, holdout),
        "mean consensus": {k: sum(evaluators[k].values()) / len(evaluators[k]) for k in holdout},
        **{name: {k: evaluators[k][name] for k in holdout} for name in names},
    }
    compared = {name: correlations(values, truth, holdout) for name, values in signals.items()}
    ablations = {d: correlations(composite(table, _without(weights, d), holdout), truth, holdout)
                 for d in weights if len(weights) > 1}
    return TaskAudit(reliability, weights, compared, ablations)
