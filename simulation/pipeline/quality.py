"""Stages ``f1`` (ground truth) and ``scores`` (evaluator scores, raw then normalized per task).

``f1.jsonl``: ``{record, node, task, f1}`` per answer, SQuAD token F1 x 10 maxed over every
gold answer (the same F1 against the CNN/DM highlights). ``evaluations.jsonl`` (resumable):
``{record, node, task, evaluator, raw}``, the evaluator's raw score of the pair (reference,
output). ``scores.jsonl``: the same rows plus ``score``, the raw score min-max normalized per
(evaluator, task) onto [0, 10] — the file `simulation.inputs` reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

from offchain.data import Record
from offchain.metrics import f1_times_10, minmax
from offchain.protocol.types import SCORE_SCALE
from simulation.pipeline.config import (
    EVALUATIONS_FILE,
    EVALUATOR_BATCH,
    F1_FILE,
    SCORES_FILE,
    PipelineConfig,
    model_names,
)
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import JsonlStore, Row, field_key, write_jsonl

EvaluatorLoader = Callable[..., Any]
"""``load(name, batch_size, device=None) -> Evaluator`` (anything with ``score(pairs)``)."""
CHUNK = 256


Pairs = Sequence[tuple[Record, str]]
"""(record, node) answers, from `generate.answered_pairs`."""


def f1_rows(pairs: Pairs, answers: dict[tuple[str, str], Row]) -> list[Row]:
    """F1 x 10 of each node's answer to its record (pure)."""
    return [{"record": r.id, "node": n, "task": r.task,
             "f1": f1_times_10(answers[(r.id, n)]["output"], r.references)}
            for r, n in pairs]


def run_f1(config: PipelineConfig, reporter: Reporter, pairs: Pairs,
           answers: dict[tuple[str, str], Row]) -> int:
    """Rewrite ``f1.jsonl`` for every answer (cheap: pure string work)."""
    count = write_jsonl(config.path(F1_FILE), f1_rows(pairs, answers))
    reporter.note(f"f1: {count} answers scored")
    return count


def evaluator_names(config: PipelineConfig) -> list[str]:
    """The run's evaluators: ``--evaluators`` (pools expanded) or every installed one."""
    return model_names(config.evaluators, "evaluator")


def evaluator_batch(name: str, device: str | None = None) -> int:
    """The paper's batch size for the evaluator's kind, scaled up on a GPU."""
    from offchain.models.device import batch_for, resolve_device
    from offchain.models.loading import kind_of

    return batch_for(EVALUATOR_BATCH[kind_of(name, "evaluator")], resolve_device(device))


def load_real_evaluator(name: str, batch_size: int, device: str | None = None) -> Any:
    """`offchain.models.load_evaluator` after applying POQ_TORCH_THREADS."""
    from offchain.models import load_evaluator
    from simulation.pipeline.config import set_torch_threads

    set_torch_threads()
    return load_evaluator(name, batch_size=batch_size, device=device, progress=False)


def _key(row: Row) -> tuple[str, str, str]:
    return row["record"], row["node"], row["evaluator"]


def normalize_per_task(rows: Sequence[Row], scale: float = SCORE_SCALE) -> list[Row]:
    """Rows with ``score`` = ``raw`` min-max normalized within each (evaluator, task) group.

    A group with no spread maps to 0.0 (`offchain.metrics.minmax`). Order is kept.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[(row["evaluator"], row["task"])].append(i)
    scores = [0.0] * len(rows)
    for idx in groups.values():
        for i, value in zip(idx, minmax([rows[i]["raw"] for i in idx], scale), strict=True):
            scores[i] = min(scale, max(0.0, value))
    return [{**row, "score": score} for row, score in zip(rows, scores, strict=True)]


def run_scores(config: PipelineConfig, reporter: Reporter, pairs: Pairs,
               answers: dict[tuple[str, str], Row], *,
               load: EvaluatorLoader = load_real_evaluator) -> int:
    """Score the missing (record, node, evaluator) pairs, then rewrite ``scores.jsonl``.

    Returns how many raw scores were computed in this call.
    """
    store = JsonlStore(config.path(EVALUATIONS_FILE), field_key("record", "node", "evaluator"))
    done = store.done()
    names = evaluator_names(config)
    computed = 0
    for name in names:
        todo = [(r, n) for r, n in pairs if (r.id, n, name) not in done]
        total = len(pairs)
        if not todo:
            reporter.note(f"scores: {name} has all {total} pairs")
            continue
        batch = evaluator_batch(name, config.device)
        evaluator = load(name, batch, config.device) if config.device else load(name, batch)
        with reporter.bar(f"score {name}", total, total - len(todo)) as advance:
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start:start + CHUNK]
                raw = evaluator.score([(r.reference, answers[(r.id, n)]["output"]) for r, n in chunk])
                computed += store.append({"record": r.id, "node": n, "task": r.task,
                                          "evaluator": name, "raw": float(x)}
                                         for (r, n), x in zip(chunk, raw, strict=True))
                advance(len(chunk))
        del evaluator
    order = {(r.id, n, name): i for i, ((r, n), name) in enumerate(product(pairs, names))}
    rows = [row for row in store.rows() if _key(row) in order]
    rows.sort(key=lambda row: order[_key(row)])
    count = write_jsonl(config.path(SCORES_FILE), normalize_per_task(rows))
    reporter.note(f"scores: {count} normalized scores in {SCORES_FILE}")
    return computed
