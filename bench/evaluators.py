"""Evaluator throughput on this machine: pairs per second at batch 1, at the evaluator's batch size,
and, for bi-encoders, with reference embeddings cached across nodes (each reference encoded once for
all the nodes' answers, instead of once per node).

Pairs are real: SQuAD v1.1 gold answers (references) against answers of several "nodes" — here the
other gold answers and the context's first sentence, so texts have realistic lengths.

    .venv/bin/python bench/evaluators.py [--evaluators minilm-l6,mpnet-base,ce-minilm-l12] [--pairs 256]

Prints figures; asserts nothing. Set POQ_TORCH_THREADS to pin torch threads (default: torch's own).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.data import load_records, sample  # noqa: E402
from offchain.models import load_evaluator  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad_v1.1_dev.jsonl"
BATCH = {"bi-encoder": 64, "cross-encoder": 32}  # the paper's batch sizes
NODES = 5  # answers per reference: one per inference node


def _node_groups(n: int) -> list[list[tuple[str, str]]]:
    """NODES groups of (reference, answer) pairs: group i holds node i's answers to every reference."""
    records = sample(load_records(DATA), max(1, n // NODES), seed=0)
    groups: list[list[tuple[str, str]]] = [[] for _ in range(NODES)]
    for record in records:
        candidates = [*record.references, (record.context or "").split(". ")[0]]
        for i in range(NODES):
            groups[i].append((record.reference, f"{candidates[i % len(candidates)]} ({i})"))
    return groups


def _timed(n: int, work: Callable[[], object]) -> float:
    """Pairs per second of `work`, which scores `n` pairs."""
    started = time.perf_counter()
    work()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluators", default="minilm-l6,mpnet-base,ce-minilm-l12")
    parser.add_argument("--pairs", type=int, default=256)
    args = parser.parse_args()
    if threads := os.environ.get("POQ_TORCH_THREADS"):
        import torch

        torch.set_num_threads(int(threads))
    groups = _node_groups(args.pairs)
    pairs = [p for group in groups for p in group]
    print(f"{len(pairs)} SQuAD pairs: {len(groups[0])} references x {NODES} nodes' answers")
    print(f"{'evaluator':<16} {'batch 1':>10} {'batched':>10} {'refs cached':>12}  pairs/s")
    for name in args.evaluators.split(","):
        print(_bench(name, groups))


def _bench(name: str, groups: list[list[tuple[str, str]]]) -> str:
    pairs = [p for group in groups for p in group]
    evaluator = load_evaluator(name, progress=False)
    evaluator.score(pairs[:4])  # warm-up
    evaluator.batch_size = BATCH.get(evaluator.kind, 32)
    cache = getattr(evaluator, "_cache", None)
    single = _timed(len(pairs[:32]), lambda: [evaluator.score([p]) for p in pairs[:32]])
    if cache is None:
        batched = _timed(len(pairs), lambda: evaluator.score(pairs))
        return f"{name:<16} {single:10.1f} {batched:10.1f} {'-':>12}  (batch {evaluator.batch_size})"
    # each node scores its own answers: without sharing, every reference is encoded once per node
    batched = _timed(len(pairs), lambda: [(cache.clear(), evaluator.score(g)) for g in groups])
    cache.clear()
    shared = _timed(len(pairs), lambda: [evaluator.score(g) for g in groups])
    return f"{name:<16} {single:10.1f} {batched:10.1f} {shared:12.1f}  (batch {evaluator.batch_size})"

if __name__ == "__main__":
    main()
