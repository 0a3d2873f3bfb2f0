"""Every chain read of the dashboard, in one place: a JSON-able model of the deployment per block.

The web layer (server, page, scripts) sees only what this module returns: plain dicts of strings,
numbers and lists. When the contract's ABI changes, this module and `offchain.chain.history` follow
it and nothing else does. Amounts in wei travel as exact decimal ETH strings (`eth_text`), because a
JavaScript number cannot hold 18 digits; rewards are floats in reward units (WAD / 1e18).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from offchain.chain.batches import BatchRecord, task_record
from offchain.chain.client import PoQClient
from offchain.chain.connect import connect, short_reason
from offchain.chain.history import (
    EventLog,
    batch_stages,
    contract_accounting,
    cumulative_rewards,
    points_by_account,
)
from offchain.chain.manifest import manifest_path
from offchain.chain.views import informed_totals, node_rows, task_story, totals_of
from offchain.data.schema import TASKS
from offchain.errors import PoQError, RpcUnavailable, one_line
from offchain.protocol import AGGREGATIONS, WAD
from offchain.protocol.display import eth_text, param_text
from offchain.protocol.types import Role, Stage, from_score_units
from offchain.protocol.wad import to_wei

log = logging.getLogger("poq.dashboard")
LATEST_TASKS = 12  # rows in the "latest tasks" table
STAGE_NAMES = [s.label for s in Stage if s is not Stage.NONE]  # the way every task goes, in order


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def _label(model: str, address: str) -> str:
    """How the page names a node: its model and a short address (several nodes may run one model)."""
    return f"{model} {_short(address)}"


class ChainSource:
    """A read-only view of one deployment that follows its manifest and caches one snapshot per block.

    The client connects lazily: until the chain answers and `<deployments>/<chainId>.json` names a
    contract that exists, `snapshot()` says what is missing (status "waiting"). A new manifest (a
    redeploy) or a chain that went back in height reconnects from scratch. Reads are serialized by a
    lock, so concurrent requests never build the same block twice.
    """

    def __init__(self, rpc_url: str, deployments_dir: Path | str = Path("deployments")) -> None:
        self.rpc_url = rpc_url
        self.deployments_dir = Path(deployments_dir)
        self._lock = threading.Lock()
        self._connection: tuple[PoQClient, EventLog] | None = None
        self._manifest: tuple[int, int] | None = None  # the manifest file the connection was made from
        self._cached: tuple[tuple[str, int], dict[str, Any]] | None = None
        self._live_once = False  # a snapshot was built: a later failure is an error, not a wait

    # ------------------------------------------------------------------ connection

    def connection(self) -> tuple[PoQClient, EventLog]:
        """The client and its event log; connects (or reconnects after a redeploy) first. Raises PoQError."""
        if self._connection is not None and self._stamp(self._connection[0].manifest.chain_id) != self._manifest:
            self._connection = None
        if self._connection is None:
            client = PoQClient.connect(self.rpc_url, None, self.deployments_dir)
            self._manifest = self._stamp(client.manifest.chain_id)
            self._connection = client, EventLog(client)
        return self._connection

    def check(self) -> str:
        """Connect once (one-line PoQError when the RPC URL or the manifest is wrong); the address."""
        with self._lock:
            return self.connection()[0].address

    def alive(self) -> bool:
        """Whether anything answers JSON-RPC at the URL (no manifest needed)."""
        try:
            connect(self.rpc_url, timeout=2.0)
        except PoQError:
            return False
        return True

    def _head(self, client: PoQClient) -> int:
        try:
            return int(client.w3.eth.block_number)
        except Exception as exc:  # requests, OSError and web3 errors alike: the chain went away
            self._connection = None
            raise RpcUnavailable(self.rpc_url, short_reason(exc)) from None

    def _stamp(self, chain_id: int) -> tuple[int, int] | None:
        """The manifest file's (mtime, size): a redeploy rewrites it."""
        try:
            stat = manifest_path(chain_id, self.deployments_dir).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    # ------------------------------------------------------------------ the model

    def snapshot(self) -> dict[str, Any]:
        """The dashboard's whole model at the latest block, or {"status": "waiting"|"error", ...}."""
        with self._lock:
            try:
                client, events = self.connection()
                head = self._head(client)
                if head + 1 < events.next_block:  # the chain was reset under us: start over
                    self._connection = None
                    client, events = self.connection()
                key = (client.address, head)
                if self._cached is None or self._cached[0] != key:
                    self._cached = (key, {**build_snapshot(client, events, head), "rpc_url": self.rpc_url})
                self._live_once = True
                return self._cached[1]
            except Exception as exc:  # the page reports it and keeps polling; the next block may heal it
                if not isinstance(exc, PoQError):
                    log.exception("dashboard: reading the chain failed")
                status = "error" if self._live_once else "waiting"
                self._connection = None
                self._cached = None
                message = str(exc) if isinstance(exc, PoQError) else one_line(exc)
                return {"status": status, "error": message, "rpc_url": self.rpc_url}

    def task(self, task_id: int) -> dict[str, Any] | None:
        """One task's page model, or None when no such task exists (raises PoQError off chain)."""
        with self._lock:
            return task_page(self.connection()[0], task_id)


