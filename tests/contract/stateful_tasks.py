"""Task and clock rules of the stateful machine (tests/contract/test_stateful.py), as a mixin:
open, answer, reveal reference, commit/reveal scores, finalize, whole rounds and time."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import (
    precondition,
    rule,
)

from offchain.chain.client import PoQClient
from offchain.protocol import commitments
from tests.contract.model import (
    EXITING,
    ModelRevert,
    TaskModel,
)
from tests.contract.stateful_support import MAX_UNSETTLED_TASKS


class TaskRules:
    """Rules over tasks; PoQMachine supplies the chain, the model and the helpers they call."""

    def _some_task_in(self, *phases: str) -> bool:
        now = self._next_time()
        return any(self.model.phase(t, now)[0] in phases for t in self.model.tasks.values())

    def can_answer(self) -> bool:
        return self._some_task_in("Open")

    def can_reveal_reference(self) -> bool:
        return self._some_task_in("Answered")

    def can_commit(self) -> bool:
        return self._some_task_in("Commit")

    def can_reveal(self) -> bool:
        return self._some_task_in("Reveal")

    def can_finalize(self) -> bool:
        return self._some_task_in("Closed", "Lapsed")

    def _unsettled(self) -> list[TaskModel]:
        return [t for t in self.model.tasks.values() if t.settled is None]

    def can_open(self) -> bool:
        return len(self._unsettled()) < MAX_UNSETTLED_TASKS

    @precondition(can_open)
    @rule(extra=st.one_of(st.just(0), st.integers(0, 10**17)), with_reference=st.booleans(),
          underpay=st.sampled_from([False] * 4 + [True]))
    def open_task(self, extra: int, with_reference: bool, underpay: bool) -> None:
        max_payout = self.model.max_payout()
        fee = max_payout - 1 if underpay and max_payout > 0 else max_payout + extra
        reference = (f"reference-{self.salt_counter}", self._salt()) if with_reference else None
        digest = commitments.reference_commitment(*reference) if reference else b"\0" * 32
        client = self.requester
        try:
            self.model.check_open(self._next_time(), fee)
        except ModelRevert as expected:
            return self._reverts("open_task", client, "openTask", 0, "input", digest, expected=expected, value=fee)
        receipt = self._send("open_task", client, "openTask", 0, "input", digest, value=fee)
        (event,) = self._events(receipt, "TaskOpened")
        task = self.model.apply_open(self.model.now, client.sender, fee, reference, event["node"])
        assert event["taskId"] == task.id and event["fee"] == fee
        assert event["deadline"] == self.model.now + self.model.p.answerWindow

    # The task rules pick a target where the action can succeed (usually) or any task and any
    # caller (sometimes, to check the named revert). `progress` plays the next step of a random
    # live task and `full_round` a whole round, so rounds reach settlement even when hypothesis'
    # swarm testing disables some rules for an example.

    def _eligible(self, *phases: str) -> list[TaskModel]:
        now = self._next_time()
        return [t for t in self.model.tasks.values() if self.model.phase(t, now)[0] in phases]

    def _caller(self, data: st.DataObject, natural: list[str]) -> PoQClient:
        if natural and data.draw(st.integers(0, 9), label="wrong caller") > 0:
            return self.net.client_for(data.draw(st.sampled_from(natural), label="caller"))
        return data.draw(st.sampled_from(self.accounts), label="caller")

    @precondition(can_answer)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        task = self._draw_task(data, self._eligible("Open"))
        self._answer(task, self._caller(data, [task.node]))

    @precondition(can_reveal_reference)
    @rule(data=st.data(), tamper=st.sampled_from([False] * 4 + [True]))
    def reveal_reference(self, data: st.DataObject, tamper: bool) -> None:
        task = self._draw_task(data, self._eligible("Answered"))
        self._reveal_reference(task, self._caller(data, [task.requester]), tamper)

    @precondition(can_commit)
    @rule(data=st.data(), score=st.one_of(st.integers(0, 10_000), st.sampled_from([0, 5_000, 10_000, 10_001])))
    def commit_score(self, data: st.DataObject, score: int) -> None:
        task = self._draw_task(data, [t for t in self._eligible("Commit") if len(t.commits) < len(t.seats)])
        self._commit_score(task, self._caller(data, self._uncommitted(task)), score)

    @precondition(can_reveal)
    @rule(data=st.data(), tamper=st.sampled_from([False] * 4 + [True]))
    def reveal_score(self, data: st.DataObject, tamper: bool) -> None:
        task = self._draw_task(data, [t for t in self._eligible("Reveal") if len(t.reveals) < len(t.commits)])
        self._reveal_score(task, self._caller(data, self._unrevealed(task)), tamper)

    @precondition(can_finalize)
    @rule(data=st.data())
    def finalize(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 19), label="unknown task") == 0:
            unknown = len(self.model.tasks) + 1
            return self._reverts("finalize", self.requester, "finalize", unknown,
                                 expected=ModelRevert("UnknownTask", taskId=unknown))
        task = self._draw_task(data, self._eligible("Closed", "Lapsed"))
        self._finalize(task, data.draw(st.sampled_from(self.accounts), label="caller"))  # anyone may

    def can_progress(self) -> bool:
        return bool(self._unsettled())

    @precondition(can_progress)
    @rule(data=st.data(), score=st.integers(0, 10_000))
    def progress(self, data: st.DataObject, score: int) -> None:
        """The next step of a live task, by the actor who should take it."""
        now = self._next_time()
        task = data.draw(st.sampled_from(self._unsettled()), label="task")
        phase = self.model.phase(task, now)[0]
        if phase == "Open":
            self._answer(task, self.net.client_for(task.node))
        elif phase == "Answered":
            self._reveal_reference(task, self.requester, tamper=False)
        elif phase == "Commit" and self._uncommitted(task):
            self._commit_score(task, self.net.client_for(data.draw(st.sampled_from(self._uncommitted(task)))), score)
        elif phase == "Reveal" and self._unrevealed(task):
            self._reveal_score(task, self.net.client_for(data.draw(st.sampled_from(self._unrevealed(task)))), False)
        else:  # Closed or Lapsed (a Commit phase whose seats all committed is already Reveal)
            self._finalize(task, self.requester)

    @precondition(can_open)
    @rule(
        with_reference=st.booleans(),
        reveal_reference=st.sampled_from([True] * 4 + [False]),
        answered=st.sampled_from([True] * 9 + [False]),
        seats=st.lists(st.tuples(st.sampled_from(["reveal"] * 6 + ["commit", "none"]), st.integers(0, 10_000)),
                       min_size=3, max_size=3),
    )
    def full_round(
        self, with_reference: bool, reveal_reference: bool, answered: bool, seats: list[tuple[str, int]]
    ) -> None:
        """A whole round in one step: open, answer, reference, commits, reveals, finalize, with
        seats that commit and reveal, only commit, or stay silent (the clock runs out their phase).
        Every transaction is still checked against the model on its own."""
        max_payout = self.model.max_payout()
        reference = (f"reference-{self.salt_counter}", self._salt()) if with_reference else None
        digest = commitments.reference_commitment(*reference) if reference else b"\0" * 32
        try:
            self.model.check_open(self._next_time(), max_payout)
        except ModelRevert as expected:
            return self._reverts("full_round", self.requester, "openTask", 0, "input", digest,
                                 expected=expected, value=max_payout)
        receipt = self._send("full_round", self.requester, "openTask", 0, "input", digest, value=max_payout)
        (event,) = self._events(receipt, "TaskOpened")
        task = self.model.apply_open(self.model.now, self.requester.sender, max_payout, reference, event["node"])
        if answered:
            self._answer(task, self.net.client_for(task.node))
            if reference and reveal_reference:
                self._reveal_reference(task, self.requester, tamper=False)
            self._run_out_phase(task, "Answered")  # the reference was never revealed
            for (plan, score), seat in zip(seats, list(task.seats), strict=False):
                if plan != "none":
                    self._commit_score(task, self.net.client_for(seat), score)
            self._run_out_phase(task, "Commit")
            for (plan, _), seat in zip(seats, list(task.seats), strict=False):
                if plan == "reveal":
                    self._reveal_score(task, self.net.client_for(seat), tamper=False)
            self._run_out_phase(task, "Reveal")
        else:
            self._run_out_phase(task, "Open")
        self._finalize(task, self.requester)

    def _run_out_phase(self, task: TaskModel, phase: str) -> None:
        """Advance the clock past `task`'s deadline if it is still in `phase`."""
        current, deadline = self.model.phase(task, self.model.now)
        if current == phase and deadline is not None:
            self._advance(deadline + 1 - self.model.now)

    # ---- the actions

    def _uncommitted(self, task: TaskModel) -> list[str]:
        return [a for j, a in enumerate(task.seats) if j not in task.commits]

    def _unrevealed(self, task: TaskModel) -> list[str]:
        return [task.seats[j] for j in task.commits if j not in task.reveals]

    def _answer(self, task: TaskModel, client: PoQClient) -> None:
        now = self._next_time()
        try:
            self.model.check_answer(now, task, client.sender)
        except ModelRevert as expected:
            return self._reverts("answer", client, "submitAnswer", task.id, "output", expected=expected)
        receipt = self._send("answer", client, "submitAnswer", task.id, f"output-{task.id}")
        selected = self._events(receipt, "EvaluatorSelected")
        assert [e["seat"] for e in selected] == list(range(len(selected)))
        self.model.apply_answer(self.model.now, task, client.sender, [e["evaluator"] for e in selected])
        view = self.view("getTask", task.id)
        assert [a.lower() for a in view["evaluators"]] == task.seats

    def _reveal_reference(self, task: TaskModel, client: PoQClient, tamper: bool) -> None:
        text, salt = task.reference or ("none", b"\0" * 32)
        if tamper:
            text += "!"
        try:
            self.model.reveal_reference(self._next_time(), task, client.sender, text, salt)
        except ModelRevert as expected:
            return self._reverts("reveal_reference", client, "revealReference", task.id, text, salt,
                                 expected=expected)
        self._send("reveal_reference", client, "revealReference", task.id, text, salt)

    def _commit_score(self, task: TaskModel, client: PoQClient, score: int) -> None:
        salt = self._salt()
        digest = commitments.score_commitment(self.net.chain_id, client.address, task.id, client.sender, score, salt)
        try:
            self.model.commit_score(self._next_time(), task, client.sender, score, salt)
        except ModelRevert as expected:
            return self._reverts("commit_score", client, "commitScore", task.id, digest, expected=expected)
        self._send("commit_score", client, "commitScore", task.id, digest)

    def _reveal_score(self, task: TaskModel, client: PoQClient, tamper: bool) -> None:
        key = client.sender.lower()
        commit = task.commits.get(task.seats.index(key)) if key in task.seats else None
        score, salt = (commit.score, commit.salt) if commit else (1, b"\0" * 32)
        if tamper:
            score = (score + 1) % 10_001
        try:
            self.model.reveal_score(self._next_time(), task, client.sender, score, salt)
        except ModelRevert as expected:
            return self._reverts("reveal_score", client, "revealScore", task.id, score, salt, expected=expected)
        receipt = self._send("reveal_score", client, "revealScore", task.id, score, salt)
        (event,) = self._events(receipt, "ScoreRevealed")
        assert event["score"] == score

    def _finalize(self, task: TaskModel, client: PoQClient) -> None:
        statuses = {a: n.status for a, n in self.model.nodes.items()}
        try:
            settled = self.model.finalize(self._next_time(), task)
        except ModelRevert as expected:
            return self._reverts("finalize", client, "finalize", task.id, expected=expected)
        receipt = self._send("finalize", client, "finalize", task.id)
        rewards = [
            (e["account"].lower(), e["rewardWad"], e["amountWei"]) for e in self._events(receipt, "RewardSettled")
        ]
        assert rewards == settled.rewards
        refunds = [e["amount"] for e in self._events(receipt, "FeeRefunded")]
        assert refunds == ([settled.refund] if settled.refund else [])
        suspended = {e["node"].lower() for e in self._events(receipt, "NodeSuspended")}
        assert suspended == self._suspended_by(statuses)
        if settled.quality is None:
            (event,) = self._events(receipt, "TaskExpired")
            assert event["node"].lower() == task.node
        else:
            (event,) = self._events(receipt, "TaskFinalized")
            assert (event["quality"], event["revealed"]) == (settled.quality, settled.revealed)

    # ------------------------------------------------------------------ the clock

    @rule(seconds=st.one_of(st.integers(1, 300), st.integers(1, 30), st.sampled_from([1, 50, 100])))
    def advance_time(self, seconds: int) -> None:
        self._advance(seconds)
        self._count("advance_time")

    @precondition(lambda self: self.is_unbonding())
    @rule()
    def wait_for_unbonding(self) -> None:
        """Jump to the end of the earliest unbonding delay (longer than advance_time's steps), so
        exited nodes come back within an example."""
        ends = min(self.model.node(c.sender).unbonding_ends for c in self._nodes_where(EXITING))
        self._advance(max(1, ends - self._next_time()))
        self._count("wait_for_unbonding")

    def _advance(self, seconds: int) -> None:
        from deploy.devnet import advance_time

        advance_time(self.w3, seconds)
        self.model.now += seconds
        assert self._chain_now() == self.model.now
