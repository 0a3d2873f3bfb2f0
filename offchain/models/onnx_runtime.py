"""ONNX Runtime plumbing shared by the fast evaluator paths: session options and length-bucketed batches.

Why buckets: a batch is padded to its longest member, so a batch that mixes a 10-token answer with a
300-token summary spends most of its work on padding (the packaged cross-encoder ran slower batched
than one pair at a time for that reason). Sorting the encodings by length before cutting batches
keeps each batch's padding small, and a token budget per batch keeps the long tail in small batches
(on these CPUs the cost per token rises with the padded batch's size: cache misses, quadratic
attention); results go back in input order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

THREADS_ENV = "POQ_TORCH_THREADS"
MAX_BATCH_TOKENS = 512
"""Padded tokens per batch (rows x longest row); the fastest of 256-4096 for MiniLM on this CPU."""
"""The same knob as torch's: agents sharing a machine run one thread each."""


def session(model_path: str | Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session with every graph optimization on and a fixed thread count
    (``threads``, else POQ_TORCH_THREADS, else onnxruntime's default: one per physical core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    wanted = threads or int(os.environ.get(THREADS_ENV) or 0)
    if wanted:
        options.intra_op_num_threads = wanted
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def bucketed(lengths: Sequence[int], batch_size: int, max_tokens: int = MAX_BATCH_TOKENS) -> list[list[int]]:
    """Indices cut into batches, shortest first (stable for equal lengths): at most ``batch_size`` rows
    and, past the first row, at most ``max_tokens`` padded tokens (rows x the batch's longest)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        current = batches[-1] if batches else None
        if current and len(current) < batch_size and (len(current) + 1) * lengths[i] <= max_tokens:
            current.append(i)
        else:
            batches.append([i])
    return batches


def run_bucketed(encodings: Sequence[Any], batch_size: int, input_names: set[str],
                 run: Callable[[dict[str, Any]], Any], pad_id: int = 0) -> list[Any]:
    """``run(feeds)`` over length buckets of ``encodings`` (`tokenizers.Encoding`, unpadded, padded
    here with ``pad_id``); the per-row outputs come back in input order."""
    import numpy as np

    out: list[Any] = [None] * len(encodings)
    for idx in bucketed([len(e.ids) for e in encodings], batch_size):
        width = max(len(encodings[i].ids) for i in idx)
        ids = np.full((len(idx), width), pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, i in enumerate(idx):
            enc = encodings[i]
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
            types[row, :len(enc.ids)] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        result = run({k: v for k, v in feeds.items() if k in input_names})
        for row, i in enumerate(idx):
            out[i] = result[row]
    return out
