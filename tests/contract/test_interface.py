"""The Python mirror of the contract's interface stays equal to the Solidity one.

One revert class per custom error the ABI declares (and none else), one IntEnum per Solidity enum
with the same members in the same order; every error, event and function of the interface says
what it is for in NatSpec.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from offchain.chain import reverts
from offchain.protocol.types import ENUMS

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
TYPES = CONTRACTS / "PoQTypes.sol"
INTERFACE = CONTRACTS / "IProofOfQuality.sol"


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
    solidity = _solidity_enums(TYPES.read_text())
    assert set(solidity) == set(ENUMS)
    for name, members in solidity.items():
        assert [m.label for m in ENUMS[name]] == members, name  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "kind"), [(TYPES, "error"), (TYPES, "event"), (INTERFACE, "function")])
def test_every_error_event_and_function_has_natspec(path: Path, kind: str) -> None:
    lines = path.read_text().splitlines()
    declared = [i for i, line in enumerate(lines) if line.strip().startswith(f"{kind} ")]
    assert declared, f"no {kind} in {path.name}"
    undocumented = []
    for i in declared:
        above = i - 1
        while above >= 0 and lines[above].strip().startswith("///") and not lines[above].strip().startswith("/// @"):
            above -= 1  # continuation lines of a NatSpec block
        if above < 0 or not lines[above].strip().startswith("/// @"):
            undocumented.append(lines[i].strip())
    assert not undocumented, undocumented
    if kind == "error":
        notices = [lines[i - 1] for i in declared]
        assert all("Thrown when" in line for line in notices), [n for n in notices if "Thrown when" not in n]
