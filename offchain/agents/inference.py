"""Inference agent: answers every task the draws give it, all its ready batches in one model call.

Batch states: drawn (its task indices and inputs stored) → answering (outputs stored, submitAnswers
sent) → answered | missed. Outputs are stored before they are sent, so a restart re-sends the same
answers instead of generating new ones. A draw that a reorg replaced (a BatchDrawn with other tasks
for this node, or none) resets the batch; a batch whose draw is gone waits for the new one.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from offchain.agents.base import Agent
from offchain.agents.state import AgentState
from offchain.agents.texts import InputCache, prompt_record
from offchain.chain.client import PoQClient
from offchain.chain.events import Event
from offchain.chain.pipeline import Outcome
from offchain.protocol.draw import decode_seats, tasks_of
from offchain.protocol.types import ANSWERED, Stage

log = logging.getLogger("poq.agent")
REDRAWABLE = ("drawn", "answering", "answered", "missed")  # a reorg may replace the draw under any of these


class GeneratorLike(Protocol):
    name: str

    def generate_records(self, records: list[Any]) -> list[Any]: ...


class InferenceAgent(Agent):
    role = "inference"

    def __init__(self, client: PoQClient, state: AgentState, generator: GeneratorLike, **kwargs: Any) -> None:
        super().__init__(client, state, **kwargs)
        self.generator = generator
        self.inputs = InputCache(client)
        self.k = int(client.params()["k"])

    def on_event(self, event: Event) -> None:
        if event.name == "BatchOpened":
            self.inputs.add(event)
        elif event.name == "BatchDrawn":
            participants = [str(a).lower() for a in event.args["participants"]]
            batch_id = int(event.args["batchId"])
            status = self.state.status(batch_id)
            if self.me.lower() not in participants[: int(event.args["inferenceCount"])]:
                self.inputs.drop(batch_id)
                if status in REDRAWABLE:
                    log.warning("batch %d was drawn again (a reorg) without this node", batch_id)
                    self.state.reset(batch_id, "redrawn")
                return
            me = participants.index(self.me.lower())
            mine = tasks_of(decode_seats(event.args["seats"], self.k), me)
            if status in (*REDRAWABLE, "redrawn") and self.state.data(batch_id).get("tasks") != mine:
                log.warning("batch %d was drawn again (a reorg): answering the new tasks", batch_id)
                self.state.reset(batch_id, "drawn", tasks=mine)
                return
            self.state.add_if_new(batch_id, "drawn", tasks=mine)

    def work(self) -> None:
        self._resend_unconfirmed()
        todo = self.state.batches("drawn")
        if not todo:
            return
        ready, records = [], []
        for batch_id, _, data in todo:
            stage = self.stage(batch_id)
            if stage == Stage.OPENED:
                continue  # its draw was reorged away: the new draw's BatchDrawn decides
            if stage != Stage.ANSWERING:
                self.state.upsert(batch_id, "missed")  # the answer window closed first
                continue
            kinds, inputs = self.inputs.get(batch_id)
            ready.append((batch_id, data["tasks"]))
            records += [prompt_record(kinds[t], inputs[t]) for t in data["tasks"]]
        if not records:
            return
        started = time.perf_counter()
        with self.interruptible():
            generations = self.generator.generate_records(records)  # every ready batch in one call
        elapsed = time.perf_counter() - started
        at = 0
        for batch_id, tasks in ready:
            outputs = [g.text for g in generations[at : at + len(tasks)]]
            latencies = [float(g.latency_s) for g in generations[at : at + len(tasks)]]
            at += len(tasks)
            for latency in latencies:
                self.state.record_latency(latency)
            # stored before it is sent: a restart re-sends these instead of generating new ones
            self.state.upsert(batch_id, "answering", outputs=outputs, latency_s=latencies)
            self.send("submitAnswers", batch_id, outputs, batch_id=batch_id)
        log.info("answered %d tasks of %d batches in %.2f s", len(records), len(ready), elapsed)

    def on_outcome(self, outcome: Outcome) -> None:
        fn, batch_id = outcome.sent.tag
        if fn == "submitAnswers" and outcome.ok:
            self.state.upsert(batch_id, "answered")
        elif fn == "submitAnswers":
            self._reconcile(batch_id)
        else:
            super().on_outcome(outcome)

    def _resend_unconfirmed(self) -> None:
        """Batches stored as answering with no transaction in flight: the process died around the send."""
        for batch_id, _, _ in self.state.batches("answering"):
            if not self.tx.in_flight(("submitAnswers", batch_id)):
                self._reconcile(batch_id)

    def _reconcile(self, batch_id: int) -> None:
        """Ask the chain whether the answers landed; re-send the stored ones while the window is open."""
        _, flags = self.participant(batch_id)
        if flags & ANSWERED:
            self.state.upsert(batch_id, "answered")
        elif (stage := self.stage(batch_id)) == Stage.ANSWERING:
            self.send("submitAnswers", batch_id, self.state.data(batch_id)["outputs"], batch_id=batch_id)
        elif stage == Stage.OPENED:
            self.state.upsert(batch_id, "drawn")  # its draw was reorged away: wait for the new one
        else:
            self.state.upsert(batch_id, "missed")
