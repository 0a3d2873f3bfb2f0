"""Quality dimensions of one answer, each on [0, 10], computed from a pipeline run's logs.

- ``structure`` and ``grounding``: format checks and source overlap (offchain.dimensions, shared
  with the live ``composite`` evaluator).
- ``semantic``: the bi-encoders' normalized similarity to the reference, averaged.
- ``alignment``: query-answer relevance from the cross-encoder, (question, answer) for QA and
  (article lead, summary) for summaries, min-max normalized per task.
- ``agreement``: 10 - 2 x the standard deviation of every evaluator's normalized score (low
  dispersion = a confident panel).
- ``model_prior``: the node's mean semantic score on the task's *other* records (leave one out).
- ``cost_prior``: 10 x (1 - the node's min-max normalized latency).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from offchain.dimensions import grounding, source_of, structure
from offchain.metrics import minmax

DIMENSIONS = ("structure", "grounding", "semantic", "alignment", "agreement", "model_prior", "cost_prior")
Row = dict[str, Any]


def agreement(scores: Sequence[float]) -> float:
    """10 - 2 x the population standard deviation of normalized scores, floored at 0."""
    if len(scores) < 2:
        return 10.0
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return max(0.0, 10.0 - 2.0 * sd)


def leave_one_out_means(values: Mapping[tuple[str, str], float],
                        group: Mapping[tuple[str, str], tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Per key, the mean of the other keys' values in its group (the group's mean for a lone key)."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, value in values.items():
        acc = sums[group[key]]
        acc[0] += value
        acc[1] += 1
    out = {}
    for key, value in values.items():
        total, count = sums[group[key]]
        out[key] = (total - value) / (count - 1) if count > 1 else value
    return out


def normalize_within(values: Mapping[tuple[str, str], float],
                     task_of: Mapping[str, str]) -> dict[tuple[str, str], float]:
    """Min-max onto [0, 10] within each task (keys are (record, node))."""
    by_task: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in values:
        by_task[task_of[key[0]]].append(key)
    out: dict[tuple[str, str], float] = {}
    for keys in by_task.values():
        out.update(zip(keys, minmax([values[k] for k in keys], 10.0), strict=True))
    return out


def dimension_table(
    records: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[tuple[str, str], str],
    scores: Mapping[tuple[str, str], Mapping[str, float]],
    bi_encoders: Sequence[str],
    relevance: Mapping[tuple[str, str], float],
    node_cost: Mapping[str, float],
) -> dict[tuple[str, str], dict[str, float]]:
    """Every dimension of every scored answer, keyed (record, node).

    ``scores[(record, node)][evaluator]`` are normalized [0, 10] evaluator scores, ``relevance`` the
    cross-encoder's raw (query, answer) scores, ``node_cost`` the normalized latency in [0, 1].
    """
    keys = [k for k in outputs if k in scores and k in relevance]
    task_of = {rid: str(r["task"]) for rid, r in records.items()}
    semantic = {k: sum(scores[k][e] for e in bi_encoders) / len(bi_encoders) for k in keys}
    alignment = normalize_within({k: relevance[k] for k in keys}, task_of)
    prior = leave_one_out_means(semantic, {k: (k[1], task_of[k[0]]) for k in keys})
    table = {}
    for key in keys:
        record, output = records[key[0]], outputs[key]
        table[key] = {
            "structure": structure(task_of[key[0]], output, str(record["reference"])),
            "grounding": grounding(output, source_of(record)),
            "semantic": semantic[key],
            "alignment": alignment[key],
            "agreement": agreement(list(scores[key].values())),
            "model_prior": prior[key],
            "cost_prior": 10.0 * (1.0 - node_cost[key[1]]),
        }
    return table

