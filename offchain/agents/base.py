"""The loop every agent shares: react to the contract's events, do its batched work, send without waiting.

An agent reads the events since its persisted cursor (pushed over a websocket, or polled over HTTP:
offchain.chain.events), hands each to `on_event`, then does its `work` (model calls batched over every
batch that is ready, transactions sent through a TxPipeline), collects the receipts that came back,
and only then moves its cursor. Killed at any moment it rereads from the cursor; every handler is
idempotent and everything a transaction depends on is in SQLite before it is sent.
SIGTERM and SIGINT stop it at once, even inside a long model call (the call is abandoned: its
results were never promised to the chain, and a restart redoes it).

A node that stops answering is waited out, never fatal: each turn that meets a network error logs
one line (`RPC unreachable at URL: retrying in 4 s`), backs off (0.5 s doubling to 8 s), drops the
event subscription and, once the node answers, subscribes again and re-reads the logs from the
cursor, so nothing that happened meanwhile is missed.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from offchain.agents.state import AgentState
from offchain.chain.client import PoQClient
from offchain.chain.connect import is_network_error
from offchain.chain.events import Event, open_stream
from offchain.chain.fees import FeeAboveCeiling
from offchain.chain.pipeline import Outcome, Sent, TxPipeline
from offchain.errors import PoQError, RpcUnavailable, one_line
from offchain.protocol import commitments
from offchain.protocol.types import Stage, Status

log = logging.getLogger("poq.agent")
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 8.0
FEE_WARNING_EVERY_S = 15.0


class AgentStopped(BaseException):
    """Raised inside an interruptible section (a model call) when SIGTERM/SIGINT arrives."""


class Agent:
    """Base class: subclasses set `role` and implement `on_event`, `work` and `on_outcome`."""

    role = "agent"

    def __init__(self, client: PoQClient, state: AgentState, *, rpc_url: str = "", poll_s: float = 0.05,
                 declared_latency_us: int | None = None, confirmations: int | None = None) -> None:
        self.client = client
        self.state = state
        self.rpc_url = rpc_url
        self.poll_s = poll_s
        self.me = client.sender
        self.tx = TxPipeline(client, confirmations=confirmations, on_change=self._record_tx)
        self._backoff_s = 0.0  # > 0 while the node is unreachable
        self._fee_warned_at = -FEE_WARNING_EVERY_S
        self.costs = DeclaredCost(client, state, self.tx, declared_latency_us)
        self._stopping = False
        self._interruptible = False
        self.stream: Any = None
        self._dirty: set[int] = set()  # batches with an event since their stage was last read
        self._stage_cache: dict[int, tuple[Stage, float]] = {}

    # ------------------------------------------------------------------ the loop

    def run(self, *, until: float | None = None, stop_when: Callable[[], bool] | None = None) -> None:
        """React until SIGTERM/SIGINT, `until` (a time.monotonic() deadline) or `stop_when()`."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        self.open_events()
        log.info("%s agent %s running (%s events)", self.role, self.me, self.stream.transport)
        try:
            while not self._stopping and (until is None or time.monotonic() < until):
                if stop_when is not None and stop_when():
                    break
                self.step(wait_s=0.0 if self.busy() else self.poll_s)
        except AgentStopped:
            pass
        finally:
            self.close_events()
        log.info("%s agent %s stopped", self.role, self.me)

    def open_events(self) -> None:
        """Start reading events from the persisted cursor (pushed over ws://, polled over http://)."""
        if self.stream is None:
            start = self.state.cursor if self.state.cursor is not None else self.client.manifest.block_number
            self.stream = open_stream(self.client, self.rpc_url or "http://", start, poll_s=self.poll_s)

    def close_events(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def step(self, wait_s: float) -> None:
        """One turn: events, work, receipts, cursor. Errors are logged and retried next turn; a node
        that does not answer is retried with backoff."""
        try:
            self.open_events()
            events = self.stream.read(wait_s)
            for event in events:
                if "batchId" in event.args:
                    self._dirty.add(int(event.args["batchId"]))
                self.on_event(event)
            self.work()
            for outcome in self.tx.collect():
                tag = outcome.sent.tag
                if isinstance(tag, tuple) and len(tag) == 2 and isinstance(tag[1], int):
                    self._dirty.add(tag[1])  # our own transaction moved the batch: read its stage again
                self.on_outcome(outcome)
            self.costs.tick()
            if events:
                self.state.cursor = events[-1].block  # that block is reread on restart (handlers are idempotent)
        except Exception as exc:
            if isinstance(exc, RpcUnavailable) or is_network_error(exc):
                self._unreachable(exc)
                return
            if not isinstance(exc, PoQError):
                raise
            if isinstance(exc, FeeAboveCeiling):  # one line a while, not one a turn: the spike may last
                if time.monotonic() - self._fee_warned_at > FEE_WARNING_EVERY_S:
                    log.warning("%s agent %s: %s", self.role, self.me, exc)
                    self._fee_warned_at = time.monotonic()
                time.sleep(min(1.0, 10 * self.poll_s))
                return
            log.warning("%s agent %s: %s", self.role, self.me, exc)  # a revert: retried next turn
            time.sleep(self.poll_s)
            return
        if self._backoff_s:
            log.info("RPC at %s answers again: resuming", self._url())
            self._backoff_s = 0.0

    def _unreachable(self, exc: BaseException) -> None:
        """The node is down or unreachable: drop the subscription, wait, try again (never exit)."""
        self.close_events()  # reopened from the cursor once the node answers: the missed range is re-read
        self._backoff_s = min(BACKOFF_MAX_S, self._backoff_s * 2) if self._backoff_s else BACKOFF_FIRST_S
        log.warning("RPC unreachable at %s: retrying in %g s (%s)", self._url(), self._backoff_s, one_line(exc))
        deadline = time.monotonic() + self._backoff_s
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.05)

    def _url(self) -> str:
        return self.rpc_url or self.client.rpc_url

    def _record_tx(self, sent: Sent, status: str, block: int | None) -> None:
        if status == "mined":
            return  # confirmed (or reorged) follows: one write fewer per transaction
        self.state.record_tx(sent.tx_hash, sent.fn, sent.tag[1] if isinstance(sent.tag, tuple) else None,
                             nonce=sent.nonce, status=status, block=block)

    def busy(self) -> bool:
        """Whether work is waiting on receipts (then the loop does not sleep on the event stream)."""
        return self.tx.unmined > 0

    def _request_stop(self, *_: Any) -> None:
        self._stopping = True
        if self._interruptible:
            raise AgentStopped

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A section (a model call) that SIGTERM may abandon at once."""
        self._interruptible = True
        try:
            if self._stopping:
                raise AgentStopped
            yield
        finally:
            self._interruptible = False

    # ------------------------------------------------------------------ for subclasses

    def on_event(self, event: Event) -> None:
        raise NotImplementedError

    def work(self) -> None:
        raise NotImplementedError

    def on_outcome(self, outcome: Outcome) -> None:
        """A transaction's receipt came back (failed ones carry the decoded revert)."""
        if not outcome.ok:
            log.warning("%s agent %s: %s failed: %s", self.role, self.me, outcome.sent.fn, outcome.error)

    # ------------------------------------------------------------------ helpers

    def stage(self, batch_id: int, *, max_age_s: float = 1.0) -> Stage:
        """The batch's effective stage on the pending block (its clock moves even on an idle chain).

        Read again when one of the batch's events arrived since, or after `max_age_s` (a deadline
        may have moved it); otherwise the last reading stands, which saves a call per batch per turn.
        """
        cached = self._stage_cache.get(batch_id)
        if cached is not None and batch_id not in self._dirty and time.monotonic() - cached[1] < max_age_s:
            return cached[0]
        stage = Stage(int(self.client.call("stageOf", batch_id, block="pending")[0]))
        self._dirty.discard(batch_id)
        self._stage_cache[batch_id] = (stage, time.monotonic())
        if stage == Stage.FINALIZED:
            self._stage_cache.pop(batch_id, None)
        return stage

    def participant(self, batch_id: int) -> tuple[int, int]:
        """(my participant index, my flags) in a drawn batch, from the contract."""
        view = self.client.call("getBatch", batch_id, block="pending")
        participants, flags = list(view[10]), list(view[12])
        for p, who in enumerate(participants):
            if str(who).lower() == self.me.lower():
                return p, int(flags[p])
        return -1, 0

    def send(self, fn: str, *args: Any, batch_id: int | None = None, value: int = 0) -> bytes:
        return self.tx.send(fn, *args, value=value, tag=(fn, batch_id))  # recorded in the state by _record_tx


