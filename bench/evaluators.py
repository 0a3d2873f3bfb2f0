"""Evaluator throughput on this machine, and agreement of a fast path with the reference scores.

Throughput: pairs per second at batch 1, at the evaluator's batch size, and, for bi-encoders, with
reference embeddings cached across nodes (each reference encoded once for all the nodes' answers,
instead of once per node). Pairs are real: SQuAD v1.1 gold answers (references) against answers of
several "nodes" — the other gold answers and the context's first sentence, so texts have realistic
lengths. Every mode scores the same kind of pairs (batch 1 a sample spread over all nodes); each
timing is repeated (--repeat) and the best is printed, as pairs per wall-clock second and, in
parentheses, pairs per CPU-second of this process (less disturbed by other processes on a shared
machine; with POQ_TORCH_THREADS=1 it is the one-core rate), with the load average.

Agreement (--agreement RUN_DIR): the evaluator scores a finished run's (reference, answer) pairs and
is compared with the raw scores the run logged (evaluations.jsonl, written by the reference
implementation): largest absolute difference and Spearman correlation, plus pairs/s on those pairs.

    .venv/bin/python bench/evaluators.py [--evaluators minilm-l6,ce-minilm-l12] [--pairs 256]
        [--backend torch|onnx] [--agreement docs/results/run-400]

Prints figures; asserts nothing. Set POQ_TORCH_THREADS to pin torch's and onnxruntime's threads.
Only public loading calls are used, so the same script measures an older checkout (run it from there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.data import load_records, sample  # noqa: E402
from offchain.models import load_evaluator  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad_v1.1_dev.jsonl"
BATCH = {"bi-encoder": 64, "cross-encoder": 32}  # the paper's batch sizes
NODES = 5  # answers per reference: one per inference node
SINGLE = 64  # pairs timed one at a time


def _node_groups(n: int) -> list[list[tuple[str, str]]]:
    """NODES groups of (reference, answer) pairs: group i holds node i's answers to every reference."""
    records = sample(load_records(DATA), max(1, n // NODES), seed=0)
    groups: list[list[tuple[str, str]]] = [[] for _ in range(NODES)]
    for record in records:
        candidates = [*record.references, (record.context or "").split(". ")[0]]
        for i in range(NODES):
            groups[i].append((record.reference, f"{candidates[i % len(candidates)]} ({i})"))
    return groups


def _rate(n: int, work: Callable[[], object], repeat: int, reset: Callable[[], object] = lambda: None) -> str:
    """'wall (cpu)': the best pairs per wall-clock second of `work` (which scores `n` pairs) over
    `repeat` tries, and the best pairs per CPU-second this process used (all its threads together),
    which other processes on a shared machine disturb much less; `reset` runs before each try."""
    wall, cpu = [], []
    for _ in range(repeat):
        reset()
        started, used = time.perf_counter(), time.process_time()
        work()
        wall.append(n / (time.perf_counter() - started))
        cpu.append(n / max(time.process_time() - used, 1e-9))
    return f"{max(wall):7.1f} ({max(cpu):6.1f})"


def _load(name: str, backend: str | None) -> Any:
    return load_evaluator(name, progress=False, **({"backend": backend} if backend else {}))


def _bench(name: str, groups: list[list[tuple[str, str]]], repeat: int, backend: str | None) -> str:
    pairs = [p for group in groups for p in group]
    evaluator = _load(name, backend)
    evaluator.batch_size = BATCH.get(evaluator.kind, 32)
    cache = getattr(evaluator, "_cache", None)
    clear = cache.clear if cache is not None else (lambda: None)
    evaluator.score(pairs[:8])  # warm-up
    spread = pairs[::max(1, len(pairs) // SINGLE)][:SINGLE]
    single = _rate(len(spread), lambda: [evaluator.score([p]) for p in spread], repeat, clear)
    # each node scores its own answers: without sharing, every reference is encoded once per node
    batched = _rate(len(pairs), lambda: [(clear(), evaluator.score(g)) for g in groups], repeat)
    shared = _rate(len(pairs), lambda: [evaluator.score(g) for g in groups], repeat, clear) if cache is not None \
        else f"{'-':>15}"
    return f"{name:<16} {single} {batched} {shared}  (batch {evaluator.batch_size})"


def _agreement(name: str, run_dir: Path, backend: str | None) -> str:
    from scipy.stats import spearmanr

    tasks = {row["id"]: row for row in _jsonl(run_dir / "tasks.jsonl")}
    outputs = {(row["record"], row["node"]): row["output"] for row in _jsonl(run_dir / "generations.jsonl")}
    logged = [row for row in _jsonl(run_dir / "evaluations.jsonl") if row["evaluator"] == name]
    if not logged:
        return f"{name:<16} no logged scores in {run_dir}"
    pairs = [(tasks[row["record"]]["reference"], outputs[(row["record"], row["node"])]) for row in logged]
    evaluator = _load(name, backend)
    evaluator.batch_size = BATCH.get(evaluator.kind, 32)
    evaluator.score(pairs[:8])
    getattr(evaluator, "_cache", {}).clear()
    started, used = time.perf_counter(), time.process_time()
    scores = evaluator.score(pairs)
    rate = len(pairs) / (time.perf_counter() - started)
    cpu_rate = len(pairs) / max(time.process_time() - used, 1e-9)
    reference = [float(row["raw"]) for row in logged]
    diff = max(abs(a - b) for a, b in zip(scores, reference, strict=True))
    rho = spearmanr(scores, reference).statistic
    return (f"{name:<16} {len(pairs)} pairs: max |diff| {diff:.2e}, Spearman {rho:.6f}; "
            f"{rate:.1f} pairs/s ({cpu_rate:.1f} per CPU-second)")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluators", default="minilm-l6,mpnet-base,ce-minilm-l12")
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default=None, help="bi-encoders: onnx (fast path) or torch (reference)")
    parser.add_argument("--agreement", type=Path, default=None, help="a finished run directory")
    args = parser.parse_args()
    if threads := os.environ.get("POQ_TORCH_THREADS"):
        import torch

        torch.set_num_threads(int(threads))
    names = args.evaluators.split(",")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    if args.agreement:
        for name in names:
            print(_agreement(name, args.agreement, args.backend), flush=True)
    else:
        groups = _node_groups(args.pairs)
        print(f"{sum(map(len, groups))} SQuAD pairs: {len(groups[0])} references x {NODES} nodes' answers; "
              f"best of {args.repeat}: pairs per wall second (per CPU-second)")
        print(f"{'evaluator':<16} {'batch 1':>15} {'batched':>15} {'refs cached':>15}")
        for name in names:
            print(_bench(name, groups, args.repeat, args.backend), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
