"""The report's follow-up sections: robust PoQ under attack (a sweep on the run's real scores) and
multi-dimensional quality (from ``multidim.json``, written by ``poq eval multidim``).

Every number is computed here from the run's files; the verdict lines only compare them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offchain.data import TASKS
from simulation.inputs import SimInputs, load_inputs
from simulation.montecarlo import SimConfig, TrustConfig, simulate
from simulation.peer import PAPER
from simulation.pipeline.config import COMPOSITE_DIR, MULTIDIM_FILE
from simulation.pipeline.markdown import fmt, md_table
from simulation.pipeline.store import read_json
from simulation.sweep import KS, SweepConfig, SweepResult, run_sweep, write_outputs

SWEEP_DIR = "sweep"
RATIO = 0.3
ROBUST_MODES = ("median", "trimmed", "trust")
# the contract's robust rule: median center, panel pivot, no decay (the float twin of Trust.sol)
ONCHAIN_TRUST = TrustConfig(rule="robust", decay=0.0)
TASK_LABEL = {"extractive_qa": "SQuAD", "summarization": "CNN/DM"}


def _f(x: Any, spec: str = ".3f") -> str:
    return fmt(x, spec)


def _cell(result: SweepResult, **where: Any) -> dict[str, Any]:
    return next(r for r in result.rows if all(r[k] == v for k, v in where.items()))


def robust_section(inputs: SimInputs, out: Path, *, rounds: int = 2000, seed: int = 0, k: int = 3) -> str:
    """Sweep ratio x K x aggregation x strategy on the run's scores; a summary at 30 % malicious."""
    ks = tuple(sorted(set(KS) | {k}))
    result = run_sweep(inputs, SweepConfig(ks=ks, rounds=rounds, seed=seed, trust=ONCHAIN_TRUST,
                                          evaluator_reward=PAPER))
    paths = write_outputs(result, out / SWEEP_DIR)
    published = run_sweep(inputs, SweepConfig(ratios=(RATIO,), ks=(k,), aggregations=("trust",), rounds=rounds,
                                              seed=seed, trust=TrustConfig(rule="published"),
                                              evaluator_reward=PAPER))
    rows, verdicts = [], []
    for spec in result.config.strategies:
        mean = _cell(result, strategy=spec, aggregation="mean", k=k, malicious_ratio=RATIO)
        for mode in result.config.aggregations:
            c = _cell(result, strategy=spec, aggregation=mode, k=k, malicious_ratio=RATIO)
            rows.append([spec, mode, *_row(c)])
        rows.append([spec, "trust (published rule)", *_row(_cell(published, strategy=spec))])
        verdicts.append(_verdict(spec, mean, [_cell(result, strategy=spec, aggregation=m, k=k, malicious_ratio=RATIO)
                                              for m in ROBUST_MODES]))
    first = result.config.strategies[0]  # ratio 0: no attacker, so any strategy's cells will do
    trade = [[mode, str(kk), _f(c["evaluator_reward_mean"]), _f(c["evaluator_reward_var"], ".4f")]
             for mode in ("mean", "median") for kk in result.config.ks
             for c in [_cell(result, strategy=first, aggregation=mode, k=kk, malicious_ratio=0.0)]]
    proxy = "token F1 x 10" if result.proxy == "f1" else "the honest evaluators' mean score"
    return "\n\n".join([
        f"{rounds} rounds per cell on this run's real scores; a pool of {result.config.pool_size} evaluator "
        f"instances cloned from the run's evaluators, {int(RATIO * 100)} % of them malicious (a seeded subset), "
        f"K={k}. Alignment: Spearman and MAE of the consensus Q x 10 against {proxy} per round. Trust rows use "
        "the contract's robust rule (median center, panel-mean pivot, no decay); the published rule "
        "(pivot 0.5 against the weighted consensus) is shown for comparison. The whole grid "
        f"(ratios {', '.join(f'{r:g}' for r in result.config.ratios)}; K {', '.join(map(str, result.config.ks))}) "
        f"is in [{SWEEP_DIR}/sweep.md]({SWEEP_DIR}/sweep.md).",
        "The reward gap (honest − malicious mean R_M) also carries the cost difference of the real evaluators "
        "the malicious instances clone. The matched gap compares like with like: honest − malicious R_M "
        "among the instances of one real evaluator (same cost; the scores it would have reported), "
        "weighted by malicious seats. The closeness gap (the reward gap for 1 − d) is the quality term alone.",
        md_table(["strategy", "aggregation", "Spearman", "MAE", "honest R_M", "malicious R_M", "reward gap",
                  "matched gap", "closeness gap"], rows),
        "\n".join(verdicts),
        "Evaluator rewards against K with no attacker (larger panels pay each evaluator less on average? "
        "and how much does it vary):",
        md_table(["aggregation", "K", "evaluator reward mean", "variance"], trade),
        "\n".join(f"![{p.stem}]({SWEEP_DIR}/{p.name})" for p in paths if p.suffix == ".png"),
    ])


