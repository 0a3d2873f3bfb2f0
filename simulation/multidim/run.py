"""``poq eval multidim RUN_DIR``: the multi-dimensional quality audit of a finished pipeline run.

Reads ``tasks.jsonl``, ``generations.jsonl``, ``scores.jsonl``, ``f1.jsonl`` and ``costs.json``;
scores (query, answer) relevance with the cross-encoder once per answer (``relevance.jsonl``,
resumable); writes ``multidim.json`` (dimensions, per-task audit, weights, held-out comparison,
ablations) and ``composite/`` (``scores.jsonl`` with the calibrated composite as evaluator
``composite``, ``costs.json``, ``f1.jsonl``), so ``poq simulate RUN_DIR/composite --k 1`` runs PoQ
with the composite as its quality signal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from offchain.dimensions import query_of
from offchain.errors import ConfigError
from offchain.protocol import floats
from simulation.multidim.audit import audit_task, composite, split_records
from simulation.multidim.dimensions import DIMENSIONS, dimension_table
from simulation.pipeline.config import COMPOSITE_DIR, MULTIDIM_FILE
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import JsonlStore, field_key, read_json, write_json, write_jsonl
from simulation.pipeline.tasks import load_tasks

RELEVANCE_FILE = "relevance.jsonl"
COMPOSITE = "composite"
RELEVANCE_MODEL = "ce-minilm-l12"
CHUNK = 256
Key = tuple[str, str]
RelevanceScorer = Callable[[Sequence[tuple[str, str]]], list[float]]


def _need(run_dir: Path, name: str) -> Path:
    path = run_dir / name
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: finish `poq eval run {run_dir}` first")
    return path


def _rows(path: Path, *key: str) -> list[dict[str, Any]]:
    return JsonlStore(path, field_key(*key)).rows()


def load_relevance_scorer() -> RelevanceScorer:
    """The cross-encoder's raw (query, answer) relevance (POQ_TORCH_THREADS applied)."""
    from offchain.models import EVALUATORS
    from simulation.pipeline.config import EVALUATOR_BATCH
    from simulation.pipeline.quality import load_real_evaluator

    evaluator = load_real_evaluator(RELEVANCE_MODEL, EVALUATOR_BATCH[EVALUATORS.get(RELEVANCE_MODEL).kind])
    return evaluator.score


def score_relevance(run_dir: Path, reporter: Reporter, records: dict[str, dict[str, Any]],
                    outputs: dict[Key, str], load: Callable[[], RelevanceScorer]) -> dict[Key, float]:
    """Raw relevance per answer, computing only what ``relevance.jsonl`` lacks."""
    store = JsonlStore(run_dir / RELEVANCE_FILE, field_key("record", "node"))
    done = store.done()
    todo = [k for k in outputs if k not in done]
    if todo:
        scorer = load()
        with reporter.bar(f"relevance ({RELEVANCE_MODEL})", len(outputs), len(outputs) - len(todo)) as advance:
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start:start + CHUNK]
                raw = scorer([(query_of(records[r]), outputs[(r, n)]) for r, n in chunk])
                store.append({"record": r, "node": n, "relevance": float(x)}
                             for (r, n), x in zip(chunk, raw, strict=True))
                advance(len(chunk))
    return {(row["record"], row["node"]): float(row["relevance"]) for row in store.rows()}


def run_multidim(run_dir: str | Path, reporter: Reporter, *, seed: int = 0,
                 load_relevance: Callable[[], RelevanceScorer] = load_relevance_scorer) -> dict[str, Any]:
    """Compute the dimensions, audit them per task and write the outputs; returns multidim.json's data."""
    from offchain.models import EVALUATORS

    base = Path(run_dir)
    records = {r.id: r.to_dict() for r in load_tasks(base)}
    outputs = {(g["record"], g["node"]): str(g["output"])
               for g in _rows(_need(base, "generations.jsonl"), "record", "node")}
    scores: dict[Key, dict[str, float]] = defaultdict(dict)
    for row in _rows(_need(base, "scores.jsonl"), "record", "node", "evaluator"):
        scores[(row["record"], row["node"])][row["evaluator"]] = float(row["score"])
    truth = {(row["record"], row["node"]): float(row["f1"]) for row in _rows(_need(base, "f1.jsonl"), "record", "node")}
    costs = read_json(_need(base, "costs.json"))
    evaluators = sorted({e for per in scores.values() for e in per})
    bi_encoders = [e for e in evaluators if EVALUATORS.get(e).kind == "bi-encoder"]
    if not bi_encoders:
        raise ConfigError(f"{base / 'scores.jsonl'} has no bi-encoder scores: the semantic dimension needs one")
    outputs = {k: v for k, v in outputs.items() if k in scores and k in truth}
    relevance = score_relevance(base, reporter, records, outputs, load_relevance)
    latency = costs["inference"]
    lo, hi = min(latency.values()), max(latency.values())
    node_cost = {n: floats.normalized_cost(float(x), lo, hi) for n, x in latency.items()}
    table = dimension_table(records, outputs, scores, bi_encoders, relevance, node_cost)

    calibration, holdout = split_records(sorted({r for r, _ in table}), seed)
    tasks: dict[str, Any] = {}
    weights: dict[str, dict[str, float]] = {}
    for task in sorted({str(records[r]["task"]) for r, _ in table}):
        keys = sorted(k for k in table if records[k[0]]["task"] == task)
        result = audit_task(table, truth, scores, [k for k in keys if k[0] in calibration],
                            [k for k in keys if k[0] in holdout])
        tasks[task] = asdict(result)
        weights[task] = result.weights
    data = {"dimensions": list(DIMENSIONS), "seed": seed, "answers": len(table),
            "records": {"calibration": len(calibration), "holdout": len(holdout)}, "tasks": tasks}
    write_json(base / MULTIDIM_FILE, data)
    _write_composite_run(base, records, table, weights, truth, costs, evaluators)
    reporter.note(f"multidim: {len(table)} answers audited; {MULTIDIM_FILE} and {COMPOSITE_DIR}/ written")
    return data


def _write_composite_run(base: Path, records: dict[str, dict[str, Any]], table: dict[Key, dict[str, float]],
                         weights: dict[str, dict[str, float]], truth: dict[Key, float],
                         costs: dict[str, Any], evaluators: list[str]) -> None:
    """A run directory whose one evaluator is the calibrated composite (its cost: every model it runs)."""
    out = base / COMPOSITE_DIR
    out.mkdir(exist_ok=True)
    rows = []
    for key in sorted(table):
        task = str(records[key[0]]["task"])
        value = composite(table, weights[task], [key])[key]
        rows.append({"record": key[0], "node": key[1], "task": task, "evaluator": COMPOSITE,
                     "score": min(10.0, max(0.0, value))})
    write_jsonl(out / "scores.jsonl", rows)
    write_jsonl(out / "f1.jsonl", ({"record": r, "node": n, "f1": truth[(r, n)]} for r, n in sorted(table)))
    write_json(out / "costs.json", {"inference": costs["inference"],
                                    "evaluator": {COMPOSITE: sum(float(costs["evaluator"][e]) for e in evaluators)}})
