"""The evaluation pipeline end to end with the smallest real models, then `poq report`.

5 SQuAD + 5 CNN/DM records, smollm2-135m answering (summaries capped at 16 tokens), minilm-l6 and
ce-minilm-l12 scoring, smollm2-135m as the local judge on 1 sample per task. A second `poq eval run`
must generate, score and judge nothing new. Skipped when a weight package is not installed.
About 2–4 minutes on a 2-core CPU (POQ_TORCH_THREADS=1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.models import packages
from poq.cli import cli
from simulation.pipeline.config import DEFAULT_CNNDM, DEFAULT_SQUAD

pytestmark = [pytest.mark.models, pytest.mark.slow]

MODELS = ("smollm2-135m", "minilm-l6", "ce-minilm-l12")


def _line_counts(run: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in sorted(run.glob("*.jsonl"))}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_pipeline_then_report_on_ten_tasks(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="model extras not installed (pip install -e .[models])")
    pytest.importorskip("matplotlib", reason="report extra not installed (pip install -e .[report])")
    for model in MODELS:
        if not packages.is_installed(model):
            pytest.skip(f"weights of {model} not installed: run scripts/install-models.sh {model}")
    if not (DEFAULT_SQUAD.is_file() and DEFAULT_CNNDM.is_file()):
        pytest.skip(f"no data at {DEFAULT_SQUAD.parent}")
    run = tmp_path / "run"
    args = ["eval", "run", str(run), "--n-squad", "5", "--n-cnndm", "5", "--generators", "smollm2-135m",
            "--evaluators", "minilm-l6,ce-minilm-l12", "--max-new-tokens", "16", "--batch-size", "5",
            "--judge-model", "smollm2-135m", "--judge-samples", "1", "--profile-prompts", "1"]
    runner = CliRunner()
    first = runner.invoke(cli, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    for name in ("tasks.jsonl", "generations.jsonl", "f1.jsonl", "evaluations.jsonl", "scores.jsonl",
                 "judge.jsonl", "correlations.json", "efficiency.json", "costs.json"):
        assert (run / name).is_file(), name
    assert len(_jsonl(run / "generations.jsonl")) == 10
    assert all(0 <= r["f1"] <= 10 for r in _jsonl(run / "f1.jsonl"))
    scores = _jsonl(run / "scores.jsonl")
    assert len(scores) == 20 and all(0 <= r["score"] <= 10 for r in scores)
    judged = _jsonl(run / "judge.jsonl")
    assert len(judged) == 2 and all(r["score"] is None or 0 <= r["score"] <= 10 for r in judged)
    correlations = json.loads((run / "correlations.json").read_text())["evaluators"]
    for entry in correlations.values():
        r = entry["f1"]["pearson"]["mean"]
        assert r is None or -1 <= r <= 1
    eff = json.loads((run / "efficiency.json").read_text())
    gen = eff["generators"]["smollm2-135m"]
    assert gen["latency_ms"] > 0 and gen["peak_mb"] > 0 and gen["throughput_sps"] > 0
    assert gen["batch_size"] == 5 and gen["generated"] == 10 and gen["generation_sps"] > 0
    costs = json.loads((run / "costs.json").read_text())
    assert set(costs["inference"]) == {"smollm2-135m"}
    assert set(costs["evaluator"]) == {"minilm-l6", "ce-minilm-l12"}

    counts = _line_counts(run)
    again = runner.invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 answers generated, 0 scored, 0 judged" in again.output
    assert _line_counts(run) == counts

    report = runner.invoke(cli, ["report", str(run), "--rounds", "500"], catch_exceptions=False)
    assert report.exit_code == 0, report.output
    text = (run / "report" / "report.md").read_text()
    for n in (1, 2, 3):
        assert any(line.startswith(f"- Finding {n} (") for line in text.splitlines()), text
    for fig in ("fig4_correlations.png", "fig5_quality_latency.png", "fig6_rewards.png"):
        assert (run / "report" / fig).stat().st_size > 0
