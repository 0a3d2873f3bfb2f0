"""The paper's three findings, checked against this run's numbers (pure: dicts in, verdicts out).

1. The STS-style bi-encoder correlates best with F1 and with the judge.
2. Quality per latency, not parameter count, orders the inference nodes' rewards.
3. Cost-aware rewards favour high-quality low-cost nodes and efficient informative evaluators.

Each check returns a `Verdict` whose text quotes the figures it was decided on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from offchain.metrics import spearman

CLAIMS = {
    1: "the STS-style bi-encoder correlates best with F1 and with the judge",
    2: "quality per latency, not parameter count, decides the reward order of inference nodes",
    3: "cost-aware rewards favour high-quality low-cost nodes and efficient informative evaluators",
}
STATUSES = ("holds", "partly holds", "inconclusive", "does not hold", "not testable")


@dataclass(frozen=True)
class Verdict:
    finding: int
    status: str
    """One of STATUSES."""
    detail: str

    @property
    def line(self) -> str:
        return f"- Finding {self.finding} ({CLAIMS[self.finding]}): {self.status}: {self.detail}"


def _ok(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return format(x, spec) if _ok(x) else "n/a"


def _best(values: Mapping[str, float | None]) -> str | None:
    known = {k: v for k, v in values.items() if _ok(v)}
    return max(known, key=lambda k: known[k]) if known else None  # type: ignore[arg-type, return-value]


def finding_1(f1_r: Mapping[str, float | None], judge_r: Mapping[str, float | None],
              kinds: Mapping[str, str]) -> Verdict:
    """Mean Pearson r per evaluator with F1 and with the judge; ``kinds`` name the bi-encoders."""
    best_f1, best_judge = _best(f1_r), _best(judge_r)
    if best_f1 is None:
        return Verdict(1, "not testable", "no evaluator has a defined correlation with F1")
    bi = {name for name, kind in kinds.items() if kind == "bi-encoder"}
    if not bi:
        return Verdict(1, "not testable", "no bi-encoder among the evaluators")
    lead = best_f1 if best_f1 in bi else _best({k: f1_r.get(k) for k in bi}) or sorted(bi)[0]
    text = f"{lead} r={_fmt(f1_r.get(lead))} with F1"
    text += " (best)" if lead == best_f1 else f" (best: {best_f1} {_fmt(f1_r[best_f1])})"
    if best_judge is None:
        text += ", no judge correlations"
        wins = [best_f1 in bi]
    else:
        text += f", {_fmt(judge_r.get(lead))} with the judge"
        text += " (best)" if lead == best_judge else f" (best: {best_judge} {_fmt(judge_r[best_judge])})"
        wins = [best_f1 in bi, best_judge in bi]
    status = "holds" if all(wins) else ("partly holds" if any(wins) else "does not hold")
    return Verdict(1, status, text)


def finding_2(f1: Mapping[str, float], latency_ms: Mapping[str, float],
              params: Mapping[str, float], reward: Mapping[str, float | None]) -> Verdict:
    """Rank agreement of the nodes' average reward with F1 per ms and with parameter count."""
    nodes = [n for n in reward if _ok(reward[n]) and n in f1 and n in latency_ms and n in params]
    if len(nodes) < 3:
        return Verdict(2, "not testable", f"{len(nodes)} inference node(s) with rewards; need 3")
    qpl = {n: f1[n] / latency_ms[n] if latency_ms[n] > 0 else math.inf for n in nodes}
    rewards = [float(reward[n]) for n in nodes]  # type: ignore[arg-type]
    rho_q = spearman(rewards, [qpl[n] for n in nodes])
    rho_p = spearman(rewards, [params[n] for n in nodes])
    best, worst = max(nodes, key=lambda n: qpl[n]), min(nodes, key=lambda n: qpl[n])
    ratio = qpl[best] / qpl[worst] if qpl[worst] > 0 else math.inf
    text = (f"Spearman of reward with F1 per ms {_fmt(rho_q)}, with parameter count {_fmt(rho_p)}; "
            f"{best} has {_fmt(ratio, '.1f')}x the F1 per ms of {worst}")
    if not _ok(rho_q) or rho_q < 0.5:
        return Verdict(2, "does not hold", text)
    if _ok(rho_p) and abs(rho_p) >= rho_q:
        return Verdict(2, "inconclusive", text + " (size orders the nodes as well)")
    return Verdict(2, "holds", text)


def _on_front(name: str, good: Mapping[str, float], cost: Mapping[str, float]) -> bool:
    """No other entry is at least as good and as cheap, and strictly better in one."""
    return not any(good[o] >= good[name] and cost[o] <= cost[name]
                   and (good[o] > good[name] or cost[o] < cost[name]) for o in good if o != name)


def finding_3(node_f1: Mapping[str, float], node_ms: Mapping[str, float],
              node_reward: Mapping[str, float | None], eval_r: Mapping[str, float | None],
              eval_ms: Mapping[str, float], eval_reward: Mapping[str, float | None]) -> Verdict:
    """Is the best-paid node on the (F1, latency) front, and the best-paid evaluator on the
    (correlation with F1, latency) front?"""
    top_node, top_eval = _best(node_reward), _best(eval_reward)
    if top_node is None or top_eval is None:
        return Verdict(3, "not testable", "no simulated rewards")
    nodes = {n: node_f1[n] for n in node_reward if n in node_f1}
    evals = {e: float(eval_r[e]) for e in eval_reward if _ok(eval_r.get(e))}  # type: ignore[arg-type]
    node_ok = _on_front(top_node, nodes, node_ms)
    eval_ok = top_eval in evals and _on_front(top_eval, evals, eval_ms)
    text = (f"top node {top_node} (F1 {node_f1[top_node]:.2f}, {node_ms[top_node]:.0f} ms, reward "
            f"{_fmt(node_reward[top_node], '.3f')}) is {'' if node_ok else 'not '}on the quality-cost "
            f"front; top evaluator {top_eval} (r={_fmt(eval_r.get(top_eval))} with F1, "
            f"{eval_ms[top_eval]:.2f} ms/pair, reward {_fmt(eval_reward[top_eval], '.3f')}) is "
            f"{'' if eval_ok else 'not '}on the informativeness-cost front")
    status = "holds" if node_ok and eval_ok else ("partly holds" if node_ok or eval_ok else "does not hold")
    return Verdict(3, status, text)
