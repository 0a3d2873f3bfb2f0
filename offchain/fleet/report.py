"""A fleet run's report (JSON + Markdown) and its replay logs, built from chain events and agent state."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from offchain.agents.texts import task_texts
from offchain.chain.views import NodeRow, node_rows
from offchain.fleet.run import FleetResult
from offchain.models.replay import text_key
from offchain.protocol.types import from_score_units


def write_report(result: FleetResult) -> Path:
    """report.json, report.md, generations.jsonl and scores.jsonl under the run directory."""
    client, run_dir = result.client, result.run_dir
    rows = node_rows(client)
    model_of = {row.address: row.model for row in rows}
    latency_of = {row.address: (row.latency_ms or 0.0) / 1000 for row in rows}
    latencies = _answer_latencies(run_dir)
    tasks, generations, scores = [], [], []
    start = client.manifest.block_number
    for task_id, _, data in result.tasks:
        texts = task_texts(client, task_id)
        story = client.task(task_id)
        node = str(story["node"])
        if texts["output"] is not None:
            generations.append(
                {
                    "model": model_of.get(node, node),
                    "key": text_key(texts["input"] or ""),
                    "output": texts["output"],
                    "latency_s": latencies.get(task_id, 0.0),
                }
            )
        revealed = client.events("ScoreRevealed", from_block=start, taskId=task_id)
        pair = (texts["reference"] or texts["input"] or "", texts["output"] or "")
        for event in revealed:
            evaluator = str(event["args"]["evaluator"])
            scores.append(
                {
                    "evaluator": model_of.get(evaluator, evaluator),
                    "key": text_key(*pair),
                    "score": from_score_units(int(event["args"]["score"])),
                    "latency_s": latency_of.get(evaluator, 0.0),
                }
            )
        tasks.append(
            {
                "task_id": task_id,
                "record": data.get("record_id"),
                "task": data.get("task"),
                "phase": data.get("phase"),
                "node_model": model_of.get(node, node),
                "quality": data.get("quality"),
                "scores": {
                    model_of.get(str(e["args"]["evaluator"]), ""): from_score_units(int(e["args"]["score"]))
                    for e in revealed
                },
                "rewards": {model_of.get(a, "requester"): r for a, r in (data.get("rewards") or {}).items()},
            }
        )
    report = {
        "contract": client.address,
        "chain_id": client.manifest.chain_id,
        "timings": result.timings,
        "tasks": tasks,
        "nodes": [r.as_dict() for r in rows],
    }
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    _write_jsonl(run_dir / "generations.jsonl", generations)
    _write_jsonl(run_dir / "scores.jsonl", scores)
    (run_dir / "report.md").write_text(_markdown(report, rows))
    return run_dir / "report.md"


def _answer_latencies(run_dir: Path) -> dict[int, float]:
    out: dict[int, float] = {}
    for path in sorted((run_dir / "agents").rglob("inference-*.sqlite")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            for task_id, data in db.execute("SELECT task_id, data FROM items"):
                latency = json.loads(data).get("latency_s")
                if latency is not None:
                    out[int(task_id)] = float(latency)
    return out


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _markdown(report: dict[str, Any], rows: list[NodeRow]) -> str:
    lines = [f"# Fleet run on chain {report['chain_id']}, contract {report['contract']}", ""]
    t = report["timings"]
    lines += [
        f"Agents ready after {t.get('agents_ready_s', 0):.0f} s; workload {t.get('workload_s', 0):.0f} s; "
        f"total {t.get('total_s', 0):.0f} s.",
        "",
        "## Balances (settled on chain)",
        "",
        "| node | role | model | stake ETH | balance ETH | cum. reward | jobs | avg reward | latency ms | trust |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        latency = f"{r.latency_ms:.1f}" if r.latency_ms is not None else "-"
        lines.append(
            f"| {r.address[:10]}… | {r.role} | {r.model} | {r.stake_wei / 1e18:.4f} | "
            f"{r.balance_wei / 1e18:.6f} | {r.cumulative_reward:+.3f} | {r.jobs} | "
            f"{r.average_reward:+.3f} | {latency} | {'-' if r.trust is None else f'{r.trust:.3f}'} |"
        )
    by_model: dict[str, list[float]] = defaultdict(list)
    for task in report["tasks"]:
        if task["quality"] is not None:
            by_model[task["node_model"]].append(task["quality"])
    lines += [
        "",
        "## Consensus quality Q per inference model",
        "",
        "| model | tasks | mean Q |",
        "|---|---:|---:|",
    ]
    for model, qs in sorted(by_model.items()):
        lines.append(f"| {model} | {len(qs)} | {sum(qs) / len(qs):.3f} |")
    lines += ["", "## Tasks", "", "| task | type | node | Q | scores |", "|---:|---|---|---:|---|"]
    for task in report["tasks"]:
        q = f"{task['quality']:.3f}" if task["quality"] is not None else "-"
        scores = ", ".join(f"{k} {v:.2f}" for k, v in task["scores"].items())
        lines.append(f"| {task['task_id']} | {task['task']} | {task['node_model']} | {q} | {scores} |")
    return "\n".join(lines) + "\n"
