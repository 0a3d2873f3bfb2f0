"""Loading simulation inputs: dense tensors from a run directory; bad lines name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from offchain.errors import ConfigError, DatasetError
from simulation.inputs import load_inputs
from simulation.montecarlo import SimConfig, simulate
from tests.unit.sim_data import EVALUATORS, NODES, write_run


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, rows: list) -> None:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))


def test_run_dir_loads_dense_tensor_in_first_seen_order(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=4, f1=True)
    inputs = load_inputs(run)
    assert inputs.scores.shape == (4, len(NODES), len(EVALUATORS))
    assert inputs.records == ["q0", "q1", "q2", "q3"]
    assert inputs.nodes == list(NODES) and inputs.evaluators == list(EVALUATORS)
    row = _lines(run / "scores.jsonl")[7]  # q0, third node, second evaluator
    r, f, m = inputs.records.index(row["record"]), inputs.nodes.index(row["node"]), inputs.evaluators.index(
        row["evaluator"])
    assert inputs.scores[r, f, m] == row["score"]
    assert list(inputs.node_latency_ms) == list(NODES.values())
    assert inputs.f1 is not None and inputs.f1.shape == (4, len(NODES)) and not np.isnan(inputs.f1).any()


def test_explicit_files_override_and_no_input_is_a_config_error(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=2)
    inputs = load_inputs(scores_path=run / "scores.jsonl", costs_path=run / "costs.json")
    assert inputs.scores.shape == (2, 5, 3) and inputs.f1 is None
    with pytest.raises(ConfigError, match="pass a run directory or --scores"):
        load_inputs()
    with pytest.raises(ConfigError, match="does not exist"):
        load_inputs(tmp_path / "missing")


def _row(**fields: object) -> dict:
    return {"record": "q0", "node": "gemma", "evaluator": "sts", **fields}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_row(score=10.5), r"score must be in \[0, 10\]"),
        (_row(score=-0.1), r"score must be in \[0, 10\]"),
        (_row(score="7"), "score must be a finite number"),
        (_row(score=True), "score must be a finite number"),
        (_row(), "missing key 'score'"),
        ({"record": "q0", "evaluator": "sts", "score": 1}, "missing key 'node'"),
        (_row(record="", score=1), "record must be a non-empty string"),
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_score_line_names_file_and_line(tmp_path: Path, bad: object, reason: str) -> None:
    run = write_run(tmp_path / "run", n_records=2)
    rows = _lines(run / "scores.jsonl")
    rows.insert(4, bad)  # becomes line 5
    _write(run / "scores.jsonl", rows)
    with pytest.raises(DatasetError, match=rf"scores\.jsonl:5: {reason}") as info:
        load_inputs(run)
    assert info.value.line == 5 and len(str(info.value).splitlines()) == 1


def test_duplicate_score_is_rejected_at_its_line(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=2)
    rows = _lines(run / "scores.jsonl")
    _write(run / "scores.jsonl", [*rows, rows[0]])
    with pytest.raises(DatasetError, match=rf"scores\.jsonl:{len(rows) + 1}: duplicate score"):
        load_inputs(run)


def test_answer_missing_an_evaluator_points_at_its_first_line(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=2)
    rows = _lines(run / "scores.jsonl")
    del rows[4]  # q0, second node ("llama"), second evaluator; that pair starts at line 4
    _write(run / "scores.jsonl", rows)
    with pytest.raises(DatasetError, match=r"scores\.jsonl:4: record 'q0' node 'llama' .*'ce_deberta'"):
        load_inputs(run)


def test_a_node_may_skip_records_and_the_simulation_draws_only_its_answers(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=4)
    rows = [r for r in _lines(run / "scores.jsonl") if not (r["record"] in ("q1", "q2") and r["node"] == "phi3")]
    _write(run / "scores.jsonl", rows)
    inputs = load_inputs(run)
    phi3 = inputs.nodes.index("phi3")
    assert [inputs.records[r] for r in np.flatnonzero(~inputs.answered[:, phi3])] == ["q1", "q2"]
    assert inputs.answered.sum() == inputs.answered.size - 2

    result = simulate(inputs, SimConfig(rounds=4000, seed=3))
    rounds = result.rounds
    assert inputs.answered[rounds.record, rounds.node].all()  # never an unanswered pair
    assert np.isfinite(rounds.quality).all()
    mine = rounds.record[rounds.node == phi3]
    assert set(np.unique(mine)) == set(np.flatnonzero(inputs.answered[:, phi3]))
    others = rounds.record[rounds.node != phi3]
    assert set(np.unique(others)) == set(range(len(inputs.records)))


def test_empty_scores_file_is_rejected(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=1)
    (run / "scores.jsonl").write_text("\n\n")
    with pytest.raises(DatasetError, match="no lines"):
        load_inputs(run)


@pytest.mark.parametrize(
    ("costs", "reason"),
    [
        ({"inference": dict(list(NODES.items())[1:]), "evaluator": EVALUATORS},
         "no inference latency .*'gemma'"),
        ({"inference": {**NODES, "extra": 3.0}, "evaluator": EVALUATORS}, "without scores: 'extra'"),
        ({"inference": NODES}, "missing object 'evaluator'"),
        ({"inference": {**NODES, "gemma": -1}, "evaluator": EVALUATORS}, "latency of 'gemma' must be in"),
        ({"inference": {**NODES, "gemma": None}, "evaluator": EVALUATORS}, "must be a finite number"),
    ],
)
def test_bad_costs_are_dataset_errors(tmp_path: Path, costs: dict, reason: str) -> None:
    run = write_run(tmp_path / "run", n_records=1)
    (run / "costs.json").write_text(json.dumps(costs))
    with pytest.raises(DatasetError, match=rf"costs\.json: .*{reason}"):
        load_inputs(run)


def test_costs_not_json_reports_its_line(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=1)
    (run / "costs.json").write_text('{\n"inference": {,\n}')
    with pytest.raises(DatasetError, match=r"costs\.json:2: not JSON"):
        load_inputs(run)


def test_f1_for_an_unknown_answer_is_rejected(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", n_records=1, f1=True)
    _write(run / "f1.jsonl", [{"record": "q9", "node": "gemma", "f1": 3.0}])
    with pytest.raises(DatasetError, match=r"f1\.jsonl:1: record 'q9' node 'gemma' has no scores"):
        load_inputs(run)
