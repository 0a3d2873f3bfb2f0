"""The report's figures as PNG files (matplotlib, headless Agg backend).

Fig. 4: evaluator correlation bars (with F1, with the judge). Fig. 5: quality vs latency per model
(F1 and judge panels). Fig. 6: average reward per inference node and per evaluator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _num(x: float | None) -> float:
    return float(x) if x is not None and not math.isnan(x) else 0.0


def fig_correlations(path: Path, f1_r: Mapping[str, float | None],
                     judge_r: Mapping[str, float | None]) -> Path:
    """Fig. 4: mean Pearson r of each evaluator with F1 and with the judge."""
    plt = _plt()
    names = list(f1_r)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.38
    xs = range(len(names))
    ax.bar([x - width / 2 for x in xs], [_num(f1_r[n]) for n in names], width, label="with F1")
    ax.bar([x + width / 2 for x in xs], [_num(judge_r.get(n)) for n in names], width, label="with judge")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("Pearson r (mean over tasks)")
    ax.set_ylim(-1.05, 1.3)
    ax.set_title("Fig. 4: evaluator correlation")
    ax.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig_quality_latency(path: Path, latency_ms: Mapping[str, float], f1: Mapping[str, float],
                        judge: Mapping[str, float | None]) -> Path:
    """Fig. 5: mean F1 x 10 (left) and mean judge score (right) against latency per model."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True)
    for ax, values, label in ((axes[0], f1, "F1 x 10"), (axes[1], judge, "judge score")):
        for name, ms in latency_ms.items():
            y = values.get(name)
            if y is None or math.isnan(y):
                continue
            ax.scatter([ms], [y])
            ax.annotate(name, (ms, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel("latency per sample at batch 1 (ms)")
        ax.set_ylabel(label)
        ax.set_ylim(0, 10)
    fig.suptitle("Fig. 5: quality vs latency")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig_rewards(path: Path, node_reward: Mapping[str, float | None],
                eval_reward: Mapping[str, float | None]) -> Path:
    """Fig. 6: average simulated reward per inference node and per evaluator."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, values, title in ((axes[0], node_reward, "inference nodes (R_F)"),
                              (axes[1], eval_reward, "evaluators (R_M)")):
        names = list(values)
        ax.bar(names, [_num(values[n]) for n in names], color="tab:green")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(title)
        ax.set_ylabel("average reward")
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle("Fig. 6: average rewards")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
