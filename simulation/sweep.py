"""Robustness sweep: malicious ratio x K x aggregation x attack strategy (adaptive robust PoQ, arXiv 2601.21189).

The evaluator pool. A run has a few real evaluators (the paper: 3); the sweep clones them into a pool
of `pool_size` (default 10) evaluator *instances*: instance i reuses the scores and latency of real
evaluator i mod m (named "<evaluator>#i"). For each malicious ratio, round(ratio x pool_size)
instances, a seeded random subset, are malicious: they report strategy(score) in place of their
real evaluator's score (offchain.agents.strategies; fresh randomness per round). Every cell draws the same
rounds (records, nodes, panels: one seed), so cells differ only by what they vary.

Per cell: consensus alignment with the ground-truth proxy, Spearman and MAE between the per-round
consensus Q x 10 and the proxy of the round's (record, node): F1 x 10 from f1.jsonl when the run has
it ("f1"), else the mean of all real (honest) evaluators' scores of that answer ("honest_mean");
inference and evaluator reward means and variances; the honest and malicious evaluators' mean
rewards and their gap, and the gap in closeness 1 - d alone (the reward gap also carries the cost
difference of the real evaluators the malicious instances happen to clone). The matched gap removes
that: honest minus malicious R_M among the instances of one real evaluator (same scores when honest,
same cost), averaged over the real evaluators weighted by their malicious seats. The trust cells loop over
rounds (simulation.montecarlo.trust_consensus), so they take most of the sweep's time.

R_M follows `SweepConfig.evaluator_reward`: "peer" by default (simulation.peer, batches of
`batch_size` rounds), "paper" for the report's sweep (simulation.pipeline.report_robust). The closeness
gap is the gap in 1 − d under either rule.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from offchain.agents.strategies import ATTACKS, Strategy, parse_strategy
from offchain.errors import ConfigError
from offchain.metrics import spearman
from simulation.inputs import SimInputs
from simulation.montecarlo import SIM_AGGREGATIONS, Adversary, SimConfig, TrustConfig, simulate
from simulation.peer import DEFAULT_BATCH_SIZE, PEER, check_rule

RATIOS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
KS = (1, 3, 5, 7)
POOL_SIZE = 10
FIELDS = ("strategy", "aggregation", "k", "malicious_ratio", "n_malicious", "spearman", "mae",
          "inference_reward_mean", "inference_reward_var", "evaluator_reward_mean", "evaluator_reward_var",
          "honest_reward_mean", "malicious_reward_mean", "reward_gap", "matched_gap", "closeness_gap")
TABLE_FILE, CSV_FILE, JSON_FILE = "sweep.md", "sweep.csv", "sweep.json"
ALIGNMENT_FIG, REWARD_FIG = "alignment_vs_ratio.png", "evaluator_reward_vs_k.png"


@dataclass(frozen=True)
class SweepConfig:
    """The grid and the per-cell simulation settings."""

    ratios: tuple[float, ...] = RATIOS
    ks: tuple[int, ...] = KS
    aggregations: tuple[str, ...] = SIM_AGGREGATIONS
    strategies: tuple[str, ...] = ATTACKS  # specs, e.g. "boost" or "boost:b=2"
    rounds: int = 2000
    seed: int = 0
    pool_size: int = POOL_SIZE
    alpha_f: float = 1.0
    beta_f: float = 0.5
    alpha_m: float = 1.0
    beta_m: float = 0.3
    trust: TrustConfig = field(default_factory=TrustConfig)
    evaluator_reward: str = PEER  # peer | paper (simulation.peer); `poq report` sweeps with paper
    batch_size: int = DEFAULT_BATCH_SIZE  # rounds per batch of the peer rule


@dataclass(frozen=True)
class SweepResult:
    config: SweepConfig
    proxy: str  # "f1" or "honest_mean"
    evaluators: list[str]  # the pool's instance names
    rows: list[dict[str, Any]]  # one per cell, keys FIELDS

    def as_dict(self) -> dict[str, Any]:
        config = asdict(self.config)
        return {"config": config, "proxy": self.proxy, "pool": self.evaluators, "cells": self.rows}


def evaluator_pool(inputs: SimInputs, size: int = POOL_SIZE) -> SimInputs:
    """Clone the run's evaluators into `size` instances: instance i is real evaluator i mod m."""
    if size < 1:
        raise ConfigError(f"the evaluator pool needs at least one instance, got {size}")
    base = pool_bases(len(inputs.evaluators), size)
    return SimInputs(inputs.records, inputs.nodes, [f"{inputs.evaluators[j]}#{i}" for i, j in enumerate(base)],
                     np.ascontiguousarray(inputs.scores[:, :, base]), inputs.node_latency_ms,
                     inputs.evaluator_latency_ms[base], inputs.f1)