def _row(c: dict[str, Any]) -> list[str]:
    return [_f(c[key]) for key in ("spearman", "mae", "honest_reward_mean", "malicious_reward_mean", "reward_gap",
                                   "matched_gap", "closeness_gap")]


def _verdict(spec: str, mean: dict[str, Any], robust: list[dict[str, Any]]) -> str:
    better = [c["aggregation"] for c in robust
              if c["spearman"] is not None and mean["spearman"] is not None and c["spearman"] > mean["spearman"]
              and c["mae"] < mean["mae"]]
    cheaper = [c["aggregation"] for c in robust if (c["matched_gap"] or 0) > 0]
    wider = [c["aggregation"] for c in robust if (c["matched_gap"] or 0) > (mean["matched_gap"] or 0)]
    apart = [c["aggregation"] for c in robust if (c["closeness_gap"] or 0) > (mean["closeness_gap"] or 0)]
    worse = [c["aggregation"] for c in robust if c["aggregation"] not in better]
    line = (f"- {spec}: better than the mean (higher Spearman and lower MAE) under "
            f"{', '.join(better) or 'none'}" + (f"; not under {', '.join(worse)}" if worse else "")
            + f" (mean: Spearman {_f(mean['spearman'])}, MAE {_f(mean['mae'])}).")
    return line + (f" Malicious evaluators earn less than honest instances of the same evaluator (matched gap "
                   f"> 0) under {', '.join(cheaper) or 'none'} of the robust modes, and more so than under the "
                   f"mean (matched gap {_f(mean['matched_gap'])}) under {', '.join(wider) or 'none'}; their "
                   f"closeness gap exceeds the mean's ({_f(mean['closeness_gap'])}) under "
                   f"{', '.join(apart) or 'none'}.")


def multidim_section(run: Path, *, rounds: int = 5000, seed: int = 0) -> str | None:
    """The audit, the held-out comparison and PoQ rewards with the composite; None before `eval multidim`."""
    path = run / MULTIDIM_FILE
    if not path.is_file():
        return None
    data = read_json(path)
    parts = [f"{data['answers']} answers; dimensions {', '.join(data['dimensions'])}. Records split (seed "
             f"{data['seed']}) into {data['records']['calibration']} for calibration and "
             f"{data['records']['holdout']} held out; every comparison below is on the held-out half."]
    for task in TASKS:
        audit = data["tasks"].get(task)
        if audit is None:
            continue
        rel = audit["reliability"]
        parts.append(f"**{TASK_LABEL[task]}: reliability of each dimension (Spearman with F1)**\n\n" + md_table(
            ["dimension", "calibration rho", "held-out rho", "held-out r", "weight"],
            [[d, _f(rel[d]["calibration"]["spearman"]), _f(rel[d]["holdout"]["spearman"]),
              _f(rel[d]["holdout"]["pearson"]), _f(audit["weights"].get(d, 0.0), ".2f")] for d in data["dimensions"]]))
        held = audit["holdout"]
        parts.append(f"**{TASK_LABEL[task]}: held-out correlation with F1**\n\n" + md_table(
            ["signal", "Pearson", "Spearman"],
            [[name, _f(v["pearson"]), _f(v["spearman"])] for name, v in held.items()]))
        if audit["ablations"]:
            parts.append(f"**{TASK_LABEL[task]}: ablations** (calibrated composite without one dimension, held-out "
                         "Spearman)\n\n" + md_table(["dropped", "Spearman"], [[d, _f(v["spearman"])]
                                                                          for d, v in audit["ablations"].items()]))
        parts.append(_composite_verdict(TASK_LABEL[task], held))
    composite_run = run / COMPOSITE_DIR
    if (composite_run / "scores.jsonl").is_file():
        sim = simulate(load_inputs(composite_run), SimConfig(rounds=rounds, seed=seed, k=1, evaluator_reward=PAPER))
        stats = sim.inference.as_dict()
        parts.append(f"PoQ with the calibrated composite as the quality signal ({rounds} rounds, K=1, seed {seed}):\n\n"
                     + md_table(["inference node", "avg reward", "jobs"],
                              [[n, _f(s["avg_reward"]), str(s["jobs"])] for n, s in stats.items()]))
    return "\n\n".join(parts)


def _composite_verdict(label: str, held: dict[str, dict[str, float]]) -> str:
    singles = {n: v["spearman"] for n, v in held.items()
               if not n.startswith("composite") and n != "mean consensus" and v["spearman"] == v["spearman"]}
    best = max(singles, key=lambda n: singles[n]) if singles else None
    ours = held["composite (calibrated)"]["spearman"]
    consensus = held["mean consensus"]["spearman"]
    if best is None:
        return f"- {label}: no single evaluator to compare with."
    beats = [name for name, value in ((best, singles[best]), ("mean consensus", consensus)) if ours >= value]
    return (f"- {label}: calibrated composite rho {_f(ours)} vs best single evaluator {best} {_f(singles[best])} "
            f"and mean consensus {_f(consensus)}: it "
            + (f"matches or beats {' and '.join(beats)}." if beats else "beats neither."))
