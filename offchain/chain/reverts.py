"""Decode contract reverts into named Python exceptions, on anvil and on eth-tester alike.

anvil (through web3) raises ContractCustomError carrying the raw revert data as hex; eth-tester
raises TransactionFailed whose message (or a chained Revert) holds the bytes as a Python repr. Both
end up here: `decode_revert(exc, abi)` returns a ContractRevert subclass named after the ABI error
(`reverts.WrongPhase`, `reverts.CommitmentMismatch`, ...) with its arguments decoded by name.
"""

from __future__ import annotations

import ast
import json
import re
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.errors import ContractRevert, TransactionFailed

PHASES = ("None", "Open", "Answered", "Commit", "Reveal", "Closed", "Lapsed", "Finalized", "Expired")
ROLES = ("None", "Inference", "Evaluator")
_ENUMS = {"Phase": PHASES, "Role": ROLES}

_classes: dict[str, type[ContractRevert]] = {}


def revert_class(name: str) -> type[ContractRevert]:
    """The ContractRevert subclass for the custom error `name` (created once, then reused)."""
    if name not in _classes:
        _classes[name] = type(name, (ContractRevert,), {"error_name": name, "__module__": __name__})
    return _classes[name]


def __getattr__(name: str) -> type[ContractRevert]:
    # `reverts.WrongPhase` works before any ABI was seen, so callers can `except` it statically.
    if name[:1].isupper():
        return revert_class(name)
    raise AttributeError(name)


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
        return revert_class(self.name)(args)


def _abi_type(spec: dict[str, Any]) -> str:
    if spec["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in spec["components"])
        return f"({inner}){spec['type'][5:]}"
    return str(spec["type"])


def _enum_name(spec: dict[str, Any], value: Any) -> Any:
    if spec.get("type") == "address" and isinstance(value, str):
        return to_checksum_address(value)  # spelled as in event arguments and `poq balances`
    internal = spec.get("internalType", "")
    for enum, names in _ENUMS.items():
        if internal.endswith(f".{enum}") and isinstance(value, int) and value < len(names):
            return names[value]
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
            return revert_class("Panic")({"code": hex(decode(["uint256"], data[4:])[0])})
        if data[:4] == _ERROR:
            return revert_class("Error")({"message": decode(["string"], data[4:])[0]})
    return TransactionFailed(f"transaction reverted: {_one_line(exc)}")


def is_revert(exc: BaseException) -> bool:
    """Whether `exc` is an execution revert (as opposed to a transport or signing failure)."""
    name = type(exc).__name__
    return name in {
        "ContractCustomError",
        "ContractLogicError",
        "ContractPanicError",
        "TransactionFailed",
    } or ("revert" in str(exc).lower())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
