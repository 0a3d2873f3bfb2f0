"""A key's transactions in flight: sent without waiting, receipts collected as they come.

An agent acts on many batches at once; waiting for each receipt would cap it at one transaction per
block round trip. `TxPipeline.send` dry-runs (estimates gas, which raises the decoded revert before
anything is sent), signs with the client's local nonce counter and sends; `collect` later returns the
transactions whose receipts arrived, with the decoded revert for the ones that failed on chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from offchain.chain.client import PoQClient
from offchain.errors import ChainError


@dataclass(frozen=True)
class Sent:
    tx_hash: bytes
    fn: str
    tag: Any  # what the caller needs to match the outcome to its work (e.g. ("commit", batch_id))
    sent_at: float


@dataclass(frozen=True)
class Outcome:
    sent: Sent
    receipt: TxReceipt | None
    error: Exception | None  # the decoded revert of a failed transaction

    @property
    def ok(self) -> bool:
        return self.error is None


class TxPipeline:
    """The in-flight transactions of one client (one key)."""

    def __init__(self, client: PoQClient, *, timeout_s: float = 120.0) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self._pending: dict[bytes, Sent] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def in_flight(self, tag: Any) -> bool:
        return any(s.tag == tag for s in self._pending.values())

    def send(self, fn: str, *args: Any, value: int = 0, tag: Any = None) -> bytes:
        """Dry-run, sign and send; returns the hash without waiting. A revert is raised here."""
        tx_hash = self.client.send(fn, *args, value=value)
        self._pending[tx_hash] = Sent(tx_hash, fn, tag, time.monotonic())
        return tx_hash

    def collect(self) -> list[Outcome]:
        """The transactions mined since the last call (in the order they were sent)."""
        done = []
        for tx_hash, sent in list(self._pending.items()):
            try:
                receipt = self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                if time.monotonic() - sent.sent_at > self.timeout_s:
                    del self._pending[tx_hash]
                    done.append(Outcome(sent, None, ChainError(f"{sent.fn}: no receipt after {self.timeout_s:.0f} s")))
                continue
            del self._pending[tx_hash]
            error = None
            if receipt["status"] != 1:
                error = self.client.explain_failure(tx_hash, int(receipt["blockNumber"]))
            done.append(Outcome(sent, receipt, error))
        return done
