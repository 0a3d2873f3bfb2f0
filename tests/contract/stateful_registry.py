"""Registry rules of the stateful machine (tests/contract/test_stateful.py), as a mixin: register,
add stake, exit, release, withdraw, declared costs and the unbonding clock.

Each rule picks, most of the time, a target for which the action can succeed and otherwise any
account, so the named reverts are checked as well; the model decides which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from offchain.chain.client import PoQClient
from offchain.protocol import commitments
from offchain.protocol.types import Status
from tests.contract.model import EVALUATOR, INFERENCE, STAKED, PoQModel
from tests.contract.stateful_support import STEPS, draw_client

STAKES = st.sampled_from(["min", "min+odd", "2min", "3min+odd", "lowest", "outbid", "outbid", "min-1"])


class RegistryRules:
    """Rules over accounts; PoQMachine supplies the chain, the model and the plumbing they call."""

    model: PoQModel
    net: Any
    nodes: list[PoQClient]
    accounts: list[PoQClient]
    _act: Callable[..., tuple[Any, Any]]
    _advance: Callable[[int], None]
    _salt: Callable[[], bytes]
    _stake: Callable[[str, int], int]
    _events: Callable[[Any, str], list[dict[str, Any]]]
    view: Any

    def _nodes_where(self, *statuses: Status) -> list[PoQClient]:
        return [c for c in self.nodes if self.model.node(c.sender).status in statuses]

    def _pick(self, data: st.DataObject, eligible: list[PoQClient], others: list[PoQClient] | None = None
              ) -> PoQClient:
        """Mostly an eligible node; else one of `others` (default: any node) for the named revert."""
        if eligible and data.draw(st.integers(0, 4), label="eligible") > 0:
            return draw_client(data, eligible, "node")
        return draw_client(data, others or self.nodes, "node")

    def _register(self, client: PoQClient, role: int, value: int) -> None:
        name = f"model-{client.sender[-4:]}-{role}"
        receipt, _ = self._act("register", client, "register", role, name, value=value,
                               predict=lambda: self.model.register(client.sender, role, value, name))
        if receipt is not None:
            n = self.model.node(client.sender)
            (event,) = self._events(receipt, "NodeRegistered")
            assert (event["id"], event["role"], event["model"], event["stake"]) == (n.id, role, name, value)
            assert self.view("nodeAt", n.id).lower() == n.address

    # ------------------------------------------------------------------ stake

    @rule(data=st.data(), role=st.sampled_from(["short"] * 4 + [INFERENCE, EVALUATOR] * 4 + [0, 3]), stake=STAKES)
    def register(self, data: st.DataObject, role: int | str, stake: str) -> None:
        """A new or exited key registers (maybe in its other role; "short": the role whose pool cannot
        staff a batch, if any); "lowest" ties a full pool's lowest stake (PoolFull), "outbid" beats it
        by one wei (evicting that node to Standby); 0 and 3 are no role (InvalidRole)."""
        if role == "short":
            short = not self.model.pools[INFERENCE] or len(self.model.pools[EVALUATOR]) >= self.model.p.k
            role = INFERENCE if short else EVALUATOR
        assert isinstance(role, int)
        client = self._pick(data, self._nodes_where(Status.NONE, Status.EXITED))
        self._register(client, role, self._stake(stake, role if role in (INFERENCE, EVALUATOR) else INFERENCE))

    @rule(data=st.data(), amount=st.sampled_from(["1", "half", "min", "outbid"]))
    def add_stake(self, data: st.DataObject, amount: str) -> None:
        """Top up an Active, Suspended or Standby node; the latter two rejoin their pool when they can."""
        client = self._pick(data, self._nodes_where(*STAKED))
        n = self.model.node(client.sender)
        m = self.model.p.minStake
        lowest = self.model.lowest(n.role)[0] if n.role and self.model.pools[n.role] else m
        value = {"1": 1, "half": m // 2, "min": m, "outbid": max(1, lowest + 1 - n.stake)}[amount]
        was = n.status.label
        receipt, _ = self._act("add_stake", client, "addStake", value=value,
                               predict=lambda: self.model.add_stake(client.sender, value))
        if receipt is not None:
            STEPS[f"add_stake:{was}->{n.status.label}"] += 1

    @rule(data=st.data())
    def request_exit(self, data: st.DataObject) -> None:
        """Leave at any time, open batches or not."""
        client = self._pick(data, self._nodes_where(*STAKED))
        n = self.model.node(client.sender)
        busy = n.open_batches > 0 or self.model.drawn_count < self.model.batch_count
        receipt, _ = self._act("request_exit", client, "requestExit",
                               predict=lambda: self.model.request_exit(client.sender))
        if receipt is not None and busy:
            STEPS["request_exit:with-open-or-undrawn-batches"] += 1

    @precondition(lambda self: bool(self._nodes_where(Status.EXITING)))
    @rule(data=st.data(), wait=st.sampled_from([False, False, True]))
    def release_stake(self, data: st.DataObject, wait: bool) -> None:
        """An exiting node asks for its stake: UnbondingNotOver, DrawsPending, NodeHasOpenBatches or paid.
        `wait` first jumps to the end of its unbonding delay (longer than advance_time's steps)."""
        exiting = self._nodes_where(Status.EXITING)
        held = [c for c in exiting if self.model.node(c.sender).open_batches  # NodeHasOpenBatches, DrawsPending
                or self.model.drawn_count < self.model.node(c.sender).exit_batch]
        client = self._pick(data, held if held and wait else exiting)
        ends = self.model.node(client.sender).unbonding_ends
        if wait and ends > self.model.tx_time:
            self._advance(ends - self.model.tx_time)
        self._act("release_stake", client, "releaseStake", predict=lambda: self.model.release_stake(client.sender))

    @rule(data=st.data(), share=st.sampled_from([0, 1, 2, 4, 4, 5]))
    def withdraw(self, data: st.DataObject, share: int) -> None:
        """share/4 of any account's balance (nodes, requesters, the treasury); 5: one wei too many."""
        funded = [c for c in self.accounts if self.model.node(c.sender).balance]
        client = draw_client(data, funded if funded and share < 5 else self.accounts, "account")
        balance = self.model.node(client.sender).balance
        amount = balance * share // 4 + (1 if share == 5 else 0)
        eth_before = client.balance_of(client.sender)
        receipt, _ = self._act("withdraw", client, "withdraw", amount,
                               predict=lambda: self.model.withdraw(client.sender, amount))
        if receipt is not None:
            gas = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
            assert client.balance_of(client.sender) == eth_before + amount - gas

    # ------------------------------------------------------------------ declared costs

    def _commit_cost(self, client: PoQClient, latency: int) -> None:
        salt = self._salt()
        epoch = self.model.epoch()
        digest = commitments.cost_commitment(self.net.chain_id, client.address, epoch, client.sender, latency, salt)
        self._act("commit_cost", client, "commitCost", digest,
                  predict=lambda: self.model.commit_cost(client.sender, latency, salt))

    def _uncommitted(self) -> list[PoQClient]:
        epoch = self.model.epoch()
        return [c for c in self._nodes_where(Status.ACTIVE)
                if self.model.node(c.sender).cost_commit is None or self.model.node(c.sender).cost_epoch != epoch]

    @rule(data=st.data(), step=st.sampled_from(["commit", "reveal", "report", "report"]),
          latency=st.one_of(st.integers(1, 5_000), st.just(100)), offset=st.integers(0, 10**6),
          tamper=st.sampled_from([None] * 6 + ["salt", "latency", "zero"]))
    def declare_cost(self, data: st.DataObject, step: str, latency: int, offset: int, tamper: str | None) -> None:
        """A declared latency: commit, reveal (maybe tampered or outside its epoch), or a whole report
        in one step (commit, wait for the next epoch, reveal)."""
        if step == "reveal":
            return self._reveal_cost(data, tamper)
        client = self._pick(data, self._uncommitted(), self._nodes_where(Status.ACTIVE))  # CostAlreadyCommitted
        self._commit_cost(client, latency)
        if step == "report" and self.model.node(client.sender).cost_commit:
            length = self.model.p.epochLength
            next_epoch = (self.model.node(client.sender).cost_epoch + 1) * length
            wait = next_epoch + offset % (length - 1) + 1 - self.model.tx_time  # lands in the next epoch
            if wait < 1:
                return  # the commitment is an older one (this commit reverted)
            self._advance(wait)
            self._reveal_cost(data, tamper, client)

    def _reveal_cost(self, data: st.DataObject, tamper: str | None, client: PoQClient | None = None) -> None:
        if client is None:
            pending = [c for c in self.nodes if self.model.node(c.sender).cost_commit]
            due = [c for c in self._nodes_where(Status.ACTIVE)
                   if c in pending and self.model.node(c.sender).cost_epoch + 1 == self.model.epoch()]
            client = self._pick(data, due, pending)
        commit = self.model.node(client.sender).cost_commit
        latency, salt = (commit[1], commit[2]) if commit else (100, b"\0" * 32)
        if tamper == "salt":
            salt = self._salt()
        elif tamper == "latency":
            latency += 1
        elif tamper == "zero":
            latency = 0
        self._act("reveal_cost", client, "revealCost", latency, salt,
                  predict=lambda: self.model.reveal_cost(client.sender, latency, salt))
