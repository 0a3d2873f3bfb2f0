"""Event histories of the PoQ contract: batches, settlements, trust updates, and the ETH it holds.

The contract keeps texts, draws, per-task outcomes and cumulative rewards in events, not storage, so
these read models replay its logs. `EventLog` reads them incrementally (one `eth_getLogs` over the
blocks not read yet, decoded by topic: offchain.chain.events.Decoder) and folds each batch's events
into its `BatchRecord` as they arrive (offchain.chain.batches), which keeps a refresh per block cheap
however long the chain has run; the functions below turn the log into histories (rewards and trust
weights over blocks, batch stages) and the contract's accounting.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from offchain.chain.batches import BATCH_EVENTS, BatchRecord, apply_event, opened_record
from offchain.chain.client import PoQClient
from offchain.chain.events import Decoder, Event
from offchain.protocol.types import Stage

# The events the histories below read: a batch's life, its settlement, and the treasury's income.
HISTORY_EVENTS = ("BatchOpened", *BATCH_EVENTS, "RewardsSettled", "TrustUpdated", "EvaluatorInformed",
                  "TreasuryCredited", "FeeRetained", "FeeRefunded")


class EventLog:
    """The contract's events since its deployment block, read incrementally and kept in order, with
    every batch's record folded from them (`batches`)."""

    def __init__(self, client: PoQClient, names: tuple[str, ...] = HISTORY_EVENTS) -> None:
        self.client = client
        self.next_block = client.manifest.block_number  # the first block not read yet
        self.k = int(client.params()["k"])  # immutable: seats per task in BatchDrawn's packing
        self.batches: dict[int, BatchRecord] = {}  # batch id -> its story so far
        self._decoder = Decoder(client, names)
        self._events: dict[str, list[Event]] = {name: [] for name in names}

    def refresh(self, to_block: int) -> None:
        """Read and decode the logs of blocks [next_block, to_block]; a no-op when there are none."""
        if to_block < self.next_block:
            return
        for event in self._decoder.read(self.next_block, to_block):
            self._events[event.name].append(event)
            self._fold(event)
        self.next_block = to_block + 1

    def of(self, name: str) -> list[Event]:
        """The events named `name` read so far, oldest first."""
        return self._events[name]

    def _fold(self, event: Event) -> None:
        if event.name == "BatchOpened":
            opened = opened_record(event.args, event.block)
            self.batches[opened.batch_id] = opened
        elif event.name in BATCH_EVENTS and (record := self.batches.get(int(event.args["batchId"]))) is not None:
            apply_event(record, event.name, event.args, event.block, self.k)


def points_by_account(log: EventLog, name: str, account_arg: str, value_arg: str) -> dict[str, list[tuple[int, int]]]:
    """account -> [(block, value)] of every `name` event read so far, in chain order, where the account
    and the value are the event's arguments `account_arg` and `value_arg` (RewardsSettled: account,
    rewardWad; TrustUpdated: evaluator, weight)."""
    points: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for event in log.of(name):
        points[str(event.args[account_arg])].append((event.block, int(event.args[value_arg])))
    return dict(points)


def cumulative_rewards(log: EventLog) -> dict[str, list[tuple[int, int]]]:
    """account -> [(block, cumulative reward WAD after that block)], one point per block it was paid in
    (a RewardsSettled event is a participant's summed reward for its jobs in one batch; negative:
    debited from its stake to the treasury)."""
    series: dict[str, list[tuple[int, int]]] = {}
    for account, rewards in points_by_account(log, "RewardsSettled", "account", "rewardWad").items():
        points = series[account] = []
        for block, reward in rewards:
            total = (points[-1][1] if points else 0) + reward
            if points and points[-1][0] == block:
                points[-1] = (block, total)
            else:
                points.append((block, total))
    return series


def batch_stages(client: PoQClient, log: EventLog, block: int) -> dict[int, Stage]:
    """batch id -> its stage at `block`: Finalized from its event, the others by the contract's
    `stageOf` (which applies the clock: a stage whose deadline passed has moved on)."""
    return {
        batch_id: Stage.FINALIZED if record.finalized_block is not None
        else Stage(int(client.call("stageOf", batch_id, block=block)[0]))
        for batch_id, record in log.batches.items()
    }


@dataclass(frozen=True)
class Accounting:
    """The contract's ETH against what it holds it for (`accounting()`): stakes + balances (the
    treasury's included) + escrow (fees of batches not finalized)."""

    held_wei: int
    stakes_wei: int
    balances_wei: int
    escrow_wei: int
    treasury: str
    treasury_wei: int  # the treasury's withdrawable balance, part of balances_wei
    slashed_wei: int  # all stake ever debited to the treasury (TreasuryCredited)
    refunded_wei: int  # all fee surplus ever returned to requesters (FeeRefunded)
    retained_wei: int = 0  # fixed fee rule: all of the price not paid out, to the treasury (FeeRetained)

    @property
    def owed_wei(self) -> int:
        return self.stakes_wei + self.balances_wei + self.escrow_wei

    @property
    def difference_wei(self) -> int:
        """held - owed: zero when every wei has a destination."""
        return self.held_wei - self.owed_wei

    def as_dict(self) -> dict[str, Any]:
        return {
            "held_wei": self.held_wei,
            "stakes_wei": self.stakes_wei,
            "balances_wei": self.balances_wei,
            "escrow_wei": self.escrow_wei,
            "owed_wei": self.owed_wei,
            "difference_wei": self.difference_wei,
            "treasury": self.treasury,
            "treasury_wei": self.treasury_wei,
            "slashed_wei": self.slashed_wei,
            "refunded_wei": self.refunded_wei,
            "retained_wei": self.retained_wei,
        }


def contract_accounting(client: PoQClient, log: EventLog, block: int) -> Accounting:
    """The contract's `accounting()` and ETH balance at `block` (one state, so the difference is
    exact), the treasury's balance, and the slashes and refunds its events recorded."""
    stakes, balances, escrow = (int(v) for v in client.call("accounting", block=block))
    treasury = str(client.params()["treasury"])
    return Accounting(
        held_wei=int(client.w3.eth.get_balance(client.contract.address, block_identifier=block)),
        stakes_wei=stakes,
        balances_wei=balances,
        escrow_wei=escrow,
        treasury=treasury,
        treasury_wei=int(client.node(treasury)["balance"]),
        slashed_wei=sum(int(e.args["amount"]) for e in log.of("TreasuryCredited")),
        refunded_wei=sum(int(e.args["amount"]) for e in log.of("FeeRefunded")),
        retained_wei=sum(int(e.args["amount"]) for e in log.of("FeeRetained")),
    )
