"""Evaluators (evaluator nodes): score (reference or query, candidate) pairs.

``score(pairs)`` returns raw scores (cosine similarity for bi-encoders, a relevance logit for the
cross-encoder); ``calibrated_scores(raw)`` maps them onto the protocol's [0, 10] scale with the
evaluator's min-max calibration (lo, hi), clamped. ``calibrate(evaluator, pairs)`` sets (lo, hi)
from a calibration set.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError
from offchain.models.specs import ModelSpec

Pair = tuple[str, str]
SCORE_MAX = 10.0


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
        return [min(SCORE_MAX, max(0.0, (float(r) - self.lo) / span * SCORE_MAX)) for r in raw]

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
    """Cosine similarity of sentence-transformers embeddings.

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
        left = self.embed([a for a, _ in pairs])
        right = self.embed([b for _, b in pairs])
        return [float(a @ b) for a, b in zip(left, right, strict=True)]


class OnnxCrossEncoderEvaluator(Evaluator):
    """A BERT cross-encoder exported to ONNX (inputs input_ids/attention_mask/token_type_ids →
    logits[batch, 1]), run with onnxruntime and a `tokenizers` tokenizer.json."""

    kind = "cross-encoder"

    def __init__(self, name: str, model_dir: str | Path, *, batch_size: int = 32,
                 calibration: Calibration | None = None, max_length: int = 512,
                 threads: int | None = None) -> None:
        super().__init__(name, batch_size=batch_size, calibration=calibration)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0,
                                      pad_token="[PAD]")

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        import numpy as np

        out: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            batch = [(a, b) for a, b in pairs[start:start + self.batch_size]]
            enc = self.tokenizer.encode_batch(batch)
            feeds = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            feeds = {k: v for k, v in feeds.items() if k in self.input_names}
            (logits,) = self.session.run(None, feeds)[:1]
            out += [float(x) for x in np.asarray(logits).reshape(len(batch), -1)[:, 0]]
        return out


class TorchCrossEncoderEvaluator(Evaluator):
    """A sentence-transformers CrossEncoder (hub id or a directory with config.json); raw logits."""

    kind = "cross-encoder"

    def __init__(self, name: str, model: Any, *, batch_size: int = 32,
                 calibration: Calibration | None = None) -> None:
        super().__init__(name, batch_size=batch_size, calibration=calibration)
        self.model = model

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        import torch

        if not pairs:
            return []
        raw = self.model.predict(list(pairs), batch_size=self.batch_size,
                                 activation_fn=torch.nn.Identity(), show_progress_bar=False)
        return [float(x) for x in raw]


def load_builtin_evaluator(spec: ModelSpec, *, source: str = "auto", device: str | None = None,
                           batch_size: int = 32, progress: bool = True) -> Evaluator:
    """Load a bi-encoder or cross-encoder evaluator from its resolved source."""
    from offchain.models.generators import pick_device
    from offchain.models.sources import materialize, resolve

    resolved = resolve(spec, source)
    location = materialize(resolved, progress=progress)
    calibration = Calibration(*spec.default_range)
    if spec.kind == "cross-encoder" and resolved.kind != "hub" \
            and (Path(location) / "model.onnx").exists():
        return OnnxCrossEncoderEvaluator(spec.name, location, batch_size=batch_size,
                                         calibration=calibration)
    dev, _ = pick_device(device)
    local = resolved.offline
    if spec.kind == "cross-encoder":
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(location, device=str(dev), local_files_only=local)
        return TorchCrossEncoderEvaluator(spec.name, model, batch_size=batch_size,
                                          calibration=calibration)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(location, device=str(dev), local_files_only=local)
    return BiEncoderEvaluator(spec.name, model, batch_size=batch_size, calibration=calibration)
