"""Inference agent: answers the tasks the contract assigns to it, in batches."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from offchain.agents.base import Agent
from offchain.agents.state import AgentState
from offchain.agents.texts import prompt_record
from offchain.chain.client import PoQClient
from offchain.protocol.types import Phase

log = logging.getLogger("poq.agent")


class GeneratorLike(Protocol):
    name: str

    def generate_records(self, records: list[Any]) -> list[Any]: ...


class InferenceAgent(Agent):
    """Answers assigned tasks. Item states: assigned → answering (output stored) → answered | missed."""

    role = "inference"
    watch = (("TaskOpened", "node"),)

    def __init__(self, client: PoQClient, state: AgentState, generator: GeneratorLike, **kwargs: Any) -> None:
        super().__init__(client, state, **kwargs)
        self.generator = generator

    def on_event(self, name: str, args: Any) -> None:
        self.state.add_if_new(
            int(args["taskId"]), "assigned", kind=int(args["taskKind"]), input=str(args["input"])
        )

    def work(self) -> None:
        for task_id, _, data in self.state.items("answering"):  # sent before a crash, or never sent
            if self.phase(task_id) == Phase.OPEN:
                self._answer(task_id, data["output"])
            else:
                self.state.upsert(task_id, "answered" if self._answered_on_chain(task_id) else "missed")
        todo = []
        for task_id, _, data in self.state.items("assigned"):
            if self.phase(task_id) == Phase.OPEN:
                todo.append((task_id, data))
            else:
                self.state.upsert(task_id, "missed")
        if not todo:
            return
        records = [prompt_record(data["kind"], data["input"]) for _, data in todo]
        generations = self.generator.generate_records(records)
        for (task_id, _), generation in zip(todo, generations, strict=True):
            self.state.record_latency(generation.latency_s)
            # the answer is stored before it is sent: a restart re-sends it instead of regenerating
            self.state.upsert(
                task_id,
                "answering",
                output=generation.text,
                latency_s=generation.latency_s,
                new_tokens=generation.new_tokens,
            )
            self._answer(task_id, generation.text)

    def _answer(self, task_id: int, output: str) -> None:
        self.send("submitAnswer", task_id, output, task_id=task_id)
        self.state.upsert(task_id, "answered")
        log.info("answered task %d (%d chars)", task_id, len(output))

    def _answered_on_chain(self, task_id: int) -> bool:
        return bool(
            self.client.events("TaskAnswered", from_block=self.client.manifest.block_number, taskId=task_id)
        )