def task_page(client: PoQClient, task_id: int) -> dict[str, Any] | None:
    """One task's page model (texts, node, panel with scores, Q, rewards), or None when no such task
    exists. Its story comes from its batch's events (offchain.chain.views.task_story)."""
    if not 1 <= task_id <= int(client.call("taskCount")):
        return None
    story = task_story(client, task_id)
    stage = Stage[story["stage"].upper()]
    seats = story["evaluators"]
    labels = _labels(client, [story["node"], *(seat["address"] for seat in seats)])
    reward_unit = int(client.params()["rewardUnit"])
    return {
        "status": "live",
        "task_id": task_id,
        "batch_id": story["batch_id"],
        "index": story["index"],
        "stage": story["stage"],
        "settled": stage is Stage.FINALIZED,
        "expired": story["expired"],
        "kind": TASKS[story["task_kind"]] if 0 <= story["task_kind"] < len(TASKS) else str(story["task_kind"]),
        "requester": story["requester"],
        "node": {"address": story["node"], "label": labels[story["node"]]} if story["node"] else None,
        "fee_eth": eth_text(story["fee_wei"]),
        "texts": {key: story[key] for key in ("input", "output", "reference")},
        "panel": [
            {
                "address": seat["address"],
                "label": labels[seat["address"]],
                "state": _seat_state(seat, stage, story["expired"]),
                "score": seat["score"],
            }
            for seat in seats
        ],
        "quality": story["quality"],
        "rewards": [
            {"address": a, "label": labels.get(a, _short(a)), "reward": r["reward"],
             "eth": eth_text(to_wei(r["reward_wad"], reward_unit))}
            for a, r in (story["rewards"] or {}).items()
        ],
    }


def _labels(client: PoQClient, addresses: list[str | None]) -> dict[str, str]:
    """address -> how the page names it (model and short address), for a few addresses."""
    return {a: _label(str(client.node(a)["model"]), a) for a in dict.fromkeys(addresses) if a}


def _seat_state(seat: dict[str, Any], stage: Stage, expired: bool) -> str:
    """A panel seat as the page words it: what the evaluator did, or failed to do, in its batch."""
    if expired:  # its seat is void: a score revealed for it is ignored
        ignored = "; score ignored" if seat["score"] is not None else ""
        return f"void (task never answered{ignored})"
    if seat["score"] is not None:
        return "revealed"
    if seat["committed"]:
        return "never revealed" if stage >= Stage.CLOSED else "committed"
    return "never committed" if stage >= Stage.REVEALING else "waiting"


def build_snapshot(client: PoQClient, log: EventLog, head: int) -> dict[str, Any]:
    """The dashboard's model at block `head`: nodes, tasks by stage, latest tasks, plots, parameters,
    accounting. `log` is read up to `head` first."""
    log.refresh(head)
    params = client.params()
    rows = node_rows(client, totals_of(e.args for e in log.of("RewardsSettled")),
                     informed_totals(e.args for e in log.of("EvaluatorInformed")))
    labels = {row.address: _label(row.model, row.address) for row in rows}
    stages = batch_stages(client, log, head)
    nodes = [
        {
            "address": row.address,
            "label": labels[row.address],
            "role": row.role,
            "model": row.model,
            "status": row.status,
            "stake_eth": eth_text(row.stake_wei),
            "balance_eth": eth_text(row.balance_wei),
            "units": row.units,
            "cumulative_reward": row.cumulative_reward,
            "average_reward": row.average_reward,
            "jobs": row.jobs,
            "measured_ms": row.latency_ms,
            "declared_ms": row.declared_ms,
            "cost": int(client.call("normalizedCost", row.address)) / WAD,
            "trust": row.trust,
            "information": row.information,
        }
        for row in rows
    ]
    deployed = client.manifest.block_number
    # the plots start where the work does: the blocks of deploying and registering are flat lines
    since = min((record.opened_block for record in log.batches.values()), default=deployed)
    accounting = contract_accounting(client, log, head).as_dict()
    return {
        "status": "live",
        "block": head,
        "contract": {
            "address": client.address,
            "chain_id": client.manifest.chain_id,
            "deployed_block": deployed,
        },
        "nodes": nodes,
        "stages": _stage_counts(log.batches, stages),
        "expired": sum(bin(record.expired_mask).count("1") for record in log.batches.values()),
        "tasks": _latest_tasks(log, stages, labels),
        "task_count": sum(record.size for record in log.batches.values()),
        "batch_count": len(log.batches),
        "reward_history": _reward_history(log, labels, since, head),
        "reward_vs_cost": _reward_vs_cost(nodes),
        "trust_history": _trust_history(log, nodes, params, since, head),
        "params": _params_table(params),
        "accounting": {
            key.replace("_wei", "_eth"): eth_text(value) if key.endswith("_wei") else value
            for key, value in accounting.items()
        },
    }


