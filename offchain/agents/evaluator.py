"""Evaluator agent: scores all its seats of every ready batch in one model call, commits one hash per
batch over them, reveals them in one transaction.

It scores (reference, answer) when the requester revealed references and (input, answer) otherwise.
Batch states: selected (its seats stored) → committing (scores and salt stored, commitScores sent) →
committed → revealing (revealScores sent) → revealed | missed. Scores and salt are in SQLite before
the commitment goes out, so a restarted agent reveals exactly what it committed. A draw that a reorg
replaced (a BatchDrawn with other seats, or without this evaluator: `redrawn`) resets the batch
before anything was revealed; a batch whose draw is gone waits for the new one instead of being missed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from offchain.agents.base import Agent
from offchain.agents.state import AgentState
from offchain.agents.texts import BatchTexts
from offchain.chain.client import PoQClient
from offchain.chain.events import Event
from offchain.chain.pipeline import Outcome
from offchain.protocol import WAD, commitments
from offchain.protocol.draw import decode_seats, seats_of
from offchain.protocol.types import COMMITTED, REVEALED, Stage, to_score_units

log = logging.getLogger("poq.agent")
WAITING = (Stage.OPENED, Stage.ANSWERING, Stage.REFERENCING)
REDRAWABLE = ("selected", "committing", "committed", "missed")  # nothing revealed yet


class EvaluatorLike(Protocol):
    """`offchain.models.evaluators.Evaluator` or a replay evaluator: [0, 10] scores per task."""

    name: str

    def score_texts(self, items: Sequence[Mapping[str, Any]]) -> list[float]: ...


class EvaluatorAgent(Agent):
    role = "evaluator"

    def __init__(
        self,
        client: PoQClient,
        state: AgentState,
        evaluator: EvaluatorLike,
        *,
        strategy: Callable[[float], float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(client, state, **kwargs)
        self.evaluator = evaluator
        self.strategy = strategy  # an adversarial transform of the honest score (robustness studies)
        self.k = int(client.params()["k"])
        self.texts = BatchTexts(client, self.k)

    def on_event(self, event: Event) -> None:
        self.texts.on_event(event)
        if event.name == "EvaluatorInformed" and str(event.args["evaluator"]).lower() == self.me.lower():
            settled, information = int(event.args["seats"]), int(event.args["informationWad"])
            log.info("batch %d settled: informativeness %+.3f a seat over %d seats (what the peer rule pays)",
                     int(event.args["batchId"]), information / settled / WAD if settled else 0.0, settled)
            return
        if event.name != "BatchDrawn":
            return
        participants = [str(a).lower() for a in event.args["participants"]]
        batch_id = int(event.args["batchId"])
        status = self.state.status(batch_id)
        if self.me.lower() not in participants[int(event.args["inferenceCount"]):]:
            self.texts.forget(batch_id)
            if status in REDRAWABLE:  # the draw that picked us was reorged away and redone without us
                log.warning("batch %d was drawn again (a reorg) without this evaluator", batch_id)
                self.state.reset(batch_id, "redrawn")
            return
        me = participants.index(self.me.lower())
        seats = seats_of(decode_seats(event.args["seats"], self.k), me)
        if status in (*REDRAWABLE, "redrawn") and [list(s) for s in self.state.data(batch_id).get("seats", [])] != [
                list(s) for s in seats]:
            log.warning("batch %d was drawn again (a reorg): scoring the new seats", batch_id)
            self.state.reset(batch_id, "selected", seats=seats)
            return
        self.state.add_if_new(batch_id, "selected", seats=seats)

    def work(self) -> None:
        self._resend_unconfirmed()
        self._commit_ready()
        self._reveal_due()

    # ------------------------------------------------------------------ commit

    def _commit_ready(self) -> None:
        ready: list[tuple[int, list[tuple[int, int]], list[dict[str, Any] | None]]] = []
        for batch_id, _, data in self.state.batches("selected"):
            stage = self.stage(batch_id)
            if stage == Stage.COMMITTING:
                seats = [tuple(s) for s in data["seats"]]
                ready.append((batch_id, seats, self.texts.items(batch_id, seats)))
            elif stage not in WAITING:
                self.state.upsert(batch_id, "missed")  # the commit window closed before we could score
                self.texts.forget(batch_id)
        items = [item for _, _, batch_items in ready for item in batch_items if item is not None]
        if not items:
            for batch_id, seats, _ in ready:  # only void seats (their nodes never answered): nothing to score
                self._commit(batch_id, [0] * len(seats))
            return
        started = time.perf_counter()
        with self.interruptible():
            honest = iter(self.evaluator.score_texts(items))  # every ready seat in one call
        self.state.record_latency((time.perf_counter() - started) / len(items))
        for batch_id, _seats, batch_items in ready:
            units = []
            for item in batch_items:
                if item is None:
                    units.append(0)  # a void seat: the contract ignores its score
                    continue
                score = next(honest)
                units.append(to_score_units(self.strategy(score) if self.strategy else score))
            self._commit(batch_id, units)
        log.info("scored %d seats of %d batches in %.2f s", len(items), len(ready), time.perf_counter() - started)

    def _commit(self, batch_id: int, units: list[int]) -> None:
        salt = commitments.new_salt()
        self.state.upsert(batch_id, "committing", scores=units, salt=salt.hex())  # before the transaction
        self._send_commit(batch_id)

    def _send_commit(self, batch_id: int) -> None:
        data = self.state.data(batch_id)
        digest = commitments.score_commitment(self.client.manifest.chain_id, self.client.address, batch_id,
                                              self.me, data["scores"], bytes.fromhex(data["salt"]))
        self.send("commitScores", batch_id, digest, batch_id=batch_id)

    # ------------------------------------------------------------------ reveal

    def _reveal_due(self) -> None:
        for batch_id, _, data in self.state.batches("committed"):
            stage = self.stage(batch_id)
            if stage in (*WAITING, Stage.COMMITTING):
                continue
            if stage == Stage.REVEALING:
                self.state.upsert(batch_id, "revealing")
                self.send("revealScores", batch_id, data["scores"], bytes.fromhex(data["salt"]), batch_id=batch_id)
            else:
                self.state.upsert(batch_id, "missed")
            self.texts.forget(batch_id)

    # ------------------------------------------------------------------ receipts and recovery

    def on_outcome(self, outcome: Outcome) -> None:
        fn, batch_id = outcome.sent.tag
        if fn == "commitScores" and outcome.ok:
            self.state.upsert(batch_id, "committed")
            log.info("committed %d scores for batch %d", len(self.state.data(batch_id)["scores"]), batch_id)
        elif fn == "revealScores" and outcome.ok:
            self.state.upsert(batch_id, "revealed")
            log.info("revealed scores for batch %d", batch_id)
        elif fn in ("commitScores", "revealScores"):
            self._reconcile(batch_id)
        else:
            super().on_outcome(outcome)

    def _resend_unconfirmed(self) -> None:
        """States sent before a crash with nothing in flight now: ask the chain what landed."""
        for batch_id, status, _ in self.state.batches("committing", "revealing"):
            fn = "commitScores" if status == "committing" else "revealScores"
            if not self.tx.in_flight((fn, batch_id)):
                self._reconcile(batch_id)

    def _reconcile(self, batch_id: int) -> None:
        _, flags = self.participant(batch_id)
        stage = self.stage(batch_id)
        if flags & REVEALED:
            self.state.upsert(batch_id, "revealed")
        elif flags & COMMITTED:
            self.state.upsert(batch_id, "committed")  # _reveal_due sends the reveal when its stage comes
        elif stage == Stage.COMMITTING:
            self._send_commit(batch_id)  # same scores, same salt
        elif stage in WAITING:  # its draw was reorged away: the new draw's BatchDrawn decides
            self.state.upsert(batch_id, "selected")
        else:
            self.state.upsert(batch_id, "missed")
