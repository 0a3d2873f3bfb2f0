"""A batch's story, read back from the contract's events (texts and per-task outcomes live in logs).

The contract stores only what settlement reads and frees even that at finalize; inputs, outputs,
references, the draw, revealed scores and each task's settlement are in its events. `batch_record`
gathers one batch's events into a `BatchRecord`; `task_record` picks one task out of it. The fold
itself (`opened_record`, then `apply_event` per later event in chain order) also serves readers that
hold the logs already: the dashboard's incremental event log (offchain.chain.history) and the fleet's
audit (poq.fleet.audit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offchain.chain.client import PoQClient
from offchain.protocol import wad
from offchain.protocol.draw import decode_seats, seats_of, tasks_of

# A batch's events after BatchOpened, in the order its stages emit them.
BATCH_EVENTS = ("DrawRearmed", "BatchDrawn", "AnswersSubmitted", "ReferencesRevealed", "ScoresCommitted",
                "ScoresRevealed", "BatchFinalized")


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
    has_reference: bool = False  # the batch committed to references (revealed or not)
    scores: dict[str, list[int]] = field(default_factory=dict)  # evaluator -> scores in seat order
    quality: list[int] | None = None  # per task, WAD, once finalized
    rewards: list[int] | None = None  # per task: node, then K seats, WAD
    expired_mask: int = 0
    refund: int | None = None
    answered: list[str] = field(default_factory=list)  # nodes that submitted their answers
    committed: list[str] = field(default_factory=list)  # evaluators that committed their scores
    drawn_block: int | None = None
    finalized_block: int | None = None
    paid: int | None = None  # wei paid out of the fee at settlement

    @property
    def size(self) -> int:
        return len(self.inputs)

    @property
    def references_withheld(self) -> bool:
        """Committed references never revealed although answers came in (the fixed fee rule's bond)."""
        return self.has_reference and self.references is None and bool(self.answered)

    def node_of(self, index: int) -> str | None:
        return self.participants[self.tasks[index][0]] if self.tasks else None

    def panel_of(self, index: int) -> list[str]:
        return [self.participants[p] for p in self.tasks[index][1]] if self.tasks else []

    def index_of(self, address: str) -> int:
        """The address's participant index (-1 when it is not one)."""
        lowered = [a.lower() for a in self.participants]
        return lowered.index(address.lower()) if address.lower() in lowered else -1

    def tasks_of(self, node: str) -> list[int]:
        """A node's task indices, in the order its outputs are submitted."""
        return tasks_of(self.tasks, self.index_of(node))

    def seats_of(self, evaluator: str) -> list[tuple[int, int]]:
        """An evaluator's (task index, seat) pairs, in the order its scores are committed."""
        return seats_of(self.tasks, self.index_of(evaluator))

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
    record = opened_record(opened[0]["args"], int(opened[0]["blockNumber"]))
    k = int(client.params()["k"])
    for name in BATCH_EVENTS:
        for event in client.events(name, from_block=record.opened_block, batchId=batch_id):
            apply_event(record, name, event["args"], int(event["blockNumber"]), k)
    return record


def opened_record(args: Mapping[str, Any], block: int) -> BatchRecord:
    """A batch's record as its BatchOpened event (arguments `args`, in `block`) starts it."""
    return BatchRecord(
        batch_id=int(args["batchId"]),
        requester=str(args["requester"]),
        first_task_id=int(args["firstTaskId"]),
        fee=int(args["fee"]),
        kinds=[int(k) for k in args["kinds"]],
        inputs=[str(t) for t in args["inputs"]],
        draw_block=int(args["drawBlock"]),
        opened_block=block,
        has_reference=bytes(args["referenceCommitment"]) != bytes(32),
    )


def apply_event(record: BatchRecord, name: str, args: Mapping[str, Any], block: int, k: int) -> None:
    """Fold one of the batch's later events (BATCH_EVENTS: `name`, its arguments, its block) into its
    record; events must come in chain order (answers after the draw). Other events are ignored."""
    if name == "DrawRearmed":
        record.draw_block = int(args["drawBlock"])
    elif name == "BatchDrawn":
        record.participants = [str(a) for a in args["participants"]]
        record.inference_count = int(args["inferenceCount"])
        record.tasks = decode_seats(args["seats"], k)
        record.drawn_block = block
    elif name == "AnswersSubmitted":
        node = str(args["node"])
        record.answered.append(node)
        for index, text in zip(record.tasks_of(node), args["outputs"], strict=False):
            record.outputs[index] = str(text)
    elif name == "ReferencesRevealed":
        record.references = [str(t) for t in args["references"]]
    elif name == "ScoresCommitted":
        record.committed.append(str(args["evaluator"]))
    elif name == "ScoresRevealed":
        record.scores[str(args["evaluator"])] = [int(s) for s in args["scores"]]
    elif name == "BatchFinalized":
        record.quality = [int(q) for q in args["quality"]]
        record.rewards = [int(r) for r in args["rewardWad"]]
        record.expired_mask = int(args["expiredMask"])
        record.refund = int(args["refund"])
        record.paid = int(args["paid"])
        record.finalized_block = block


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
            {"address": e, "score": record.seat_score(index, j), "committed": e in record.committed}
            for j, e in enumerate(record.panel_of(index))
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


def finalize_arguments(client: PoQClient, batch_id: int) -> tuple[list[list[int]], list[list[int]]]:
    """`finalize`'s arguments after the batch id: the revealed scores (`revealed_scores`) and each
    evaluator participant's two middle scores (wad.middles), which the contract checks."""
    revealed = revealed_scores(client, batch_id)
    return revealed, [list(wad.middles(scores)) for scores in revealed]


def revealed_scores(client: PoQClient, batch_id: int) -> list[list[int]]:
    """What `finalize` takes: each evaluator participant's revealed scores, in participant order (empty
    for one that never revealed), read from the batch's BatchDrawn and ScoresRevealed events."""
    start = client.manifest.block_number
    draws = client.events("BatchDrawn", from_block=start, batchId=batch_id)
    if not draws:
        return []  # not drawn: finalize will say which stage the batch is in
    drawn = draws[0]
    revealed = {str(e["args"]["evaluator"]): [int(s) for s in e["args"]["scores"]]
                for e in client.events("ScoresRevealed", from_block=int(drawn["blockNumber"]), batchId=batch_id)}
    evaluators = [str(a) for a in drawn["args"]["participants"]][int(drawn["args"]["inferenceCount"]):]
    return [revealed.get(e, []) for e in evaluators]
