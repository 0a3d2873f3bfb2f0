"""An agent's SQLite state is bound to its chain (genesis hash) and deployment (block): pointed at a
fresh chain with the same chain id and contract address it is refused in one line naming the file and
the fix, instead of dying later on a block the new chain never had."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.agents.state import AgentState
from offchain.errors import StateError

IDENTITY = {"chain_id": 31337, "contract": "0x" + "ab" * 20, "address": "0x" + "cd" * 20, "role": "evaluator"}


def _open(path: Path, genesis: str, block: int | None) -> AgentState:
    return AgentState(path, **IDENTITY, genesis=genesis, deployment_block=block)


def test_state_from_another_chain_with_the_same_address_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evaluator.sqlite"
    state = _open(path, "0x" + "11" * 32, 37)
    state.cursor = 40
    state.close()
    _open(path, "0x" + "11" * 32, 37).close()  # the same chain again (anvil restarted with --state): fine
    for genesis, block, named in (("0x" + "22" * 32, 37, "genesis"), ("0x" + "11" * 32, 15, "deployment_block")):
        with pytest.raises(StateError) as err:
            _open(path, genesis, block)
        message = str(err.value)
        assert str(path) in message and named in message and "--state-dir" in message
        assert len(message.splitlines()) == 1
    _open(path, "0x" + "11" * 32, 37).close()  # a refusal left no lock behind


def test_state_written_before_the_chain_was_recorded_adopts_it(tmp_path: Path) -> None:
    path = tmp_path / "evaluator.sqlite"
    _open(path, "", None).close()  # an older agent recorded neither
    _open(path, "0x" + "11" * 32, 37).close()
    with pytest.raises(StateError):
        _open(path, "0x" + "22" * 32, 37)
