"""Resumable JSONL store of the evaluation pipeline: skips done ids, survives a torn last line."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.errors import DatasetError
from simulation.pipeline.store import JsonlStore, field_key, read_json, write_json


def test_done_lists_the_keys_already_written(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path / "gen.jsonl", field_key("record", "node"))
    store.append([{"record": "q1", "node": "a", "x": 1}, {"record": "q2", "node": "a", "x": 2}])
    assert store.done() == {("q1", "a"), ("q2", "a")}


def test_resuming_appends_only_the_missing_ids(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    JsonlStore(path, field_key("record")).append([{"record": "q1"}, {"record": "q2"}])
    resumed = JsonlStore(path, field_key("record"))  # a new process opens the same file
    todo = [r for r in ("q1", "q2", "q3") if r not in resumed.done()]
    resumed.append({"record": r} for r in todo)
    assert todo == ["q3"]
    assert [row["record"] for row in resumed.rows()] == ["q1", "q2", "q3"]


def test_a_torn_last_line_is_ignored_and_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    path.write_text('{"record": "q1"}\n{"record": "q', encoding="utf-8")  # killed mid-write
    store = JsonlStore(path, field_key("record"))
    assert store.done() == {"q1"}
    store.append([{"record": "q2"}])
    assert path.read_text(encoding="utf-8") == '{"record": "q1"}\n{"record": "q2"}\n'


def test_a_bad_line_in_the_middle_raises_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    path.write_text('{"record": "q1"}\nnot json\n{"record": "q2"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"gen\.jsonl:2: not JSON"):
        JsonlStore(path, field_key("record")).rows()


def test_write_json_turns_nan_into_null(tmp_path: Path) -> None:
    write_json(tmp_path / "c.json", {"r": float("nan"), "xs": [1.0, float("inf")]})
    assert read_json(tmp_path / "c.json") == {"r": None, "xs": [1.0, None]}
