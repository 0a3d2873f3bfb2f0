"""Multi-dimensional quality: dimension functions, the audit's weighting, and the run on a fake pipeline."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from offchain.dimensions import grounding, repeated_trigram_share, structure
from simulation.inputs import load_inputs
from simulation.montecarlo import SimConfig, simulate
from simulation.multidim import DIMENSIONS, calibrated_weights, run_multidim, split_records
from simulation.multidim.dimensions import agreement, leave_one_out_means
from simulation.pipeline import PipelineConfig, run_pipeline
from simulation.pipeline.progress import NullReporter
from simulation.pipeline.report import build_report
from tests.unit.test_pipeline_runner import CNN, SQUAD, _fake_backends


def test_structure_rewards_short_qa_spans_and_reference_length_summaries() -> None:
    assert structure("extractive_qa", "", "x") == 0.0
    assert structure("extractive_qa", "Denver Broncos", "x") == 10.0
    assert structure("extractive_qa", " ".join(["w"] * 24), "x") == pytest.approx(5.0 * (1 - 21 / 22))
    assert structure("extractive_qa", " ".join(f"w{i}" for i in range(50)), "x") == 0.0
    assert structure("extractive_qa", "Denver\nBroncos", "x") == 5.0  # a second line halves it
    ref = "one two three four."
    assert structure("summarization", "a b c d.", ref) == 10.0
    assert structure("summarization", "a b c d e f g h.", ref) == pytest.approx(5.0)  # twice as long
    assert structure("summarization", "a b c d", ref) == pytest.approx(8.0)  # no closing stop


def test_grounding_agreement_and_repetition() -> None:
    assert grounding("The Paris", "It is in Paris.") == 10.0  # articles are dropped
    assert grounding("Paris, London", "Paris only") == 5.0
    assert grounding("", "anything") == 0.0
    assert agreement([4.0, 4.0, 4.0]) == 10.0 and agreement([0.0, 10.0]) == 0.0 and agreement([7.0]) == 10.0
    assert repeated_trigram_share(["a", "b", "c", "a", "b", "c"]) == pytest.approx(0.25)


def test_leave_one_out_prior_excludes_the_answer_itself() -> None:
    values = {("r1", "n"): 2.0, ("r2", "n"): 4.0, ("r3", "n"): 9.0, ("r1", "m"): 5.0}
    group = {k: (k[1], "qa") for k in values}
    out = leave_one_out_means(values, group)
    assert out[("r1", "n")] == 6.5 and out[("r3", "n")] == 3.0 and out[("r1", "m")] == 5.0


def test_calibration_drops_unreliable_dimensions_and_renormalizes() -> None:
    weights = calibrated_weights({"a": 0.6, "b": 0.2, "c": -0.4, "d": math.nan, "e": 0.05})
    assert weights == pytest.approx({"a": 0.75, "b": 0.25})
    assert calibrated_weights({"a": -0.1, "b": math.nan}) == {"a": 0.5, "b": 0.5}


def test_split_is_seeded_disjoint_and_complete() -> None:
    records = [f"r{i}" for i in range(11)]
    cal, held = split_records(records, 3)
    assert (cal, held) == split_records(list(reversed(records)), 3)
    assert not cal & held and cal | held == set(records) and len(cal) == 5


class FakeRelevance:
    """Relevance = shared words of query and answer; counts its calls."""

    def __init__(self) -> None:
        self.pairs = 0

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.pairs += len(pairs)
        return [float(len(set(q.lower().split()) & set(a.lower().split()))) for q, a in pairs]


def test_multidim_on_a_fake_run_writes_the_audit_and_a_simulatable_composite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from offchain.models import GENERATORS, ModelSpec

    for name in ("fake-good", "fake-bad"):
        monkeypatch.setitem(GENERATORS._specs, name, ModelSpec(name=name, kind="generator"))
    (tmp_path / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SQUAD))
    (tmp_path / "cnn.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CNN))
    config = PipelineConfig(run_dir=tmp_path / "run", squad=tmp_path / "squad.jsonl", cnndm=tmp_path / "cnn.jsonl",
                            n_squad=6, n_cnndm=4, generators=("fake-good", "fake-bad"),
                            evaluators=("minilm-l6", "ce-minilm-l12"), judge_samples=2)
    run_pipeline(config, NullReporter(), _fake_backends([]))
    relevance = FakeRelevance()
    data = run_multidim(config.run_dir, NullReporter(), load_relevance=lambda: relevance)
    assert relevance.pairs == 20 and data["answers"] == 20
    assert data["dimensions"] == list(DIMENSIONS) and set(data["tasks"]) == {"extractive_qa", "summarization"}
    qa = data["tasks"]["extractive_qa"]
    assert set(qa["reliability"]) == set(DIMENSIONS)
    assert sum(qa["weights"].values()) == pytest.approx(1.0)
    assert {"composite (calibrated)", "composite (default)", "mean consensus", "minilm-l6"} <= set(qa["holdout"])
    # the good node copies the reference: grounding and semantic both track F1 on the calibration half
    assert qa["reliability"]["semantic"]["calibration"]["spearman"] > 0.5
    assert qa["holdout"]["composite (calibrated)"]["spearman"] > 0.5

    inputs = load_inputs(config.run_dir / "composite")
    assert inputs.evaluators == ["composite"] and inputs.scores.shape == (10, 2, 1)
    result = simulate(inputs, SimConfig(rounds=200, k=1))
    assert result.inference.avg_reward[inputs.nodes.index("fake-good")] > \
        result.inference.avg_reward[inputs.nodes.index("fake-bad")]

    run_multidim(config.run_dir, NullReporter(), load_relevance=lambda: relevance)
    assert relevance.pairs == 20  # relevance.jsonl is reused, not recomputed

    text = build_report(config.run_dir, rounds=300, k=2, sweep_rounds=0).path.read_text()
    assert "## Robust PoQ" not in text and "**SQuAD: held-out correlation with F1**" in text
    assert "PoQ with the calibrated composite as the quality signal" in text
    assert any(line.startswith("- CNN/DM: calibrated composite rho") for line in text.splitlines())
