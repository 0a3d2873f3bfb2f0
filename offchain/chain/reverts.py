"""Decode contract reverts into named Python exceptions, on anvil and on eth-tester alike.

anvil (through web3) raises ContractCustomError carrying the raw revert data as hex; eth-tester
raises TransactionFailed whose message (or a chained Revert) holds the bytes as a Python repr. Both
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
# One class per error IProofOfQuality declares (tests/unit/test_reverts.py keeps the two sets equal),
# so `except reverts.WrongPhase` is checked by Python and a misspelt name fails at import.


class AlreadyCommitted(ContractRevert):
    """The evaluator already committed a score for this task."""


class AlreadyRegistered(ContractRevert):
    """The key is already registered (and not exited)."""


class AlreadyRevealed(ContractRevert):
    """The evaluator already revealed its score for this task."""


class AmountTooLarge(ContractRevert):
    """An amount does not fit the contract's 80-bit wei fields."""


class CommitmentMismatch(ContractRevert):
    """The revealed score and salt do not hash to the committed score."""


class CostAlreadyCommitted(ContractRevert):
    """The node already committed a cost report in this epoch."""


class CostCommitmentMismatch(ContractRevert):
    """The revealed latency and salt do not hash to the committed cost."""


class CostRevealOutsideEpoch(ContractRevert):
    """A cost report is revealed outside the epoch after its commit."""


class FeeBelowMaxPayout(ContractRevert):
    """The fee does not cover the maximum payout of a task."""


class InsufficientBalance(ContractRevert):
    """A withdrawal asks for more than the account's balance."""


class InvalidParameter(ContractRevert):
    """A deployment parameter is out of range."""


class InvalidRole(ContractRevert):
    """A registration names a role other than inference (1) or evaluator (2)."""


class LatencyOutOfRange(ContractRevert):
    """A revealed latency is zero."""


class NoCostCommitment(ContractRevert):
    """A cost reveal has no commitment to open."""


class NoInferenceNodes(ContractRevert):
    """A task is opened while the inference pool is empty."""


class NoReference(ContractRevert):
    """A reference is revealed for a task opened without one."""


class NodeHasOpenAssignments(ContractRevert):
    """A node with open assignments asks to exit."""


class NotActive(ContractRevert):
    """The caller is not an active (or suspended) node."""


class NotAssignedNode(ContractRevert):
    """The caller is not the node assigned to the task."""


class NotCommitted(ContractRevert):
    """The evaluator reveals without having committed."""


class NotEnoughEvaluators(ContractRevert):
    """A task is opened while fewer than K evaluators are in the pool."""


class NotExiting(ContractRevert):
    """Stake is released by a node that did not ask to exit."""


class NotRegistered(ContractRevert):
    """The address is not a registered node."""


class NotRequester(ContractRevert):
    """The caller is not the task's requester."""


class NotSelectedEvaluator(ContractRevert):
    """The caller holds no seat on the task's panel."""


class PoolFull(ContractRevert):
    """The role's pool already holds maxPoolSize nodes."""


class Reentrancy(ContractRevert):
    """A call re-entered a guarded function."""


class ReferenceMismatch(ContractRevert):
    """The revealed reference and salt do not hash to the commitment."""


class ScoreOutOfRange(ContractRevert):
    """A revealed score is above MAX_SCORE."""


class StakeBelowMinimum(ContractRevert):
    """A stake is below minStake."""


class TransferFailed(ContractRevert):
    """Sending ETH to the account failed."""


class UnbondingNotOver(ContractRevert):
    """Stake is released before the unbonding delay passed."""


class UnknownTask(ContractRevert):
    """No task has this id."""


class WrongPhase(ContractRevert):
    """The task is not in the phase this call needs."""

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
            return enum(value).label  # type: ignore[attr-defined]
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

