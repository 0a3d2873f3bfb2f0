"""The fast bi-encoder path: a sentence-transformers model exported once to ONNX, run with onnxruntime.

`export_dir(model_dir)` exports the transformer together with its pooling (mean or CLS) and L2
normalization into one graph whose output is the sentence embedding, and caches it under
``cache_root()/onnx/``; only models made of Transformer → Pooling (→ Normalize) modules qualify
(others return None and stay on sentence-transformers). The weights stay float32: dynamic int8
quantization moved MiniLM's cosines by up to 0.12 on the 400-task run, too far from the reference
(docs/results/evaluators-bench.md). `OnnxSentenceEncoder.encode` has sentence-transformers'
signature, so `BiEncoderEvaluator` uses either one unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offchain.models.onnx_runtime import run_bucketed, session

_TRANSFORMER, _POOLING, _NORMALIZE = (f"sentence_transformers.models.{m}" for m in ("Transformer", "Pooling",
                                                                                    "Normalize"))
META = "poq-onnx.json"
DEFAULT_MAX_LENGTH = 512


def exportable(model_dir: Path) -> dict[str, Any] | None:
    """The export settings (pooling, normalize, max_length) of a sentence-transformers directory, or
    None when its modules are not Transformer → Pooling (mean or CLS) → optional Normalize."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        types = [m["type"] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"] == _POOLING)
        pooling = json.loads((model_dir / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    if types not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        return None
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes not in (["pooling_mode_mean_tokens"], ["pooling_mode_cls_token"]):
        return None
    max_length = DEFAULT_MAX_LENGTH
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        max_length = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    return {"pooling": "mean" if modes[0] == "pooling_mode_mean_tokens" else "cls",
            "normalize": types[-1] == _NORMALIZE, "max_length": max_length}


def export_dir(model_dir: str | Path) -> Path | None:
    """The cached ONNX export of ``model_dir`` (built on first use), or None when it cannot be exported
    (unsupported modules, or the ``onnx`` package missing)."""
    from offchain.models.packages import cache_root
    from offchain.models.sources import build_once

    source = Path(model_dir)
    settings = exportable(source)
    if settings is None or not (source / "tokenizer.json").exists():
        return None
    try:
        import onnx  # noqa: F401 - torch's exporter needs it
    except ImportError:
        return None
    weights = sorted(p.name for p in source.glob("*.safetensors")) or sorted(p.name for p in source.glob("*.bin"))
    stamp = [str(source.resolve()), *[f"{w}:{(source / w).stat().st_size}" for w in weights]]
    key = hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:12]
    provenance = {"source": str(source.resolve()), "weights": weights, **settings}
    return build_once(cache_root() / "onnx" / f"{source.name}-{key}", provenance,
                  lambda tmp: _export(source, tmp, settings))


def _export(source: Path, tmp: Path, settings: dict[str, Any]) -> None:
    import shutil

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source), local_files_only=True, dtype=torch.float32).eval()
    # token_type_ids only for models that have them (BERT: yes, MPNet and RoBERTa-style: no or a single type)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if getattr(model.config, "type_vocab_size", 0) > 1
                                               else [])
    wrapper = _pooled(model, settings["pooling"], settings["normalize"])
    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"embedding": {0: "batch"}}
    torch.onnx.export(wrapper, example, str(tmp / "model.onnx"), dynamo=False, input_names=names,
                      output_names=["embedding"], dynamic_axes=axes, opset_version=17)
    shutil.copy(source / "tokenizer.json", tmp / "tokenizer.json")
    (tmp / META).write_text(json.dumps(settings))


def _pooled(model: Any, pooling: str, normalize: bool) -> Any:
    """Transformer → pooling → optional L2 norm, as one torch module for the exporter."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state
            if pooling == "cls":
                out = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                out = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(out, p=2, dim=1) if normalize else out

    return Pooled()


class OnnxSentenceEncoder:
    """Sentence embeddings from an `export_dir` directory, in length-bucketed batches."""

    def __init__(self, export: str | Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        export = Path(export)
        settings = json.loads((export / META).read_text())
        self.session = session(export / "model.onnx", threads)
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(export / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(settings["max_length"]))
        self.normalize = bool(settings["normalize"])
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or self.tokenizer.token_to_id("<pad>") or 0

    def encode(self, texts: Sequence[str], batch_size: int = 32, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, show_progress_bar: bool = False) -> Any:
        """Embeddings of ``texts`` as a numpy array (rows in input order)."""
        import numpy as np

        encodings = self.tokenizer.encode_batch(list(texts))
        rows = run_bucketed(encodings, batch_size, self.input_names,
                            lambda feeds: self.session.run(None, feeds)[0], self.pad_id)
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        if normalize_embeddings and not self.normalize:
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