def _stage_counts(batches: dict[int, BatchRecord], stages: dict[int, Stage]) -> list[dict[str, Any]]:
    """Per stage, in the order tasks go through them: how many tasks (and batches) stand there now."""
    counts: dict[str, dict[str, Any]] = {name: {"stage": name, "tasks": 0, "batches": 0} for name in STAGE_NAMES}
    for batch_id, record in batches.items():
        row = counts[stages[batch_id].label]
        row["tasks"] += record.size
        row["batches"] += 1
    return list(counts.values())


def _latest_tasks(log: EventLog, stages: dict[int, Stage], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The newest LATEST_TASKS tasks, newest first: each with its batch's stage and its story."""
    rows: list[dict[str, Any]] = []
    for batch_id in sorted(log.batches, reverse=True):
        record = log.batches[batch_id]
        for index in reversed(range(record.size)):
            if len(rows) == LATEST_TASKS:
                return rows
            rows.append(_task_row(task_record(record, index, log.k), record, stages[batch_id], labels))
    return rows


def _task_row(task: dict[str, Any], record: BatchRecord, stage: Stage, labels: dict[str, str]) -> dict[str, Any]:
    """One row of the latest-tasks table, from `batches.task_record`."""
    def name(address: str) -> str:
        return labels.get(address, _short(address))

    return {
        "task_id": task["task_id"],
        "batch_id": task["batch_id"],
        "index": task["index"],
        "stage": stage.label,
        "opened_block": record.opened_block,
        "settled_block": record.finalized_block,
        "node": name(task["node"]) if task["node"] else None,
        "expired": task["expired"],
        "panel": [
            {"label": name(seat["address"]),
             "score": from_score_units(seat["score"]) if seat["score"] is not None else None}
            for seat in task["evaluators"]
        ],
        "quality": task["quality"] / WAD if task["quality"] is not None and not task["expired"] else None,
        "rewards": [{"label": name(r["account"]), "reward": r["reward_wad"] / WAD} for r in task["rewards"] or []],
    }


def _reward_history(log: EventLog, labels: dict[str, str], start: int, head: int) -> list[dict[str, Any]]:
    """Per node, cumulative reward (reward units) after each batch it was settled in, from 0 at `start`
    (the first batch's opening) to its latest value at `head` (steps, so every line reaches the present)."""
    series = cumulative_rewards(log)
    out = []
    for address, label in labels.items():
        points = [[start, 0.0], *([block, total / WAD] for block, total in series.get(address, []))]
        points.append([head, points[-1][1]])
        out.append({"address": address, "label": label, "points": points})
    return out


def _reward_vs_cost(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paper's Table 4 as points: per role, each node's measured cost (ms per task or seat, the
    contract's own measurement) against its average reward per job; normalized cost C rides along.
    Nodes without a settled job or without a measurement yet (one that never answered) are left out."""
    return [
        {
            "role": role.label,
            "points": [
                {"label": n["label"], "measured_ms": n["measured_ms"], "cost": n["cost"],
                 "average_reward": n["average_reward"], "jobs": n["jobs"]}
                for n in nodes
                if n["role"] == role.label and n["jobs"] and n["measured_ms"] is not None
            ],
        }
        for role in (Role.INFERENCE, Role.EVALUATOR)
    ]


def _trust_history(
    log: EventLog, nodes: list[dict[str, Any]], params: dict[str, int], start: int, head: int
) -> list[dict[str, Any]] | None:
    """Per evaluator, its trust weight over blocks (one step per batch that moved it); None when the
    deployment does not weight by trust."""
    if AGGREGATIONS[params["aggregation"]] != "trust":
        return None
    updates = {evaluator: [[block, weight / WAD] for block, weight in points]
               for evaluator, points in points_by_account(log, "TrustUpdated", "evaluator", "weight").items()}
    out = []
    for node in nodes:
        if node["role"] != Role.EVALUATOR.label:
            continue
        points = [[start, params["trustInitial"] / WAD], *updates.get(node["address"], [])]
        points.append([head, points[-1][1]])
        out.append({"address": node["address"], "label": node["label"], "points": points})
    return out


def _params_table(params: dict[str, int]) -> list[dict[str, str]]:
    """The deployment's parameters, each with its raw value and a readable one."""
    return [{"name": name, "value": str(value), "shown": param_text(name, value)} for name, value in params.items()]
