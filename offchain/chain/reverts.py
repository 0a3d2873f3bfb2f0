"""Decode contract reverts into named Python exceptions, on anvil, Hardhat and eth-tester alike.

anvil (through web3) raises ContractCustomError carrying the raw revert data as hex; Hardhat's node
answers JSON-RPC error -32603 whose data is {"message", "data": hex}, which web3 raises as a
ContractLogicError with that dict as its data (docs/evm-clients.md); eth-tester
raises TransactionFailed whose message (or a chained Revert) holds the bytes as a Python repr. All
end up here: `decode_revert(exc, abi)` returns a ContractRevert subclass named after the ABI error
(`reverts.WrongPhase`, `reverts.CommitmentMismatch`, ...) with its arguments decoded by name;
an error this module does not declare (a newer contract) decodes to a plain ContractRevert carrying
its name.
"""

from __future__ import annotations

import ast
import json
import re
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import ContractRevert, TransactionFailed, one_line
from offchain.protocol.types import ENUMS

# ---------------------------------------------------------------- the contract's custom errors
# One class per error contracts/PoQTypes.sol declares, with its NatSpec (tests/contract/test_interface.py
# keeps the two sets equal),
# so `except reverts.WrongPhase` is checked by Python and a misspelt name fails at import.


class AlreadyAnswered(ContractRevert):
    """Thrown when a node answers a batch a second time."""


class AlreadyCommitted(ContractRevert):
    """Thrown when an evaluator commits a second time in a batch."""


class AlreadyRegistered(ContractRevert):
    """Thrown when a registered key that has not exited registers again."""


class AlreadyRevealed(ContractRevert):
    """Thrown when an evaluator reveals a second time."""


class AmountTooLarge(ContractRevert):
    """Thrown when an amount does not fit the contract's 88-bit wei fields."""


class CommitmentMismatch(ContractRevert):
    """Thrown when revealed scores and salt do not hash to the evaluator's commitment."""


class CostAlreadyCommitted(ContractRevert):
    """Thrown when a node commits a second declared cost in one epoch."""


class CostCommitmentMismatch(ContractRevert):
    """Thrown when a revealed latency and salt do not hash to the committed cost."""


class CostRevealOutsideEpoch(ContractRevert):
    """Thrown when a declared cost is revealed outside the epoch after its commitment."""


class DrawOutOfOrder(ContractRevert):
    """Thrown when a batch is drawn before an earlier batch: draws go in order."""


class DrawTooEarly(ContractRevert):
    """Thrown when a batch is drawn before its draw block has a hash."""


class DrawsPending(ContractRevert):
    """Thrown when stake is released while a batch opened before the exit request is not drawn yet."""


class FeeBelowMaxPayout(ContractRevert):
    """Thrown when a batch's fee does not cover the maximum payout of its tasks."""


class InsufficientBalance(ContractRevert):
    """Thrown when a withdrawal asks for more than the caller's balance."""


class InvalidBatchSize(ContractRevert):
    """Thrown when a batch is empty or larger than maxBatchSize."""


class InvalidParameter(ContractRevert):
    """Thrown when a deployment parameter `name` is out of its range."""


class InvalidRole(ContractRevert):
    """Thrown when `register` names a role other than 1 (inference) or 2 (evaluator)."""


class LatencyOutOfRange(ContractRevert):
    """Thrown when a declared latency is zero."""


class LengthMismatch(ContractRevert):
    """Thrown when an array does not have one entry per task, per reference or per seat."""


class MiddlesMismatch(ContractRevert):
    """Thrown when the middle scores given to finalize for an evaluator are not those of its revealed scores."""


class NoCostCommitment(ContractRevert):
    """Thrown when a declared cost is revealed without a commitment."""


class NoInferenceNodes(ContractRevert):
    """Thrown when a batch is opened while the inference pool is empty."""


class NoReference(ContractRevert):
    """Thrown when references are revealed for a batch opened without a reference commitment."""


class NodeHasOpenBatches(ContractRevert):
    """Thrown when stake is released while batches that drew the node are not finalized."""


class NotActive(ContractRevert):
    """Thrown when the caller is not a registered node holding stake (Active, Suspended or Standby)."""


class NotAssigned(ContractRevert):
    """Thrown when the caller holds no task (answering) or no seat (scoring) in the batch."""


class NotCommitted(ContractRevert):
    """Thrown when an evaluator reveals without having committed."""


class NotDelegated(ContractRevert):
    """Thrown when the batch module is called directly instead of by the PoQ contract's delegatecall."""


class NotEnoughEvaluators(ContractRevert):
    """Thrown when a batch is opened while fewer than K evaluators are in the pool."""


class NotExiting(ContractRevert):
    """Thrown when stake is released by a node that did not ask to exit."""


class NotRequester(ContractRevert):
    """Thrown when someone other than the batch's requester reveals its references."""


class PoolFull(ContractRevert):
    """Thrown when a role's pool is full and the stake does not exceed its lowest stake."""


class Reentrancy(ContractRevert):
    """Thrown when a call re-enters a guarded function."""


class ReferenceMismatch(ContractRevert):
    """Thrown when the revealed references and salt do not hash to the commitment."""


class RevealedScoresMismatch(ContractRevert):
    """Thrown when the scores given to finalize for an evaluator are not the ones it revealed."""


class ScoreOutOfRange(ContractRevert):
    """Thrown when a revealed score is above MAX_SCORE (10_000)."""


