"""Evaluator agent: scores the answers it is selected for, commits the hashed score, then reveals it.

It scores (reference, answer) when the requester revealed a reference and (input, answer) otherwise.
The score and its salt are stored before `commitScore` goes out, so a restarted agent still reveals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from offchain.agents.base import Agent
from offchain.agents.state import AgentState
from offchain.agents.texts import task_texts
from offchain.chain.client import PoQClient
from offchain.protocol import commitments
from offchain.protocol.types import Phase, from_score_units, to_score_units

log = logging.getLogger("poq.agent")


class EvaluatorLike(Protocol):
    """`offchain.models.evaluators.Evaluator` or a replay evaluator: [0, 10] scores per task."""

    name: str

    def score_texts(self, items: Sequence[Mapping[str, Any]]) -> list[float]: ...


class EvaluatorAgent(Agent):
    """Item states: selected → committing (score, salt stored) → committed → revealed | missed."""

    role = "evaluator"
    watch = (("EvaluatorSelected", "evaluator"),)

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

    def on_event(self, name: str, args: Any) -> None:
        self.state.add_if_new(int(args["taskId"]), "selected", seat=int(args["seat"]))

    def work(self) -> None:
        self._recover_commits()
        self._commit_ready()
        self._reveal_due()

    # ------------------------------------------------------------------ commit

    def _commit_ready(self) -> None:
        ready = []
        for task_id, _, data in self.state.items("selected"):
            phase = self.phase(task_id)
            if phase == Phase.COMMIT:
                ready.append((task_id, data))
            elif phase not in (Phase.ANSWERED, Phase.OPEN):
                self.state.upsert(task_id, "missed")  # the commit window closed before we could score
        if not ready:
            return
        texts = [task_texts(self.client, task_id) for task_id, _ in ready]
        started = time.perf_counter()
        scores = self.evaluator.score_texts(texts)  # the composite reads the task kind and question too
        self.state.record_latency((time.perf_counter() - started) / len(texts))
        for (task_id, _), honest in zip(ready, scores, strict=True):
            committed = self.strategy(honest) if self.strategy else honest
            units, salt = to_score_units(committed), commitments.new_salt()
            self.state.upsert(task_id, "committing", score=units, honest=honest, salt=salt.hex())
            self._commit(task_id, units, salt)

    def _commit(self, task_id: int, units: int, salt: bytes) -> None:
        digest = commitments.score_commitment(
            self.client.manifest.chain_id, self.client.address, task_id, self.me, units, salt
        )
        self.send("commitScore", task_id, digest, task_id=task_id)
        self.state.upsert(task_id, "committed")
        log.info("committed score %.3f for task %d", from_score_units(units), task_id)

    def _recover_commits(self) -> None:
        """Items stored as committing: the process died around the send. Ask the chain what landed."""
        for task_id, _, data in self.state.items("committing"):
            task = self.client.task(task_id)
            seat = data["seat"]
            if task["committed"][seat]:
                self.state.upsert(task_id, "committed")
            elif self.phase(task_id) == Phase.COMMIT:
                self._commit(task_id, data["score"], bytes.fromhex(data["salt"]))
            else:
                self.state.upsert(task_id, "missed")

    # ------------------------------------------------------------------ reveal

    def _reveal_due(self) -> None:
        for task_id, _, data in self.state.items("committed"):
            phase = self.phase(task_id)
            if phase in (Phase.COMMIT, Phase.ANSWERED):
                continue
            if self.client.task(task_id)["revealed"][data["seat"]]:
                self.state.upsert(task_id, "revealed")
            elif phase == Phase.REVEAL:
                self.send("revealScore", task_id, data["score"], bytes.fromhex(data["salt"]), task_id=task_id)
                self.state.upsert(task_id, "revealed")
                log.info("revealed score %.3f for task %d", from_score_units(data["score"]), task_id)
            else:
                self.state.upsert(task_id, "missed")
