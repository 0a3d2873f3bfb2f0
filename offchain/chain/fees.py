"""EIP-1559 fees read from the chain at each send, under a ceiling the operator sets.

A fee read once per process goes stale the moment the base fee moves (a spike leaves every later send
below the block's base fee, rejected). So each send asks the pending block's base fee (cached for a
fraction of a second: an agent sends bursts) and the node's suggested tip (`eth_maxPriorityFeePerGas`,
1 gwei where a node has none), and offers max fee = 2 x base fee + tip, the usual headroom for six full
blocks of base-fee rises. `--max-fee-gwei` caps the max fee: when the base fee alone is above the
cap, nothing is sent (FeeAboveCeiling, a one-line warning) until it falls.

A stuck transaction is replaced at the same nonce with both fees raised by at least 12.5 % (nodes
refuse replacements bumped by less than 10 %) and at least to what a fresh send would offer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from offchain.errors import ChainError

GWEI = 10**9
DEFAULT_TIP_WEI = GWEI
FEE_TTL_S = 0.25  # an agent sends bursts of transactions; one base-fee read serves a burst
TIP_TTL_S = 10.0
BUMP_NUM, BUMP_DEN = 9, 8  # +12.5 % per replacement


class FeeAboveCeiling(ChainError):
    """The base fee is above the operator's ceiling: the send waits for it to fall."""

    def __init__(self, base_fee_wei: int, ceiling_wei: int) -> None:
        self.base_fee_wei, self.ceiling_wei = base_fee_wei, ceiling_wei
        super().__init__(
            f"base fee {base_fee_wei / GWEI:.1f} gwei is above --max-fee-gwei {ceiling_wei / GWEI:g}: "
            "holding transactions until it falls (raise --max-fee-gwei to pay it)"
        )


@dataclass(frozen=True)
class FeePolicy:
    """What the operator allows: a ceiling on the max fee and, optionally, a fixed tip (both in wei)."""

    max_fee_wei: int | None = None
    tip_wei: int | None = None

    @classmethod
    def from_gwei(cls, max_fee_gwei: float | None = None, tip_gwei: float | None = None) -> FeePolicy:
        return cls(None if max_fee_gwei is None else int(max_fee_gwei * GWEI),
                   None if tip_gwei is None else int(tip_gwei * GWEI))


class FeeOracle:
    """The fee fields for the next transaction of one client."""

    def __init__(self, w3: Any, policy: FeePolicy | None = None) -> None:
        self.w3 = w3
        self.policy = policy or FeePolicy()
        self._base: tuple[int, float] | None = None
        self._tip: tuple[int, float] | None = None

    def base_fee(self, *, fresh: bool = False) -> int:
        now = time.monotonic()
        if fresh or self._base is None or now - self._base[1] > FEE_TTL_S:
            block = self.w3.eth.get_block("pending")
            self._base = (int(block.get("baseFeePerGas") or 0), now)
        return self._base[0]

    def tip(self) -> int:
        if self.policy.tip_wei is not None:
            return self.policy.tip_wei
        now = time.monotonic()
        if self._tip is None or now - self._tip[1] > TIP_TTL_S:
            try:
                suggested = int(self.w3.eth.max_priority_fee)
            except Exception:  # noqa: BLE001 - a node without eth_maxPriorityFeePerGas (eth-tester)
                suggested = DEFAULT_TIP_WEI
            self._tip = (max(1, suggested), now)
        return self._tip[0]

    def fields(self) -> dict[str, int]:
        """maxFeePerGas and maxPriorityFeePerGas for a send now (FeeAboveCeiling over the cap)."""
        base, tip = self.base_fee(), self.tip()
        max_fee = 2 * base + tip
        ceiling = self.policy.max_fee_wei
        if ceiling is not None:
            if base > ceiling:
                raise FeeAboveCeiling(base, ceiling)
            max_fee = min(max_fee, ceiling)
            tip = min(tip, max_fee)
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}

    def bumped(self, old: dict[str, int]) -> dict[str, int] | None:
        """Fees for a replacement of a transaction sent with `old`: both raised by 12.5 % and to at
        least a fresh offer. None when the ceiling leaves no room for a valid bump."""
        fresh = self.fields()
        max_fee = max(fresh["maxFeePerGas"], -(-old["maxFeePerGas"] * BUMP_NUM // BUMP_DEN))
        tip = max(fresh["maxPriorityFeePerGas"], -(-old["maxPriorityFeePerGas"] * BUMP_NUM // BUMP_DEN))
        ceiling = self.policy.max_fee_wei
        if ceiling is not None and max_fee > ceiling:
            return None
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}
