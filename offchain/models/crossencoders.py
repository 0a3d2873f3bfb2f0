"""Cross-encoders: one forward pass per (query or reference, candidate) pair.

`OnnxCrossEncoderEvaluator` runs a BERT cross-encoder exported to ONNX (inputs input_ids /
attention_mask / token_type_ids → logits[batch, 1]; the packaged ms-marco MiniLM is int8) with
onnxruntime, in length-bucketed batches (`offchain.models.onnx_runtime`).
`TorchCrossEncoderEvaluator` runs a sentence-transformers CrossEncoder (a hub id or a directory with
config.json): the single logit, or for a model with several labels (NLI) the softmax probability of
one label (``ModelSpec.score_label``, e.g. ``entailment``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError
from offchain.models.evaluators import Calibration, Evaluator, Pair
from offchain.models.onnx_runtime import run_bucketed, session


class OnnxCrossEncoderEvaluator(Evaluator):
    """An ONNX BERT cross-encoder and its `tokenizers` tokenizer.json; raw logits."""

    kind = "cross-encoder"

    def __init__(self, name: str, model_dir: str | Path, *, batch_size: int = 32,
                 calibration: Calibration | None = None, max_length: int = 512,
                 threads: int | None = None) -> None:
        super().__init__(name, batch_size=batch_size, calibration=calibration)
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.session = session(model_dir / "model.onnx", threads)
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.no_padding()  # each length bucket is padded to its own longest pair
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        import numpy as np

        if not pairs:
            return []
        encodings = self.tokenizer.encode_batch([(a, b) for a, b in pairs])
        rows = run_bucketed(encodings, self.batch_size, self.input_names,
                            lambda feeds: self.session.run(None, feeds)[0], self.pad_id)
        return [float(np.asarray(row).reshape(-1)[0]) for row in rows]


class TorchCrossEncoderEvaluator(Evaluator):
    """A sentence-transformers CrossEncoder; the logit, or one label's probability when ``label``."""

    kind = "cross-encoder"

    def __init__(self, name: str, model: Any, *, batch_size: int = 32,
                 calibration: Calibration | None = None, label: str | None = None) -> None:
        super().__init__(name, batch_size=batch_size, calibration=calibration)
        self.model = model
        self.label_index = _label_index(model, label) if label else None

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        import numpy as np
        import torch

        if not pairs:
            return []
        raw = np.asarray(self.model.predict(list(pairs), batch_size=self.batch_size,
                                            activation_fn=torch.nn.Identity(), show_progress_bar=False))
        if self.label_index is None:
            return [float(x) for x in raw.reshape(len(pairs), -1)[:, 0]]
        logits = raw.reshape(len(pairs), -1)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return [float(p) for p in probs[:, self.label_index]]


def _label_index(model: Any, label: str) -> int:
    """The output index of ``label`` in the model's id2label (case-insensitive)."""
    config = getattr(model, "config", None) or getattr(getattr(model, "model", None), "config", None)
    id2label = {int(k): str(v).lower() for k, v in (getattr(config, "id2label", None) or {}).items()}
    for index, name in id2label.items():
        if name == label.lower():
            return index
    raise ConfigError(f"the cross-encoder has no output label {label!r} (labels: {sorted(id2label.values())})")
