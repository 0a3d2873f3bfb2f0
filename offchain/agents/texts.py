"""Task texts as agents see them: kept from the events they arrive in, fetched from the logs when missed.

The contract stores no text: inputs come with BatchOpened, outputs with AnswersSubmitted, references
with ReferencesRevealed. An agent keeps those of the batches it works on; after a restart it reads the
events of a batch again by its id (an indexed topic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offchain.chain.client import PoQClient
from offchain.chain.events import Event
from offchain.data import split_qa_input
from offchain.protocol.draw import decode_seats, tasks_of

TASK_KINDS = ("extractive_qa", "summarization")  # index = the contract's task kind


@dataclass(frozen=True)
class ChainRecord:
    """What a prompt template needs, rebuilt from a task's on-chain input (fits PromptRecord)."""

    task: str
    input: str
    context: str | None
    question: str | None


def task_kind(task: str) -> int:
    return TASK_KINDS.index(task)


def prompt_record(kind: int, text: str) -> ChainRecord:
    """QA inputs are `qa_input(context, question)`; split them back so the template can be applied."""
    task = TASK_KINDS[kind] if kind < len(TASK_KINDS) else "summarization"
    parts = split_qa_input(text) if task == "extractive_qa" else None
    if parts is not None:
        return ChainRecord(task, text, parts[0], parts[1])
    return ChainRecord("summarization", text, text, None)


class InputCache:
    """Batch id -> (task kinds, inputs), from BatchOpened events."""

    def __init__(self, client: PoQClient) -> None:
        self.client = client
        self._inputs: dict[int, tuple[list[int], list[str]]] = {}

    def add(self, event: Event) -> None:
        self._inputs[int(event.args["batchId"])] = (
            [int(k) for k in event.args["kinds"]], [str(t) for t in event.args["inputs"]])

    def drop(self, batch_id: int) -> None:
        self._inputs.pop(batch_id, None)

    def holds(self, batch_id: int) -> bool:
        return batch_id in self._inputs

    def get(self, batch_id: int) -> tuple[list[int], list[str]]:
        if batch_id not in self._inputs:  # after a restart: read the batch's opening again
            (opened,) = self.client.events("BatchOpened", from_block=self.client.manifest.block_number,
                                           batchId=batch_id)
            self._inputs[batch_id] = ([int(k) for k in opened["args"]["kinds"]],
                                      [str(t) for t in opened["args"]["inputs"]])
        return self._inputs[batch_id]


class BatchTexts:
    """What an evaluator scores: per batch, the inputs, each task's output, the references."""

    def __init__(self, client: PoQClient, k: int) -> None:
        self.client = client
        self.k = k
        self.inputs = InputCache(client)
        self._drawn: dict[int, tuple[list[str], list[tuple[int, tuple[int, ...]]]]] = {}
        self._outputs: dict[int, dict[int, str]] = {}
        self._references: dict[int, list[str]] = {}
        # batches forgotten (not ours, or done with): their later events are skipped, not read back
        self._forgotten: set[int] = set()

    def on_event(self, event: Event) -> None:
        batch_id = int(event.args["batchId"]) if "batchId" in event.args else None
        if batch_id in self._forgotten:
            return
        if event.name == "BatchOpened":
            self.inputs.add(event)
        elif event.name == "BatchDrawn" and batch_id is not None:
            self._drawn[batch_id] = ([str(a) for a in event.args["participants"]],
                                     decode_seats(event.args["seats"], self.k))
        elif event.name == "AnswersSubmitted" and batch_id is not None:
            self._add_outputs(batch_id, str(event.args["node"]), list(event.args["outputs"]))
        elif event.name == "ReferencesRevealed" and batch_id is not None:
            self._references[batch_id] = [str(t) for t in event.args["references"]]

    def forget(self, batch_id: int) -> None:
        for table in (self._drawn, self._outputs, self._references):
            table.pop(batch_id, None)
        self.inputs.drop(batch_id)
        self._forgotten.add(batch_id)

    def holds(self, batch_id: int) -> bool:
        """Whether any text of the batch is kept."""
        tables = (self._drawn, self._outputs, self._references)
        return self.inputs.holds(batch_id) or any(batch_id in table for table in tables)

    def items(self, batch_id: int, seats: list[tuple[int, int]]) -> list[dict[str, Any] | None]:
        """One scoring item per seat (None for a task its node never answered): the task kind, input,
        output and, once revealed, the reference."""
        self._forgotten.discard(batch_id)
        if batch_id not in self._drawn:
            self._reload(batch_id)
        kinds, inputs = self.inputs.get(batch_id)
        outputs = self._outputs.get(batch_id, {})
        references = self._references.get(batch_id)
        items: list[dict[str, Any] | None] = []
        for task, _seat in seats:
            output = outputs.get(task)
            items.append(None if output is None else {
                "kind": kinds[task], "input": inputs[task], "output": output,
                "reference": references[task] if references is not None else None,
            })
        return items

    def _add_outputs(self, batch_id: int, node: str, outputs: list[Any]) -> None:
        if batch_id not in self._drawn:
            self._reload(batch_id)
        participants, tasks = self._drawn[batch_id]
        me = [p.lower() for p in participants].index(node.lower())
        mine = tasks_of(tasks, me)
        self._outputs.setdefault(batch_id, {}).update(zip(mine, (str(o) for o in outputs), strict=False))

    def _reload(self, batch_id: int) -> None:
        """Read a batch's draw, answers and references again from the logs (after a restart)."""
        start = self.client.manifest.block_number
        (drawn,) = self.client.events("BatchDrawn", from_block=start, batchId=batch_id)
        self._drawn[batch_id] = ([str(a) for a in drawn["args"]["participants"]],
                                 decode_seats(drawn["args"]["seats"], self.k))
        self._outputs[batch_id] = {}
        for answered in self.client.events("AnswersSubmitted", from_block=start, batchId=batch_id):
            self._add_outputs(batch_id, str(answered["args"]["node"]), list(answered["args"]["outputs"]))
        for revealed in self.client.events("ReferencesRevealed", from_block=start, batchId=batch_id):
            self._references[batch_id] = [str(t) for t in revealed["args"]["references"]]
