"""Read models over the chain: the per-node balances table and a task's full story.

Stake and withdrawable balance are contract state; jobs and cumulative reward are the sums of the
contract's RewardSettled events (the contract does not store them, which saves gas every round).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from offchain.chain.client import PoQClient
from offchain.protocol import WAD
from offchain.protocol.types import Phase, Role, Status, from_score_units


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
    latency_ms: float | None
    trust: float | None = None  # evaluator trust weight (1.0 until a trust-weighted round moves it)

    @property
    def average_reward(self) -> float:
        return self.cumulative_reward / self.jobs if self.jobs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "average_reward": self.average_reward}


def settled_totals(client: PoQClient, from_block: int | None = None) -> dict[str, tuple[int, int, int]]:
    """account -> (jobs, cumulative reward WAD, cumulative wei) from RewardSettled events."""
    start = client.manifest.block_number if from_block is None else from_block
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for event in client.events("RewardSettled", from_block=start):
        row = totals[str(event["args"]["account"])]
        row[0] += 1
        row[1] += int(event["args"]["rewardWad"])
        row[2] += int(event["args"]["amountWei"])
    return {account: (jobs, reward, amount) for account, (jobs, reward, amount) in totals.items()}


def node_rows(client: PoQClient) -> list[NodeRow]:
    """Every registered node, in registration order, with its settled totals."""
    totals = settled_totals(client)
    rows = []
    for node_id in range(1, int(client.call("nodeCount")) + 1):
        address = str(client.call("nodeAt", node_id))
        node = client.node(address)
        jobs, reward, amount = totals.get(address, (0, 0, 0))
        latency = int(node["latencyUs"])
        role = Role(int(node["role"]))
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
                latency_ms=latency / 1000 if latency else None,
                trust=int(node["trustWeight"]) / WAD if role is Role.EVALUATOR else None,
            )
        )
    return rows


def task_story(client: PoQClient, task_id: int) -> dict[str, Any]:
    """A task's on-chain state plus its input, output, reference and settlement from events."""
    task = client.task(task_id)
    story: dict[str, Any] = {
        "task_id": task_id,
        "phase": Phase(int(task["phase"])).label,
        "deadline": int(task["deadline"]),
        "task_kind": int(task["taskKind"]),
        "requester": task["requester"],
        "node": task["node"],
        "fee_wei": int(task["fee"]),
        "evaluators": [
            {"address": e, "committed": c, "revealed": r, "score": from_score_units(s) if r else None}
            for e, c, r, s in zip(
                task["evaluators"], task["committed"], task["revealed"], task["scores"], strict=True
            )
        ],
    }
    start = client.manifest.block_number
    for name, key, field in (
        ("TaskOpened", "input", "input"),
        ("TaskAnswered", "output", "output"),
        ("ReferenceRevealed", "reference", "referenceText"),
    ):
        events = client.events(name, from_block=start, taskId=task_id)
        story[key] = str(events[0]["args"][field]) if events else None
    finalized = client.events("TaskFinalized", from_block=start, taskId=task_id)
    story["quality"] = int(finalized[0]["args"]["quality"]) / WAD if finalized else None
    story["rewards"] = {
        str(e["args"]["account"]): {
            "reward": int(e["args"]["rewardWad"]) / WAD,
            "wei": int(e["args"]["amountWei"]),
        }
        for e in client.events("RewardSettled", from_block=start, taskId=task_id)
    }
    return story