def pool_bases(m: int, size: int) -> np.ndarray:
    """The real evaluator (index in 0..m-1) each of the pool's `size` instances clones."""
    return np.arange(size) % m


def malicious_mask(pool_size: int, ratio: float, seed: int) -> np.ndarray:
    """round(ratio x pool_size) malicious instances, a uniform subset drawn with `seed`."""
    n = int(round(ratio * pool_size))
    mask = np.zeros(pool_size, dtype=bool)
    mask[np.random.default_rng(seed).permutation(pool_size)[:n]] = True
    return mask


def _check(config: SweepConfig, inputs: SimInputs) -> list[Strategy]:
    if config.rounds < 2:
        raise ConfigError(f"the sweep needs at least 2 rounds per cell, got {config.rounds}")
    for ratio in config.ratios:
        if not 0 <= ratio <= 1:
            raise ConfigError(f"malicious ratios must be in [0, 1], got {ratio:g}")
    for k in config.ks:
        if not 1 <= k <= config.pool_size:
            raise ConfigError(f"K must be between 1 and the pool of {config.pool_size}, got {k}")
    for mode in config.aggregations:
        if mode not in SIM_AGGREGATIONS:
            raise ConfigError(f"unknown aggregation {mode!r}; choose from {', '.join(SIM_AGGREGATIONS)}")
    if not (config.ratios and config.ks and config.aggregations and config.strategies):
        raise ConfigError("every sweep axis needs at least one value")
    check_rule(config.evaluator_reward, config.batch_size)
    return [parse_strategy(spec) for spec in config.strategies]


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.size else None


def _var(x: np.ndarray) -> float | None:
    return float(x.var()) if x.size else None


