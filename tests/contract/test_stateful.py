"""Stateful property test: the real batch contract and a Python model (tests/contract/model.py), side by side.

A hypothesis RuleBasedStateMachine deploys ProofOfQuality with random parameters on the embedded
eth-tester chain and plays random registry, declared-cost, batch and clock actions by real signed
transactions (rules in stateful_registry.py and stateful_batches.py). Before each transaction the
model says whether it must succeed or revert (with which custom error and arguments); every event
that carries a number (draws, measured costs, settlements, evictions, suspensions) is compared with
the model's, and after every step the views are: each account's getNode, both pools, cost ranges,
counters and accounting(), each live batch's stageOf and getBatch. Invariants: the contract holds
exactly stakes + balances + escrow; no stage goes backwards; pools hold only Active nodes, at most
maxPoolSize. At the end of every run the teardown drives every batch to Finalized, exits every node
and withdraws every balance: the contract must then hold nothing (nothing stuck).

One run per aggregation mode, each over random deployments (K, pool and batch sizes, weights, trust
and cost parameters, the treasury a node or not). Determinism: the chain clock starts at a fixed
time (far ahead of the wall clock, so every block is its parent + 1 s) and prevrandao comes from a
seeded generator, so a failing example replays. Sizes and the longer-run knobs: stateful_support.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, run_state_machine_as_test
from hypothesis.strategies._internal.featureflags import FeatureFlags

from offchain.chain import reverts
from offchain.chain.accounts import dev_account
from offchain.chain.client import PoQClient
from offchain.errors import ContractRevert
from offchain.protocol import Params, commitments
from offchain.protocol.types import Role, Stage, Status
from tests.contract.model import EVALUATOR, INFERENCE, ModelRevert, PoQModel
from tests.contract.model_registry import Events
from tests.contract.stateful_batches import BatchRules
from tests.contract.stateful_registry import RegistryRules
from tests.contract.stateful_support import (
    ALL_KEYS,
    DEPLOYED,
    FIXED_GAS,
    MACHINE_BATCHES,
    MACHINE_STEPS,
    MIN_STEPS,
    NODE_KEYS,
    READER_KEY,
    SECOND_REQUESTER_KEY,
    SEEDED_OS,
    SETTINGS,
    START_TIME,
    STEPS,
    TREASURY_KEY,
    Views,
    norm,
    params_strategy,
)

STAKE_MENU = ("min", "min", "min+odd", "2min", "3min+odd")


class PoQMachine(RegistryRules, BatchRules, RuleBasedStateMachine):
    artifacts: Any = None
    deployments_dir: Path | None = None
    base_chain: tuple[Any, Any] = (None, None)  # (Web3, snapshot): the clock set, the actors funded
    aggregation = 0
    first_k = 1

    def __init__(self) -> None:
        super().__init__()
        # Hypothesis' swarm testing disables a random share of the rules in each example (half on
        # average); a batch needs the rules of all its stages to reach settlement, so every rule
        # stays enabled and the rules' own draws do the biasing.
        self._rules_strategy.enabled_rules_strategy = st.just(FeatureFlags())
        self.salt_counter = 0
        self.steps = 0
        self.storage_changed = True  # a successful transaction happened since the views were read
        self.last_stage: dict[int, int] = {}
        self.checked_final: set[int] = set()

    # ------------------------------------------------------------------ setup

    @initialize(data=st.data())
    def deploy(self, data: st.DataObject) -> None:
        from deploy.devnet import Devnet

        params = data.draw(params_strategy(self.aggregation, self.first_k), label="params")
        treasury_kind = data.draw(st.sampled_from(["deployer", "account", "node"]), label="treasury")
        treasury_key = {"deployer": 0, "account": TREASURY_KEY, "node": NODE_KEYS[-1]}[treasury_kind]
        treasury = dev_account(treasury_key).address
        if treasury_kind != "deployer":
            params = Params(**{**params.as_dict(), "treasury": int(treasury, 16)})
        SEEDED_OS.rng.seed(repr(params))
        w3, snapshot = self.base_chain
        w3.provider.ethereum_tester.revert_to_snapshot(snapshot)  # type: ignore[attr-defined]
        self.net = Devnet.create(w3, params, n_inference=0, n_evaluators=0, deployments_dir=self.deployments_dir,
                                 artifacts=self.artifacts, fixed_gas=FIXED_GAS)
        self.w3 = w3
        owner = self.net.owner
        self.nodes: list[PoQClient] = [owner.with_account(dev_account(i)) for i in NODE_KEYS]
        self.requesters = [self.net.requester, owner.with_account(dev_account(SECOND_REQUESTER_KEY))]
        self.clients = {c.sender.lower(): c for c in [owner, *self.nodes, *self.requesters]}
        self.clients.setdefault(treasury.lower(), owner.with_account(dev_account(treasury_key)))
        self.accounts = list(self.clients.values())  # every account that can hold a balance
        self.view = Views(owner.with_account(dev_account(READER_KEY)))
        latest = w3.eth.get_block("latest")
        self.model = PoQModel(params, treasury, int(latest["timestamp"]), int(latest["number"]))
        DEPLOYED[(params.aggregation, params.k)] += 1
        STEPS["deploy"] += 1
        n_inference = data.draw(st.integers(1, 2), label="inference nodes")
        n_evaluators = data.draw(st.integers(params.k, min(params.maxPoolSize + 1, len(NODE_KEYS) - n_inference)),
                                 label="evaluators")
        roles = [INFERENCE] * n_inference + [EVALUATOR] * n_evaluators
        for client, role in zip(self.nodes, roles, strict=False):
            self._register(client, role, self._stake(data.draw(st.sampled_from(STAKE_MENU), label="stake"), role))

    # ------------------------------------------------------------------ plumbing

    def _salt(self) -> bytes:
        self.salt_counter += 1
        return keccak(self.salt_counter.to_bytes(32, "big"))

    def _stake(self, kind: str, role: int) -> int:
        """A stake: a multiple of minStake, or relative to the role's lowest pool stake."""
        m = self.model.p.minStake
        lowest = self.model.lowest(role)[0] if self.model.pools[role] else m
        return {"min-1": m - 1, "min": m, "min+odd": m + 12_345, "2min": 2 * m, "3min+odd": 3 * m + 1,
                "lowest": lowest, "outbid": lowest + 1}[kind]

    def _client(self, address: str) -> PoQClient:
        return self.clients[address.lower()]

    def _mined(self, receipt: Any) -> None:
        block = self.w3.eth.get_block(receipt["blockNumber"])
        assert (int(block["number"]), int(block["timestamp"])) == (self.model.tx_block, self.model.tx_time), \
            "the model lost track of the chain's clock"
        self.model.mined()

    def _act(self, rule: str, client: PoQClient, fn: str, *args: Any, predict: Any, value: int = 0) -> Any:
        """Ask the model about `fn(*args)` from `client`, then send it: a predicted revert must revert
        with that error; anything else must succeed. Returns (receipt, the model's outcome), or
        (None, None) after a revert."""
        self.model.events = Events()
        try:
            outcome = predict()
        except ModelRevert as expected:
            self._reverts(rule, client, fn, *args, expected=expected, value=value)
            return None, None
        try:
            receipt = client.transact(fn, *args, value=value)
        except ContractRevert as exc:
            raise AssertionError(f"{fn}{args} from {client.sender}: {exc}; the model expected success") from None
        self._mined(receipt)
        self.storage_changed = True
        STEPS[f"{rule}:ok"] += 1
        evicted = [(e["node"].lower(), e["by"].lower()) for e in self._events(receipt, "NodeEvicted")]
        assert evicted == self.model.events.evicted, f"{fn}: evictions {evicted} != {self.model.events.evicted}"
        suspended = [e["node"].lower() for e in self._events(receipt, "NodeSuspended")]
        assert suspended == self.model.events.suspended, f"{fn}: suspended {suspended}"
        return receipt, outcome

    def _reverts(self, rule: str, client: PoQClient, fn: str, *args: Any, expected: ModelRevert, value: int) -> None:
        """Dry-run at the next block (same state, same time) for the decoded error, then send."""
        try:
            getattr(client.contract.functions, fn)(*args).call(
                {"from": client.sender, "value": value}, block_identifier="pending"
            )
        except Exception as exc:  # web3 and eth-tester raise unrelated types for a revert
            error = reverts.decode_revert(exc, self.net.owner.manifest.abi)
        else:
            raise AssertionError(f"{fn}{args} from {client.sender} succeeds; the model expected {expected}")
        got = (getattr(error, "error_name", None), {k: norm(v) for k, v in getattr(error, "error_args", {}).items()})
        want = (expected.name, {k: norm(v) for k, v in expected.args_by_name.items()})
        assert got == want, f"{fn}{args} from {client.sender}: {error}, the model expected {expected}"
        # The transaction itself must fail too (mined with status 0: the gas limit is fixed, so
        # nothing estimates it away); the invariants then check that it changed nothing.
        receipt = self.w3.eth.get_transaction_receipt(client.send(fn, *args, value=value))
        assert receipt["status"] == 0, f"{fn}{args} was mined successfully; the model expected {expected}"
        self._mined(receipt)
        STEPS[f"{rule}:revert:{expected.name}"] += 1

    def _events(self, receipt: Any, event: str) -> list[dict[str, Any]]:
        return [dict(e["args"]) for e in self.net.owner.receipt_events(receipt, event)]

    def _advance(self, seconds: int) -> None:
        from deploy.devnet import advance_time

        advance_time(self.w3, seconds)  # eth-tester's time travel mines one or two blocks
        latest = self.w3.eth.get_block("latest")
        assert int(latest["timestamp"]) == self.model.now + seconds, "the chain's clock moved otherwise"
        self.model.advance(seconds, blocks=int(latest["number"]) - self.model.block)

    def _mine(self, blocks: int) -> None:
        from deploy.devnet import mine

        mine(self.w3, blocks)
        self.model.mine(blocks)
        latest = self.w3.eth.get_block("latest")
        assert (int(latest["number"]), int(latest["timestamp"])) == (self.model.block, self.model.now)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def chain_matches_model(self) -> None:
        if not hasattr(self, "model"):
            return
        self.steps += 1  # invariants run once after each step (and once after the deploy)
        m = self.model
        stakes, balances, escrow = m.accounting()
        # Every wei the contract holds is a stake, a balance (the treasury's included) or escrow.
        assert self.view.balance() == stakes + balances + escrow
        if self.storage_changed:  # getNode, pool, costRange, counters and accounting read only storage
            self.storage_changed = False
            assert tuple(self.view("accounting")) == (stakes, balances, escrow)
            self._check_pools(self._check_nodes())
            counts = tuple(self.view(fn) for fn in ("batchCount", "drawnCount", "taskCount", "nodeCount"))
            assert counts == (m.batch_count, m.drawn_count, m.task_count, m.node_count)
            for b in list(m.batches.values()):
                if b.id not in self.checked_final:
                    self._check_batch(b.id)
        for b in m.live_batches():
            self._check_stage(b.id, self.view("stageOf", b.id))

    def _check_nodes(self) -> dict[str, dict[str, Any]]:
        """getNode of every account against the model; returns the views by address."""
        m = self.model
        views = {}
        for client in self.accounts:
            n = m.node(client.sender)
            v = views[n.address] = self.view("getNode", client.sender)
            commitment = b"\0" * 32
            if n.cost_commit is not None:
                epoch, latency, salt = n.cost_commit
                commitment = commitments.cost_commitment(self.net.chain_id, client.address, epoch, client.sender,
                                                         latency, salt)
            got = (v["role"], Status(v["status"]), v["id"], v["openBatches"], v["stake"], v["balance"], v["units"],
                   v["costUs"], v["costSamples"], v["declaredUs"], v["unbondingEnds"], v["exitBatch"],
                   v["costCommitment"], v["costEpoch"], v["model"], v["trustWeight"])
            want = (n.role, n.status, n.id, n.open_batches, n.stake, n.balance, m.units(n.stake), n.cost_us,
                    n.cost_samples, n.declared_us, n.unbonding_ends, n.exit_batch, commitment, n.cost_epoch,
                    n.model, m.trust(client.sender))
            assert got == want, f"{client.sender}: chain {got} != model {want}"
        return views

    def _check_pools(self, views: dict[str, dict[str, Any]]) -> None:
        m = self.model
        for role in (INFERENCE, EVALUATOR):
            nodes, units = self.view("pool", role)
            nodes = [a.lower() for a in nodes]
            assert (nodes, list(units)) == (m.pools[role], [u for _, u in m.pool_entries(role)]), \
                f"{Role(role).label} pool: chain {nodes} {units} != model {m.pool_entries(role)}"
            # invariant 3, on the chain's own views: only Active nodes of the role, each once, at most maxPoolSize
            assert len(nodes) == len(set(nodes)) <= m.p.maxPoolSize
            for address in nodes:
                assert (views[address]["status"], views[address]["role"]) == (Status.ACTIVE, role), \
                    f"{address} in the {Role(role).label} pool"
            assert tuple(self.view("costRange", role)) == m.cost_range(role)

    def _check_stage(self, batch_id: int, stage_deadline: tuple[int, int]) -> None:
        b = self.model.batches[batch_id]
        want = self.model.stage_at(b, self.model.now)
        stage, deadline = stage_deadline
        label = f"batch {batch_id} at {self.model.now}"
        assert Stage(stage) == want.stage, f"{label}: chain {Stage(stage).label} != model {want.stage.label}"
        if want.deadline is not None:
            assert deadline == want.deadline, f"{label} ({want.stage.label}): deadline {deadline} != {want.deadline}"
        assert stage >= self.last_stage.get(batch_id, 0), f"batch {batch_id} went back to {Stage(stage).label}"
        self.last_stage[batch_id] = stage

    def _check_batch(self, batch_id: int) -> None:
        b = self.model.batches[batch_id]
        v = self.view("getBatch", batch_id)
        self._check_stage(batch_id, (v["stage"], v["deadline"]))
        final = b.finalized
        got = (norm(v["requester"]), v["size"], v["firstTaskId"], v["fee"], v["drawBlock"], v["openedAt"],
               v["hasReference"], v["inferenceCount"], [a.lower() for a in v["participants"]], list(v["items"]),
               list(v["flags"]))
        want = (b.requester, b.size, b.first_task, 0 if final else b.fee, b.draw_block, b.opened_at,
                b.reference is not None, b.inference_count, [] if final else b.participants,
                [] if final else b.items, [] if final else [b.flags(p) for p in range(len(b.participants))])
        assert got == want, f"batch {batch_id}: chain {got} != model {want}"
        if final:
            self.checked_final.add(batch_id)

    # ------------------------------------------------------------------ teardown: nothing stuck

    def teardown(self) -> None:
        if not hasattr(self, "model"):
            return
        MACHINE_STEPS.append(self.steps)
        MACHINE_BATCHES.append(sum(b.finalized for b in self.model.batches.values()))
        if sys.exc_info()[0] is not None:
            STEPS["aborted"] += 1
            return  # the run failed (or hypothesis stopped it): report that, not the drain's failure
        self.drain()

    def drain(self) -> None:
        """Finalize every batch, exit every node, withdraw every balance: the contract must end empty."""
        m = self.model
        for b in m.live_batches():
            while not b.finalized:
                at = m.stage(b)
                if at.stage == Stage.OPENED:
                    if m.tx_block <= b.draw_block:
                        self._mine(b.draw_block + 1 - m.tx_block)
                    self._draw(b.id, self.requesters[0])
                elif at.stage == Stage.CLOSED:
                    self._finalize(b.id, self.requesters[0])
                else:  # let the clock end the stage
                    assert at.deadline is not None
                    self._advance(at.deadline - m.now)
        for client in self.nodes:
            if m.node(client.sender).status in (Status.ACTIVE, Status.SUSPENDED, Status.STANDBY):
                self._act("drain", client, "requestExit", predict=lambda c=client: m.request_exit(c.sender))
        exiting = [c for c in self.nodes if m.node(c.sender).status == Status.EXITING]
        if exiting:
            self._advance(max(1, max(m.node(c.sender).unbonding_ends for c in exiting) - m.tx_time))
        for client in exiting:
            self._act("drain", client, "releaseStake", predict=lambda c=client: m.release_stake(c.sender))
        for client in self.accounts:
            balance = m.node(client.sender).balance
            if balance:
                self._act("drain", client, "withdraw", balance,
                          predict=lambda c=client, x=balance: m.withdraw(c.sender, x))
        self.storage_changed = True
        self.chain_matches_model()
        assert m.accounting() == (0, 0, 0)
        assert (self.view.balance(), tuple(self.view("accounting"))) == (0, (0, 0, 0)), "wei stuck in the contract"
        STEPS["drained"] += 1


