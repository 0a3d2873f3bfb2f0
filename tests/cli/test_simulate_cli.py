"""`poq simulate` as a user runs it: the Table 4 output, JSON, one-line input errors, on-chain replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from poq.cli import cli
from tests.unit.sim_data import RUN_400, write_run


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_simulate_prints_table_4(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    code, out = run("simulate", str(run_dir), "--rounds", "1000", "--exact-rounds", "50", "--evaluator-reward", "paper")
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
    assert set(data) == {"inference", "evaluator", "costs", "evaluator_reward"}  # no f1.jsonl: no f1_pearson
    assert data["evaluator_reward"] == {"rule": "peer", "batch_size": 64}
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
    """Rounds played as batches of one on the real contract equal settle_batch exactly; the chain measures
    the simulated latencies (whole seconds) up to an inclusion time common to each role."""
    from simulation.replay import whole_seconds

    latencies = {"inference": {"a": 812.5, "b": 2600.0}, "evaluator": {"x": 1.25, "y": 2300.0, "z": 900.0}}
    run_dir = write_run(tmp_path / "run", n_records=5, nodes=latencies["inference"],
                        evaluators=latencies["evaluator"])
    code, out = run("simulate", str(run_dir), "--rounds", "200", "--aggregation", "trimmed",
                    "--replay-onchain", "12", "--evaluator-reward", "paper", "--json")
    assert code == 0, out
    replay = json.loads(out)["replay"]
    assert (replay["rounds"], replay["max_wad_diff"], replay["max_wei_diff"], replay["max_cost_us_diff"]) == (
        12, 0, 0, 0)
    assert replay["max_float_diff"] < 1e-12  # scores with 3 decimals: rounding of the WAD arithmetic only
    for role, table in latencies.items():
        offsets = {us - whole_seconds(table[name]) * 10**6 for name, us in replay["measured_us"].items()
                   if name in table}
        assert len(offsets) == 1, (role, replay["measured_us"])
    code, out = run("simulate", str(run_dir), "--rounds", "200", "--replay-onchain", "2", "--evaluator-reward", "paper")
    assert code == 0, out
    assert "replay: 2 rounds on chain (batches of one), max |on-chain − offchain.protocol| = 0 wei, 0 WAD" in out
    assert "max |chain − mirror| = 0 µs" in out


def test_replay_of_latencies_beyond_the_windows_is_a_one_line_error(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", n_records=2, nodes={"a": 700_000.0, "b": 1.0})
    result = CliRunner().invoke(cli, ["simulate", str(run_dir), "--rounds", "10", "--replay-onchain", "1",
                                      "--evaluator-reward", "paper"])
    assert result.exit_code == 1 and "700 s to answer" in result.output and "600 s answer" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_liar_prints_what_lying_earns_under_both_rules(tmp_path: Path) -> None:
    from simulation.costs import normalized_costs

    run_dir = write_run(tmp_path / "run")
    latency = json.loads((run_dir / "costs.json").read_text())["inference"]
    slowest = max(latency, key=latency.get)
    code, out = run("simulate", str(run_dir), "--rounds", "1500", "--liar", slowest, "--liar", "sts:40")
    assert code == 0, out
    assert "What lying earns" in out and "claimed" in out and "measured" in out
    code, out = run("simulate", str(run_dir), "--rounds", "1500", "--liar", slowest, "--beta-f", "0.6",
                    "--cost-rule", "measured", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["costs"] == {"rule": "measured", "liars": {slowest: 1}}
    names = list(latency)
    claims = [latency[n] if n != slowest else 0.001 for n in names]
    before = normalized_costs(np.array(list(latency.values())))[names.index(slowest)]
    after = normalized_costs(np.array(claims))[names.index(slowest)]
    old, new = (data["lying"]["rules"][rule]["liars"][0] for rule in ("claimed", "measured"))
    assert old["name"] == slowest and old["gain"] > 0
    assert old["gain"] == pytest.approx(0.6 * (before - after), abs=1e-12)
    assert new["gain"] == 0.0 and new["reward_lying"] == data["inference"][slowest]["avg_reward"]


@pytest.mark.parametrize(("spec", "message"), [
    ("nobody", "Error: --liar: unknown node 'nobody'; choose one of"),
    ("llama:0", "Error: --liar llama: the claim must be whole microseconds in [1, 4294967295]"),
    ("llama:4294967296", "Error: --liar llama: the claim must be whole microseconds"),
])
def test_bad_liar_is_a_one_line_error(tmp_path: Path, spec: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(write_run(tmp_path / "run", n_records=2)), "--liar", spec])
    assert result.exit_code == 1 and result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_node_given_twice_as_liar_is_a_usage_error(tmp_path: Path) -> None:
    """Two claims for one node used to run with the last and show the first: now a usage error."""
    run_dir = write_run(tmp_path / "run", n_records=2)
    result = CliRunner().invoke(cli, ["simulate", str(run_dir), "--liar", "llama:5", "--liar", "sts",
                                      "--liar", "llama:7"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert errors == ["Error: Invalid value for '--liar': 'llama' is given more than once; give each node one "
                      "claim"], result.output


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
    from poq.cli.simulate_cmds import SIM_AGGREGATIONS, TRUST_RULES
    from simulation.montecarlo import SIM_AGGREGATIONS as SIM
    from simulation.montecarlo import TRUST_RULES as RULES

    assert SIM_AGGREGATIONS == SIM and TRUST_RULES == RULES


def test_peer_rule_on_run_400_with_lazy_evaluators_and_f1_correlations() -> None:
    """The default rule pays the constant nothing and the random reporter less than any honest evaluator;
    without cost the honest evaluators' reward order is their F1-correlation order."""
    lazy = ["--add-evaluator", "constant:5.8", "--add-evaluator", "random"]
    code, out = run("simulate", str(RUN_400), *lazy)
    assert code == 0, out
    assert "K=3, mean, R_M peer (batches of 64), costs claimed" in out and "F1 r" in out
    assert "eval constant-5.8" in out and "eval random" in out and "0.6342" in out  # minilm-l6's r
    code, out = run("simulate", str(RUN_400), *lazy, "--beta-m", "0", "--json")
    assert code == 0, out
    data = json.loads(out)
    rewards = {name: row["avg_reward"] for name, row in data["evaluator"].items()}
    r = data["f1_pearson"]
    assert r["constant-5.8"] is None and r["random"] is None  # no score of an answer to correlate
    honest = [name for name in rewards if r[name] is not None]
    assert honest == ["minilm-l6", "mpnet-base", "ce-minilm-l12"]
    assert sorted(honest, key=rewards.__getitem__) == sorted(honest, key=r.__getitem__)
    assert rewards["constant-5.8"] == 0.0 and rewards["random"] < min(rewards[name] for name in honest)
    assert data["evaluator"]["random"]["avg_latency_ms"] == pytest.approx(
        np.mean([data["evaluator"][name]["avg_latency_ms"] for name in honest]))
    code, out = run("simulate", str(RUN_400), *lazy, "--evaluator-reward", "paper", "--json")
    assert code == 0, out
    paper = {name: row["avg_reward"] for name, row in json.loads(out)["evaluator"].items()}
    assert paper["constant-5.8"] > paper["mpnet-base"]  # the paper's rule pays the constant more


