"""Stage ``correlations``: how well each evaluator's normalized scores track F1 and the judge.

Pure: rows in, a nested dict out. For every evaluator and reference signal (``f1``, ``judge``):
Pearson and Spearman per task over the answers both cover, and their mean over the tasks that
have a value (``None`` where undefined: constant input or fewer than two answers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from offchain.data import TASKS
from offchain.metrics import pearson, spearman
from simulation.pipeline.config import CORRELATIONS_FILE, PipelineConfig
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import Row, write_json

SIGNALS = ("f1", "judge")
METHODS = {"pearson": pearson, "spearman": spearman}


def _finite_mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def reference_values(f1: Sequence[Row], judge: Sequence[Row]) -> dict[str, dict[tuple[str, str], float]]:
    """(record, node) → value for each signal; failed judge replies are left out."""
    return {
        "f1": {(r["record"], r["node"]): float(r["f1"]) for r in f1},
        "judge": {(r["record"], r["node"]): float(r["score"]) for r in judge
                  if r.get("ok") and r.get("score") is not None},
    }


def correlation_table(scores: Sequence[Row], f1: Sequence[Row], judge: Sequence[Row],
                      tasks: Sequence[str] = TASKS) -> dict[str, Any]:
    """``{"tasks": [...], "evaluators": {name: {signal: {method: {task|mean: r}, "n": {task: n}}}}}``."""
    refs = reference_values(f1, judge)
    evaluators = list(dict.fromkeys(row["evaluator"] for row in scores))
    table: dict[str, Any] = {}
    for name in evaluators:
        mine = [row for row in scores if row["evaluator"] == name]
        table[name] = {}
        for signal in SIGNALS:
            entry: dict[str, Any] = {"n": {}}
            for method, fn in METHODS.items():
                per_task = {}
                for task in tasks:
                    pairs = [(row["score"], refs[signal][key]) for row in mine if row["task"] == task
                             and (key := (row["record"], row["node"])) in refs[signal]]
                    entry["n"][task] = len(pairs)
                    per_task[task] = fn([a for a, _ in pairs], [b for _, b in pairs]) \
                        if len(pairs) >= 2 else math.nan
                per_task["mean"] = _finite_mean(list(per_task.values()))
                entry[method] = per_task
            table[name][signal] = entry
    return {"tasks": list(tasks), "evaluators": table}


def run_correlations(config: PipelineConfig, reporter: Reporter, scores: Sequence[Row],
                     f1: Sequence[Row], judge: Sequence[Row]) -> dict[str, Any]:
    """Write ``correlations.json`` (always recomputed: it is cheap)."""
    table = correlation_table(scores, f1, judge)
    write_json(config.path(CORRELATIONS_FILE), table)
    for name, entry in table["evaluators"].items():
        f1_r, judge_r = entry["f1"]["pearson"]["mean"], entry["judge"]["pearson"]["mean"]
        reporter.note(f"correlations: {name} r={f1_r:.2f} with F1, {judge_r:.2f} with the judge")
    return table
