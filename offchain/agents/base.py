"""The loop every agent shares: scan its events from a persisted block cursor, do its work, report costs.

Agents are plain synchronous loops (one process each): poll the chain every `poll_s`, read only the
logs addressed to them (indexed filters), keep their work items in SQLite, and stop cleanly on
SIGTERM/SIGINT at the end of a tick.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from offchain.agents.state import AgentState
from offchain.chain.client import PoQClient
from offchain.errors import PoQError
from offchain.protocol import commitments
from offchain.protocol.types import Phase, Status

log = logging.getLogger("poq.agent")


class Agent:
    """Base class: subclasses set `role` and `watch`, and implement `on_event` and `work`."""

    role = "agent"
    watch: tuple[tuple[str, str], ...] = ()  # (event name, indexed argument that names this agent)

    def __init__(self, client: PoQClient, state: AgentState, *, poll_s: float = 0.2) -> None:
        self.client = client
        self.state = state
        self.poll_s = poll_s
        self.me = client.sender
        self._stopping = False
        self.costs = CostReporter(client, state)

    # ------------------------------------------------------------------ the loop

    def run(self, *, until: float | None = None, stop_when: Callable[[], bool] | None = None) -> None:
        """Tick until SIGTERM/SIGINT, `until` (a time.monotonic() deadline) or `stop_when()`."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        log.info("%s agent %s running", self.role, self.me)
        while not self._stopping and (until is None or time.monotonic() < until):
            if stop_when is not None and stop_when():
                break
            started = time.monotonic()
            try:
                self.tick()
            except PoQError as exc:  # a revert or a dropped connection: log it, retry next tick
                log.warning("%s agent %s: %s", self.role, self.me, exc)
            time.sleep(max(0.0, self.poll_s - (time.monotonic() - started)))
        log.info("%s agent %s stopped", self.role, self.me)

    def _request_stop(self, *_: Any) -> None:
        self._stopping = True

    def tick(self) -> None:
        self.scan_events()
        self.work()
        self.costs.tick()

    def scan_events(self) -> None:
        latest = int(self.client.w3.eth.block_number)
        cursor = self.state.cursor
        start = self.client.manifest.block_number if cursor is None else cursor + 1
        if start > latest:
            return
        for name, field in self.watch:
            for event in self.client.events(name, from_block=start, to_block=latest, **{field: self.me}):
                self.on_event(name, event["args"])
        self.state.cursor = latest  # only after every event up to `latest` was stored

    # ------------------------------------------------------------------ for subclasses

    def on_event(self, name: str, args: Any) -> None:
        raise NotImplementedError

    def work(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    def phase(self, task_id: int) -> Phase:
        return Phase(int(self.client.call("phaseOf", task_id, block="pending")[0]))

    def send(self, fn: str, *args: Any, task_id: int | None = None, value: int = 0) -> Any:
        """Send and wait; the hash is recorded so a post-mortem can match transactions to items."""
        tx_hash = self.client.send(fn, *args, value=value)
        self.state.record_tx(tx_hash, fn, task_id)
        return self.client.wait(tx_hash)


class CostReporter:
    """Reports this node's mean measured latency through commit-reveal, once per epoch.

    In epoch e it commits (salt and value stored first); in e + 1 it reveals, then commits anew.
    """

    def __init__(self, client: PoQClient, state: AgentState) -> None:
        self.client = client
        self.state = state
        self.epoch_length = int(client.params()["epochLength"])

    def tick(self) -> None:
        epoch = self.client.now() // self.epoch_length
        pending = self.state.cost_reports("committing", "committed")
        if not pending and self.state.mean_latency() is None:
            return
        node = self.client.node(self.client.sender)
        if int(node["status"]) != Status.ACTIVE:  # suspended or exiting: the contract takes no reports
            return
        for reported_epoch, latency_us, salt, _status in pending:
            digest = commitments.cost_commitment(
                self.client.manifest.chain_id,
                self.client.address,
                reported_epoch,
                self.client.sender,
                latency_us,
                salt,
            )
            on_chain = bytes(node["costCommitment"]) == digest
            if reported_epoch == epoch and not on_chain:
                self._send("commitCost", digest)  # the first send never landed: same value, same salt
                self.state.set_cost(reported_epoch, latency_us, salt, "committed")
            elif reported_epoch == epoch - 1 and on_chain:
                self._send("revealCost", latency_us, salt)
                self.state.set_cost(reported_epoch, latency_us, salt, "revealed")
                log.info("revealed latency %.1f ms for epoch %d", latency_us / 1000, reported_epoch)
            elif reported_epoch < epoch:
                self.state.set_cost(reported_epoch, latency_us, salt, "missed")
        if epoch not in {
            e for e, *_ in self.state.cost_reports("committing", "committed", "revealed", "missed")
        }:
            self._commit(epoch)

    def _commit(self, epoch: int) -> None:
        mean = self.state.mean_latency()
        if mean is None:
            return
        latency_us = max(1, min(int(round(mean * 1e6)), 2**32 - 1))
        salt = commitments.new_salt()
        self.state.set_cost(epoch, latency_us, salt, "committing")  # before the transaction
        digest = commitments.cost_commitment(
            self.client.manifest.chain_id, self.client.address, epoch, self.client.sender, latency_us, salt
        )
        receipt = self._send("commitCost", digest)
        mined_epoch = int(self.client.receipt_events(receipt, "CostCommitted")[0]["args"]["epoch"])
        if mined_epoch == epoch:
            self.state.set_cost(epoch, latency_us, salt, "committed")
            return
        # mined after the epoch rolled over: the hash binds the old epoch, so it can never be revealed,
        # and the new epoch already holds it; skip both and commit afresh in the next epoch
        self.state.set_cost(epoch, latency_us, salt, "missed")
        self.state.set_cost(mined_epoch, latency_us, salt, "missed")

    def _send(self, fn: str, *args: Any) -> Any:
        tx_hash = self.client.send(fn, *args)
        self.state.record_tx(tx_hash, fn, None)
        return self.client.wait(tx_hash)
