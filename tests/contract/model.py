"""A pure-Python model of ProofOfQuality for the stateful test (tests/contract/test_stateful.py).

The model keeps what the contract should know (accounts, the two ranked pools, batches, escrow,
the clock and the block number) and answers, for the next transaction, either "it succeeds and
changes the state like this" or "it reverts with this custom error and these arguments"
(`ModelRevert`). The registry lives in model_registry.py, the batch lifecycle in model_batches.py;
the numbers come from `offchain.protocol` (wad, draw, batch): the math is never re-derived here.
"""

from __future__ import annotations

from offchain.protocol import Params
from offchain.protocol.types import Role, Stage, Status
from tests.contract.model_batches import BatchesModel, BatchModel, Drawn, Settlement, StageAt
from tests.contract.model_registry import EVALUATOR, INFERENCE, STAKED, ModelRevert, NodeModel

__all__ = [
    "EVALUATOR",
    "INFERENCE",
    "STAKED",
    "BatchModel",
    "Drawn",
    "ModelRevert",
    "NodeModel",
    "PoQModel",
    "Role",
    "Settlement",
    "Stage",
    "StageAt",
    "Status",
]


class PoQModel(BatchesModel):
    """The whole contract: registry (RegistryModel) and batches (BatchesModel)."""

    def __init__(self, params: Params, treasury: str, now: int, block: int) -> None:
        super().__init__(params, treasury, now, block)

    def accounting(self) -> tuple[int, int, int]:
        """(stakes, balances, escrow), as accounting() must report them."""
        stakes = sum(n.stake for n in self.nodes.values())
        balances = sum(n.balance for n in self.nodes.values())
        return stakes, balances, sum(b.fee for b in self.batches.values() if not b.finalized)

    def live_batches(self) -> list[BatchModel]:
        return [b for b in self.batches.values() if not b.finalized]
