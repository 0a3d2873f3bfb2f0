"""The contract's events as a stream: pushed over a websocket subscription, or polled over HTTP.

Agents react to events instead of sleeping between scans. `open_stream(client, url, from_block)`
returns a `WebsocketStream` for a ws:// URL (web3's async websocket provider, `eth_subscribe("logs")`,
run in a background thread that feeds a queue) and a `PollingStream` otherwise (`eth_getLogs` over
the blocks not read yet). Both first read the logs since `from_block`, so an agent restarted from its
persisted cursor misses nothing; both hand out decoded events in chain order, and both are safe to
read again from a block already seen (agents handle every event idempotently).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from eth_typing import ABIEvent
from eth_utils import event_abi_to_log_topic
from web3 import AsyncWeb3
from web3.providers.persistent import WebSocketProvider
from web3.types import EventData, LogReceipt

from offchain.chain.client import PoQClient
from offchain.chain.connect import is_network_error
from offchain.errors import ChainError, RpcUnavailable, one_line

log = logging.getLogger("poq.events")


@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    block: int
    index: int  # log index within the block
    tx_hash: bytes


class Decoder:
    """Decodes the contract's raw logs by topic into `Event`s (only those named in `names`, if given)."""

    def __init__(self, client: PoQClient, names: tuple[str, ...] | None = None) -> None:
        self.client = client
        self.by_topic: dict[bytes, str] = {}
        for entry in client.manifest.abi:
            if entry.get("type") == "event" and (names is None or entry.get("name") in names):
                self.by_topic[bytes(event_abi_to_log_topic(cast(ABIEvent, entry)))] = str(entry["name"])

    def read(self, from_block: int, to_block: int | str) -> list[Event]:
        """The contract's decoded events of blocks [from_block, to_block], in chain order (one eth_getLogs)."""
        if to_block == "latest":  # nodes refuse a range that starts past the head
            to_block = int(self.client.w3.eth.block_number)
            if from_block > to_block:
                return []
        logs = self.client.w3.eth.get_logs({"address": self.client.contract.address, "fromBlock": from_block,
                                            "toBlock": to_block})  # type: ignore[typeddict-item]
        return [e for e in map(self.decode, logs) if e is not None]

    def decode(self, raw: Any) -> Event | None:
        topics = raw.get("topics") or []
        name = self.by_topic.get(bytes(topics[0])) if topics else None
        if name is None or raw.get("removed"):
            return None
        data: EventData = getattr(self.client.contract.events, name)().process_log(cast(LogReceipt, raw))
        return Event(name, dict(data["args"]), int(data["blockNumber"]), int(data["logIndex"]),
                     bytes(data["transactionHash"]))


