"""A key's transactions from send to confirmation: the one place agents submit transactions.

An agent acts on many batches at once, so it sends without waiting (`send`) and learns outcomes
later (`collect`). Between the two the pipeline owns each transaction, because a public chain
loses them in four ways and each one would otherwise wedge the key behind a nonce gap:

- **dropped** from the node's pool (evicted, a node restart): it is looked up in the pool after a
  second without a receipt and, when the node no longer knows it, the same signed bytes are sent
  again (same nonce, same call);
- **stuck** below the base fee (a fee spike after it was sent) or pending too long: it is replaced at
  the same nonce with fees raised by 12.5 % and to what a fresh send would offer
  (`offchain.chain.fees`), under the operator's ceiling;
- **reorged out** after it was mined: every receipt is checked against the chain's block hash until
  it is `confirmations` deep and for WATCH_BLOCKS more; a receipt whose block was replaced is dropped,
  and the transaction is found again in the new chain or re-sent;
- **never reached the node** (an RPC outage during the send): it is kept and re-sent once the node
  answers.

An outcome is handed out once the receipt is `confirmations` blocks deep (2 on dev chains, 5
elsewhere, or the operator's `--confirmations`). A transaction re-mined after a reorg is handed out
again only if its result changed (it reverted this time, or no longer does), so an agent redoes an
action exactly when the chain says it did not happen. On a chain that mines only on transactions
(anvil's automine) the pipeline mines the blocks its confirmations wait for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3.exceptions import BlockNotFound, TransactionNotFound
from web3.types import RPCEndpoint, TxReceipt

from offchain.chain import reverts
from offchain.chain.client import PoQClient, Signed
from offchain.chain.connect import is_network_error
from offchain.chain.fees import FeeAboveCeiling
from offchain.errors import ChainError, one_line

log = logging.getLogger("poq.tx")

DEV_CHAIN_IDS = frozenset({31337, 1337})
CONFIRMATIONS_DEV, CONFIRMATIONS_PUBLIC = 2, 5
LOST_AFTER_S = 1.0  # no receipt this long: ask the node whether it still has the transaction
STUCK_AFTER_S = 30.0  # pending this long, or below the base fee: replace it with higher fees
REORG_CHECK_S = 0.25
WATCH_BLOCKS = 64  # confirmed transactions stay watched for reorgs this many blocks (and WATCH_MIN_S)
WATCH_MIN_S = 5.0
NUDGE_AFTER_S = 0.2  # an automining chain idle this long while confirmations are due gets a block
REFUSALS_BEFORE_GIVING_UP = 3


def default_confirmations(chain_id: int) -> int:
    return CONFIRMATIONS_DEV if chain_id in DEV_CHAIN_IDS else CONFIRMATIONS_PUBLIC


@dataclass(frozen=True)
class Sent:
    tx_hash: bytes  # the latest of its hashes (a replacement has a new one)
    fn: str
    tag: Any  # what the caller needs to match the outcome to its work (e.g. ("commit", batch_id))
    sent_at: float
    nonce: int = -1


@dataclass(frozen=True)
class Outcome:
    sent: Sent
    receipt: TxReceipt | None
    error: Exception | None  # the decoded revert of a failed transaction

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Tracked:
    fn: str
    tag: Any
    signed: Signed
    sent_at: float
    hashes: list[bytes] = field(default_factory=list)
    last_broadcast: float = 0.0
    last_check: float = 0.0
    receipt: TxReceipt | None = None
    delivered: bool | None = None  # None: not yet; else whether the confirmed receipt was a success
    handed_out: bool | None = None  # the result of the outcome last handed to the agent
    watch_until: tuple[int, float] = (0, 0.0)  # (block, monotonic time) after which it is forgotten
    refusals: int = 0

    def sent(self) -> Sent:
        return Sent(self.hashes[-1], self.fn, self.tag, self.sent_at, self.signed.nonce)


# what a node says when it refuses a raw transaction, by cause (geth, anvil, Hardhat wordings)
_KNOWN = ("already known", "known transaction", "already imported", "already in the mempool")
_NONCE_LOW = ("nonce too low", "nonce has already been used", "nonce too small")
_UNDERPRICED = ("underpriced", "less than block base fee", "fee cap less than", "max fee per gas less than",
                "feecap", "too low to replace")


def _refusal(exc: BaseException) -> str:
    text = str(exc).lower()
    for kind, needles in (("known", _KNOWN), ("nonce", _NONCE_LOW), ("fee", _UNDERPRICED)):
        if any(n in text for n in needles):
            return kind
    return "other"


class TxPipeline:
    """The in-flight transactions of one client (one key), keyed by nonce."""

    def __init__(self, client: PoQClient, *, confirmations: int | None = None,
                 on_change: Callable[[Sent, str, int | None], None] | None = None) -> None:
        self.client = client
        self.confirmations = max(1, confirmations or default_confirmations(client.manifest.chain_id))
        self.on_change = on_change  # (transaction, status, block): agents record it in their state
        self._tracked: dict[int, _Tracked] = {}
        self._last_reorg_check = 0.0
        self._head = (-1, 0.0)  # (block number, when it was first seen)
        self._fee_warned = False

    # ------------------------------------------------------------------ what is in flight

    @property
    def pending(self) -> int:
        """Transactions whose outcome has not been handed out yet."""
        return sum(1 for t in self._tracked.values() if t.delivered is None)

    @property
    def unmined(self) -> int:
        """Transactions without a receipt (an agent with none of these may sleep between turns)."""
        return sum(1 for t in self._tracked.values() if t.receipt is None)

    def in_flight(self, tag: Any) -> bool:
        return any(t.tag == tag and t.delivered is None for t in self._tracked.values())

    # ------------------------------------------------------------------ send

    def send(self, fn: str, *args: Any, value: int = 0, tag: Any = None) -> bytes:
        """Dry-run, sign and send; returns the hash without waiting. A revert is raised here, and so is
        FeeAboveCeiling (nothing is sent while the base fee is above the operator's ceiling)."""
        signed = self.client.sign(fn, *args, value=value)
        tracked = _Tracked(fn, tag, signed, time.monotonic(), [signed.tx_hash])
        self._tracked[signed.nonce] = tracked
        try:
            self._broadcast(tracked, signed)
        except Exception as exc:
            if is_network_error(exc):  # it may or may not have arrived: kept, and re-sent once the node answers
                log.warning("%s (nonce %d) could not be handed to the node: %s; it is re-sent when the node "
                            "answers", fn, signed.nonce, one_line(exc))
            else:
                del self._tracked[signed.nonce]
                if reverts.is_revert(exc):
                    # Hardhat mines a transaction it refuses with a revert (its nonce is used); anvil
                    # does not: the chain's pending count says which
                    self.client.resync_nonce()
                    raise self.client._decode(exc) from None
                self.client.give_back_nonce(signed.nonce)
                if _refusal(exc) == "nonce":
                    self.client.resync_nonce()  # another sender used this key
                raise self.client.send_error(fn, exc) from None
        self._notify(tracked, "sent")
        return signed.tx_hash

    def _broadcast(self, tracked: _Tracked, signed: Signed) -> None:
        tracked.last_broadcast = tracked.last_check = time.monotonic()
        try:
            self.client.broadcast(signed.raw)
        except Exception as exc:
            kind = _refusal(exc)
            if kind == "known":
                return
            if kind == "fee" and signed is tracked.signed:  # the base fee rose between the read and the send
                self._replace(tracked, fresh=True)
                return
            raise

    # ------------------------------------------------------------------ collect

    def collect(self) -> list[Outcome]:
        """Outcomes of the transactions that reached their confirmation depth since the last call (in
        nonce order), after chasing the ones that are lost, stuck or reorged out."""
        if not self._tracked:
            return []
        now = time.monotonic()
        head = int(self.client.w3.eth.block_number)
        if head != self._head[0]:
            self._head = (head, now)
        self._check_reorgs(now)
        done: list[Outcome] = []
        for nonce in sorted(self._tracked):
            tracked = self._tracked[nonce]
            if tracked.receipt is None:
                tracked.receipt = self._receipt(tracked)
                if tracked.receipt is None:
                    outcome = self._chase(tracked, now)
                    if outcome is not None:
                        done.append(outcome)
                    continue
                self._notify(tracked, "mined", int(tracked.receipt["blockNumber"]))
            block = int(tracked.receipt["blockNumber"])
            if tracked.delivered is None and head - block + 1 >= self.confirmations:
                outcome = self._deliver(tracked, block, head, now)
                if outcome is not None:
                    done.append(outcome)
            elif tracked.delivered is not None and head > tracked.watch_until[0] and now > tracked.watch_until[1]:
                del self._tracked[nonce]
        self._nudge(now)
        return done

    def _deliver(self, tracked: _Tracked, block: int, head: int, now: float) -> Outcome | None:
        receipt = tracked.receipt
        assert receipt is not None
        error = None
        if receipt["status"] != 1:
            error = self.client.explain_failure(bytes(receipt["transactionHash"]), block)
        tracked.delivered = error is None
        tracked.watch_until = (head + WATCH_BLOCKS, now + WATCH_MIN_S)
        self._notify(tracked, "confirmed" if error is None else "reverted", block)
        if tracked.handed_out == tracked.delivered:
            return None  # re-mined after a reorg with the same result: the agent already acted on it
        tracked.handed_out = tracked.delivered
        return Outcome(tracked.sent(), receipt, error)

    def _receipt(self, tracked: _Tracked) -> TxReceipt | None:
        for tx_hash in reversed(tracked.hashes):  # any of its versions may be the one mined
            try:
                return self.client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                continue
        return None

    def _chase(self, tracked: _Tracked, now: float) -> Outcome | None:
        """No receipt: once a second, ask whether the node still has it; re-send or replace it."""
        if now - tracked.last_check < LOST_AFTER_S:
            return None
        tracked.last_check = now
        known = False
        for tx_hash in tracked.hashes:
            try:
                self.client.w3.eth.get_transaction(HexBytes(tx_hash))
                known = True
                break
            except TransactionNotFound:
                continue
        try:
            if not known:
                log.warning("%s (nonce %d) is not known to the node (dropped, or reorged out): sending it again",
                            tracked.fn, tracked.signed.nonce)
                self._broadcast(tracked, tracked.signed)
                self._notify(tracked, "resent")
            elif (self.client.fees.base_fee(fresh=True) > int(tracked.signed.fields["maxFeePerGas"])
                  or now - tracked.last_broadcast > STUCK_AFTER_S):
                self._replace(tracked)
        except FeeAboveCeiling as exc:
            self._warn_fee(exc)
        except Exception as exc:
            if is_network_error(exc):
                raise
            return self._refused(tracked, exc)
        return None

    def _replace(self, tracked: _Tracked, *, fresh: bool = False) -> None:
        """The same call at the same nonce with higher fees (FeeAboveCeiling when the cap forbids)."""
        old = tracked.signed.fields
        if fresh:
            fees = self.client.fees.fields()
            fees = {k: max(v, int(old[k])) for k, v in fees.items()}
        else:
            bumped = self.client.fees.bumped({k: int(old[k]) for k in ("maxFeePerGas", "maxPriorityFeePerGas")})
            if bumped is None:
                raise FeeAboveCeiling(self.client.fees.base_fee(), int(self.client.fees.policy.max_fee_wei or 0))
            fees = bumped
        signed = self.client.sign_fields({**old, **fees})
        tracked.signed = signed
        tracked.hashes.append(signed.tx_hash)
        log.warning("%s (nonce %d) replaced with max fee %.2f gwei", tracked.fn, signed.nonce,
                    fees["maxFeePerGas"] / 1e9)
        self._broadcast(tracked, signed)
        self._notify(tracked, "replaced")

    def _refused(self, tracked: _Tracked, exc: BaseException) -> Outcome | None:
        """The node refuses to take it back. A used nonce may still show a receipt (a replacement
        was mined); after a few refusals the outcome is an error and the nonce is read again."""
        tracked.refusals += 1
        if tracked.refusals < REFUSALS_BEFORE_GIVING_UP:
            return None
        del self._tracked[tracked.signed.nonce]
        self.client.resync_nonce()
        self._notify(tracked, "abandoned")
        return Outcome(tracked.sent(), None, ChainError(f"{tracked.fn} (nonce {tracked.signed.nonce}) could not "
                                                        f"be sent again: {one_line(exc)}"))

    def _check_reorgs(self, now: float) -> None:
        """Is the newest block holding one of our receipts still on the chain? (If it is, every older
        one is: a block's hash covers its parent's.) Receipts of replaced blocks are dropped."""
        if now - self._last_reorg_check < REORG_CHECK_S:
            return
        self._last_reorg_check = now
        by_block: dict[int, list[_Tracked]] = {}
        for tracked in self._tracked.values():
            if tracked.receipt is not None:
                by_block.setdefault(int(tracked.receipt["blockNumber"]), []).append(tracked)
        for number in sorted(by_block, reverse=True):
            expected = bytes(by_block[number][0].receipt["blockHash"])  # type: ignore[index]
            try:
                actual = bytes(self.client.w3.eth.get_block(number)["hash"])
            except BlockNotFound:
                actual = b""
            if actual == expected:
                return
            for tracked in by_block[number]:
                log.warning("%s (nonce %d) was mined in block %d, which a reorg replaced: following it again",
                            tracked.fn, tracked.signed.nonce, number)
                tracked.receipt = None
                if tracked.delivered is not None:
                    tracked.delivered = None
                tracked.last_check = 0.0  # look it up (and re-send it) at once
                self._notify(tracked, "reorged", number)

    def _nudge(self, now: float) -> None:
        """On an automining chain nobody else makes the blocks our confirmations wait for."""
        waiting = any(t.receipt is not None and t.delivered is None for t in self._tracked.values())
        if waiting and now - self._head[1] > NUDGE_AFTER_S and self.client.automines():
            try:
                self.client.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
            except Exception as exc:  # noqa: BLE001 - a dev chain without evm_mine: blocks come anyway
                log.debug("evm_mine failed: %s", exc)
            self._head = (self._head[0], now)

    def _warn_fee(self, exc: FeeAboveCeiling) -> None:
        if not self._fee_warned:
            log.warning("%s", exc)
            self._fee_warned = True

    def _notify(self, tracked: _Tracked, status: str, block: int | None = None) -> None:
        if self.on_change is not None:
            self.on_change(tracked.sent(), status, block)
