"""`poq simulate` as a user runs it: the Table 4 output, JSON, one-line input errors, on-chain replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.cli import cli
from tests.unit.sim_data import write_run


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_simulate_prints_table_4(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    code, out = run("simulate", str(run_dir), "--rounds", "1000", "--exact-rounds", "50")
    assert code == 0, out
    for header in ("node", "avg reward", "latency ms", "cost", "jobs"):
        assert header in out
    assert "inference llama" in out and "eval sts" in out and "1077.7" in out
    assert "exact: 50 rounds in WAD" in out


def test_simulate_json_and_the_run_subcommand_agree(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    args = ["--scores", str(run_dir / "scores.jsonl"), "--costs", str(run_dir / "costs.json"),
            "--rounds", "3000", "--seed", "4", "--k", "2", "--aggregation", "median", "--beta-m", "0.2",
            "--json"]
    code, out = run("simulate", *args)
    assert code == 0, out
    data = json.loads(out)
    assert set(data) == {"inference", "evaluator"}
    assert sum(row["jobs"] for row in data["inference"].values()) == 3000
    assert sum(row["jobs"] for row in data["evaluator"].values()) == 6000
    assert data["inference"]["llama"]["cost_norm"] == 0.0 and data["inference"]["phi3"]["cost_norm"] == 1.0
    code, again = run("simulate", "run", *args)
    assert code == 0 and json.loads(again) == data


def test_bad_scores_line_is_a_one_line_error(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", n_records=1)
    lines = (run_dir / "scores.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"score": ', '"score": 1')  # e.g. 7.5 -> 17.5
    (run_dir / "scores.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["simulate", str(run_dir)])
    assert result.exit_code == 1
    assert "scores.jsonl:3: score must be in [0, 10]" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_k_larger_than_the_pool_is_a_one_line_error(tmp_path: Path) -> None:
    code = CliRunner().invoke(cli, ["simulate", str(write_run(tmp_path / "run")), "--k", "4"])
    assert code.exit_code == 1 and code.output.startswith("Error: k must be between 1 and the 3 evaluators")


@pytest.mark.slow
def test_replay_onchain_settles_to_the_wei(tmp_path: Path) -> None:
    """20 rounds through the real contract on the embedded EVM equal settle_round exactly."""
    run_dir = write_run(tmp_path / "run", n_records=5, nodes={"a": 812.5, "b": 1500.0},
                        evaluators={"x": 1.25, "y": 6.0, "z": 0.9})
    code, out = run("simulate", str(run_dir), "--rounds", "200", "--aggregation", "trimmed",
                    "--replay-onchain", "20")
    assert code == 0, out
    assert "replay: 20 rounds on chain, max |on-chain − simulated| = 0 wei" in out


def test_simulate_sweep_writes_the_grid_table_and_figures(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", n_records=4)
    out = tmp_path / "sweep"
    code, text = run("simulate", "sweep", str(run_dir), "--out", str(out), "--rounds", "30", "--ks", "1,3",
                     "--strategy", "boost:b=2", "--strategy", "intermittent:p=0.5,inner=sabotage:const=0")
    assert code == 0, text
    assert "sweep: 96 cells x 30 rounds; alignment proxy: mean of the honest evaluators" in text
    table = (out / "sweep.md").read_text()
    assert table.count("\n| boost:b=2 | trust |") == 12
    assert (out / "sweep.csv").is_file() and (out / "sweep.json").is_file()
    if "figures skipped" not in text:
        assert (out / "alignment_vs_ratio.png").is_file() and (out / "evaluator_reward_vs_k.png").is_file()


def test_simulate_sweep_bad_strategy_is_a_one_line_error(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", n_records=2)
    result = CliRunner().invoke(cli, ["simulate", "sweep", str(run_dir), "--out", str(tmp_path / "o"),
                                      "--strategy", "boost:c=1"])
    assert result.exit_code != 0
    assert "unknown parameter 'c' for boost" in result.output and "Traceback" not in result.output


def test_simulate_trust_aggregation_and_rule(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    code, out = run("simulate", str(run_dir), "--rounds", "500", "--aggregation", "trust", "--trust-rule", "robust")
    assert code == 0, out
    assert "K=3, trust (robust)" in out
    code, out = run("simulate", str(run_dir), "--rounds", "50", "--aggregation", "trust", "--replay-onchain", "2")
    assert code != 0 and "--replay-onchain replays mean, median, trimmed" in out


def test_cli_aggregation_choices_match_the_simulation() -> None:
    from offchain.cli.simulate_cmds import SIM_AGGREGATIONS, TRUST_RULES
    from simulation.montecarlo import SIM_AGGREGATIONS as SIM
    from simulation.montecarlo import TRUST_RULES as RULES

    assert SIM_AGGREGATIONS == SIM and TRUST_RULES == RULES
