"""Pure parts of the pipeline: per-task normalization, F1 rows, correlation table, the grid."""

from __future__ import annotations

import math

import pytest

from offchain.data import Record
from simulation.pipeline.analysis import correlation_table
from simulation.pipeline.generate import answered_pairs, batches, grid, planned_records
from simulation.pipeline.judge import judged_pairs
from simulation.pipeline.quality import f1_rows, normalize_per_task


def _row(record: str, task: str, evaluator: str, raw: float, node: str = "n") -> dict:
    return {"record": record, "node": node, "task": task, "evaluator": evaluator, "raw": raw}


def test_normalize_per_task_scales_each_evaluator_and_task_to_0_10() -> None:
    rows = [_row("q1", "extractive_qa", "e", 1.0), _row("q2", "extractive_qa", "e", 3.0),
            _row("s1", "summarization", "e", -5.0), _row("s2", "summarization", "e", 5.0),
            _row("s3", "summarization", "e", 0.0), _row("q1", "extractive_qa", "f", 0.2)]
    out = normalize_per_task(rows)
    assert [r["score"] for r in out] == [0.0, 10.0, 0.0, 10.0, 5.0, 0.0]  # f/qa has no spread
    assert [r["raw"] for r in out] == [r["raw"] for r in rows]


def test_f1_rows_take_the_best_gold_answer_times_10() -> None:
    record = Record("q1", "extractive_qa", "x", "Denver", references=("Denver", "Denver Broncos"),
                    context="c", question="q")
    answers = {("q1", "a"): {"output": "Denver Broncos"}}
    assert f1_rows([(record, "a")], answers) == [
        {"record": "q1", "node": "a", "task": "extractive_qa", "f1": 10.0}]


def _table_inputs() -> tuple[list[dict], list[dict], list[dict]]:
    scores, f1, judge = [], [], []
    for i in range(6):
        for task in ("extractive_qa", "summarization"):
            rid = f"{task[0]}{i}"
            f1.append({"record": rid, "node": "n", "f1": float(i)})
            judge.append({"record": rid, "node": "n", "score": float(5 - i) if i < 5 else None,
                          "ok": i < 5})
            scores.append({**_row(rid, task, "good", 0.0), "score": float(i)})
            scores.append({**_row(rid, task, "flat", 0.0), "score": 3.0})
    return scores, f1, judge


def test_correlation_table_has_one_entry_per_evaluator_signal_method_and_task() -> None:
    table = correlation_table(*_table_inputs())
    assert table["tasks"] == ["extractive_qa", "summarization"]
    assert list(table["evaluators"]) == ["good", "flat"]
    for entry in table["evaluators"].values():
        assert set(entry) == {"f1", "judge"}
        for signal in entry.values():
            assert set(signal) == {"n", "pearson", "spearman"}
            assert set(signal["pearson"]) == {"extractive_qa", "summarization", "mean"}
    good = table["evaluators"]["good"]
    assert good["f1"]["pearson"]["mean"] == pytest.approx(1.0)
    assert good["judge"]["spearman"]["extractive_qa"] == pytest.approx(-1.0)
    assert good["judge"]["n"]["extractive_qa"] == 5  # the failed judge reply is left out
    assert math.isnan(table["evaluators"]["flat"]["f1"]["pearson"]["mean"])  # constant scores


def _records() -> list[Record]:
    qa = [Record(f"q{i}", "extractive_qa", "x" * (10 - i), "a", context="c", question="q")
          for i in range(5)]
    return qa + [Record(f"s{i}", "summarization", "article", "hl", context="a") for i in range(5)]


def test_grid_keeps_records_every_node_answered_in_task_order() -> None:
    rows = [{"record": r, "node": n} for r in ("q1", "q2", "s0") for n in ("a", "b")]
    rows.append({"record": "q3", "node": "a"})
    assert [r.id for r in grid(_records(), rows, ["a", "b"])] == ["q1", "q2", "s0"]


def test_answered_pairs_keep_a_partial_node_s_answers_in_task_then_node_order() -> None:
    rows = [{"record": r, "node": n} for r in ("q1", "q2", "s0") for n in ("a", "b")]
    rows.append({"record": "q3", "node": "a"})
    pairs = answered_pairs(_records(), rows, ["a", "b"])
    assert [(r.id, n) for r, n in pairs] == [("q1", "a"), ("q1", "b"), ("q2", "a"), ("q2", "b"),
                                             ("q3", "a"), ("s0", "a"), ("s0", "b")]


def test_judge_sample_is_shared_by_full_nodes_and_drawn_from_a_heavy_node_s_subset() -> None:
    records = _records()
    heavy = {"q0", "q4", "s2", "s3"}
    pairs = [(r, n) for r in records for n in ("a", "b", "h") if n != "h" or r.id in heavy]
    chosen = judged_pairs(pairs, 2, seed=0)
    picked = {n: sorted(r.id for r, m in chosen if m == n) for n in ("a", "b", "h")}
    assert picked["a"] == picked["b"] and len(picked["a"]) == 4  # 2 per task, same for full nodes
    assert set(picked["h"]) == heavy  # the subset has exactly 2 per task
    assert [r.task for r, n in chosen if n == "a"].count("summarization") == 2
    assert chosen == judged_pairs(pairs, 2, seed=0)


def test_heavy_node_without_gpu_gets_a_seeded_subset_per_task() -> None:
    records = _records()
    subset = planned_records(records, heavy=True, gpu=False, subset=2, seed=0)
    assert [r.task for r in subset].count("extractive_qa") == 2 and len(subset) == 4
    assert subset == planned_records(records, heavy=True, gpu=False, subset=2, seed=0)
    assert planned_records(records, heavy=True, gpu=True, subset=2, seed=0) == records


def test_batches_hold_one_task_each_and_at_most_the_batch_size() -> None:
    out = batches(_records(), 3)
    assert [len(b) for b in out] == [3, 2, 3, 2]
    assert all(len({r.task for r in b}) == 1 for b in out)
