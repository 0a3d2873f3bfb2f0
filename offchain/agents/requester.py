"""Requester agent: opens batches of tasks from a dataset, draws them, reveals references, finalizes.

Before `openBatch` goes out, the batch's records, references and salt are stored under its reference
commitment; the batch id is learnt from the BatchOpened event, so a crash between the two loses
nothing. Draws go in batch order for every batch on the contract (anyone may draw; the requester
does, so its own batches never wait), and an idle automining chain is nudged for the block a draw needs.
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
from offchain.chain.batches import finalize_arguments
from offchain.chain.client import PoQClient
from offchain.chain.events import Event
from offchain.chain.pipeline import Outcome
from offchain.errors import ChainError
from offchain.protocol import WAD, commitments
from offchain.protocol.types import Stage

log = logging.getLogger("poq.agent")


class RequesterAgent(Agent):
    """Batch states: opened → settled (with each task's outcome stored). Whether a batch's references
    are revealed is the contract's stage, not a state of ours."""

    role = "requester"

    def __init__(
        self,
        client: PoQClient,
        state: AgentState,
        records: Sequence[Any],
        *,
        batch_size: int = 16,
        max_in_flight: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(client, state, **kwargs)
        self.costs.enabled = False  # a requester declares no latency
        self.records = list(records)
        self.batch_size = max(1, min(batch_size, int(client.params()["maxBatchSize"])))
        self.max_in_flight = max_in_flight
        self.k = int(client.params()["k"])
        self._drawing: set[int] = set()

    # ------------------------------------------------------------------ progress

    @property
    def opened_count(self) -> int:
        return int(self.state.get_meta("opened_count") or 0)

    def settled(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Per settled task: (task id, "settled", its record, kind, quality, rewards and expiry)."""
        out = []
        for _, _, data in self.state.batches("settled"):
            out += [(int(t["task_id"]), "settled", t) for t in data["tasks"]]
        return sorted(out, key=lambda row: row[0])

    def done(self) -> bool:
        return (self.opened_count >= len(self.records) and not self.state.batches("opened")
                and not self._pending_opens() and self.tx.pending == 0)

    def busy(self) -> bool:
        return self.tx.pending > 0 or bool(self._drawing)

    # ------------------------------------------------------------------ events

    def on_event(self, event: Event) -> None:
        args = event.args
        if event.name == "BatchOpened" and str(args["requester"]).lower() == self.me.lower():
            key = f"pending:{bytes(args['referenceCommitment']).hex()}"
            pending = self.state.get_meta(key)
            if pending is None:
                return  # not one of ours (or already mapped)
            entry = json.loads(pending)
            self.state.add_if_new(int(args["batchId"]), "opened", first_task_id=int(args["firstTaskId"]), **entry)
            self.state.delete_meta(key)
        elif event.name == "BatchFinalized" and self.state.status(int(args["batchId"])) == "opened":
            self._settle(int(args["batchId"]), args)
        elif event.name == "BatchDrawn":
            self._drawing.discard(int(args["batchId"]))

    # ------------------------------------------------------------------ work

    def work(self) -> None:
        self._open_more()
        self._draw_due()
        for batch_id, _, data in self.state.batches("opened"):
            if self.tx.in_flight(("revealReferences", batch_id)) or self.tx.in_flight(("finalize", batch_id)):
                continue
            stage = self.stage(batch_id)
            if stage == Stage.REFERENCING:
                self.send("revealReferences", batch_id, data["references"], bytes.fromhex(data["salt"]),
                          batch_id=batch_id)
            elif stage == Stage.CLOSED:  # the contract kept the revealed scores' hashes: pass the scores
                self.send("finalize", batch_id, *finalize_arguments(self.client, batch_id), batch_id=batch_id)

    def _open_more(self) -> None:
        in_flight = self.state.count("opened") + len(self._pending_opens())
        while self.opened_count < len(self.records) and in_flight < self.max_in_flight:
            chunk = self.records[self.opened_count : self.opened_count + self.batch_size]
            try:
                self._open(chunk)
            except (reverts.NoInferenceNodes, reverts.NotEnoughEvaluators) as exc:
                log.info("waiting for nodes to join: %s", exc)
                return
            in_flight += 1

    def _open(self, records: list[Any]) -> None:
        salt = commitments.new_salt()
        references = [str(r.reference) for r in records]
        digest = commitments.reference_commitment(references, salt)
        entry = {"records": [r.id for r in records], "tasks_kind": [r.task for r in records],
                 "references": references, "salt": salt.hex()}
        key = f"pending:{digest.hex()}"
        self.state.set_meta(key, json.dumps(entry))  # before the transaction
        self.state.set_meta("opened_count", str(self.opened_count + len(records)))
        try:
            self.send("openBatch", [task_kind(r.task) for r in records], [r.input for r in records], digest,
                      value=int(self.client.call("requiredFee", len(records), True)))
        except Exception:
            # refused before it was sent (a revert in gas estimation): nothing is on chain
            self.state.delete_meta(key)
            self.state.set_meta("opened_count", str(self.opened_count - len(records)))
            raise
        log.info("opened a batch of %d tasks", len(records))

    def _draw_due(self) -> None:
        """Draw every batch whose draw block is mined, in order; nudge an idle chain for it."""
        drawn, count = int(self.client.call("drawnCount")), int(self.client.call("batchCount"))
        latest = int(self.client.w3.eth.block_number)
        for batch_id in range(drawn + 1, count + 1):
            if batch_id in self._drawing:
                continue
            draw_block = int(self.client.call("getBatch", batch_id)[5])
            if latest <= draw_block:
                if self.tx.pending == 0:
                    self.client.mine_block()  # an automining chain makes no block by itself
                return
            try:
                self.send("draw", batch_id, batch_id=batch_id)
            except (reverts.DrawOutOfOrder, reverts.WrongStage):
                return  # someone else drew it first
            self._drawing.add(batch_id)

    def on_outcome(self, outcome: Outcome) -> None:
        fn, batch_id = outcome.sent.tag
        if fn == "draw":
            self._drawing.discard(batch_id)
        if not outcome.ok and fn != "draw":  # a lost race on a draw is normal
            super().on_outcome(outcome)
            settled = self.state.status(batch_id) == "settled"
            if fn == "finalize" and settled and self.stage(batch_id) != Stage.FINALIZED:
                # settled from a BatchFinalized that a reorg removed, and the re-sent finalize failed
                log.warning("batch %d: its finalize was reorged away: finalizing it again", batch_id)
                self.state.upsert(batch_id, "opened")

    def _pending_opens(self) -> list[tuple[str, str]]:
        return self.state.meta_like("pending:")

    # ------------------------------------------------------------------ settlement

    def _settle(self, batch_id: int, final: dict[str, Any]) -> None:
        data = self.state.data(batch_id)
        size = len(data["records"])
        expired = int(final["expiredMask"])
        rewards = [int(r) for r in final["rewardWad"]]
        tasks = []
        for i in range(size):
            tasks.append({
                "task_id": int(data["first_task_id"]) + i,
                "batch_id": batch_id,
                "record_id": data["records"][i],
                "task": data["tasks_kind"][i],
                "expired": bool(expired >> i & 1),
                "quality": int(final["quality"][i]) / WAD,
                "rewards_wad": rewards[i * (1 + self.k): (i + 1) * (1 + self.k)],
            })
        self.state.upsert(batch_id, "settled", tasks=tasks, refund=int(final["refund"]))
        log.info("batch %d settled (%d tasks)", batch_id, size)

    def reconcile(self) -> None:
        """After a restart: batches whose BatchFinalized fell before the cursor are read from the logs."""
        for batch_id, _, _ in self.state.batches("opened"):
            try:
                stage = self.stage(batch_id)
            except ChainError:
                continue
            if stage == Stage.FINALIZED:
                (final,) = self.client.events("BatchFinalized", from_block=self.client.manifest.block_number,
                                              batchId=batch_id)
                self._settle(batch_id, dict(final["args"]))
