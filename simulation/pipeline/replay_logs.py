"""Replay logs for a fleet from a pipeline run: every answer and every score the run logged.

`poq fleet run` with `replay:LOG#NAME` models answers and scores from logs instead of running models
(offchain.models.replay). A live fleet run writes such logs for the tasks it happened to draw; a
pipeline run (`poq eval run`) holds every generator's answer to every record and every evaluator's
score of each, so logs built from it cover any draw of its records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from offchain.models.replay import text_key
from simulation.pipeline.config import GENERATIONS_FILE, SCORES_FILE, TASKS_FILE
from simulation.pipeline.store import JsonlStore


def _rows(path: Path) -> list[dict[str, Any]]:
    return JsonlStore(path, key=lambda row: "").rows()


def write_replay_logs(run_dir: Path, out_dir: Path) -> tuple[Path, Path, list[dict[str, Any]]]:
    """generations.jsonl and scores.jsonl in the fleet's replay format; returns them and the records."""
    tasks = {row["id"]: row for row in _rows(run_dir / TASKS_FILE)}
    outputs: dict[tuple[str, str], str] = {}
    generations = []
    for row in _rows(run_dir / GENERATIONS_FILE):
        record = tasks[row["record"]]
        outputs[(row["record"], row["node"])] = row["output"]
        generations.append({"model": row["node"], "key": text_key(record["input"]), "output": row["output"],
                            "latency_s": row["latency_s"]})
    scores = []
    for row in _rows(run_dir / SCORES_FILE):
        output = outputs.get((row["record"], row["node"]))
        if output is None:
            continue
        reference = tasks[row["record"]]["reference"]
        scores.append({"evaluator": row["evaluator"], "key": text_key(reference, output), "score": row["score"],
                       "latency_s": 0.001})
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = (out_dir / "generations.jsonl", out_dir / "scores.jsonl")
    for path, rows in zip(paths, (generations, scores), strict=True):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return paths[0], paths[1], list(tasks.values())