class DeclaredCost:
    """Declares this node's latency through commit-reveal once per epoch: its own measured mean, or a
    fixed figure (`--declare-latency-us`, e.g. a liar's 1 µs). The contract checks the claim against
    the cost it measures and pays on the measurement alone.

    In epoch e it commits (salt and value stored first); in e + 1 it reveals, then commits anew.
    """

    def __init__(self, client: PoQClient, state: AgentState, tx: TxPipeline, fixed_us: int | None) -> None:
        self.client = client
        self.state = state
        self.tx = tx
        self.fixed_us = fixed_us
        self.epoch_length = int(client.params()["epochLength"])
        self.enabled = True
        self._next_check = 0.0

    def tick(self) -> None:
        if not self.enabled or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + min(2.0, self.epoch_length / 4)
        epoch = self.client.now() // self.epoch_length
        pending = self.state.cost_reports("committing", "committed")
        node = self.client.node(self.client.sender)
        if int(node["status"]) != Status.ACTIVE:  # the contract takes declarations from active nodes only
            return
        for reported_epoch, latency_us, salt, _status in pending:
            digest = commitments.cost_commitment(self.client.manifest.chain_id, self.client.address,
                                                 reported_epoch, self.client.sender, latency_us, salt)
            on_chain = bytes(node["costCommitment"]) == digest
            if reported_epoch == epoch and not on_chain and not self.tx.in_flight(("commitCost", None)):
                self._send("commitCost", digest)  # the first send never landed: same value, same salt
                self.state.set_cost(reported_epoch, latency_us, salt, "committed")
            elif reported_epoch == epoch - 1 and on_chain:
                self._send("revealCost", latency_us, salt)
                self.state.set_cost(reported_epoch, latency_us, salt, "revealed")
                log.info("declared latency %.1f ms for epoch %d", latency_us / 1000, reported_epoch)
            elif reported_epoch < epoch:
                self.state.set_cost(reported_epoch, latency_us, salt, "missed")
        if epoch not in {e for e, *_ in self.state.cost_reports("committing", "committed", "revealed", "missed")}:
            self._commit(epoch)

    def _commit(self, epoch: int) -> None:
        if self.client.now() % self.epoch_length > self.epoch_length - 2:
            return  # too close to the epoch's end: the commit could land in the next one
        mean = self.state.mean_latency()
        if self.fixed_us is None and mean is None:
            return
        latency_us = self.fixed_us if self.fixed_us is not None else max(1, min(int(round(mean * 1e6)), 2**32 - 1))  # type: ignore[operator]
        salt = commitments.new_salt()
        self.state.set_cost(epoch, latency_us, salt, "committing")  # before the transaction
        digest = commitments.cost_commitment(self.client.manifest.chain_id, self.client.address, epoch,
                                             self.client.sender, latency_us, salt)
        self._send("commitCost", digest)
        self.state.set_cost(epoch, latency_us, salt, "committed")

    def _send(self, fn: str, *args: Any) -> None:
        self.tx.send(fn, *args, tag=(fn, None))
