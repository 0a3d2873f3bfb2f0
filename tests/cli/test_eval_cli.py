"""`poq eval` and `poq report` argument handling (no models loaded)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from poq.cli import cli


def test_eval_and_report_are_listed() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "eval" in result.output and "report" in result.output


def test_eval_status_of_an_empty_run_dir_lists_every_stage_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "status", str(tmp_path)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 8 and all(line.endswith("missing") for line in lines)


def test_eval_run_rejects_an_unknown_stage_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "run", str(tmp_path / "run"), "--stages", "judges"])
    assert result.exit_code == 1
    assert "unknown stage 'judges'; did you mean 'judge'?" in result.output


def test_report_without_scores_says_what_to_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "scores.jsonl does not exist" in result.output