def run_sweep(inputs: SimInputs, config: SweepConfig | None = None,
              progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Simulate every cell of the grid; `progress(done, total)` after each cell."""
    config = config or SweepConfig()
    strategies = _check(config, inputs)
    pool = evaluator_pool(inputs, config.pool_size)
    bases = pool_bases(len(inputs.evaluators), config.pool_size)
    if inputs.f1 is not None and not np.isnan(inputs.f1).all():
        proxy_name, proxy_grid = "f1", inputs.f1
    else:
        proxy_name, proxy_grid = "honest_mean", inputs.scores.mean(axis=2)
    total = len(strategies) * len(config.aggregations) * len(config.ks) * len(config.ratios)
    rows: list[dict[str, Any]] = []
    for s_index, (spec, strategy) in enumerate(zip(config.strategies, strategies, strict=True)):
        for mode in config.aggregations:
            for k in config.ks:
                sim = SimConfig(rounds=config.rounds, seed=config.seed, k=k, alpha_f=config.alpha_f,
                                beta_f=config.beta_f, alpha_m=config.alpha_m, beta_m=config.beta_m,
                                aggregation=mode, trust=config.trust, evaluator_reward=config.evaluator_reward,
                                batch_size=config.batch_size)
                for r_index, ratio in enumerate(config.ratios):
                    mask = malicious_mask(config.pool_size, ratio, config.seed + 7919 * r_index)
                    adversary = Adversary(mask, strategy, seed=config.seed + 104729 * (s_index + 1))
                    result = simulate(pool, sim, adversary if mask.any() else None)
                    rows.append(_cell(spec, mode, k, ratio, mask, bases, result, proxy_grid))
                    if progress is not None:
                        progress(len(rows), total)
    return SweepResult(config, proxy_name, pool.evaluators, rows)


def matched_gap(rewards: np.ndarray, seats: np.ndarray, mask: np.ndarray, bases: np.ndarray) -> float | None:
    """Honest − malicious mean reward among the instances of each real evaluator, averaged over the
    real evaluators with both kinds of seats, weighted by their malicious seats. `rewards` and
    `seats` (instance indices) are (rounds, K); `mask` and `bases` are per instance."""
    bad, seat_base = mask[seats], bases[seats]
    total, weight = 0.0, 0
    for j in np.unique(bases[mask]):
        honest, malicious = rewards[(seat_base == j) & ~bad], rewards[(seat_base == j) & bad]
        if honest.size and malicious.size:
            total += malicious.size * float(honest.mean() - malicious.mean())
            weight += malicious.size
    return total / weight if weight else None


def _cell(spec: str, mode: str, k: int, ratio: float, mask: np.ndarray, bases: np.ndarray, result: Any,
          proxy_grid: np.ndarray) -> dict[str, Any]:
    rounds = result.rounds
    consensus = rounds.quality * 10.0
    proxy = proxy_grid[rounds.record, rounds.node]
    known = ~np.isnan(proxy)
    rho = spearman(consensus[known], proxy[known]) if known.sum() >= 2 else math.nan
    mae = float(np.abs(consensus[known] - proxy[known]).mean()) if known.any() else math.nan
    bad = mask[rounds.evaluators]
    r_m = rounds.evaluator_rewards
    honest, malicious = _mean(r_m[~bad]), _mean(r_m[bad])
    closeness = 1.0 - np.abs(rounds.scores - consensus[:, None]) / 10.0  # (R, K), cost-free part of R_M
    return {
        "strategy": spec, "aggregation": mode, "k": k, "malicious_ratio": ratio, "n_malicious": int(mask.sum()),
        "spearman": None if math.isnan(rho) else rho, "mae": None if math.isnan(mae) else mae,
        "inference_reward_mean": _mean(rounds.node_reward), "inference_reward_var": _var(rounds.node_reward),
        "evaluator_reward_mean": _mean(r_m), "evaluator_reward_var": _var(r_m),
        "honest_reward_mean": honest, "malicious_reward_mean": malicious,
        "reward_gap": None if honest is None or malicious is None else honest - malicious,
        "matched_gap": matched_gap(r_m, rounds.evaluators, mask, bases),
        "closeness_gap": None if honest is None or malicious is None else
        float(closeness[~bad].mean() - closeness[bad].mean()),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rule(config: SweepConfig) -> str:
    return f"peer (batches of {config.batch_size} rounds)" if config.evaluator_reward == PEER else "paper (Eqs. 3-5)"


def markdown_table(result: SweepResult) -> str:
    """The whole grid as one Markdown table, preceded by what the proxy and the pool are."""
    c = result.config
    proxy = ("F1 x 10 of the round's answer (f1.jsonl)" if result.proxy == "f1"
             else "mean of the real (honest) evaluators' scores of the round's answer (no f1.jsonl)")
    lines = [
        "# PoQ robustness sweep",
        "",
        f"{c.rounds} rounds per cell, seed {c.seed}; pool of {c.pool_size} evaluator instances cloned from "
        f"the run's evaluators, malicious ones a seeded subset; αF {c.alpha_f:g}, βF {c.beta_f:g}, "
        f"αM {c.alpha_m:g}, βM {c.beta_m:g}; trust rule {c.trust.rule}; evaluator reward {_rule(c)}.",
        f"Alignment proxy: {proxy}. Spearman and MAE compare the consensus Q x 10 with it per round; "
        "reward gap = honest − malicious mean evaluator reward R_M; matched gap = the same among the instances "
        "of one real evaluator (equal cost), weighted by malicious seats; closeness gap = the same gap in "
        "1 − d, closeness to the consensus (the paper rule's R_M without its cost term, under either rule).",
        "",
        "| " + " | ".join(FIELDS) + " |",
        "|" + "|".join("---" for _ in FIELDS) + "|",
    ]
    lines += ["| " + " | ".join(_fmt(row[f]) for f in FIELDS) + " |" for row in result.rows]
    return "\n".join(lines) + "\n"


def write_outputs(result: SweepResult, out_dir: str | Path, figures: bool = True) -> list[Path]:
    """sweep.md, sweep.csv, sweep.json and (matplotlib installed) the two figures under out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / TABLE_FILE, out / CSV_FILE, out / JSON_FILE]
    paths[0].write_text(markdown_table(result), encoding="utf-8")
    with paths[1].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FIELDS))
        writer.writeheader()
        writer.writerows({f: "" if row[f] is None else row[f] for f in FIELDS} for row in result.rows)
    paths[2].write_text(json.dumps(result.as_dict(), indent=2), encoding="utf-8")
    if figures:
        paths += write_figures(result, out)
    return paths