class ForkWatch:
    """Notices a reorg under blocks already read and says from which block to read again.

    It samples the head's (number, hash) now and then; a sampled block whose hash changed was
    replaced, and since a block's hash covers its parent's, the newest sample that still matches
    marks where the two chains part. Events in the replacement blocks are then read again (handlers
    are idempotent), so an event that moved to another block of the new chain is not missed.
    """

    KEEP = 64

    def __init__(self, client: PoQClient, every_s: float = 0.5) -> None:
        self.client = client
        self.every_s = every_s
        self._samples: dict[int, bytes] = {}
        self._last = 0.0

    def check(self) -> int | None:
        """The first block to read again after a reorg (None: no reorg since the last check)."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return None
        self._last = now
        fork = None
        for number in sorted(self._samples, reverse=True):
            if self._hash(number) == self._samples[number]:
                break
            fork = number  # replaced: read again from here (or from further down)
        if fork is not None:
            self._samples = {n: h for n, h in self._samples.items() if n < fork}
        head = self.client.w3.eth.get_block("latest")
        self._samples[int(head["number"])] = bytes(head["hash"])
        if len(self._samples) > self.KEEP:
            self._samples.pop(min(self._samples))
        return fork

    def _hash(self, number: int) -> bytes:
        from web3.exceptions import BlockNotFound

        try:
            return bytes(self.client.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return b""


class PollingStream:
    """`eth_getLogs` over the blocks not read yet; waits `poll_s` between empty polls. After a reorg
    the replaced blocks are read again (ForkWatch)."""

    def __init__(self, client: PoQClient, from_block: int, *, poll_s: float = 0.05) -> None:
        self.client = client
        self.next_block = from_block
        self.poll_s = poll_s
        self._decoder = Decoder(client)
        self._forks = ForkWatch(client)

    @property
    def transport(self) -> str:
        return "http"

    def read(self, timeout: float) -> list[Event]:
        """Events of the blocks mined since the last read; waits up to `timeout` for some."""
        deadline = time.monotonic() + timeout
        while True:
            fork = self._forks.check()
            if fork is not None and fork < self.next_block:
                log.warning("a reorg replaced blocks from %d: reading their events again", fork)
                self.next_block = fork
            latest = int(self.client.w3.eth.block_number)
            if latest >= self.next_block:
                events = self._decoder.read(self.next_block, latest)
                self.next_block = latest + 1
                if events:
                    return events
            if time.monotonic() >= deadline:
                return []
            time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        pass


class WebsocketStream:
    """Logs pushed by the node over a websocket (`eth_subscribe`), read in a background thread.

    The subscription starts before the backfill (`eth_getLogs` from `from_block`), and events seen by
    both are dropped once, so nothing falls between the two.
    """

    def __init__(self, client: PoQClient, ws_url: str, from_block: int, *, connect_timeout: float = 10.0) -> None:
        self.client = client
        self.ws_url = ws_url
        self._decoder = Decoder(client)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="poq-ws-events", daemon=True)
        self._thread.start()
        if not self._ready.wait(connect_timeout) or self._error is not None:
            self.close()
            if self._error is None or is_network_error(self._error):  # down for now: the agent retries
                raise RpcUnavailable(ws_url, one_line(self._error) if self._error else "no answer")
            raise ChainError(f"cannot subscribe to events at {ws_url} ({one_line(self._error)}): "
                             "check the URL, or use http://")
        self._seen: set[tuple[int, int]] = set()
        self._forks = ForkWatch(client)
        try:
            self._pending = self._decoder.read(from_block, "latest")
        except BaseException:
            self.close()
            raise

    @property
    def transport(self) -> str:
        return "websocket"

    def read(self, timeout: float) -> list[Event]:
        """Events pushed since the last read (the backfill first); waits up to `timeout` for some."""
        if self._error is not None:  # the agent drops this stream, waits, and subscribes again from its cursor
            raise RpcUnavailable(self.ws_url, f"event subscription lost: {one_line(self._error)}")
        fork = self._forks.check()
        if fork is not None:  # events of the replacement blocks may never be pushed: read them
            log.warning("a reorg replaced blocks from %d: reading their events again", fork)
            self._seen = {key for key in self._seen if key[0] < fork}
            self._pending += self._decoder.read(fork, "latest")
        raw: list[Any] = []
        if not self._pending:
            try:
                raw.append(self._queue.get(timeout=timeout))
            except queue.Empty:
                return []
        while True:
            try:
                raw.append(self._queue.get_nowait())
            except queue.Empty:
                break
        events = self._pending + [e for e in map(self._decoder.decode, raw) if e is not None]
        self._pending = []
        fresh = []
        for event in events:
            key = (event.block, event.index)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(event)
        if len(self._seen) > 100_000:  # only recent blocks can repeat (backfill overlap)
            newest = max(b for b, _ in self._seen)
            self._seen = {k for k in self._seen if k[0] >= newest - 64}
        fresh.sort(key=lambda e: (e.block, e.index))
        return fresh

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ the background thread

    def _run(self) -> None:
        try:
            asyncio.run(self._listen())
        except BaseException as exc:  # surfaced to the reader as RpcUnavailable or ChainError
            self._error = exc
            self._ready.set()
            return
        if not self._stop.is_set():  # the node ended the subscription: as lost as a dropped socket
            self._error = ConnectionError("the node closed the subscription")

    async def _listen(self) -> None:
        async with AsyncWeb3(WebSocketProvider(self.ws_url, max_connection_retries=1)) as w3:
            await w3.eth.subscribe("logs", {"address": self.client.contract.address})
            self._ready.set()
            pump = asyncio.create_task(self._pump(w3))
            while not self._stop.is_set() and not pump.done():
                await asyncio.sleep(0.1)  # the reader's close() ends the pump
            pump.cancel()
            if pump.done() and not pump.cancelled() and pump.exception() is not None:
                raise cast(BaseException, pump.exception())

    async def _pump(self, w3: AsyncWeb3[Any]) -> None:
        async for message in w3.socket.process_subscriptions():
            result = message.get("result") if isinstance(message, dict) else None
            if result is not None:
                self._queue.put(result)


def open_stream(client: PoQClient, rpc_url: str, from_block: int, *, poll_s: float = 0.05) -> Any:
    """A WebsocketStream for a ws:// URL, else a PollingStream."""
    if rpc_url.startswith(("ws://", "wss://")):
        return WebsocketStream(client, rpc_url, from_block)
    return PollingStream(client, from_block, poll_s=poll_s)
