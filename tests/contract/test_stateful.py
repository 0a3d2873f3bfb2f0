"""Stateful property test: the real contract and a Python model (tests/contract/model.py), side by side.

A hypothesis RuleBasedStateMachine deploys ProofOfQuality with random parameters on the embedded
eth-tester chain and plays random registry, cost-report and task actions by real signed
transactions. Before each transaction the model says whether it must succeed or revert (with which
named error and arguments); afterwards the invariants compare every node, task phase, cost range,
the escrow and the slashed reserve with the model, and finalize compares each RewardSettled event
with `offchain.protocol.settle_round` to the wei.

Determinism: the chain clock starts at a fixed time (far ahead of the wall clock, so every block
is its parent + 1 s) and prevrandao comes from a seeded generator, so a failing example replays.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from offchain.chain import reverts
from offchain.chain.client import PoQClient
from offchain.protocol import WAD, Params, commitments
from tests.contract.model import (
    ACTIVE,
    EVALUATOR,
    EXITED,
    EXITING,
    INFERENCE,
    NONE,
    PHASES,
    STATUSES,
    SUSPENDED,
    ModelRevert,
    PoQModel,
    TaskModel,
)
from tests.contract.stateful_support import (
    _SEEDED_OS,
    FIXED_GAS,
    MACHINE_STEPS,
    MIN_STEPS,
    N_EVALUATORS,
    N_INFERENCE,
    N_NODES,
    SETTINGS,
    START_TIME,
    STEPS,
    _norm,
    _Views,
    params_strategy,
)
from tests.contract.stateful_tasks import TaskRules


class PoQMachine(TaskRules, RuleBasedStateMachine):
    artifacts: Any = None
    deployments_dir: Path | None = None
    base_chain: tuple[Any, Any] = (None, None)  # (Web3, snapshot): the clock set, the actors funded

    def __init__(self) -> None:
        super().__init__()
        self.salt_counter = 0
        self.final_phase_checked: set[int] = set()
        self.last_phase: dict[int, int] = {}
        # Only a successful transaction changes contract storage (a reverted one is rolled back,
        # advancing the clock mines empty blocks), and getNode, pool and costRange read nothing
        # but storage: they are re-read after each successful transaction, not after every step.
        self.storage_changed = True
        self.steps = 0

    # ------------------------------------------------------------------ setup

    @initialize(params=params_strategy(), stake_mult=st.sampled_from([1, 1, 2, 3]))
    def deploy(self, params: Params, stake_mult: int) -> None:
        from deploy.devnet import ROLE_EVALUATOR, ROLE_INFERENCE, Devnet

        _SEEDED_OS.rng.seed(repr(params))
        w3, snapshot = self.base_chain
        w3.provider.ethereum_tester.revert_to_snapshot(snapshot)  # type: ignore[attr-defined]
        stake = params.minStake * stake_mult
        self.net = Devnet.create(
            w3,
            params,
            n_inference=N_INFERENCE,
            n_evaluators=N_EVALUATORS,
            deployments_dir=self.deployments_dir,
            artifacts=self.artifacts,
            fixed_gas=FIXED_GAS,
            stake=stake,
        )
        self.w3 = w3
        self.nodes: list[PoQClient] = [*self.net.inference, *self.net.evaluators]
        self.requester: PoQClient = self.net.requester
        self.accounts = [*self.nodes, self.requester]
        self.abi = self.requester.manifest.abi
        self.view = _Views(self.net.owner)  # the deployer sends nothing after the deploy
        self.model = PoQModel(params, self._chain_now())
        for client in self.net.inference:
            self.model.register(0, client.sender, ROLE_INFERENCE, stake)
        for client in self.net.evaluators:
            self.model.register(0, client.sender, ROLE_EVALUATOR, stake)
        self.model.node(self.requester.sender)
        self._count("deploy")

    # ------------------------------------------------------------------ plumbing

    def _chain_now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _count(self, key: str) -> None:
        STEPS[key] += 1

    def _tick(self, receipt: Any) -> None:
        block_time = int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        assert block_time == self._next_time(), "the model lost track of the chain clock"
        self.model.now = block_time

    def _salt(self) -> bytes:
        self.salt_counter += 1
        return keccak(self.salt_counter.to_bytes(32, "big"))

    def _next_time(self) -> int:
        """The block time of the next transaction: the chain is ahead of the wall clock."""
        return self.model.now + 1

    def _send(self, name: str, client: PoQClient, fn: str, *args: Any, value: int = 0) -> Any:
        receipt = client.transact(fn, *args, value=value)
        self._tick(receipt)
        self.storage_changed = True
        self._count(f"{name}:ok")
        return receipt

    def _reverts(
        self, name: str, client: PoQClient, fn: str, *args: Any, expected: ModelRevert, value: int = 0
    ) -> None:
        """Dry-run at the next block (same state, same time) for the decoded error, then send."""
        try:
            getattr(client.contract.functions, fn)(*args).call(
                {"from": client.sender, "value": value}, block_identifier="pending"
            )
        except Exception as exc:  # web3 and eth-tester raise unrelated types for a revert
            error = reverts.decode_revert(exc, self.abi)
        else:
            raise AssertionError(f"{fn}{args} succeeded; the model expected {expected}")
        assert getattr(error, "error_name", None) == expected.name, f"{fn}{args}: {error}, expected {expected}"
        got = {k: _norm(v) for k, v in error.error_args.items()}  # type: ignore[attr-defined]
        want = {k: _norm(v) for k, v in expected.args_by_name.items()}
        assert got == want, f"{fn}{args}: {error}, expected {expected}"
        # The transaction itself must fail too (mined with status 0: the gas limit is fixed, so
        # nothing estimates it away); the invariants then check that it changed nothing.
        receipt = self.w3.eth.get_transaction_receipt(client.send(fn, *args, value=value))
        assert receipt["status"] == 0, f"{fn}{args} was mined successfully; the model expected {expected}"
        self._tick(receipt)
        self._count(f"{name}:revert:{expected.name}")

    def _events(self, receipt: Any, event: str) -> list[dict[str, Any]]:
        return [dict(e["args"]) for e in self.requester.receipt_events(receipt, event)]

    def _draw_task(self, data: st.DataObject, eligible: list[TaskModel]) -> TaskModel:
        """Mostly a task where the action can succeed; sometimes any task (to check the revert)."""
        if eligible and data.draw(st.integers(0, 4), label="eligible") > 0:
            return data.draw(st.sampled_from(eligible), label="task")
        return data.draw(st.sampled_from(list(self.model.tasks.values())), label="task")

    def _suspended_by(self, before: dict[str, int]) -> set[str]:
        return {a for a, n in self.model.nodes.items() if n.status == SUSPENDED and before.get(a) != SUSPENDED}

    # Preconditions keep a rule out of the draw while it could only revert: each rule still picks
    # a random (usually failing) target one time in five, so the named reverts are checked too.
    def can_register(self) -> bool:
        return bool(self._nodes_where(NONE, EXITED))

    def can_stake_or_exit(self) -> bool:
        return bool(self._nodes_where(ACTIVE, SUSPENDED))

    def can_commit_cost(self) -> bool:
        epoch = self.model.epoch(self._next_time())
        active = self.model.pool(INFERENCE) + self.model.pool(EVALUATOR)
        return any((n.cost_commit or (None,))[0] != epoch for n in active)

    def can_release(self) -> bool:
        now = self._next_time()
        return any(self.model.node(c.sender).unbonding_ends <= now for c in self._nodes_where(EXITING))

    def is_unbonding(self) -> bool:
        return not self.can_release() and bool(self._nodes_where(EXITING))

    def can_reveal_cost(self) -> bool:
        return any(self.model.node(c.sender).cost_commit for c in self.nodes)

    # ------------------------------------------------------------------ registry rules

    def _draw_node(
        self, data: st.DataObject, eligible: list[PoQClient], near: list[PoQClient] | None = None
    ) -> PoQClient:
        """Mostly a node for which the action can succeed; sometimes one `near` it (e.g. exiting
        but still unbonding) or any node, to check the named revert."""
        choice = data.draw(st.integers(0, 9), label="eligible")
        if eligible and choice > 2:
            return data.draw(st.sampled_from(eligible), label="node")
        if near and choice > 0:
            return data.draw(st.sampled_from(near), label="node")
        return data.draw(st.sampled_from(self.nodes), label="node")

    def _nodes_where(self, *statuses: int) -> list[PoQClient]:
        return [c for c in self.nodes if self.model.node(c.sender).status in statuses]

    @precondition(can_register)
    @rule(data=st.data(), role=st.sampled_from([INFERENCE, EVALUATOR] * 4 + [0, 3, 255]),
          value=st.sampled_from(["min", "2min", "min+odd"] * 3 + ["min-1"]))
    def register(self, data: st.DataObject, role: int, value: str) -> None:
        """Register a node that never did or that exited (maybe in the other role)."""
        m = self.model.p.minStake
        amount = {"min-1": m - 1, "min": m, "2min": 2 * m, "min+odd": m + 12_345}[value]
        client = self._draw_node(data, self._nodes_where(NONE, EXITED))
        try:
            self.model.register(self._next_time(), client.sender, role, amount)
        except ModelRevert as expected:
            return self._reverts("register", client, "register", role, "m", expected=expected, value=amount)
        receipt = self._send("register", client, "register", role, "model", value=amount)
        (event,) = self._events(receipt, "NodeRegistered")
        assert event["id"] == self.model.node(client.sender).id

    @precondition(can_stake_or_exit)
    @rule(data=st.data(), value=st.sampled_from(["1", "half", "min"]))
    def add_stake(self, data: st.DataObject, value: str) -> None:
        """Top up; a Suspended node back at minStake rejoins its pool."""
        m = self.model.p.minStake
        amount = {"1": 1, "half": m // 2, "min": m}[value]
        client = self._draw_node(data, self._nodes_where(SUSPENDED), self._nodes_where(ACTIVE))
        rejoins = self.model.node(client.sender).status == SUSPENDED
        try:
            self.model.add_stake(self._next_time(), client.sender, amount)
        except ModelRevert as expected:
            return self._reverts("add_stake", client, "addStake", expected=expected, value=amount)
        self._send("add_stake", client, "addStake", value=amount)
        if rejoins and self.model.node(client.sender).status == ACTIVE:
            self._count("add_stake:rejoined" + (":with-latency" if self.model.node(client.sender).latency else ""))

    @precondition(can_stake_or_exit)
    @rule(i=st.integers(0, N_NODES - 1))
    def request_exit(self, i: int) -> None:
        client = self.nodes[i]
        try:
            self.model.request_exit(self._next_time(), client.sender)
        except ModelRevert as expected:
            return self._reverts("request_exit", client, "requestExit", expected=expected)
        self._send("request_exit", client, "requestExit")

    @precondition(can_release)
    @rule(data=st.data())
    def release_stake(self, data: st.DataObject) -> None:
        now = self._next_time()
        client = self._draw_node(
            data,
            [c for c in self._nodes_where(EXITING) if self.model.node(c.sender).unbonding_ends <= now],
            self._nodes_where(EXITING),
        )
        try:
            self.model.release_stake(now, client.sender)
        except ModelRevert as expected:
            return self._reverts("release_stake", client, "releaseStake", expected=expected)
        self._send("release_stake", client, "releaseStake")

    @rule(i=st.integers(0, N_NODES), share=st.sampled_from([0, 1, 2, 3, 4, 5]))
    def withdraw(self, i: int, share: int) -> None:
        """share/4 of the balance: 0 (a no-op), part, all, or more than all (InsufficientBalance)."""
        client = self.accounts[i]
        balance = self.model.node(client.sender).balance
        amount = balance * share // 4 + (1 if share == 5 else 0)
        eth_before = client.balance_of(client.sender)
        try:
            self.model.withdraw(self._next_time(), client.sender, amount)
        except ModelRevert as expected:
            return self._reverts("withdraw", client, "withdraw", amount, expected=expected)
        receipt = self._send("withdraw", client, "withdraw", amount)
        gas = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
        assert client.balance_of(client.sender) == eth_before + amount - gas

    # ------------------------------------------------------------------ cost reports

    @precondition(can_commit_cost)
    @rule(data=st.data(), latency=st.one_of(st.integers(1, 5_000), st.sampled_from([100, 200])))
    def commit_cost(self, data: st.DataObject, latency: int) -> None:
        now = self._next_time()
        epoch = self.model.epoch(now)
        client = self._draw_node(data, [
            c for c in self._nodes_where(ACTIVE)
            if (self.model.node(c.sender).cost_commit or (None,))[0] != epoch
        ])
        salt = self._salt()
        digest = commitments.cost_commitment(
            self.net.chain_id, client.address, epoch, client.sender, latency, salt
        )
        try:
            self.model.commit_cost(now, client.sender, latency, salt)
        except ModelRevert as expected:
            return self._reverts("commit_cost", client, "commitCost", digest, expected=expected)
        self._send("commit_cost", client, "commitCost", digest)

    @precondition(can_reveal_cost)
    @rule(data=st.data(), tamper=st.sampled_from([None] * 8 + ["salt", "zero"]))
    def reveal_cost(self, data: st.DataObject, tamper: str | None) -> None:
        now = self._next_time()
        epoch = self.model.epoch(now)
        pending_nodes = [c for c in self.nodes if self.model.node(c.sender).cost_commit]
        client = self._draw_node(data, [
            c for c in self._nodes_where(ACTIVE)
            if (self.model.node(c.sender).cost_commit or (-2,))[0] + 1 == epoch
        ], pending_nodes)
        pending = self.model.node(client.sender).cost_commit
        latency, salt = (pending[1], pending[2]) if pending else (100, b"\0" * 32)
        if tamper == "salt":
            salt = self._salt()
        elif tamper == "zero":
            latency = 0
        try:
            self.model.reveal_cost(now, client.sender, latency, salt)
        except ModelRevert as expected:
            return self._reverts("reveal_cost", client, "revealCost", latency, salt, expected=expected)
        self._send("reveal_cost", client, "revealCost", latency, salt)

    @precondition(can_commit_cost)
    @rule(data=st.data(), latency=st.one_of(st.integers(1, 5_000), st.sampled_from([100, 200])),
          offset=st.integers(0, 10**6))
    def report_cost(self, data: st.DataObject, latency: int, offset: int) -> None:
        """A whole cost report in one step: commit, wait for the next epoch, reveal."""
        now = self._next_time()
        epoch = self.model.epoch(now)
        candidates = [
            c for c in self._nodes_where(ACTIVE) if (self.model.node(c.sender).cost_commit or (None,))[0] != epoch
        ]
        client = data.draw(st.sampled_from(candidates), label="node")
        salt = self._salt()
        digest = commitments.cost_commitment(self.net.chain_id, client.address, epoch, client.sender, latency, salt)
        self.model.commit_cost(now, client.sender, latency, salt)
        self._send("report_cost", client, "commitCost", digest)
        length = self.model.p.epochLength
        self._advance((epoch + 1) * length - self.model.now + offset % (length - 1))  # a block in epoch + 1
        self.model.reveal_cost(self._next_time(), client.sender, latency, salt)  # nothing ran in between
        self._send("report_cost", client, "revealCost", latency, salt)

    # ------------------------------------------------------------------ tasks

    # ------------------------------------------------------------------ invariants

    @invariant()
    def eth_held_equals_stakes_balances_fees_and_slashed(self) -> None:
        if not hasattr(self, "model"):
            return
        self.steps += 1  # invariants run once after each step (and once after the deploy)
        m = self.model
        held = self.view.balance()
        stakes = sum(n.stake for n in m.nodes.values())
        balances = sum(n.balance for n in m.nodes.values())
        # Every wei that came in is a stake, a balance, an unsettled fee or slashed; nothing else.
        assert held == stakes + balances + m.escrow() + m.slashed

    @invariant()
    def nodes_match_model(self) -> None:
        if not hasattr(self, "model") or not self.storage_changed:
            return
        self.storage_changed = False
        for client in self.accounts:
            n = self.model.node(client.sender)
            view = self.view("getNode", client.sender)
            got = (view["role"], STATUSES[view["status"]], view["id"], view["openAssignments"],
                   view["stake"], view["balance"], view["latencyUs"], view["unbondingEnds"], view["trustWeight"])
            want = (n.role, STATUSES[n.status], n.id, n.open_assignments, n.stake, n.balance, n.latency,
                    n.unbonding_ends, self.model.trust(client.sender))
            assert got == want, f"{client.sender}: chain {got} != model {want}"
            pending = b"\0" * 32
            if n.cost_commit is not None:
                epoch, latency, salt = n.cost_commit
                pending = commitments.cost_commitment(
                    self.net.chain_id, client.address, epoch, client.sender, latency, salt
                )
            assert (view["costCommitment"], view["costEpoch"]) == (pending, n.cost_epoch)
        for role in (INFERENCE, EVALUATOR):
            pool = {a.lower() for a in self.view("pool", role)}
            assert pool == {n.address for n in self.model.pool(role)}
            assert tuple(self.view("costRange", role)) == self.model.cost_range(role)
        assert self.view("slashedTotal") == self.model.slashed

    @invariant()
    def phases_match_model(self) -> None:
        if not hasattr(self, "model"):
            return
        m = self.model
        for t in m.tasks.values():
            if t.id in self.final_phase_checked:
                continue  # a settled task's phase is stored and final; it was checked once
            phase, deadline = self.view("phaseOf", t.id)
            want, want_deadline = m.phase(t, m.now)
            assert PHASES[phase] == want, f"task {t.id}: chain {PHASES[phase]} != model {want} at {m.now}"
            if want_deadline is not None:
                assert deadline == want_deadline, f"task {t.id} ({want}): deadline {deadline} != {want_deadline}"
            assert phase >= self.last_phase.get(t.id, 0), f"task {t.id} went back to {PHASES[phase]}"
            self.last_phase[t.id] = phase
            if t.settled is not None:
                self.final_phase_checked.add(t.id)

    def teardown(self) -> None:
        if hasattr(self, "model"):
            statuses = Counter(STATUSES[n.status] for n in self.model.nodes.values())
            MACHINE_STEPS.append(self.steps)
            STEPS["suspended-at-end"] += statuses["Suspended"]
            STEPS["settled-tasks"] += sum(t.settled is not None for t in self.model.tasks.values())


def base_chain() -> tuple[Any, Any]:
    """An embedded chain whose clock is at START_TIME and whose dev actors are funded, and a
    snapshot of it: each machine reverts to the snapshot instead of funding a new chain."""
    from deploy.devnet import FUNDING_WEI
    from offchain.chain.accounts import dev_account, fund_accounts
    from offchain.chain.connect import embedded_web3

    w3 = embedded_web3()
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.time_travel(START_TIME)
    fund_accounts(w3, [dev_account(i).address for i in range(N_NODES + 2)], FUNDING_WEI)
    return w3, tester.take_snapshot()


@pytest.mark.slow
def test_contract_matches_model(poq_artifacts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import eth_tester.backends.pyevm.main as pyevm_backend

    monkeypatch.setattr(pyevm_backend, "os", _SEEDED_OS)
    monkeypatch.setattr(PoQMachine, "artifacts", poq_artifacts)
    monkeypatch.setattr(PoQMachine, "deployments_dir", tmp_path / "deployments")
    monkeypatch.setattr(PoQMachine, "base_chain", base_chain())
    STEPS.clear()
    MACHINE_STEPS.clear()
    run_state_machine_as_test(PoQMachine, settings=SETTINGS)
    executed = sum(MACHINE_STEPS)
    print(f"\nstateful: {executed} steps over {len(MACHINE_STEPS)} machines: {MACHINE_STEPS}")
    for name, count in sorted(STEPS.items()):
        print(f"  {name}: {count}")
    assert executed >= MIN_STEPS, f"only {executed} steps ran"


def test_suspended_node_rejoining_widens_cost_range_again(make_devnet: Any) -> None:
    """Pinned from the stateful test: addStake used to re-activate a Suspended node without
    recomputing its role's cost range, so the range (and every cost in it) ignored the node."""
    from deploy.devnet import advance_time

    penalty = 10**16  # slashPenalty 1.0 x rewardUnit: one missed answer suspends a node at minStake
    params = Params(k=1, minStake=penalty, rewardUnit=penalty, slashPenalty=WAD, answerWindow=50, epochLength=100)
    net = make_devnet(params, n_inference=2, n_evaluators=1, fixed_gas=FIXED_GAS)
    fast, slow = net.inference
    slow.transact("addStake", value=10**18)  # only `fast` can be suspended below
    net.report_costs({fast.sender: 100, slow.sender: 200})
    assert tuple(net.owner.call("costRange", INFERENCE)) == (100, 200)
    for _ in range(64):  # tasks go to a random node: let them lapse until `fast` missed one
        if fast.node(fast.sender)["status"] == SUSPENDED:
            break
        task_id, _, _ = net.open_task(reference=None)
        advance_time(net.w3, params.answerWindow + 1)
        net.finalize(task_id)
    assert fast.node(fast.sender)["status"] == SUSPENDED
    assert tuple(net.owner.call("costRange", INFERENCE)) == (200, 200)
    fast.transact("addStake", value=penalty)
    assert fast.node(fast.sender)["status"] == ACTIVE
    assert tuple(net.owner.call("costRange", INFERENCE)) == (100, 200)
    assert net.owner.call("normalizedCost", slow.sender) == WAD
