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


def test_both_sides_of_the_pairs_go_to_the_encoder_in_one_call():
    enc = FakeEncoder()
    BiEncoderEvaluator("fake", enc).score([("ref a", "answer"), ("ref b", "answer")])
    assert enc.calls == [["ref a", "ref b", "answer"]]


def test_length_buckets_cover_every_index_once_shortest_first_within_the_token_budget():
    from offchain.models.onnx_runtime import bucketed

    lengths = [5, 300, 7, 6, 100, 8, 5]
    batches = bucketed(lengths, batch_size=3, max_tokens=512)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)
    assert all(len(b) <= 3 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 512) for b in batches)
    assert bucketed([400, 400], batch_size=8, max_tokens=512) == [[0], [1]]  # a long row rides alone


class FakeEncoding:
    """What `tokenizers` returns for one text: ids and type ids, unpadded."""

    def __init__(self, n):
        self.ids, self.type_ids = list(range(1, n + 1)), [0] * n


def test_bucketed_runs_pad_each_batch_to_its_own_longest_and_restore_input_order():
    from offchain.models.onnx_runtime import run_bucketed

    widths = []

    def fake_run(feeds):  # the row's real token count, read back from its attention mask
        widths.append(feeds["input_ids"].shape[1])
        assert (feeds["input_ids"][feeds["attention_mask"] == 0] == 7).all()  # padded with pad_id
        return feeds["attention_mask"].sum(axis=1)

    encodings = [FakeEncoding(n) for n in (9, 2, 30, 3)]
    out = run_bucketed(encodings, 2, {"input_ids", "attention_mask"}, fake_run, pad_id=7)
    assert [int(x) for x in out] == [9, 2, 30, 3]
    assert widths == [3, 30]


class FakeNliCrossEncoder:
    """Three logits per pair and an id2label, like an NLI cross-encoder."""

    class config:  # noqa: N801 - mimics the attribute
        id2label = {0: "contradiction", 1: "ENTAILMENT", 2: "neutral"}

    def predict(self, pairs, **kwargs):
        return np.array([[0.0, 2.0, 0.0] if a == b else [2.0, 0.0, 0.0] for a, b in pairs])


def test_nli_cross_encoder_scores_the_entailment_probability():
    from offchain.models.crossencoders import TorchCrossEncoderEvaluator

    ev = TorchCrossEncoderEvaluator("fake-nli", FakeNliCrossEncoder(), label="entailment")
    same, other = ev.score([("a", "a"), ("a", "b")])
    assert same == pytest.approx(np.exp(2) / (np.exp(2) + 2)) and other == pytest.approx(1 / (np.exp(2) + 2))
    with pytest.raises(ConfigError, match="no output label 'support'"):
        TorchCrossEncoderEvaluator("fake-nli", FakeNliCrossEncoder(), label="support")
