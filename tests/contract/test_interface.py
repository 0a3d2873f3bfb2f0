"""The Python mirror of the contract's interface stays equal to the Solidity one.

One revert class per custom error the ABI declares (and none else), one IntEnum per Solidity enum
with the same members in the same order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from offchain.chain import reverts
from offchain.protocol.types import ENUMS

INTERFACE = Path(__file__).resolve().parents[2] / "contracts" / "IProofOfQuality.sol"


def test_revert_classes_are_exactly_the_abi_errors(poq_artifacts: Any) -> None:
    abi = poq_artifacts.get("ProofOfQuality").abi
    declared_by_abi = {entry["name"] for entry in abi if entry["type"] == "error"}
    builtin = {"Panic", "Error"}
    assert set(reverts.DECLARED) - builtin == declared_by_abi


def test_a_misspelt_revert_name_fails_instead_of_never_matching() -> None:
    with pytest.raises(AttributeError):
        reverts.WrongPhse  # type: ignore[attr-defined]  # noqa: B018


def _solidity_enums(source: str) -> dict[str, list[str]]:
    enums = {}
    for name, body in re.findall(r"enum\s+(\w+)\s*\{([^}]*)\}", source):
        members = [re.sub(r"//.*", "", line).strip().rstrip(",") for line in body.splitlines()]
        enums[name] = [m for m in members if m]
    return enums


def test_python_enums_mirror_the_solidity_enums() -> None:
    solidity = _solidity_enums(INTERFACE.read_text())
    assert set(solidity) == set(ENUMS)
    for name, members in solidity.items():
        assert [m.label for m in ENUMS[name]] == members, name  # type: ignore[attr-defined]
