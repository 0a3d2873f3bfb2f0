"""The whole pipeline and the report with fake models (no torch): files, resumption, verdicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from offchain.data import Record
from offchain.models.generators import Generation
from simulation.inputs import load_inputs
from simulation.pipeline import Backends, PipelineConfig, run_pipeline, run_status
from simulation.pipeline.progress import NullReporter
from simulation.pipeline.report import build_report

SQUAD = [{"id": f"q{i}", "title": "t", "context": f"The answer {i} is Paris.", "question": f"Where {i}?",
          "answers": {"text": ["Paris"], "answer_start": [14]}} for i in range(6)]
CNN = [{"id": f"c{i}", "article": f"Article {i} about rain in Spain.", "highlights": "Rain in Spain."}
       for i in range(4)]


class FakeGenerator:
    """Answers from a fixed quality level: node 'good' copies the reference, 'bad' does not."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def generate_records(self, records: Sequence[Record]) -> list[Generation]:
        self.calls.extend(r.id for r in records)
        text = {"fake-good": "Paris rain in Spain", "fake-bad": "no idea"}[self.name]
        return [Generation(text, 0.01, 10, 3, len(records)) for _ in records]


class FakeEvaluator:
    """Raw score = word overlap of reference and output (plus a constant offset per name)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [self.offset + len(set(a.lower().split()) & set(b.lower().split())) for a, b in pairs]


class FakeJudge:
    name = "fake-judge"

    def ask(self, prompts: Sequence[str], attempt: int) -> list[str | None]:
        return ['{"score": 9, "justification": "ok"}' if "Paris rain" in p else "3" for p in prompts]


def _fake_backends(calls: list[str]) -> Backends:
    def gen_profile(name: str, records: list[Record], tokens: int, batch: int) -> dict[str, Any]:
        return {"latency_ms": {"fake-good": 800.0, "fake-bad": 2400.0}[name], "peak_mb": 100.0,
                "params": {"fake-good": 1e8, "fake-bad": 5e8}[name]}

    return Backends(load_generator=lambda name, decoding: FakeGenerator(name, calls),
                    load_evaluator=lambda name, batch: FakeEvaluator({"minilm-l6": 0.0}.get(name, 1.0)),
                    gpu=lambda: False, judge=FakeJudge(), gen_profiler=gen_profile,
                    eval_profiler=lambda name, pairs: {"latency_ms": 1.0, "pairs_per_s": 1000.0})


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineConfig:
    from offchain.models import GENERATORS, ModelSpec

    for name in ("fake-good", "fake-bad"):  # registered for this test only
        monkeypatch.setitem(GENERATORS._specs, name, ModelSpec(name=name, kind="generator"))
    (tmp_path / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SQUAD))
    (tmp_path / "cnn.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CNN))
    return PipelineConfig(run_dir=tmp_path / "run", squad=tmp_path / "squad.jsonl",
                          cnndm=tmp_path / "cnn.jsonl", n_squad=4, n_cnndm=3,
                          generators=("fake-good", "fake-bad"),
                          evaluators=("minilm-l6", "ce-minilm-l12"), judge_samples=2)


def test_pipeline_writes_every_stage_file_and_the_simulator_reads_them(config: PipelineConfig) -> None:
    calls: list[str] = []
    summary = run_pipeline(config, NullReporter(), _fake_backends(calls))
    assert summary.generated == 14 and summary.grid_records == 7 and summary.judge_failures == 0
    assert all(state != "missing" for _, _, state in run_status(config.run_dir))
    inputs = load_inputs(config.run_dir)
    assert inputs.scores.shape == (7, 2, 2) and inputs.f1 is not None
    assert ((inputs.scores >= 0) & (inputs.scores <= 10)).all()
    costs = json.loads((config.run_dir / "costs.json").read_text())
    assert costs == {"inference": {"fake-good": 800.0, "fake-bad": 2400.0},
                     "evaluator": {"minilm-l6": 1.0, "ce-minilm-l12": 1.0}}
    judged = [json.loads(line) for line in (config.run_dir / "judge.jsonl").read_text().splitlines()]
    assert len(judged) == 2 * 2 * 2  # 2 samples per task, 2 tasks, 2 nodes


def test_a_second_run_generates_nothing_new(config: PipelineConfig) -> None:
    calls: list[str] = []
    run_pipeline(config, NullReporter(), _fake_backends(calls))
    lines = {p.name: len(p.read_text().splitlines()) for p in config.run_dir.glob("*.jsonl")}
    again = run_pipeline(config, NullReporter(), _fake_backends(calls))
    assert len(calls) == 14 and (again.generated, again.scored, again.judged) == (0, 0, 0)
    assert lines == {p.name: len(p.read_text().splitlines()) for p in config.run_dir.glob("*.jsonl")}


def test_report_has_tables_figures_and_a_verdict_per_finding(config: PipelineConfig) -> None:
    run_pipeline(config, NullReporter(), _fake_backends([]))
    result = build_report(config.run_dir, rounds=500, k=2)
    text = result.path.read_text()
    for heading in ("Table 1", "Table 2", "Table 3", "Table 4"):
        assert f"## {heading}" in text
    for n in (1, 2, 3):
        assert any(line.startswith(f"- Finding {n} (") for line in text.splitlines())
    assert "## Robust PoQ under attack (30 % malicious evaluators)" in text
    for attack in ("noise", "boost", "sabotage", "intermittent"):
        assert any(line.startswith(f"- {attack}") and "better than the mean" in line for line in text.splitlines())
    assert (result.path.parent / "sweep" / "sweep.csv").is_file()
    assert "Not computed: run `poq eval multidim" in text
    assert all((result.path.parent / f).stat().st_size > 0 for f in
               ("fig4_correlations.png", "fig5_quality_latency.png", "fig6_rewards.png"))
    rewards = result.sim.inference.as_dict()
    assert rewards["fake-good"]["avg_reward"] > rewards["fake-bad"]["avg_reward"]
    assert result.verdicts[2].status in ("holds", "partly holds")
