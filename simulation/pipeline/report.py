"""`poq report`: the Monte Carlo on a run directory, then Tables 1–4, Figs. 4–6, the verdicts on the
paper's three findings and measured against claimed costs (report_costs), in ``RUN_DIR/report/``
(``report.md``, ``fig*.png``, ``report.json``).

Every reward comes from `simulation.montecarlo.simulate` (which uses `offchain.protocol`); this
module only aggregates files and formats.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from offchain.data import TASKS
from offchain.errors import ConfigError
from offchain.models import EVALUATORS
from simulation.inputs import load_inputs
from simulation.montecarlo import SimConfig, SimResult, simulate
from simulation.peer import PAPER
from simulation.pipeline import figures, findings
from simulation.pipeline.config import (
    CORRELATIONS_FILE,
    EFFICIENCY_FILE,
    F1_FILE,
    GENERATIONS_FILE,
    JUDGE_FILE,
)
from simulation.pipeline.markdown import fmt as _f
from simulation.pipeline.markdown import md_table
from simulation.pipeline.report_costs import costs_section
from simulation.pipeline.report_robust import RATIO, multidim_section, robust_section
from simulation.pipeline.store import JsonlStore, Row, field_key, read_json, write_json

REPORT_DIR = "report"
TASK_LABEL = {"extractive_qa": "SQuAD", "summarization": "CNN/DM"}


@dataclass(frozen=True)
class ReportResult:
    path: Path
    verdicts: list[findings.Verdict]
    sim: SimResult


def _rows(path: Path) -> list[Row]:
    return JsonlStore(path, field_key("record", "node")).rows() if path.is_file() else []


def _json(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: run `poq eval run` with its stage first")
    return read_json(path)


def mean_by(rows: Sequence[Row], value: str) -> dict[str, dict[str, float]]:
    """node → task → mean of ``value`` (rows with a null value skipped), plus "all" over tasks."""
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get(value) is not None:
            groups[row["node"]][row["task"]].append(float(row[value]))
            groups[row["node"]]["all"].append(float(row[value]))
    return {n: {t: statistics.mean(v) for t, v in by.items()} for n, by in groups.items()}


def build_report(run_dir: str | Path, *, rounds: int = 5000, seed: int = 0, k: int = 3,
                 sweep_rounds: int = 2000) -> ReportResult:
    """Simulate, aggregate, draw and write the report; returns its path and the verdicts.

    ``sweep_rounds`` > 0 adds the robust-PoQ sweep on the run's scores; a ``multidim.json`` in the run
    (``poq eval multidim``) adds the multi-dimensional quality section.
    """
    run = Path(run_dir)
    inputs = load_inputs(run)
    k_used = min(k, len(inputs.evaluators))
    sim = simulate(inputs, SimConfig(rounds=rounds, seed=seed, k=k_used, evaluator_reward=PAPER))
    f1 = mean_by(_rows(run / F1_FILE), "f1")
    judged_rows = _rows(run / JUDGE_FILE)
    judge = mean_by([r for r in judged_rows if r.get("ok")], "score")
    corr = _json(run / CORRELATIONS_FILE)["evaluators"]
    eff = _json(run / EFFICIENCY_FILE)
    gens = _rows(run / GENERATIONS_FILE)
    nodes, evals = inputs.nodes, inputs.evaluators
    node_stats, eval_stats = sim.inference.as_dict(), sim.evaluator.as_dict()
    node_ms = dict(zip(nodes, map(float, inputs.node_latency_ms), strict=True))
    eval_ms = dict(zip(evals, map(float, inputs.evaluator_latency_ms), strict=True))
    f1_r = {e: corr.get(e, {}).get("f1", {}).get("pearson", {}).get("mean") for e in evals}
    judge_r = {e: corr.get(e, {}).get("judge", {}).get("pearson", {}).get("mean") for e in evals}
    node_reward = {n: node_stats[n]["avg_reward"] for n in nodes}
    eval_reward = {e: eval_stats[e]["avg_reward"] for e in evals}
    kinds = {e: EVALUATORS.get(e).kind if e in EVALUATORS else "unknown" for e in evals}
    params = {n: float(eff["generators"][n]["params"]) for n in nodes
              if "params" in eff.get("generators", {}).get(n, {})}
    node_f1 = {n: f1.get(n, {}).get("all", math.nan) for n in nodes}
    verdicts = [
        findings.finding_1(f1_r, judge_r, kinds),
        findings.finding_2(node_f1, node_ms, params, node_reward),
        findings.finding_3(node_f1, node_ms, node_reward, f1_r, eval_ms, eval_reward),
    ]
    out = run / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    figs = [figures.fig_correlations(out / "fig4_correlations.png", f1_r, judge_r),
            figures.fig_quality_latency(out / "fig5_quality_latency.png", node_ms,
                                        {n: node_f1[n] for n in nodes},
                                        {n: judge.get(n, {}).get("all") for n in nodes}),
            figures.fig_rewards(out / "fig6_rewards.png", node_reward, eval_reward)]
    failures = sum(1 for r in judged_rows if not r.get("ok"))
    sections = [
        f"# PoQ evaluation report: {run.name}",
        "## Table 1: set-up\n\n" + _table1(run, inputs, gens, eff, kinds, judged_rows, failures, sim),
        "## Table 2: quality per model\n\n" + _table2(nodes, f1, judge, eff),
        "## Table 3: evaluator correlations\n\n" + _table3(evals, corr),
        f"## Table 4: simulated rewards ({rounds} rounds, K={k_used}, seed {seed})\n\n"
        + _table4(node_stats, eval_stats),
        "## Figures\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in figs),
        "## The paper's findings, checked on these numbers\n\n" + "\n".join(v.line for v in verdicts),
    ]
    costs_text, costs_data = costs_section(inputs, rounds=rounds, seed=seed, k=k_used)
    sections.append("## Measured costs vs claimed costs\n\n" + costs_text)
    if sweep_rounds:
        sections.append(f"## Robust PoQ under attack ({int(100 * RATIO)} % malicious evaluators)\n\n"
                        + robust_section(inputs, out, rounds=sweep_rounds, seed=seed, k=k_used))
    multidim = multidim_section(run, rounds=rounds, seed=seed)
    sections.append("## Multi-dimensional quality\n\n" + (multidim or "Not computed: run `poq eval multidim "
                                                                          f"{run}` and then this report again."))
    path = out / "report.md"
    path.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    write_json(out / "report.json", {"simulation": sim.as_dict(), "config": asdict(sim.config),
                                     "findings": [vars(v) for v in verdicts], "costs": costs_data})
    return ReportResult(path, verdicts, sim)


def _table1(run: Path, inputs: Any, gens: Sequence[Row], eff: dict[str, Any], kinds: dict[str, str],
            judged: Sequence[Row], failures: int, sim: SimResult) -> str:
    grid = set(inputs.records)
    by_task: dict[str, set[str]] = defaultdict(set)
    for row in gens:
        if row["record"] in grid:
            by_task[row["task"]].add(row["record"])
    judges = sorted({r["judge"] for r in judged})
    rows = [["tasks", ", ".join(f"{TASK_LABEL[t]} {len(by_task[t])}" for t in TASKS)],
            ["inference nodes", ", ".join(
                f"{n} ({_f(eff['generators'].get(n, {}).get('params', math.nan) / 1e6, '.0f')}M)"
                for n in inputs.nodes)],
            ["evaluators", ", ".join(f"{e} ({kinds[e]})" for e in inputs.evaluators)],
            ["judge", (f"{', '.join(judges)}: {len(judged)} answers, {failures} failed"
                       if judged else "none (judge stage not run)")],
            ["ground truth", "token F1 x 10 (max over gold answers; CNN/DM vs highlights)"],
            ["simulation", f"{sim.config.rounds} rounds, K={sim.config.k}, alpha_F {sim.config.alpha_f:g}, "
                           f"beta_F {sim.config.beta_f:g}, alpha_M {sim.config.alpha_m:g}, "
                           f"beta_M {sim.config.beta_m:g}, {sim.config.aggregation}"]]
    return md_table(["item", "value"], rows)


def _table2(nodes: Sequence[str], f1: dict[str, dict[str, float]], judge: dict[str, dict[str, float]],
            eff: dict[str, Any]) -> str:
    rows = []
    for n in nodes:
        g = eff.get("generators", {}).get(n, {})
        rows.append([n] + [_f(f1.get(n, {}).get(t)) for t in TASKS]
                    + [_f(judge.get(n, {}).get(t)) for t in TASKS]
                    + [_f(g.get("latency_ms"), ".1f"), _f(g.get("throughput_sps")),
                       _f(g.get("peak_mb"), ".0f")])
    headers = (["model"] + [f"F1x10 {TASK_LABEL[t]}" for t in TASKS]
               + [f"judge {TASK_LABEL[t]}" for t in TASKS]
               + ["latency ms (b=1)", "samples/s (batched)", "peak MB"])
    return md_table(headers, rows)


def _table3(evals: Sequence[str], corr: dict[str, Any]) -> str:
    rows = []
    for e in evals:
        c = corr.get(e, {})
        row = [e]
        for signal in ("f1", "judge"):
            p, s = c.get(signal, {}).get("pearson", {}), c.get(signal, {}).get("spearman", {})
            row += [_f(p.get(t)) for t in TASKS] + [_f(p.get("mean")), _f(s.get("mean"))]
        rows.append(row)
    headers = ["evaluator"]
    for signal in ("F1", "judge"):
        headers += [f"r {signal} {TASK_LABEL[t]}" for t in TASKS] + [f"r {signal} mean", f"rho {signal} mean"]
    return md_table(headers, rows)


def _table4(node_stats: dict[str, Any], eval_stats: dict[str, Any]) -> str:
    rows = [[f"{role} {name}", _f(s["avg_reward"], ".3f"), _f(s["avg_latency_ms"], ".1f"),
             _f(s["cost_norm"], ".3f"), str(s["jobs"])]
            for role, stats in (("inference", node_stats), ("eval", eval_stats))
            for name, s in stats.items()]
    return md_table(["node", "avg reward", "latency ms", "cost", "jobs"], rows)
