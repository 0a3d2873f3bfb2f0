"""A fleet run's report (JSON + Markdown) and its replay logs, built from chain events and agent state."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from offchain.chain.batches import BATCH_EVENTS, task_record
from offchain.chain.history import EventLog
from offchain.chain.views import NodeRow, node_rows
from offchain.models.replay import text_key
from offchain.protocol import WAD
from offchain.protocol.types import from_score_units
from poq.fleet.run import FleetResult


def write_report(result: FleetResult) -> Path:
    """report.json, report.md, generations.jsonl and scores.jsonl under the run directory."""
    client, run_dir = result.client, result.run_dir
    rows = node_rows(client)
    model_of = {row.address: row.model for row in rows}
    latency_of = {row.address: (row.latency_ms or 0.0) / 1000 for row in rows}
    latencies = _answer_latencies(run_dir)
    # every batch's record in one pass over the logs, not a read per batch and event
    log = EventLog(client, ("BatchOpened", *BATCH_EVENTS))
    log.refresh(int(client.w3.eth.block_number))
    tasks, generations, scores = [], [], []
    for task_id, _, data in result.tasks:
        batch_id = int(data["batch_id"])
        record = log.batches[batch_id]
        index = int(data["task_id"]) - record.first_task_id
        story = task_record(record, index, log.k)
        node = str(story["node"])
        if story["output"] is not None:
            generations.append({"model": model_of.get(node, node), "key": text_key(story["input"]),
                                "output": story["output"], "latency_s": latencies.get((batch_id, index), 0.0)})
        pair = (story["reference"] or story["input"] or "", story["output"] or "")
        revealed = {}
        for seat in story["evaluators"]:
            if seat["score"] is None:
                continue
            evaluator = seat["address"]
            score = from_score_units(int(seat["score"]))
            revealed[model_of.get(evaluator, evaluator)] = score
            scores.append({"evaluator": model_of.get(evaluator, evaluator), "key": text_key(*pair),
                           "score": score, "latency_s": latency_of.get(evaluator, 0.0)})
        tasks.append({
            "task_id": task_id,
            "batch_id": batch_id,
            "record": data.get("record_id"),
            "task": data.get("task"),
            "expired": story["expired"],
            "node_model": model_of.get(node, node),
            "quality": None if story["expired"] else data.get("quality"),
            "scores": revealed,
            "rewards": {model_of.get(r["account"], r["account"]): r["reward_wad"] / WAD
                        for r in story["rewards"] or []},
        })
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


def _answer_latencies(run_dir: Path) -> dict[tuple[int, int], float]:
    """(batch id, task index) -> the generator's own seconds for it, from the inference agents' state."""
    out: dict[tuple[int, int], float] = {}
    for path in sorted((run_dir / "agents").rglob("inference-*.sqlite")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            for batch_id, data in db.execute("SELECT batch_id, data FROM batches"):
                fields = json.loads(data)
                for task, latency in zip(fields.get("tasks", []), fields.get("latency_s", []), strict=False):
                    out[(int(batch_id), int(task))] = float(latency)
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
        "| node | role | model | stake ETH | balance ETH | cum. reward | jobs | avg reward | cost ms | declared ms "
        "| trust |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cost = f"{r.latency_ms:.1f}" if r.latency_ms is not None else "-"
        declared = f"{r.declared_ms:.1f}" if r.declared_ms is not None else "-"
        lines.append(
            f"| {r.address[:10]}… | {r.role} | {r.model} | {r.stake_wei / 1e18:.4f} | "
            f"{r.balance_wei / 1e18:.6f} | {r.cumulative_reward:+.3f} | {r.jobs} | "
            f"{r.average_reward:+.3f} | {cost} | {declared} | {'-' if r.trust is None else f'{r.trust:.3f}'} |"
        )
    lines += ["", "cost: the contract's measured response time per task or seat (rewards use it); declared: "
              "the node's own claim, checked against it."]
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
        q = "expired" if task.get("expired") else q
        lines.append(f"| {task['task_id']} | {task['task']} | {task['node_model']} | {q} | {scores} |")
    return "\n".join(lines) + "\n"
