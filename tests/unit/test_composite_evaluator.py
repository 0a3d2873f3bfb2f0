"""The live ``composite`` evaluator with fake sub-models (named fakes): weights, task handling, agents' texts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from offchain.data import qa_input
from offchain.errors import ConfigError
from offchain.models import EVALUATORS
from offchain.models.composite import (
    LIVE_DIMENSIONS,
    WEIGHTS_ENV,
    CompositeEvaluator,
    equal_weights,
    live_weights,
    weights_from_env,
)
from offchain.models.evaluators import Calibration, Evaluator


class FakeOverlap(Evaluator):
    """Raw score = share of the candidate's words found in the first text (calibrated 0..1 -> 0..10)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, calibration=Calibration(0.0, 1.0))
        self.seen: list[tuple[str, str]] = []

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.seen.extend(pairs)
        return [len(set(a.lower().split()) & set(b.lower().split())) / max(1, len(set(b.split()))) for a, b in pairs]


def _composite(weights: dict[str, dict[str, float]] | None = None) -> tuple[CompositeEvaluator, FakeOverlap]:
    relevance = FakeOverlap("fake-relevance")
    return CompositeEvaluator("composite", FakeOverlap("fake-semantic"), relevance, weights), relevance


def test_a_grounded_short_answer_beats_a_rambling_one_on_a_chain_qa_task() -> None:
    evaluator, relevance = _composite()
    task = qa_input("Denver Broncos beat the Carolina Panthers in Super Bowl 50.", "Who won Super Bowl 50?")
    good = {"kind": 0, "input": task, "reference": "Denver Broncos", "output": "Denver Broncos"}
    bad = {"kind": 0, "input": task, "reference": "Denver Broncos",
           "output": "I think that maybe it was some team from somewhere else entirely, who knows really " * 3}
    hi, lo = evaluator.score_texts([good, bad])
    assert 0.0 <= lo < hi <= 10.0
    assert relevance.seen[0][0] == "Who won Super Bowl 50?"  # alignment is judged against the question


def test_weights_come_from_the_audit_restricted_to_live_dimensions() -> None:
    audit = {"tasks": {"extractive_qa": {"weights": {"grounding": 0.3, "agreement": 0.5, "semantic": 0.2}},
                       "summarization": {"weights": {"model_prior": 1.0}}}}
    weights = live_weights(audit)
    assert weights["extractive_qa"] == pytest.approx({"grounding": 0.6, "semantic": 0.4})
    assert weights["summarization"] == equal_weights()["summarization"]  # nothing live survived
    only_grounding, _ = _composite({"extractive_qa": {"grounding": 1.0}, "summarization": {"grounding": 1.0}})
    assert only_grounding.score([("Paris", "Paris London")]) == [5.0]  # a bare pair: QA, grounded in the reference


def test_weights_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert weights_from_env() == equal_weights() and set(equal_weights()["extractive_qa"]) == set(LIVE_DIMENSIONS)
    path = tmp_path / "multidim.json"
    path.write_text(json.dumps({"tasks": {"extractive_qa": {"weights": {"structure": 1.0}}}}))
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    assert weights_from_env()["extractive_qa"] == {"structure": 1.0}
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=WEIGHTS_ENV):
        weights_from_env()


def test_composite_is_registered_with_its_parts() -> None:
    spec = EVALUATORS.get("composite")
    assert spec.kind == "composite" and spec.requires == ("minilm-l6", "ce-minilm-l12")
    assert all(EVALUATORS.get(part).package for part in spec.requires)
