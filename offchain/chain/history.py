"""Event histories of the PoQ contract: settlements, trust updates, task trails, and the ETH it holds.

The contract keeps per-task data and cumulative rewards in events, not storage, so these read models
replay its logs. `EventLog` reads them incrementally (one `eth_getLogs` over the blocks not read yet,
decoded by topic), which keeps a refresh per block cheap however long the chain has run; the pure
functions below turn the log into histories (rewards and trust weights over blocks, each task's trail).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from web3.types import EventData

from offchain.chain.client import PoQClient

# The events the histories below read (settlement and the task lifecycle).
HISTORY_EVENTS = (
    "TaskOpened",
    "TaskAnswered",
    "EvaluatorSelected",
    "ScoreRevealed",
    "TaskFinalized",
    "TaskExpired",
    "RewardSettled",
    "TrustUpdated",
    "FeeRefunded",
)


class EventLog:
    """The contract's events since its deployment block, read incrementally and kept in order."""

    def __init__(self, client: PoQClient, names: tuple[str, ...] = HISTORY_EVENTS) -> None:
        self.client = client
        self.next_block = client.manifest.block_number  # the first block not read yet
        self._by_topic: dict[bytes, str] = {}
        for entry in client.manifest.abi:
            if entry.get("type") == "event" and entry.get("name") in names:
                self._by_topic[bytes(event_abi_to_log_topic(cast(ABIEvent, entry)))] = str(entry["name"])
        self._events: dict[str, list[EventData]] = {name: [] for name in names}

    def refresh(self, to_block: int) -> None:
        """Read and decode the logs of blocks [next_block, to_block]; a no-op when there are none."""
        if to_block < self.next_block:
            return
        logs = self.client.w3.eth.get_logs(
            {"address": self.client.contract.address, "fromBlock": self.next_block, "toBlock": to_block}
        )
        for log in logs:
            name = self._by_topic.get(bytes(log["topics"][0])) if log["topics"] else None
            if name is not None:
                event = getattr(self.client.contract.events, name)()
                self._events[name].append(event.process_log(log))
        self.next_block = to_block + 1

    def of(self, name: str) -> list[EventData]:
        """The events named `name` read so far, oldest first."""
        return self._events[name]


@dataclass(frozen=True)
class Settlement:
    """One RewardSettled event: a participant's reward for one task (negative: debited from stake)."""

    block: int
    task_id: int
    account: str
    reward_wad: int
    amount_wei: int


@dataclass(frozen=True)
class TrustPoint:
    """An evaluator's trust weight after a trust-weighted round (one TrustUpdated event)."""

    block: int
    task_id: int
    evaluator: str
    weight_wad: int


@dataclass
class TaskTrail:
    """What the events tell about one task: who answered, the panel, the scores, the settlement."""

    task_id: int
    opened_block: int
    requester: str
    node: str
    task_kind: int
    fee_wei: int
    answered: bool = False
    panel: list[str] = field(default_factory=list)  # evaluators by seat
    scores: dict[str, int] = field(default_factory=dict)  # revealed scores (contract units) by evaluator
    settled: str | None = None  # "Finalized" or "Expired" once settled
    settled_block: int | None = None
    quality_wad: int | None = None
    rewards: dict[str, int] = field(default_factory=dict)  # reward WAD by account
    refund_wei: int = 0


def settlements(log: EventLog) -> list[Settlement]:
    """Every RewardSettled event read so far, in chain order."""
    return [
        Settlement(
            block=int(e["blockNumber"]),
            task_id=int(e["args"]["taskId"]),
            account=str(e["args"]["account"]),
            reward_wad=int(e["args"]["rewardWad"]),
            amount_wei=int(e["args"]["amountWei"]),
        )
        for e in log.of("RewardSettled")
    ]


def cumulative_rewards(rows: list[Settlement]) -> dict[str, list[tuple[int, int]]]:
    """account -> [(block, cumulative reward WAD after that block)], one point per block it was paid in."""
    series: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        points = series[row.account]
        total = (points[-1][1] if points else 0) + row.reward_wad
        if points and points[-1][0] == row.block:
            points[-1] = (row.block, total)
        else:
            points.append((row.block, total))
    return dict(series)


