"""Commitment hashes identical to contracts/libraries/Commitments.sol (keccak256 of abi.encode)."""

from __future__ import annotations

import secrets

from eth_abi import encode
from eth_utils import keccak, to_canonical_address


def new_salt() -> bytes:
    """32 random bytes for a commitment."""
    return secrets.token_bytes(32)


def score_commitment(
    chain_id: int, contract: str, task_id: int, evaluator: str, score: int, salt: bytes
) -> bytes:
    return keccak(
        encode(
            ["uint256", "address", "uint256", "address", "uint16", "bytes32"],
            [chain_id, to_canonical_address(contract), task_id, to_canonical_address(evaluator), score, salt],
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


def reference_commitment(reference: str, salt: bytes) -> bytes:
    return keccak(encode(["bytes32", "bytes32"], [keccak(reference.encode("utf-8")), salt]))
