"""Commitment hashes identical to contracts/libraries/Commitments.sol (keccak256 of abi.encode)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak, to_canonical_address


def new_salt() -> bytes:
    """32 random bytes for a commitment."""
    return secrets.token_bytes(32)


def score_commitment(
    chain_id: int, contract: str, batch_id: int, evaluator: str, scores: Sequence[int], salt: bytes
) -> bytes:
    """An evaluator's scores for all its seats of a batch, in seat order (Commitments.scores)."""
    return keccak(
        encode(
            ["uint256", "address", "uint256", "address", "uint16[]", "bytes32"],
            [chain_id, to_canonical_address(contract), batch_id, to_canonical_address(evaluator), list(scores), salt],
        )
    )


def cost_commitment(
    chain_id: int, contract: str, epoch: int, node: str, latency_us: int, salt: bytes
) -> bytes:
    return keccak(
        encode(
            ["uint256", "address", "uint256", "address", "uint32", "bytes32"],
            [chain_id, to_canonical_address(contract), epoch, to_canonical_address(node), latency_us, salt],
        )
    )


def reference_commitment(references: Sequence[str], salt: bytes) -> bytes:
    """A batch's reference answers, one per task (Commitments.references)."""
    digests = b"".join(keccak(text.encode("utf-8")) for text in references)
    return keccak(encode(["bytes32", "bytes32"], [keccak(digests), salt]))
