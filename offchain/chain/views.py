"""Read models over the chain: the per-node balances table and a task's full story.

Stake and withdrawable balance are contract state; jobs and cumulative reward are the sums of the
contract's RewardsSettled events (one per participant and batch; the contract does not store them), and
an evaluator's informativeness (its mean peer agreement per settled seat) of its EvaluatorInformed events.
A task's texts and outcome come from its batch's events (offchain.chain.batches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from offchain.chain.batches import batch_record, task_record
from offchain.chain.client import PoQClient
from offchain.protocol import WAD
from offchain.protocol.types import Role, Stage, Status, from_score_units


@dataclass(frozen=True)
class NodeRow:
    address: str
    role: str
    model: str
    status: str
    stake_wei: int
    balance_wei: int
    cumulative_reward: float  # reward units (WAD / 1e18), signed
    cumulative_wei: int  # signed wei credited (+) or debited from stake (-)
    jobs: int
    latency_ms: float | None  # measured cost: the contract's moving average of ms per task or seat
    trust: float | None = None  # evaluator trust weight (trustInitial until a trust-weighted task moves it)
    declared_ms: float | None = None  # the node's declared latency (a claim; never enters a reward)
    units: int = 0  # sampling weight: floor(stake / minStake)
    information: float | None = None  # evaluator: mean informativeness I per settled seat, in [-1, 1]
    informed_seats: int = 0

    @property
    def average_reward(self) -> float:
        return self.cumulative_reward / self.jobs if self.jobs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "average_reward": self.average_reward}


def settled_totals(client: PoQClient, from_block: int | None = None) -> dict[str, tuple[int, int, int]]:
    """account -> (jobs, cumulative reward WAD, cumulative wei) from RewardsSettled events."""
    start = client.manifest.block_number if from_block is None else from_block
    return totals_of(e["args"] for e in client.events("RewardsSettled", from_block=start))


def totals_of(settled: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int, int]]:
    """account -> (jobs, reward WAD, wei) summed over the arguments of RewardsSettled events already read."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for args in settled:
        row = totals[str(args["account"])]
        row[0] += int(args["jobs"])
        row[1] += int(args["rewardWad"])
        row[2] += int(args["amountWei"])
    return {account: (jobs, reward, amount) for account, (jobs, reward, amount) in totals.items()}


def informed_totals(informed: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """evaluator -> (seats, summed informativeness WAD) over the arguments of EvaluatorInformed events."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for args in informed:
        row = totals[str(args["evaluator"])]
        row[0] += int(args["seats"])
        row[1] += int(args["informationWad"])
    return {account: (seats, total) for account, (seats, total) in totals.items()}


def node_rows(client: PoQClient, totals: Mapping[str, tuple[int, int, int]] | None = None,
              informed: Mapping[str, tuple[int, int]] | None = None) -> list[NodeRow]:
    """Every registered node, in registration order, with its settled totals and informativeness
    (`settled_totals`, `informed_totals` over the chain's events unless the caller read them already,
    e.g. over its own event log)."""
    totals = settled_totals(client) if totals is None else totals
    if informed is None:
        start = client.manifest.block_number
        informed = informed_totals(e["args"] for e in client.events("EvaluatorInformed", from_block=start))
    rows = []
    for node_id in range(1, int(client.call("nodeCount")) + 1):
        address = str(client.call("nodeAt", node_id))
        node = client.node(address)
        jobs, reward, amount = totals.get(address, (0, 0, 0))
        role = Role(int(node["role"]))
        measured = int(node["costSamples"]) > 0
        declared = int(node["declaredUs"])
        seats, information = informed.get(address, (0, 0))
        rows.append(
            NodeRow(
                address=address,
                role=role.label,
                model=str(node["model"]),
                status=Status(int(node["status"])).label,
                stake_wei=int(node["stake"]),
                balance_wei=int(node["balance"]),
                cumulative_reward=reward / WAD,
                cumulative_wei=amount,
                jobs=jobs,
                latency_ms=int(node["costUs"]) / 1000 if measured else None,
                trust=int(node["trustWeight"]) / WAD if role is Role.EVALUATOR else None,
                declared_ms=declared / 1000 if declared else None,
                units=int(node["units"]),
                information=information / seats / WAD if seats else None,
                informed_seats=seats,
            )
        )
    return rows


def task_story(client: PoQClient, task_id: int) -> dict[str, Any]:
    """A task's batch stage, texts, node, panel with scores, quality and rewards (UnknownTask if none)."""
    located = client.call("getTask", task_id)  # reverts UnknownTask for an id never opened
    batch_id, index = int(located[0]), int(located[1])
    stage, deadline = client.call("stageOf", batch_id, block="pending")
    record = batch_record(client, batch_id)
    assert record is not None  # getTask found the batch, so its BatchOpened event exists
    task = task_record(record, index, int(client.params()["k"]))
    task["stage"] = Stage(int(stage)).label
    task["deadline"] = int(deadline)
    task["fee_wei"] = record.fee // record.size
    for seat in task["evaluators"]:
        seat["score"] = from_score_units(seat["score"]) if seat["score"] is not None else None
    task["quality"] = task["quality"] / WAD if task["quality"] is not None else None
    if task["rewards"] is not None:
        task["rewards"] = {r["account"]: {"reward": r["reward_wad"] / WAD, "reward_wad": r["reward_wad"]}
                           for r in task["rewards"]}
    return task