def trust_updates(log: EventLog) -> list[TrustPoint]:
    """Every TrustUpdated event read so far, in chain order (empty unless trust weighting is on)."""
    return [
        TrustPoint(
            block=int(e["blockNumber"]),
            task_id=int(e["args"]["taskId"]),
            evaluator=str(e["args"]["evaluator"]),
            weight_wad=int(e["args"]["weight"]),
        )
        for e in log.of("TrustUpdated")
    ]


def task_trails(log: EventLog) -> dict[int, TaskTrail]:
    """task id -> its trail, for every task opened since the deployment."""
    trails: dict[int, TaskTrail] = {}
    for e in log.of("TaskOpened"):
        a = e["args"]
        trails[int(a["taskId"])] = TaskTrail(
            task_id=int(a["taskId"]),
            opened_block=int(e["blockNumber"]),
            requester=str(a["requester"]),
            node=str(a["node"]),
            task_kind=int(a["taskKind"]),
            fee_wei=int(a["fee"]),
        )

    def trail(event: EventData) -> TaskTrail | None:
        return trails.get(int(event["args"]["taskId"]))

    for e in log.of("TaskAnswered"):
        if (t := trail(e)) is not None:
            t.answered = True
    for e in sorted(log.of("EvaluatorSelected"), key=lambda e: int(e["args"]["seat"])):
        if (t := trail(e)) is not None:
            t.panel.append(str(e["args"]["evaluator"]))
    for e in log.of("ScoreRevealed"):
        if (t := trail(e)) is not None:
            t.scores[str(e["args"]["evaluator"])] = int(e["args"]["score"])
    for name in ("TaskFinalized", "TaskExpired"):
        for e in log.of(name):
            if (t := trail(e)) is not None:
                t.settled, t.settled_block = name.removeprefix("Task"), int(e["blockNumber"])
                t.quality_wad = int(e["args"]["quality"]) if name == "TaskFinalized" else None
    for e in log.of("RewardSettled"):
        if (t := trail(e)) is not None:
            t.rewards[str(e["args"]["account"])] = int(e["args"]["rewardWad"])
    for e in log.of("FeeRefunded"):
        if (t := trail(e)) is not None:
            t.refund_wei += int(e["args"]["amount"])
    return trails


@dataclass(frozen=True)
class Accounting:
    """The contract's ETH against what it owes: stakes + balances + unsettled fees + slashed reserve."""

    held_wei: int
    stakes_wei: int
    balances_wei: int
    escrow_wei: int
    slashed_wei: int

    @property
    def owed_wei(self) -> int:
        return self.stakes_wei + self.balances_wei + self.escrow_wei + self.slashed_wei

    @property
    def difference_wei(self) -> int:
        """held - owed: zero when every wei has a destination."""
        return self.held_wei - self.owed_wei

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_wei": self.held_wei,
            "stakes_wei": self.stakes_wei,
            "balances_wei": self.balances_wei,
            "escrow_wei": self.escrow_wei,
            "slashed_wei": self.slashed_wei,
            "owed_wei": self.owed_wei,
            "difference_wei": self.difference_wei,
        }


def contract_accounting(client: PoQClient, log: EventLog, nodes: list[str]) -> Accounting:
    """Stakes and balances of `nodes` and of every requester (refunds are credited to them), the fees
    of tasks not settled yet, and the slashed reserve, against the contract's ETH balance."""
    trails = task_trails(log)
    accounts = list(dict.fromkeys([*nodes, *(t.requester for t in trails.values())]))
    stakes = balances = 0
    for address in accounts:
        view = client.node(address)
        stakes += int(view["stake"])
        balances += int(view["balance"])
    return Accounting(
        held_wei=client.balance_of(client.address),
        stakes_wei=stakes,
        balances_wei=balances,
        escrow_wei=sum(t.fee_wei for t in trails.values() if t.settled is None),
        slashed_wei=int(client.call("slashedTotal")),
    )
