"""Synthetic simulation run directories for the tests (no fixtures here): scores.jsonl, costs.json; and the
path of the real run-400 inputs (docs/results/run-400)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RUN_400 = Path(__file__).resolve().parents[2] / "docs" / "results" / "run-400"  # the paper's reproduction run
NODES = {"gemma": 1108.0, "llama": 1077.7, "phi3": 2409.3, "qwen2": 2320.6, "tinyllama": 1470.1}
EVALUATORS = {"ce_minilm": 1.0, "ce_deberta": 5.9, "sts": 0.9}


def write_run(
    directory: Path,
    *,
    n_records: int = 20,
    nodes: dict[str, float] | None = None,
    evaluators: dict[str, float] | None = None,
    seed: int = 0,
    f1: bool = False,
) -> Path:
    """Write a complete run directory with random scores (3 decimals) and the given latencies (ms)."""
    nodes = NODES if nodes is None else nodes
    evaluators = EVALUATORS if evaluators is None else evaluators
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in range(n_records):
        for node_index, node in enumerate(nodes):
            skill = 2.0 + 6.0 * node_index / max(1, len(nodes) - 1)
            for evaluator in evaluators:
                score = round(float(np.clip(rng.normal(skill, 2.0), 0.0, 10.0)), 3)
                lines.append({"record": f"q{r}", "node": node, "evaluator": evaluator, "score": score})
    (directory / "scores.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    costs = {"inference": dict(nodes), "evaluator": dict(evaluators)}
    (directory / "costs.json").write_text(json.dumps(costs))
    if f1:
        rows = [{"record": f"q{r}", "node": n, "f1": round(float(rng.random() * 10), 3)}
                for r in range(n_records) for n in nodes]
        (directory / "f1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    return directory
