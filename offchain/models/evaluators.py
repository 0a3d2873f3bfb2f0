"""Evaluators (evaluator nodes): score (reference or query, candidate) pairs.

``score(pairs)`` returns raw scores (cosine similarity for bi-encoders, a relevance logit or a label
probability for cross-encoders); ``calibrated_scores(raw)`` maps them onto the protocol's [0, 10]
scale with the evaluator's min-max calibration (lo, hi), clamped. ``calibrate(evaluator, pairs)``
sets (lo, hi) from a calibration set. The bi-encoder lives here; cross-encoders in
`offchain.models.crossencoders`, the ONNX sentence encoder in `offchain.models.onnx_encoder`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from offchain.errors import ConfigError
from offchain.protocol.types import SCORE_SCALE, clamp_score

Pair = tuple[str, str]


def task_pair(item: Mapping[str, Any]) -> Pair:
    """The pair an evaluator scores for a task: (reference, answer) when the requester revealed a
    reference, else (input, answer)."""
    return (str(item.get("reference") or item.get("input") or ""), str(item.get("output") or ""))


@dataclass(frozen=True)
class Calibration:
    """Raw score ``lo`` maps to 0 and ``hi`` to 10; values outside are clamped."""

    lo: float
    hi: float

    def apply(self, raw: Sequence[float]) -> list[float]:
        """Raw scores on [0, 10]. A degenerate range (hi <= lo) maps everything to 0.0."""
        span = self.hi - self.lo
        if span <= 0:
            return [0.0] * len(raw)
        return [clamp_score((float(r) - self.lo) / span * SCORE_SCALE) for r in raw]

    def to_dict(self) -> dict[str, float]:
        return {"lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Calibration:
        return cls(lo=float(data["lo"]), hi=float(data["hi"]))


class Evaluator(ABC):
    """Scores (reference or query, candidate) pairs in batches."""

    kind: str = "evaluator"

    def __init__(self, name: str, *, batch_size: int = 32,
                 calibration: Calibration | None = None) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        self.name = name
        self.batch_size = batch_size
        self.calibration = calibration or Calibration(0.0, 1.0)

    @abstractmethod
    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """Raw scores, one per pair, in order."""

    def calibrated_scores(self, raw: Sequence[float]) -> list[float]:
        """Raw scores mapped onto [0, 10] with this evaluator's calibration (clamped)."""
        return self.calibration.apply(raw)

    def score_calibrated(self, pairs: Sequence[Pair]) -> list[float]:
        return self.calibrated_scores(self.score(pairs))

    def score_texts(self, items: Sequence[Mapping[str, Any]]) -> list[float]:
        """Calibrated scores for tasks given as their texts (``kind``, ``input``, ``reference`` or
        None, ``output``); evaluators that read more than the pair (the composite) override this."""
        return self.score_calibrated([task_pair(item) for item in items])


def calibrate(evaluator: Evaluator, pairs: Sequence[Pair]) -> Calibration:
    """Set ``evaluator.calibration`` to the (min, max) raw score over ``pairs``; return it."""
    if not pairs:
        raise ConfigError("calibration needs at least one pair")
    raw = evaluator.score(pairs)
    evaluator.calibration = Calibration(lo=min(raw), hi=max(raw))
    return evaluator.calibration


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class BiEncoderEvaluator(Evaluator):
    """Cosine similarity of sentence embeddings (a sentence-transformers model, or anything with its
    ``encode`` signature: `offchain.models.onnx_encoder.OnnxSentenceEncoder`).

    Embeddings are cached by text hash (LRU, ``cache_size`` entries), so a reference shared by
    several candidates is encoded once.
    """

    kind = "bi-encoder"

    def __init__(self, name: str, model: Any, *, batch_size: int = 32,
                 calibration: Calibration | None = None, cache_size: int = 20_000) -> None:
        super().__init__(name, batch_size=batch_size, calibration=calibration)
        self.model = model
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Any] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> list[Any]:
        """Unit-norm embeddings of ``texts`` (numpy vectors), using and filling the cache."""
        keys = [_text_key(t) for t in texts]
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._cache:
                todo.setdefault(key, text)
        if todo:
            vectors = self.model.encode(list(todo.values()), batch_size=self.batch_size,
                                        convert_to_numpy=True, normalize_embeddings=True,
                                        show_progress_bar=False)
            for key, vec in zip(todo, vectors, strict=True):
                self._cache[key] = vec
        out = []
        for key in keys:
            self._cache.move_to_end(key)
            out.append(self._cache[key])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        if not pairs:
            return []
        import numpy as np

        # one encode call for both sides: fewer, fuller length buckets; a text on both sides is encoded once
        vectors = np.asarray(self.embed([a for a, _ in pairs] + [b for _, b in pairs]))
        left, right = vectors[:len(pairs)], vectors[len(pairs):]
        return [float(x) for x in np.einsum("ij,ij->i", left, right)]
