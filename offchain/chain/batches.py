"""A batch's story, read back from the contract's events (texts and per-task outcomes live in logs).

The contract stores only what settlement reads and frees even that at finalize; inputs, outputs,
references, the draw, revealed scores and each task's settlement are in its events. `batch_record`
gathers one batch's events into a `BatchRecord`; `task_record` picks one task out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offchain.chain.client import PoQClient
from offchain.protocol.draw import decode_seats


@dataclass
class BatchRecord:
    batch_id: int
    requester: str
    first_task_id: int
    fee: int
    kinds: list[int]
    inputs: list[str]
    draw_block: int
    opened_block: int
    participants: list[str] = field(default_factory=list)
    inference_count: int = 0
    tasks: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # participant indices per task
    outputs: dict[int, str] = field(default_factory=dict)  # task index -> output
    references: list[str] | None = None
    scores: dict[str, list[int]] = field(default_factory=dict)  # evaluator -> scores in seat order
    quality: list[int] | None = None  # per task, WAD, once finalized
    rewards: list[int] | None = None  # per task: node, then K seats, WAD
    expired_mask: int = 0
    refund: int | None = None

    @property
    def size(self) -> int:
        return len(self.inputs)

    def node_of(self, index: int) -> str | None:
        return self.participants[self.tasks[index][0]] if self.tasks else None

    def panel_of(self, index: int) -> list[str]:
        return [self.participants[p] for p in self.tasks[index][1]] if self.tasks else []

    def tasks_of(self, node: str) -> list[int]:
        """A node's task indices, in the order its outputs are submitted."""
        return [t for t in range(len(self.tasks)) if (self.node_of(t) or "").lower() == node.lower()]

    def seats_of(self, evaluator: str) -> list[tuple[int, int]]:
        """An evaluator's (task index, seat) pairs, in the order its scores are committed."""
        return [(t, j) for t in range(len(self.tasks)) for j, e in enumerate(self.panel_of(t))
                if e.lower() == evaluator.lower()]

    def seat_score(self, index: int, seat: int) -> int | None:
        evaluator = self.panel_of(index)[seat]
        revealed = self.scores.get(evaluator)
        if revealed is None:
            return None
        return revealed[self.seats_of(evaluator).index((index, seat))]


def batch_record(client: PoQClient, batch_id: int) -> BatchRecord | None:
    """Everything the events say about batch `batch_id`; None when no such batch was opened."""
    start = client.manifest.block_number
    opened = client.events("BatchOpened", from_block=start, batchId=batch_id)
    if not opened:
        return None
    args = opened[0]["args"]
    record = BatchRecord(
        batch_id=batch_id,
        requester=str(args["requester"]),
        first_task_id=int(args["firstTaskId"]),
        fee=int(args["fee"]),
        kinds=[int(k) for k in args["kinds"]],
        inputs=[str(t) for t in args["inputs"]],
        draw_block=int(args["drawBlock"]),
        opened_block=int(opened[0]["blockNumber"]),
    )
    from_block = record.opened_block
    k = int(client.params()["k"])
    for event in client.events("BatchDrawn", from_block=from_block, batchId=batch_id):
        drawn = event["args"]
        record.participants = [str(a) for a in drawn["participants"]]
        record.inference_count = int(drawn["inferenceCount"])
        record.tasks = decode_seats(bytes(drawn["seats"]), k)
    for event in client.events("AnswersSubmitted", from_block=from_block, batchId=batch_id):
        node = str(event["args"]["node"])
        for index, text in zip(record.tasks_of(node), event["args"]["outputs"], strict=False):
            record.outputs[index] = str(text)
    for event in client.events("ReferencesRevealed", from_block=from_block, batchId=batch_id):
        record.references = [str(t) for t in event["args"]["references"]]
    for event in client.events("ScoresRevealed", from_block=from_block, batchId=batch_id):
        record.scores[str(event["args"]["evaluator"])] = [int(s) for s in event["args"]["scores"]]
    for event in client.events("BatchFinalized", from_block=from_block, batchId=batch_id):
        final = event["args"]
        record.quality = [int(q) for q in final["quality"]]
        record.rewards = [int(r) for r in final["rewardWad"]]
        record.expired_mask = int(final["expiredMask"])
        record.refund = int(final["refund"])
    return record


def task_record(record: BatchRecord, index: int, k: int) -> dict[str, Any]:
    """One task of a batch record: its texts, node, panel with scores, quality and rewards."""
    task: dict[str, Any] = {
        "batch_id": record.batch_id,
        "index": index,
        "task_id": record.first_task_id + index,
        "task_kind": record.kinds[index],
        "requester": record.requester,
        "input": record.inputs[index],
        "output": record.outputs.get(index),
        "reference": record.references[index] if record.references is not None else None,
        "node": record.node_of(index),
        "evaluators": [
            {"address": e, "score": record.seat_score(index, j)} for j, e in enumerate(record.panel_of(index))
        ],
        "expired": bool(record.expired_mask >> index & 1),
        "quality": record.quality[index] if record.quality is not None else None,
        "rewards": None,
    }
    if record.rewards is not None:
        row = record.rewards[index * (1 + k) : (index + 1) * (1 + k)]
        accounts = [record.node_of(index), *record.panel_of(index)]
        task["rewards"] = [{"account": a, "reward_wad": r} for a, r in zip(accounts, row, strict=False)]
    return task
