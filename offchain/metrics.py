"""Ground-truth and correlation metrics. Pure: stdlib + numpy, values in, values out.

- SQuAD token F1 as in the official v1.1 script (normalize: lowercase, strip punctuation, drop
  the articles a/an/the, collapse whitespace), maxed over every gold answer.
- Empty answers (after normalization, e.g. ``""`` or ``"The."``): both empty → 1.0 (the model
  correctly said nothing); exactly one empty → 0.0. The official script would divide by zero.
- ``minmax`` maps values onto [0, 1]; constant input (no spread) maps to all 0.0.
- ``pearson`` / ``spearman`` return nan when either input is constant or has < 2 values
  (the coefficient is undefined there); Spearman gives tied values their average rank.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

Values: TypeAlias = Sequence[float] | np.ndarray
"""A 1-D run of numbers: a list, tuple or numpy array."""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, remove punctuation, remove articles, collapse whitespace (SQuAD v1.1 order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def _f1_single(prediction: str, gold: str) -> float:
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _golds(gold: str | Sequence[str]) -> list[str]:
    golds = [gold] if isinstance(gold, str) else list(gold)
    if not golds:
        raise ValueError("at least one gold answer is needed")
    return golds


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """SQuAD token F1 in [0, 1]: the best over the gold answer(s). See module doc for empties."""
    return max(_f1_single(prediction, g) for g in _golds(gold))


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 if the normalized prediction equals any normalized gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _golds(gold)))


def f1_times_10(prediction: str, gold: str | Sequence[str]) -> float:
    """Token F1 on the evaluators' [0, 10] scale (the paper's ground truth)."""
    return 10.0 * token_f1(prediction, gold)


def minmax(values: Values, scale: float = 1.0) -> list[float]:
    """Min-max normalize onto [0, scale]. Constant input → all 0.0; empty input → []."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return []
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo == 0.0:
        return [0.0] * arr.size
    return [float(v) for v in (arr - lo) / (hi - lo) * scale]


def _pair(x: Values, y: Values) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D sequences of equal length, got {a.shape} and {b.shape}")
    return a, b


def pearson(x: Values, y: Values) -> float:
    """Pearson correlation; nan when fewer than 2 values or either input is constant."""
    a, b = _pair(x, y)
    if a.size < 2:
        return math.nan
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(da @ da) * float(db @ db))
    if denom == 0.0:
        return math.nan
    return max(-1.0, min(1.0, float(da @ db) / denom))


def rank_average(values: Values) -> list[float]:
    """1-based ranks; tied values share the average of the ranks they span."""
    arr = np.asarray(values, dtype=float)
    order = np.argsort(arr, kind="mergesort")
    ranks = np.empty(arr.size, dtype=float)
    i = 0
    while i < arr.size:
        j = i
        while j + 1 < arr.size and arr[order[j + 1]] == arr[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return [float(r) for r in ranks]


def spearman(x: Values, y: Values) -> float:
    """Spearman rank correlation (Pearson of average ranks); nan for constant input."""
    a, b = _pair(x, y)
    return pearson(rank_average(a), rank_average(b))