class StakeBelowMinimum(ContractRevert):
    """Thrown when a registration stakes less than minStake."""


class TransferFailed(ContractRevert):
    """Thrown when sending ETH to the withdrawing account fails."""


class UnbondingNotOver(ContractRevert):
    """Thrown when stake is released before the unbonding delay passed."""


class UnknownBatch(ContractRevert):
    """Thrown when no batch has this id."""


class UnknownTask(ContractRevert):
    """Thrown when no task has this id."""


class WrongStage(ContractRevert):
    """Thrown when the batch is not in the stage this call needs."""


class Panic(ContractRevert):
    """A Solidity panic (assert, arithmetic overflow, array bounds): a bug, never expected."""


class Error(ContractRevert):
    """A plain `revert("message")` / `require(..., "message")`."""


DECLARED: dict[str, type[ContractRevert]] = {
    cls.__name__: cls for cls in ContractRevert.__subclasses__() if cls.__module__ == __name__
}


class _ErrorEntry:
    def __init__(self, entry: dict[str, Any]) -> None:
        self.name: str = entry["name"]
        self.inputs: list[dict[str, Any]] = entry.get("inputs", [])
        self.types = [_abi_type(i) for i in self.inputs]
        self.selector = function_signature_to_4byte_selector(f"{self.name}({','.join(self.types)})")

    def decode(self, payload: bytes) -> ContractRevert:
        values = decode(self.types, payload)
        args = {}
        for i, (spec, value) in enumerate(zip(self.inputs, values, strict=True)):
            args[spec.get("name") or f"arg{i}"] = _enum_name(spec, value)
        cls = DECLARED.get(self.name)
        return cls(args) if cls is not None else ContractRevert(args, name=self.name)


def _abi_type(spec: dict[str, Any]) -> str:
    if spec["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in spec["components"])
        return f"({inner}){spec['type'][5:]}"
    return str(spec["type"])


def _enum_name(spec: dict[str, Any], value: Any) -> Any:
    if spec.get("type") == "address" and isinstance(value, str):
        return to_checksum_address(value)  # spelled as in event arguments and `poq balances`
    internal = spec.get("internalType", "")
    for name, enum in ENUMS.items():
        if internal.endswith(f".{name}") and isinstance(value, int) and value < len(enum):
            return enum(value).label
    return value


@lru_cache(maxsize=16)
def _selectors(abi_json: str) -> dict[bytes, _ErrorEntry]:
    table: dict[bytes, _ErrorEntry] = {}
    for entry in json.loads(abi_json):
        if entry.get("type") == "error":
            decoded = _ErrorEntry(entry)
            table[decoded.selector] = decoded
    return table


def selector_table(abi: list[dict[str, Any]]) -> dict[bytes, _ErrorEntry]:
    """Custom-error selectors of an ABI (cached per ABI)."""
    return _selectors(json.dumps(abi, sort_keys=True))


def revert_data(exc: BaseException) -> bytes | None:
    """Raw revert bytes from a web3 or eth-tester exception (searching its chain), if any."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        data = getattr(current, "data", None)
        if isinstance(data, dict):
            # Hardhat's node nests the revert bytes: {"message": "...", "txHash"?: ..., "data": "0x..."}
            # (anvil puts the hex string itself in the error's data); web3 then raises a
            # ContractLogicError carrying that dict rather than a ContractCustomError.
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return bytes.fromhex(data[2:])
        if isinstance(data, bytes | bytearray) and len(data) >= 4:
            return bytes(data)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, bytes | bytearray) and len(arg) >= 4:
                return bytes(arg)
            if isinstance(arg, str):
                found = _bytes_in_text(arg)
                if found is not None:
                    return found
            if isinstance(arg, BaseException):
                stack.append(arg)
        stack.extend([current.__cause__, current.__context__])
    return None


# A Python bytes literal; an escaped backslash before the closing quote ends it (b'..\\').
_BYTES_REPR = re.compile(r"""b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*\"""", re.S)
_HEX_DATA = re.compile(r"0x[0-9a-fA-F]{8,}")


def _bytes_in_text(text: str) -> bytes | None:
    match = _BYTES_REPR.search(text)
    if match:
        try:
            value = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes) and len(value) >= 4:
            return value
    hex_match = _HEX_DATA.search(text)
    if hex_match and len(hex_match.group(0)) % 2 == 0:
        return bytes.fromhex(hex_match.group(0)[2:])
    return None


_PANIC = function_signature_to_4byte_selector("Panic(uint256)")
_ERROR = function_signature_to_4byte_selector("Error(string)")


def decode_revert(exc: BaseException, abi: list[dict[str, Any]]) -> Exception:
    """The named ContractRevert for `exc`, or TransactionFailed when it cannot be decoded."""
    data = revert_data(exc)
    if data is not None:
        entry = selector_table(abi).get(data[:4])
        if entry is not None:
            return entry.decode(data[4:])
        if data[:4] == _PANIC:
            return Panic({"code": hex(decode(["uint256"], data[4:])[0])})
        if data[:4] == _ERROR:
            return Error({"message": decode(["string"], data[4:])[0]})
    return TransactionFailed(f"transaction reverted: {one_line(exc)}")


def is_revert(exc: BaseException) -> bool:
    """Whether `exc` is an execution revert (as opposed to a transport or signing failure)."""
    name = type(exc).__name__
    return name in {
        "ContractCustomError",
        "ContractLogicError",
        "ContractPanicError",
        "TransactionFailed",
    } or ("revert" in str(exc).lower())