def _series(rows: Sequence[dict[str, Any]], x: str, y: str, **where: Any) -> tuple[list[Any], list[float]]:
    chosen = sorted((r for r in rows if all(r[key] == value for key, value in where.items())), key=lambda r: r[x])
    return [r[x] for r in chosen], [math.nan if r[y] is None else r[y] for r in chosen]


def write_figures(result: SweepResult, out: Path, k: int = 3) -> list[Path]:
    """Alignment (Spearman, MAE) vs malicious ratio per aggregation, one column per strategy, at K = k
    (else the middle K); evaluator and inference reward mean and variance vs K per aggregation at
    ratio 0 (no attackers; strategy-independent) and at the largest ratio for the first strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c, rows = result.config, result.rows
    fig_k = k if k in c.ks else sorted(c.ks)[len(c.ks) // 2]
    strategies = list(c.strategies)
    fig, axes = plt.subplots(2, len(strategies), figsize=(3.6 * len(strategies), 6.2), squeeze=False)
    for col, spec in enumerate(strategies):
        for mode in c.aggregations:
            for row, metric in enumerate(("spearman", "mae")):
                xs, ys = _series(rows, "malicious_ratio", metric, strategy=spec, aggregation=mode, k=fig_k)
                axes[row][col].plot(xs, ys, marker="o", label=mode)
        axes[0][col].set_title(f"{spec} (K={fig_k})")
        axes[1][col].set_xlabel("malicious ratio")
    axes[0][0].set_ylabel(f"Spearman vs {result.proxy}")
    axes[1][0].set_ylabel(f"MAE vs {result.proxy}")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    alignment = out / ALIGNMENT_FIG
    fig.savefig(alignment, dpi=110)
    plt.close(fig)

    spec, worst = strategies[0], max(c.ratios)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("evaluator_reward_mean", "evaluator reward mean"), ("evaluator_reward_var", "evaluator reward variance"),
              ("inference_reward_mean", "inference reward mean"))
    for ax, (metric, label) in zip(axes, panels, strict=True):
        for i, mode in enumerate(c.aggregations):
            colour = f"C{i}"
            xs, ys = _series(rows, "k", metric, strategy=spec, aggregation=mode, malicious_ratio=min(c.ratios))
            ax.plot(xs, ys, marker="o", color=colour, label=f"{mode}, ratio {min(c.ratios):g}")
            if worst != min(c.ratios):
                xs, ys = _series(rows, "k", metric, strategy=spec, aggregation=mode, malicious_ratio=worst)
                ax.plot(xs, ys, marker="x", linestyle="--", color=colour, label=f"{mode}, {spec} {worst:g}")
        ax.set_xlabel("K (evaluators per round)")
        ax.set_title(label)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    rewards = out / REWARD_FIG
    fig.savefig(rewards, dpi=110)
    plt.close(fig)
    return [alignment, rewards]
