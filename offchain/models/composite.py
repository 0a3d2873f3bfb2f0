"""The ``composite`` evaluator: the multi-dimensional quality score as a live PoQ evaluator.

It scores the dimensions that need no panel or history: ``structure`` and ``grounding``
(offchain.dimensions), ``semantic`` (the MiniLM bi-encoder's calibrated similarity to the reference)
and ``alignment`` (the ms-marco cross-encoder's calibrated relevance of the answer to the question,
or to the article's lead). The weights come from the calibrated composite of an offline audit
(``multidim.json`` from ``poq eval multidim``, named by POQ_COMPOSITE_WEIGHTS), restricted to these
dimensions and re-normalized per task; without one every live dimension weighs the same.
`offchain.models.loading` loads the two parts and builds it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from offchain.data import TASKS, split_qa_input
from offchain.dimensions import QA, SUMMARY, grounding, query_of, source_of, structure
from offchain.errors import ConfigError
from offchain.models.evaluators import Calibration, Evaluator, Pair
from offchain.protocol.types import SCORE_SCALE, clamp_score

LIVE_DIMENSIONS = ("structure", "grounding", "semantic", "alignment")
SEMANTIC_MODEL, RELEVANCE_MODEL = "minilm-l6", "ce-minilm-l12"
WEIGHTS_ENV = "POQ_COMPOSITE_WEIGHTS"
QA_REFERENCE_WORDS = 12  # a bare (reference, answer) pair with a reference this short is taken as QA
TaskWeights = dict[str, dict[str, float]]


def equal_weights() -> TaskWeights:
    return {task: {d: 1.0 / len(LIVE_DIMENSIONS) for d in LIVE_DIMENSIONS} for task in (QA, SUMMARY)}


def live_weights(audit: Mapping[str, Any]) -> TaskWeights:
    """Per task, the audit's calibrated weights of the live dimensions, re-normalized (equal if none)."""
    out = equal_weights()
    for task, entry in audit.get("tasks", {}).items():
        kept = {d: float(w) for d, w in entry.get("weights", {}).items() if d in LIVE_DIMENSIONS and w > 0}
        total = sum(kept.values())
        if total > 0:
            out[task] = {d: w / total for d, w in kept.items()}
    return out


def weights_from_env() -> TaskWeights:
    path = os.environ.get(WEIGHTS_ENV)
    if not path:
        return equal_weights()
    try:
        return live_weights(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{WEIGHTS_ENV}={path}: cannot read the multidim.json weights ({exc})") from None


class CompositeEvaluator(Evaluator):
    """Weighted live dimensions in [0, 10]; `score_texts` sees the task, `score` guesses it."""

    kind = "composite"

    def __init__(self, name: str, semantic: Evaluator, relevance: Evaluator,
                 weights: TaskWeights | None = None, *, batch_size: int = 32) -> None:
        super().__init__(name, batch_size=batch_size, calibration=Calibration(0.0, SCORE_SCALE))
        self.semantic, self.relevance = semantic, relevance
        self.weights = weights or equal_weights()

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """(reference or input, answer) pairs without a task: short references are QA spans."""
        items = [{"kind": QA if len(ref.split()) <= QA_REFERENCE_WORDS else SUMMARY, "reference": ref,
                  "input": ref, "output": out} for ref, out in pairs]
        return self.score_texts(items)

    def score_texts(self, items: Sequence[Mapping[str, Any]]) -> list[float]:
        """Items with ``kind`` (task name), ``input``, ``reference`` (or None) and ``output``."""
        records = [_record(item) for item in items]
        outputs = [str(item.get("output") or "") for item in items]
        semantic = self.semantic.score_calibrated([(r["reference"], o) for r, o in zip(records, outputs, strict=True)])
        aligned = self.relevance.score_calibrated([(query_of(r), o) for r, o in zip(records, outputs, strict=True)])
        scores = []
        for record, output, sem, rel in zip(records, outputs, semantic, aligned, strict=True):
            values = {"structure": structure(record["task"], output, record["reference"]),
                      "grounding": grounding(output, source_of(record)), "semantic": sem, "alignment": rel}
            weights = self.weights.get(record["task"], equal_weights()[SUMMARY])
            scores.append(clamp_score(sum(w * values[d] for d, w in weights.items())))
        return scores


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields offchain.dimensions reads, from an agent's task texts (QA inputs split back).

    ``kind`` is a task name or the contract's taskKind (0 QA, 1 summarization).
    """
    kind = item.get("kind", SUMMARY)
    task = kind if isinstance(kind, str) else TASKS[int(kind)] if int(kind) < len(TASKS) else SUMMARY
    text = str(item.get("input") or "")
    context, question = split_qa_input(text) or (text, None)
    reference = item.get("reference")
    return {"task": task, "input": text, "context": context, "question": question,
            "reference": str(reference if reference is not None else text)}
