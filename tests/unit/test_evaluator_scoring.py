"""Evaluator plumbing with a fake encoder: calibration, clamping, the embedding cache."""

import json

import numpy as np
import pytest

from offchain.errors import ConfigError
from offchain.models.evaluators import BiEncoderEvaluator, Calibration, Evaluator, calibrate, task_pair


class FakeEncoder:
    """Maps a text to a unit vector from its length; records what it was asked to encode."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def encode(self, texts, **kwargs):
        self.calls.append(list(texts))
        vecs = np.array([[1.0, float(len(t))] for t in texts])
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_calibration_maps_and_clamps_to_0_10():
    cal = Calibration(lo=-1.0, hi=1.0)
    assert cal.apply([-1.0, 0.0, 1.0, 5.0, -3.0]) == [0.0, 5.0, 10.0, 10.0, 0.0]


def test_degenerate_calibration_gives_zero():
    assert Calibration(2.0, 2.0).apply([1.0, 2.0, 3.0]) == [0.0, 0.0, 0.0]


def test_calibrate_sets_min_max_of_raw_scores():
    ev = BiEncoderEvaluator("fake", FakeEncoder())
    pairs = [("a", "a"), ("a", "bbbbbbbb"), ("a", "bb")]
    raw = ev.score(pairs)
    cal = calibrate(ev, pairs)
    assert (cal.lo, cal.hi) == (min(raw), max(raw))
    scaled = ev.calibrated_scores(raw)
    assert min(scaled) == 0.0 and max(scaled) == 10.0


def test_calibrate_needs_pairs():
    with pytest.raises(ConfigError):
        calibrate(BiEncoderEvaluator("fake", FakeEncoder()), [])


def test_shared_reference_is_encoded_once():
    enc = FakeEncoder()
    ev = BiEncoderEvaluator("fake", enc)
    ev.score([("ref", "cand one"), ("ref", "cand two"), ("ref", "cand one")])
    encoded = [t for call in enc.calls for t in call]
    assert sorted(encoded) == ["cand one", "cand two", "ref"]
    ev.score([("ref", "cand two")])  # all cached now
    assert sum(len(c) for c in enc.calls) == 3


def test_identical_texts_score_one():
    ev = BiEncoderEvaluator("fake", FakeEncoder())
    assert ev.score([("same", "same")]) == [pytest.approx(1.0)]


def test_cache_is_bounded():
    ev = BiEncoderEvaluator("fake", FakeEncoder(), cache_size=3)
    ev.score([("a", "b"), ("c", "d")])
    assert len(ev._cache) == 3


class FakePairEvaluator(Evaluator):
    """Scores a pair by the length of its first text, so the test sees which text was chosen."""

    def score(self, pairs):
        return [float(len(ref)) for ref, _ in pairs]


def test_score_texts_scores_the_reference_when_revealed_else_the_input():
    ev = FakePairEvaluator("fake", calibration=Calibration(0.0, 10.0))
    items = [{"kind": 0, "input": "12345", "reference": "12", "output": "x"},
             {"kind": 1, "input": "12345", "reference": None, "output": "x"},
             {"kind": 1, "input": None, "reference": None, "output": None}]
    assert [task_pair(item) for item in items] == [("12", "x"), ("12345", "x"), ("", "")]
    assert ev.score_texts(items) == [2.0, 5.0, 0.0]


def test_replay_evaluator_scores_tasks_from_the_log(tmp_path):
    from offchain.models.replay import ReplayEvaluator, text_key

    log = tmp_path / "scores.jsonl"
    log.write_text(json.dumps({"key": text_key("gold", "answer"), "evaluator": "minilm-l6", "score": 7.5,
                               "latency_s": 0.01}) + "\n", encoding="utf-8")
    replay = ReplayEvaluator(log, "minilm-l6")
    assert replay.score_texts([{"input": "question", "reference": "gold", "output": "answer"}]) == [7.5]
    with pytest.raises(ConfigError, match="no logged score"):
        replay.score_texts([{"input": "gold", "reference": None, "output": "other"}])