def base_chain() -> tuple[Any, Any]:
    """An embedded chain whose clock is at START_TIME and whose dev actors are funded, and a
    snapshot of it: each machine reverts to the snapshot instead of funding a new chain."""
    from deploy.devnet import FUNDING_WEI
    from offchain.chain.accounts import fund_accounts
    from offchain.chain.connect import embedded_web3

    w3 = embedded_web3()
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.time_travel(START_TIME)
    fund_accounts(w3, [dev_account(i).address for i in ALL_KEYS], FUNDING_WEI)
    return w3, tester.take_snapshot()


@pytest.mark.slow
@pytest.mark.parametrize("aggregation", [0, 1, 2, 3], ids=["mean", "median", "trimmed", "trust"])
def test_contract_matches_model(aggregation: int, poq_artifacts: Any, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One run per aggregation mode; K is random, and the first (simplest) example of mode m deploys
    K = 1 + m % 3, so the four runs cover every mode and every K."""
    import eth_tester.backends.pyevm.main as pyevm_backend

    first_k = 1 + aggregation % 3
    machine = type(f"PoQMachine_{aggregation}", (PoQMachine,), {"aggregation": aggregation, "first_k": first_k})
    monkeypatch.setattr(pyevm_backend, "os", SEEDED_OS)
    monkeypatch.setattr(PoQMachine, "artifacts", poq_artifacts)
    monkeypatch.setattr(PoQMachine, "deployments_dir", tmp_path / "deployments")
    monkeypatch.setattr(PoQMachine, "base_chain", base_chain())
    STEPS.clear()
    MACHINE_STEPS.clear()
    MACHINE_BATCHES.clear()
    DEPLOYED.clear()
    run_state_machine_as_test(machine, settings=SETTINGS)
    executed = sum(MACHINE_STEPS)
    print(f"\nstateful ({aggregation=}): {executed} steps over {len(MACHINE_STEPS)} machines: {MACHINE_STEPS}")
    print(f"  batches finalized per machine before the teardown: {MACHINE_BATCHES}")
    print(f"  deployed (aggregation, K): {dict(DEPLOYED)}")
    for name, count in sorted(STEPS.items()):
        print(f"  {name}: {count}")
    assert executed >= MIN_STEPS // 4, f"only {executed} steps ran"
    assert (aggregation, first_k) in DEPLOYED, f"K = {first_k} was never deployed: {dict(DEPLOYED)}"
    assert STEPS["drained"] + STEPS["aborted"] == STEPS["deploy"] and STEPS["drained"], \
        "a run ended without the nothing-stuck teardown"


def test_draw_of_a_drawn_batch_reports_the_stage_stageOf_reports(make_devnet: Any) -> None:
    """Found by the machine above: every call that needs a stage reverts WrongStage with the batch's
    stage as `_stage` derives it from the clock (the one stageOf shows), except `draw`, which reports
    the stored one (PoQDraw._draw: `b.stage`). A batch drawn and left unanswered past its answer
    window is Closed, and draw() must say so, not Answering (fixed: PoQDraw reads `_stage(b)`)."""
    from deploy.devnet import advance_time

    params = Params(k=1, answerWindow=60, evaluatorReward=0)
    net = make_devnet(params, n_inference=1, n_evaluators=1, fixed_gas=FIXED_GAS)
    batch_id, _ = net.open_batch(["question"], with_reference=False)
    net.draw(batch_id)
    advance_time(net.w3, params.answerWindow + 1)  # nobody answers: nothing to score, Closed
    assert Stage(net.owner.call("stageOf", batch_id)[0]) == Stage.CLOSED
    with pytest.raises(reverts.WrongStage) as answered_late:  # any other stage-checked call, for comparison
        net.owner.call("submitAnswers", batch_id, ["late"])
    assert answered_late.value.error_args["actual"] == Stage.CLOSED.label
    with pytest.raises(reverts.WrongStage) as drawn_again:
        net.owner.call("draw", batch_id)
    assert drawn_again.value.error_args == {"batchId": batch_id, "expected": "Opened", "actual": "Closed"}
