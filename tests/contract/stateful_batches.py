"""Batch and clock rules of the stateful machine (tests/contract/test_stateful.py), as a mixin:
open, draw, answers, references, score commit-reveal, finalize, whole batches, time and blocks.

The rules pick a target where the action can succeed (usually) or any batch and any caller
(sometimes), so the named reverts are checked too. `progress` plays the next step of a random live
batch and `play_batch` a whole one, so batches reach settlement even when hypothesis' swarm testing
disables some rules for an example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from offchain.chain.client import PoQClient
from offchain.protocol import commitments, wad
from offchain.protocol.draw import decode_seats
from offchain.protocol.types import MAX_SCORE, Stage
from tests.contract.model import EVALUATOR, INFERENCE, BatchModel, PoQModel
from tests.contract.stateful_support import MAX_LIVE_BATCHES, STEPS, draw_client, norm

SCORES = st.one_of(st.integers(0, MAX_SCORE), st.sampled_from([0, MAX_SCORE, MAX_SCORE, MAX_SCORE + 1]))
PICK = st.sampled_from(["due"] * 4 + ["any"])  # a natural target, or any batch and any caller
MOVING = (Stage.ANSWERING, Stage.REFERENCING, Stage.COMMITTING, Stage.REVEALING)  # stages with a deadline


class BatchRules:
    """Rules over batches; PoQMachine supplies the chain, the model and the plumbing they call."""

    model: PoQModel
    net: Any
    w3: Any
    view: Any
    nodes: list[PoQClient]
    requesters: list[PoQClient]
    accounts: list[PoQClient]
    _act: Callable[..., tuple[Any, Any]]
    _advance: Callable[[int], None]
    _mine: Callable[[int], None]
    _salt: Callable[[], bytes]
    _client: Callable[[str], PoQClient]
    _events: Callable[[Any, str], list[dict[str, Any]]]

    def _live(self, *stages: Stage) -> list[BatchModel]:
        return [b for b in self.model.live_batches() if self.model.stage(b).stage in stages]

    def _due(self, pick: str, candidates: list[Any]) -> bool:
        """Whether a rule acts on one of its natural `candidates` (else on any batch, by anyone)."""
        return pick == "due" and bool(candidates)

    def _any_batch_id(self, data: st.DataObject) -> int:
        """Any batch id, the unknown 0 and next one included."""
        return data.draw(st.integers(0, self.model.batch_count + 1), label="batch id")

    def _anyone(self, data: st.DataObject) -> PoQClient:
        return draw_client(data, self.accounts, "caller")

    def _someone(self, data: st.DataObject, batch_id: int) -> PoQClient:
        """A caller for a batch: mostly one of its participants or its requester (AlreadyAnswered,
        NotCommitted, AlreadyRevealed, NotAssigned across roles...), else anyone."""
        b = self.model.batches.get(batch_id)
        near = [self._client(a) for a in (*b.participants, b.requester)] if b else []
        return draw_client(data, near * 3 + self.accounts, "caller")

    # ------------------------------------------------------------------ the actions

    def _open(self, requester: PoQClient, size: int, fee: int, with_reference: bool, kinds: int | None = None
              ) -> int | None:
        kinds = size if kinds is None else kinds
        first = self.model.task_count + 1
        inputs = [f"input {first + i}" for i in range(size)]
        refs = ([f"reference {first + i}" for i in range(size)], self._salt()) if with_reference else None
        digest = commitments.reference_commitment(*refs) if refs else b"\0" * 32
        receipt, b = self._act(
            "open_batch", requester, "openBatch", [i % 2 for i in range(kinds)], inputs, digest, value=fee,
            predict=lambda: self.model.open_batch(requester.sender, size, kinds, fee, refs))
        if receipt is None:
            return None
        (event,) = self._events(receipt, "BatchOpened")
        got = (event["batchId"], norm(event["requester"]), event["firstTaskId"], event["fee"],
               event["referenceCommitment"], event["drawBlock"], list(event["inputs"]))
        assert got == (b.id, b.requester, b.first_task, fee, digest, b.draw_block, inputs)
        return int(b.id)

    def _draw(self, batch_id: int, caller: PoQClient) -> None:
        def block_hash(number: int) -> bytes:
            return bytes(self.w3.eth.get_block(number)["hash"])

        receipt, drawn = self._act("draw", caller, "draw", batch_id,
                                   predict=lambda: self.model.draw(batch_id, block_hash, self.net.owner.address))
        if receipt is None:
            return
        b = self.model.batches[batch_id]
        if drawn is None:
            (event,) = self._events(receipt, "DrawRearmed")
            assert event["drawBlock"] == b.draw_block
            STEPS["draw:rearmed"] += 1
            return
        (event,) = self._events(receipt, "BatchDrawn")
        got = (bytes(event["seed"]), [a.lower() for a in event["participants"]], event["inferenceCount"],
               decode_seats(event["seats"], self.model.p.k, b.size))
        assert got == (drawn.seed, drawn.participants, drawn.inference_count, list(drawn.tasks)), \
            f"batch {batch_id}: drawn {got}, the model drew {drawn} from the pools at the open {b.pools}"
        t = batch_id % b.size  # one task's stored lanes, through getTask
        task = self.view("getTask", b.first_task + t)
        node, seats = b.tasks[t]
        assert (task["batchId"], task["index"], norm(task["node"]), [norm(e) for e in task["evaluators"]]) == \
            (batch_id, t, b.participants[node], [b.participants[s] for s in seats])
        if b.pools != (self.model.pool_entries(INFERENCE), self.model.pool_entries(EVALUATOR)):
            STEPS["draw:pools-changed-since-open"] += 1

    def _measured(self, receipt: Any, batch_id: int, client: PoQClient, measured: tuple[int, int]) -> None:
        (event,) = self._events(receipt, "CostMeasured")
        assert (norm(event["node"]), event["batchId"], event["observedUs"], event["costUs"]) == \
            (client.sender.lower(), batch_id, *measured)

    def _answer(self, batch_id: int, client: PoQClient, extra: int = 0) -> None:
        b = self.model.batches.get(batch_id)
        p = b.index(client.sender, range(b.inference_count)) if b else None
        outputs = [f"output {batch_id}.{i}" for i in range(max(0, (b.items[p] if b and p is not None else 1) + extra))]
        receipt, measured = self._act("submit_answers", client, "submitAnswers", batch_id, outputs,
                                      predict=lambda: self.model.submit_answers(batch_id, client.sender, len(outputs)))
        if receipt is not None:
            self._measured(receipt, batch_id, client, measured)

    def _reveal_references(self, batch_id: int, client: PoQClient, tamper: str | None = None) -> None:
        b = self.model.batches.get(batch_id)
        refs, salt = b.reference if b and b.reference else (["none"], b"\0" * 32)
        refs = list(refs)
        if tamper == "text":
            refs[-1] += "!"
        elif tamper == "salt":
            salt = self._salt()
        elif tamper == "length":
            refs = refs[:-1] if len(refs) > 1 else [*refs, "extra"]
        self._act("reveal_references", client, "revealReferences", batch_id, refs, salt,
                  predict=lambda: self.model.reveal_references(batch_id, client.sender, refs, salt))

    def _commit(self, batch_id: int, client: PoQClient, scores: list[int]) -> None:
        salt = self._salt()
        digest = commitments.score_commitment(self.net.chain_id, self.net.owner.address, batch_id, client.sender,
                                              scores, salt)
        receipt, measured = self._act("commit_scores", client, "commitScores", batch_id, digest,
                                      predict=lambda: self.model.commit_scores(batch_id, client.sender, scores, salt))
        if receipt is not None:
            self._measured(receipt, batch_id, client, measured)

    def _reveal(self, batch_id: int, client: PoQClient, tamper: str | None = None) -> None:
        b = self.model.batches.get(batch_id)
        p = b.index(client.sender, b.evaluators) if b else None
        commit = b.commits.get(p) if b and p is not None else None
        scores, salt = (list(commit[1]), commit[2]) if commit else ([1], b"\0" * 32)
        if tamper == "salt":
            salt = self._salt()
        elif tamper == "score":
            scores[0] = (scores[0] + 1) % (MAX_SCORE + 1)
        elif tamper == "length":
            scores.append(0)
        receipt, _ = self._act("reveal_scores", client, "revealScores", batch_id, scores, salt,
                               predict=lambda: self.model.reveal_scores(batch_id, client.sender, scores, salt))
        if receipt is not None:
            (event,) = self._events(receipt, "ScoresRevealed")
            assert list(event["scores"]) == scores

    def _finalize(self, batch_id: int, caller: PoQClient, tamper: str | None = None) -> None:
        """Finalize, passing each evaluator's revealed scores as the model knows them (or other ones)."""
        revealed = self.model.revealed_scores(batch_id)
        if tamper == "length":
            revealed = revealed[:-1] if revealed else [[]]
        elif tamper == "scores" and revealed:
            revealed[-1] = [(x + 1) % (MAX_SCORE + 1) for x in revealed[-1]] or [0]  # silent: must be []
        middles = [list(wad.middles(scores)) for scores in revealed]
        if tamper == "middles" and middles:
            middles[0] = [middles[0][0], (middles[0][1] + 1) % (MAX_SCORE + 1)]  # checked only for a revealer
        elif tamper == "no middles":
            middles = []
        receipt, s = self._act("finalize", caller, "finalize", batch_id, revealed, middles,
                               predict=lambda: self.model.finalize(batch_id, revealed, middles))
        if receipt is None:
            return
        b = self.model.batches[batch_id]
        (final,) = self._events(receipt, "BatchFinalized")
        got = (final["firstTaskId"], final["expiredMask"], list(final["quality"]), list(final["rewardWad"]),
               final["paid"], final["refund"])
        assert got == (b.first_task, s.expired_mask, s.quality, s.rewards, s.paid, s.refund), \
            f"batch {batch_id}: chain {got} != model {s}"
        settled = [(norm(e["account"]), e["jobs"], e["rewardWad"], e["amountWei"])
                   for e in self._events(receipt, "RewardsSettled")]
        assert settled == s.settled, f"batch {batch_id}: settled {settled} != model {s.settled}"
        trust = [(norm(e["evaluator"]), e["weight"]) for e in self._events(receipt, "TrustUpdated")]
        assert trust == s.trust, f"batch {batch_id}: trust {trust} != model {s.trust}"
        treasury = [e["amount"] for e in self._events(receipt, "TreasuryCredited")]
        assert treasury == ([s.treasury] if s.treasury else [])
        retained = [e["amount"] for e in self._events(receipt, "FeeRetained")]
        assert retained == ([s.retained] if s.retained else [])
        informed = [(norm(e["evaluator"]), e["seats"], e["informationWad"])
                    for e in self._events(receipt, "EvaluatorInformed")]
        assert informed == s.informed, f"batch {batch_id}: informed {informed} != model {s.informed}"
        refunds = [(norm(e["requester"]), e["amount"]) for e in self._events(receipt, "FeeRefunded")]
        assert refunds == ([(b.requester, s.refund)] if s.refund else [])
        STEPS["settled:" + ("slashed" if s.treasury else "clean") + (":capped" if s.capped else "")
              + (":suspended" if s.suspended else "")] += 1

    # ------------------------------------------------------------------ open and draw

    @precondition(lambda self: self._can_open())
    @rule(data=st.data(), with_reference=st.booleans(),
          fee=st.sampled_from(["exact", "exact", "more", "less"]),
          shape=st.sampled_from(["ok"] * 8 + ["empty", "too big", "kinds"]),
          draw_now=st.sampled_from([False, False, True]))
    def open_batch(self, data: st.DataObject, with_reference: bool, fee: str, shape: str, draw_now: bool) -> None:
        """Open 1..maxBatchSize tasks (or 0, too many, or kinds of another length), with or without
        references, paying exactly size * maxPayout, more, or one wei less; `draw_now` draws the next
        batch in the very next block (DrawTooEarly when that is this one: its draw block is that block)."""
        requester = draw_client(data, self.requesters * 4 + self.accounts, "requester")
        size = data.draw(st.integers(1, self.model.p.maxBatchSize), label="size")
        size = {"empty": 0, "too big": self.model.p.maxBatchSize + 1}.get(shape, size)
        required = self.model.required_fee(size, with_reference)
        value = {"exact": required, "more": required + data.draw(st.integers(1, 10**17), label="extra"),
                 "less": max(0, required - 1)}[fee]
        self._open(requester, size, value, with_reference, size + 1 if shape == "kinds" else size)
        if draw_now and self.model.drawn_count < self.model.batch_count:
            self._draw(self.model.drawn_count + 1, self._anyone(data))

    @precondition(lambda self: self.model.batch_count > 0)
    @rule(data=st.data(), premine=st.sampled_from([True, True, False]), pick=PICK)
    def draw(self, data: st.DataObject, premine: bool, pick: str) -> None:
        """Draw the next batch (mining up to its draw block, or not: DrawTooEarly); sometimes another
        (DrawOutOfOrder, WrongStage, UnknownBatch). Anyone may call."""
        batch_id = self.model.drawn_count + 1
        if not self._due(pick, [batch_id] if batch_id <= self.model.batch_count else []):
            batch_id = self._any_batch_id(data)
        b = self.model.batches.get(batch_id)
        if premine and b is not None and self.model.tx_block <= b.draw_block:
            self._mine(b.draw_block + 1 - self.model.tx_block)
        self._draw(batch_id, self._anyone(data))

    # ------------------------------------------------------------------ answers and references

    @precondition(lambda self: bool(self._live(Stage.ANSWERING)))
    @rule(data=st.data(), extra=st.sampled_from([0] * 8 + [1, -1]), pick=PICK)
    def submit_answers(self, data: st.DataObject, extra: int, pick: str) -> None:
        """A drawn node answers all its tasks (or one output too many or too few); sometimes anyone."""
        pending = [(b.id, b.participants[p]) for b in self._live(Stage.ANSWERING)
                   for p in range(b.inference_count) if p not in b.answers]
        if self._due(pick, pending):
            batch_id, address = data.draw(st.sampled_from(pending), label="answer")
            return self._answer(batch_id, self._client(address), extra)
        batch_id = data.draw(st.sampled_from([b.id for b in self._live(Stage.ANSWERING)]), label="batch")
        self._answer(batch_id, self._someone(data, batch_id), extra)

    @precondition(lambda self: bool(self.model.live_batches()))
    @rule(data=st.data(), tamper=st.sampled_from([None] * 3 + ["text", "salt", "length"]), pick=PICK)
    def reveal_references(self, data: st.DataObject, tamper: str | None, pick: str) -> None:
        due = self._live(Stage.REFERENCING)
        if self._due(pick, due):
            b = self.model.batches[data.draw(st.sampled_from([b.id for b in due]), label="batch")]
            return self._reveal_references(b.id, self._client(b.requester), tamper)
        batch_id = data.draw(st.sampled_from([b.id for b in self.model.live_batches()]), label="batch")
        self._reveal_references(batch_id, self._someone(data, batch_id), tamper)

    # ------------------------------------------------------------------ scores

    def _seats(self, data: st.DataObject, b: BatchModel, p: int) -> list[int]:
        return data.draw(st.lists(SCORES, min_size=b.items[p], max_size=b.items[p]), label="scores")

    @precondition(lambda self: bool(self._live(Stage.COMMITTING)))
    @rule(data=st.data(), pick=PICK)
    def commit_scores(self, data: st.DataObject, pick: str) -> None:
        """A panel member commits one score per seat (10_001 now and then: it can never reveal)."""
        pending = [(b.id, p) for b in self._live(Stage.COMMITTING) for p in b.evaluators if p not in b.commits]
        if self._due(pick, pending):
            batch_id, p = data.draw(st.sampled_from(pending), label="batch, evaluator")
            b = self.model.batches[batch_id]
            return self._commit(b.id, self._client(b.participants[p]), self._seats(data, b, p))
        batch_id = data.draw(st.sampled_from([b.id for b in self._live(Stage.COMMITTING)]), label="batch")
        self._commit(batch_id, self._someone(data, batch_id), data.draw(st.lists(SCORES, min_size=1, max_size=3)))

    @precondition(lambda self: bool(self._live(Stage.REVEALING)))
    @rule(data=st.data(), tamper=st.sampled_from([None] * 3 + ["salt", "score", "length"]), pick=PICK)
    def reveal_scores(self, data: st.DataObject, tamper: str | None, pick: str) -> None:
        pending = [(b.id, p) for b in self._live(Stage.REVEALING) for p in b.commits if p not in b.reveals]
        if self._due(pick, pending):
            batch_id, p = data.draw(st.sampled_from(pending), label="batch, evaluator")
            b = self.model.batches[batch_id]
            return self._reveal(b.id, self._client(b.participants[p]), tamper)
        batch_id = data.draw(st.sampled_from([b.id for b in self._live(Stage.REVEALING)]), label="batch")
        self._reveal(batch_id, self._someone(data, batch_id), tamper)

    # ------------------------------------------------------------------ settlement

    @precondition(lambda self: bool(self.model.batches))
    @rule(data=st.data(), pick=PICK, tamper=st.sampled_from([None] * 6 + ["scores", "length", "middles", "no middles"]))
    def finalize(self, data: st.DataObject, pick: str, tamper: str | None) -> None:
        """Anyone settles a Closed batch; sometimes any batch (WrongStage, UnknownBatch), or with other
        scores than the evaluators revealed (RevealedScoresMismatch, LengthMismatch)."""
        closed = self._live(Stage.CLOSED)
        if self._due(pick, closed):
            batch_id = data.draw(st.sampled_from([b.id for b in closed]), label="batch")
        else:
            batch_id = self._any_batch_id(data)
        self._finalize(batch_id, self._anyone(data), tamper)

    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """A few next steps of live batches, by whoever should take them, or now and then the clock
        running out a stage (a silent node, requester or panel); opens a batch when none is live.
        (Sorted first among the rules, it is what hypothesis' simplest example plays: whole batches.)"""
        for _ in range(data.draw(st.integers(1, 5), label="moves")):
            if not self.model.live_batches():
                size = data.draw(st.integers(1, self.model.p.maxBatchSize), label="size")
                with_reference = data.draw(st.booleans(), label="with reference")
                if self._open(self.requesters[0], size, self.model.required_fee(size, with_reference),
                              with_reference) is None:
                    return
                continue
            batch_id = data.draw(st.sampled_from([b.id for b in self.model.live_batches()]), label="batch")
            self._next_step(data, self.model.batches[batch_id])

    def _next_step(self, data: st.DataObject, b: BatchModel) -> None:
        """The natural next action on batch `b`; or the clock running out its stage ("silence"); or a
        misstep: the action by someone who already took it or should not (AlreadyAnswered, NotAssigned,
        NotCommitted...), tampered references, scores or finalize arguments, a draw out of order."""
        at = self.model.stage(b)
        move = data.draw(st.sampled_from(["act"] * 6 + ["silence", "misstep"]), label="move")
        wrong = move == "misstep"
        if at.stage == Stage.OPENED:
            if wrong:  # the newest batch, ahead of an older undrawn one when there is one
                if self.model.batch_count == self.model.drawn_count + 1 and self._can_open():
                    self._open(self.requesters[1], 1, self.model.required_fee(1, False), False)
                return self._draw(self.model.batch_count, self._anyone(data))
            b = self.model.batches[self.model.drawn_count + 1]  # draws go in order
            if self.model.tx_block <= b.draw_block:
                self._mine(b.draw_block + 1 - self.model.tx_block)
            self._draw(b.id, self._anyone(data))
        elif at.stage == Stage.CLOSED:
            tamper = data.draw(st.sampled_from(["scores", "length", "middles"]), label="tamper") if wrong else None
            self._finalize(b.id, self._anyone(data), tamper)
        elif move == "silence":
            assert at.deadline is not None
            self._advance(at.deadline - self.model.now)  # nobody else acts in time
        elif at.stage == Stage.ANSWERING:
            p = data.draw(st.sampled_from([p for p in range(b.inference_count) if p not in b.answers]), label="node")
            self._answer(b.id, self._misplaced(data, b, [*b.answers, *b.evaluators]) if wrong
                         else self._client(b.participants[p]))
        elif at.stage == Stage.REFERENCING:
            self._reveal_references(b.id, self._client(b.requester), "text" if wrong else None)
        elif at.stage == Stage.COMMITTING:
            p = data.draw(st.sampled_from([p for p in b.evaluators if p not in b.commits]), label="evaluator")
            self._commit(b.id, self._misplaced(data, b, [*b.commits, *range(b.inference_count)]) if wrong
                         else self._client(b.participants[p]), self._seats(data, b, p))
        else:
            p = data.draw(st.sampled_from([p for p in b.commits if p not in b.reveals]), label="evaluator")
            silent = [q for q in b.evaluators if q not in b.commits]
            self._reveal(b.id, self._misplaced(data, b, [*b.reveals, *silent, p]) if wrong
                         else self._client(b.participants[p]), "score" if wrong else None)

    def _misplaced(self, data: st.DataObject, b: BatchModel, wrong: list[int]) -> PoQClient:
        """A caller for a misstep: mostly one of the participants `wrong` (who already acted, or of the
        other role), else anyone near the batch."""
        misplaced = [self._client(b.participants[p]) for p in wrong]
        return draw_client(data, misplaced * 3 + [self._someone(data, b.id)], "caller")

    def _can_open(self) -> bool:
        return len(self.model.live_batches()) < MAX_LIVE_BATCHES

    @precondition(lambda self: self.model.drawn_count == self.model.batch_count
                  and len(self.model.live_batches()) < MAX_LIVE_BATCHES)
    @rule(data=st.data(), with_reference=st.booleans(), reveal_references=st.sampled_from([True] * 4 + [False]),
          repeat=st.booleans())
    def play_batch(self, data: st.DataObject, with_reference: bool, reveal_references: bool, repeat: bool) -> None:
        """A whole batch in one step: nodes that answer or stay silent, evaluators that reveal, only
        commit or stay silent (the clock runs out their stage); with `repeat`, the first to answer,
        commit and reveal tries again while its stage is open (AlreadyAnswered, AlreadyCommitted,
        AlreadyRevealed). Every transaction is still checked."""
        size = data.draw(st.integers(1, self.model.p.maxBatchSize), label="size")
        batch_id = self._open(self.requesters[0], size, self.model.required_fee(size, with_reference), with_reference)
        if batch_id is None:
            return
        b = self.model.batches[batch_id]
        again = {Stage.ANSWERING, Stage.COMMITTING, Stage.REVEALING} if repeat else set()
        self._mine(1)
        self._draw(batch_id, self.requesters[0])
        for p in range(b.inference_count):
            if data.draw(st.sampled_from([True] * 5 + [False]), label=f"node {p} answers"):
                self._again(b, Stage.ANSWERING, again, lambda c: self._answer(batch_id, c), b.participants[p])
        self._run_out(b, Stage.ANSWERING)
        if reveal_references and self.model.stage(b).stage == Stage.REFERENCING:
            self._reveal_references(batch_id, self._client(b.requester))
        self._run_out(b, Stage.REFERENCING)
        plans = {p: data.draw(st.sampled_from(["reveal"] * 4 + ["commit", "none"]), label=f"evaluator {p}")
                 for p in b.evaluators}
        if self.model.stage(b).stage == Stage.COMMITTING:
            for p, plan in plans.items():
                if plan != "none":
                    scores = self._seats(data, b, p)
                    self._again(b, Stage.COMMITTING, again, lambda c, s=scores: self._commit(batch_id, c, s),
                                b.participants[p])
        self._run_out(b, Stage.COMMITTING)
        if self.model.stage(b).stage == Stage.REVEALING:
            for p in list(b.commits):
                if plans[p] == "reveal":
                    self._again(b, Stage.REVEALING, again, lambda c: self._reveal(batch_id, c), b.participants[p])
        self._run_out(b, Stage.REVEALING)
        self._finalize(batch_id, self.requesters[0])

    def _again(self, b: BatchModel, stage: Stage, repeat: set[Stage], act: Callable[[PoQClient], None],
               actor: str) -> None:
        """`actor` acts; if `stage` is in `repeat` and still open, it acts again (once per stage)."""
        act(self._client(actor))
        if stage in repeat and self.model.stage(b).stage == stage:
            repeat.discard(stage)
            act(self._client(actor))

    def _run_out(self, b: BatchModel, stage: Stage) -> None:
        """Advance the clock past the batch's deadline while it is still in `stage`."""
        at = self.model.stage(b)
        if at.stage == stage and at.deadline is not None:
            self._advance(at.deadline - self.model.now)

    # ------------------------------------------------------------------ the clock

    @rule(seconds=st.one_of(st.integers(1, 300), st.integers(1, 30)))
    def time_travel(self, seconds: int) -> None:
        self._advance(seconds)
        STEPS["time_travel"] += 1

    @precondition(lambda self: bool(self._live(*MOVING)))
    @rule(data=st.data(), offset=st.sampled_from([-1, 0, 1]))
    def to_deadline(self, data: st.DataObject, offset: int) -> None:
        """Move the clock so that the next transaction lands one second before, at, or one second
        after a live batch's deadline: every boundary of every stage gets tried."""
        b = self.model.batches[data.draw(st.sampled_from([b.id for b in self._live(*MOVING)]), label="batch")]
        deadline = self.model.stage(b).deadline
        assert deadline is not None
        if deadline + offset - self.model.tx_time >= 1:
            self._advance(deadline + offset - self.model.tx_time)
            STEPS[f"to_deadline:{offset:+d}"] += 1

    @rule(blocks=st.sampled_from([1, 1, 2, 3, "expire"]))
    def seal_blocks(self, blocks: int | str) -> None:
        """Empty blocks; "expire" mines until the next undrawn batch's draw block is older than the
        256 blocks whose hashes the EVM keeps (its draw then re-arms)."""
        undrawn = self.model.batches.get(self.model.drawn_count + 1)
        if blocks == "expire":
            blocks = max(1, undrawn.draw_block + 257 - self.model.tx_block) if undrawn else 1
        assert isinstance(blocks, int)
        self._mine(blocks)
        STEPS[f"mine:{blocks}"] += 1
