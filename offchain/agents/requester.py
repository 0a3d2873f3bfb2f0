"""Requester agent: opens tasks from a dataset with fees, reveals references, finalizes rounds.

Before `openTask` goes out, the record, reference and salt are stored under the reference
commitment; the task id is learnt from the TaskOpened event, so a crash between the two loses
nothing: the restarted agent matches its own TaskOpened events to the stored commitments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from offchain.agents.base import Agent
from offchain.agents.state import AgentState
from offchain.agents.texts import task_kind
from offchain.chain import reverts
from offchain.chain.client import PoQClient
from offchain.protocol import WAD, commitments
from offchain.protocol.types import Phase

log = logging.getLogger("poq.agent")
SETTLED = (Phase.FINALIZED, Phase.EXPIRED)


class RequesterAgent(Agent):
    """Item states: opened → revealed → settled (with the round's outcome stored)."""

    role = "requester"
    watch = (("TaskOpened", "requester"),)

    def __init__(
        self,
        client: PoQClient,
        state: AgentState,
        records: Sequence[Any],
        *,
        fee: int | None = None,
        max_in_flight: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(client, state, **kwargs)
        self.records = list(records)
        self.fee = fee if fee is not None else int(client.call("maxPayout"))
        self.max_in_flight = max_in_flight

    # ------------------------------------------------------------------ progress

    @property
    def opened_count(self) -> int:
        return int(self._meta("opened_count") or 0)

    def settled(self) -> list[tuple[int, str, dict[str, Any]]]:
        return self.state.items("settled")

    def done(self) -> bool:
        return (
            self.opened_count >= len(self.records)
            and not self.state.items("opened", "revealed")
            and not self._pending()
        )

    # ------------------------------------------------------------------ the loop

    def tick(self) -> None:  # a requester reports no costs
        self.scan_events()
        self.work()

    def on_event(self, name: str, args: Any) -> None:
        digest = bytes(args["referenceCommitment"]).hex()
        pending = self._meta(f"pending:{digest}")
        if pending is None:
            return
        self.state.add_if_new(int(args["taskId"]), "opened", **json.loads(pending))
        self.state.db.execute("DELETE FROM meta WHERE key = ?", (f"pending:{digest}",))

    def work(self) -> None:
        in_flight = len(self.state.items("opened", "revealed")) + len(self._pending())
        while self.opened_count < len(self.records) and in_flight < self.max_in_flight:
            try:
                self._open(self.records[self.opened_count])
            except (reverts.NoInferenceNodes, reverts.NotEnoughEvaluators) as exc:
                log.info("waiting for nodes to join: %s", exc)
                break
            in_flight += 1
        for task_id, status, data in self.state.items("opened", "revealed"):
            phase = self.phase(task_id)
            if phase == Phase.ANSWERED and status == "opened":
                self.send(
                    "revealReference",
                    task_id,
                    data["reference"],
                    bytes.fromhex(data["salt"]),
                    task_id=task_id,
                )
                self.state.upsert(task_id, "revealed")
            elif phase in (Phase.CLOSED, Phase.LAPSED):
                self.send("finalize", task_id, task_id=task_id)
                self._settle(task_id)
            elif phase in SETTLED:  # finalized by someone else
                self._settle(task_id)

    def _open(self, record: Any) -> None:
        salt = commitments.new_salt()
        digest = commitments.reference_commitment(record.reference, salt)
        entry = {
            "record_id": record.id,
            "task": record.task,
            "reference": record.reference,
            "salt": salt.hex(),
        }
        self._set_meta(f"pending:{digest.hex()}", json.dumps(entry))  # before the transaction
        self._set_meta("opened_count", str(self.opened_count + 1))
        try:
            receipt = self.send("openTask", task_kind(record.task), record.input, digest, value=self.fee)
        except Exception:
            # refused before it was sent (e.g. a revert in gas estimation): nothing is on chain
            self.state.db.execute("DELETE FROM meta WHERE key = ?", (f"pending:{digest.hex()}",))
            self._set_meta("opened_count", str(self.opened_count - 1))
            raise
        for event in self.client.receipt_events(receipt, "TaskOpened"):
            self.on_event("TaskOpened", event["args"])
        log.info("opened a %s task for record %s", record.task, record.id)

    def _settle(self, task_id: int) -> None:
        start = self.client.manifest.block_number
        finalized = self.client.events("TaskFinalized", from_block=start, taskId=task_id)
        rewards = {
            str(e["args"]["account"]): int(e["args"]["rewardWad"]) / WAD
            for e in self.client.events("RewardSettled", from_block=start, taskId=task_id)
        }
        self.state.upsert(
            task_id,
            "settled",
            phase=self.phase(task_id).label,
            rewards=rewards,
            quality=int(finalized[0]["args"]["quality"]) / WAD if finalized else None,
        )

    # ------------------------------------------------------------------ meta helpers

    def _pending(self) -> list[str]:
        return [k for (k,) in self.state.db.execute("SELECT key FROM meta WHERE key LIKE 'pending:%'")]

    def _meta(self, key: str) -> str | None:
        row = self.state.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.state.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
