"""Audit a deployment's settlements against offchain.protocol, from its events alone.

Replays the contract's log in order, keeping what settlement reads (each node's pool membership,
stake, measured cost and trust weight), and at every BatchFinalized recomputes the batch with
`settle_batch`: every quality, every per-task reward, every participant's total and wei (with the
stake cap on debits) must match to the wei. Finally the contract's ETH must equal its stakes, balances
and escrow exactly. `poq fleet run` and bench/fleet.py report it; a fleet's stress run asserts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offchain.chain.batches import BatchRecord, apply_event, opened_record
from offchain.chain.client import PoQClient
from offchain.chain.events import Event, PollingStream
from offchain.protocol import Params, settle_batch, wad
from offchain.protocol.types import Role


@dataclass
class _Node:
    role: Role = Role.NONE
    in_pool: bool = False
    stake: int = 0
    cost_us: int = 0
    measured: bool = False
    trust: int | None = None


@dataclass
class AuditReport:
    batches: int = 0
    tasks: int = 0
    mismatches: list[str] = field(default_factory=list)
    balance_wei: int = 0
    accounted_wei: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.balance_wei == self.accounted_wei

    def summary(self) -> str:
        verdict = "every reward equals offchain.protocol's" if not self.mismatches else (
            f"{len(self.mismatches)} mismatches, first: {self.mismatches[0]}")
        books = "=" if self.balance_wei == self.accounted_wei else "!="
        return (f"audit: {self.batches} batches, {self.tasks} tasks settled: {verdict}; contract ETH "
                f"{self.balance_wei} {books} stakes + balances + escrow {self.accounted_wei}")


class _Ledger:
    def __init__(self, params: Params) -> None:
        self.params = params
        self.nodes: dict[str, _Node] = {}
        self.batches: dict[int, BatchRecord] = {}  # open batches, folded as offchain.chain.batches does
        self.report = AuditReport()

    def node(self, address: str) -> _Node:
        return self.nodes.setdefault(address, _Node())

    def apply(self, event: Event, settlements: list[Event]) -> None:
        a = event.args
        name = event.name
        if name == "NodeRegistered":
            n = self.node(str(a["node"]))
            n.role, n.in_pool, n.stake, n.cost_us, n.measured = Role(int(a["role"])), True, int(a["stake"]), 0, False
        elif name == "StakeAdded":
            self.node(str(a["node"])).stake = int(a["stake"])
        elif name in ("NodeSuspended", "NodeEvicted", "ExitRequested"):
            self.node(str(a["node"])).in_pool = False
        elif name == "NodeActivated":
            self.node(str(a["node"])).in_pool = True
        elif name == "StakeReleased":
            self.node(str(a["node"])).stake = 0
        elif name == "CostMeasured":
            n = self.node(str(a["node"]))
            n.cost_us, n.measured = int(a["costUs"]), True
        elif name == "BatchOpened":
            self.batches[int(a["batchId"])] = opened_record(a, event.block)
        elif name == "BatchFinalized":
            self._check(int(a["batchId"]), a, settlements)
        elif name in ("BatchDrawn", "AnswersSubmitted", "ReferencesRevealed", "ScoresRevealed"):  # what settles
            apply_event(self.batches[int(a["batchId"])], name, a, event.block, self.params.k)

    def _cost(self, address: str) -> int:
        node = self.node(address)
        pool = [(n.cost_us if n.measured else None, min(n.stake // self.params.minStake, 2**32 - 1))
                for n in self.nodes.values() if n.in_pool and n.role == node.role]
        lo, hi = wad.pool_cost_range(pool, self.params.costRule, self.params.costQuantile)
        return wad.normalized_cost(node.measured, node.cost_us, lo, hi)

    def _check(self, batch_id: int, final: dict[str, Any], settlements: list[Event]) -> None:
        b = self.batches.pop(batch_id)
        p = self.params
        costs = [self._cost(a) for a in b.participants]  # read before anyone is settled, as the contract does
        weights = [self.node(a).trust or p.trustInitial for a in b.participants]
        answered = [a in b.answered for a in b.participants]
        revealed = [b.scores.get(a) for a in b.participants]
        want = settle_batch(p, b.fee, b.tasks, answered, revealed, costs, weights,
                            references_withheld=b.references_withheld)
        where = f"batch {batch_id}"
        got_rewards = [int(r) for r in final["rewardWad"]]
        if [int(q) for q in final["quality"]] != want.quality:
            self.report.mismatches.append(f"{where}: quality")
        if got_rewards != [r for row in want.rewards for r in row]:
            wanted = [r for row in want.rewards for r in row]
            diff = next(i for i, (g, w) in enumerate(zip(got_rewards, wanted, strict=True)) if g != w)
            self.report.mismatches.append(f"{where}: per-task rewards differ first at entry {diff}: "
                                          f"{got_rewards[diff]} != {wanted[diff]} (costs {costs})")
        if (int(final["paid"]), int(final["refund"])) != (want.paid, want.refund):
            self.report.mismatches.append(f"{where}: paid/refund")
        by_account = {str(e.args["account"]): e.args for e in settlements}
        for i, address in enumerate(b.participants):
            party, node = want.parties[i], self.node(address)
            debited = min(party.debit, node.stake)
            got = by_account.get(address)
            expected = (party.jobs, party.reward_wad, party.credit - debited)
            if got is None or (int(got["jobs"]), int(got["rewardWad"]), int(got["amountWei"])) != expected:
                self.report.mismatches.append(f"{where}: {address} settled {got} != {expected}")
            node.stake -= debited
            if want.weights and want.weights[i] is not None:
                node.trust = want.weights[i]
        self.report.batches += 1
        self.report.tasks += len(b.tasks)


def audit(client: PoQClient) -> AuditReport:
    """Recompute every finalized batch of the deployment and check the contract's books."""
    ledger = _Ledger(Params.from_dict(client.params()))
    events = PollingStream(client, client.manifest.block_number).read(0.0)
    by_tx: dict[bytes, list[Event]] = {}
    for event in events:
        by_tx.setdefault(event.tx_hash, []).append(event)
    for tx_events in by_tx.values():  # dicts keep insertion order: transactions in chain order
        # a finalize is checked against the state before its own transaction: it read every cost before
        # settling anyone, so a suspension it caused (emitted before BatchFinalized) must not count yet
        settled = [e for e in tx_events if e.name == "RewardsSettled"]
        for event in sorted(tx_events, key=lambda e: e.name != "BatchFinalized"):
            ledger.apply(event, settled)
    stakes, balances, escrow = client.call("accounting")
    ledger.report.accounted_wei = int(stakes) + int(balances) + int(escrow)
    ledger.report.balance_wei = client.balance_of(client.address)
    return ledger.report