def test_batch_size_and_lazy_latency_reach_the_run(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run")
    args = ["simulate", str(run_dir), "--rounds", "600", "--add-evaluator", "random@15", "--json"]
    code, out = run(*args, "--batch-size", "8")
    assert code == 0, out
    data = json.loads(out)
    assert data["evaluator_reward"] == {"rule": "peer", "batch_size": 8}
    assert data["evaluator"]["random"]["avg_latency_ms"] == 15.0
    code, again = run(*args)
    assert code == 0 and json.loads(again)["evaluator"]["sts"] != data["evaluator"]["sts"]  # other batches
    result = CliRunner().invoke(cli, [*args, "--batch-size", "257"])
    assert result.exit_code == 2 and "257 is not in the range 1<=x<=256" in result.output


@pytest.mark.parametrize(("spec", "message"), [
    ("constant", "bad lazy evaluator 'constant'; expected constant:VALUE[@MS] or random[@MS]"),
    ("random:2", "bad lazy evaluator 'random:2'; expected constant:VALUE[@MS] or random[@MS]"),
    ("constant:12", "'constant:12': the constant must be a score in [0, 10], got '12'"),
    ("constant:5@fast", "'constant:5@fast': the latency after '@' must be milliseconds >= 0, got 'fast'"),
])
def test_bad_lazy_evaluator_is_a_one_line_usage_error(tmp_path: Path, spec: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(write_run(tmp_path / "run", n_records=2)),
                                      "--add-evaluator", spec])
    assert result.exit_code == 2 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert errors == [f"Error: Invalid value for '--add-evaluator': {message}"], result.output


@pytest.mark.parametrize("flag", [["--exact-rounds", "5"], ["--replay-onchain", "1"]])
def test_exact_checks_need_the_paper_rule(tmp_path: Path, flag: list[str]) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(write_run(tmp_path / "run", n_records=2)), *flag])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (f"Error: {flag[0]} checks the paper's per-round evaluator reward; add --evaluator-reward paper"
            in result.output)
    code, out = run("simulate", str(write_run(tmp_path / "run2", n_records=2)), "--rounds", "20",
                    "--exact-rounds", "5", "--add-evaluator", "random", "--evaluator-reward", "paper")
    assert code == 1 and "a random evaluator's draws per seat are not among them" in out


def test_simulate_sweep_takes_the_evaluator_reward(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", n_records=4)
    for rule, text in (("paper", "evaluator reward paper (Eqs. 3-5)"), ("peer", "evaluator reward peer (batches "
                                                                                  "of 16 rounds)")):
        out = tmp_path / rule
        code, printed = run("simulate", "sweep", str(run_dir), "--out", str(out), "--rounds", "30", "--ks", "3",
                            "--ratios", "0.3", "--aggregation", "mean", "--strategy", "boost", "--no-figures",
                            "--evaluator-reward", rule, "--batch-size", "16")
        assert code == 0, printed
        assert text in (out / "sweep.md").read_text()
        config = json.loads((out / "sweep.json").read_text())["config"]
        assert (config["evaluator_reward"], config["batch_size"]) == (rule, 16)


def test_cli_evaluator_rewards_match_the_simulation() -> None:
    from offchain.protocol.params import MAX_BATCH as CONTRACT_MAX_BATCH
    from poq.cli.simulate_cmds import EVALUATOR_REWARDS, LAZY_SPEC, MAX_BATCH
    from simulation.lazy import SPEC_HELP
    from simulation.peer import EVALUATOR_REWARDS as RULES

    assert EVALUATOR_REWARDS == RULES and MAX_BATCH == CONTRACT_MAX_BATCH
    assert LAZY_SPEC.replace(" | ", " or ") == SPEC_HELP
