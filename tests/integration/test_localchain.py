"""`poq chain up / status / down` against the real anvil binary (or Hardhat's node, --evm hardhat)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from deploy import localchain
from deploy.compiler import CompiledArtifacts
from deploy.localchain import chain_down, chain_status, chain_up, find_anvil, find_hardhat
from offchain.errors import ConfigError
from tests.conftest import free_port, selected_evm, start_anvil

pytestmark = pytest.mark.anvil


@pytest.mark.anvil_only("--state (anvil's state dump/load): Hardhat's node has no equivalent")
def test_state_file_survives_a_restart(
    tmp_path: Path, fixture_artifacts: CompiledArtifacts
) -> None:
    from deploy.deployer import deploy_contract
    from offchain.chain.accounts import dev_account
    from offchain.chain.connect import connect

    state_dir, state_file = tmp_path / "chain", tmp_path / "state" / "anvil.json"
    port, url = start_anvil(state_dir, state_file=state_file)
    status = chain_status(port, state_dir)
    assert status.running and status.pid is not None and status.state_file == state_file
    assert status.log_path is not None and status.log_path.is_file()

    w3 = connect(url)
    artifact = fixture_artifacts.get("Configured")
    address, _ = deploy_contract(w3, dev_account(0), artifact, (1, 2, 3))
    contract = w3.eth.contract(address=address, abi=artifact.abi)
    sender = dev_account(0)
    nonce = w3.eth.get_transaction_count(sender.address)
    tx = contract.functions.bump().build_transaction({"from": sender.address, "nonce": nonce})
    signed = sender.sign_transaction(tx)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    block_before, code_before = w3.eth.block_number, w3.eth.get_code(address)

    assert chain_down(port, state_dir) is True
    assert not chain_status(port, state_dir).running
    assert not (state_dir / f"anvil-{port}.json").exists()
    assert state_file.is_file()  # anvil dumped its state on SIGTERM

    restarted = chain_up(port, state_file=state_file, state_dir=state_dir)
    try:
        assert restarted.running and not restarted.already_running
        assert restarted.block_number == block_before
        w3 = connect(url)
        assert w3.eth.get_code(address) == code_before != b""
        assert w3.eth.contract(address=address, abi=artifact.abi).functions.counter().call() == 1
    finally:
        chain_down(port, state_dir)


def test_second_chain_up_reports_the_running_chain(tmp_path: Path) -> None:
    port, _ = start_anvil(tmp_path)
    try:
        first = chain_status(port, tmp_path)
        assert first.client == selected_evm()
        again = chain_up(port, state_dir=tmp_path, client=selected_evm())
        assert again.already_running and again.pid == first.pid
        assert again.chain_id == 31337 and again.block_number == 0
    finally:
        chain_down(port, tmp_path)


def test_stale_record_is_ignored_and_replaced(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs
    port = free_port()
    record = tmp_path / f"{selected_evm()}-{port}.json"
    record.write_text(json.dumps({"pid": dead.pid, "port": port, "log_path": "x"}))

    status = chain_status(port, tmp_path)
    assert not status.running and status.pid is None
    assert chain_down(port, tmp_path) is False
    assert not record.exists()

    record.write_text("{damaged")
    started = chain_up(port, state_dir=tmp_path, client=selected_evm())
    try:
        assert started.running and started.pid is not None and started.pid != dead.pid
        assert json.loads(record.read_text())["pid"] == started.pid
    finally:
        assert chain_down(port, tmp_path) is True


def test_block_time_is_passed_to_the_node(tmp_path: Path) -> None:
    from offchain.chain.connect import connect
    from offchain.chain.devnode import dev_request

    client = selected_evm()
    port = free_port()
    status = chain_up(port, block_time=1, state_dir=tmp_path, client=client)
    try:
        record = json.loads((tmp_path / f"{client}-{port}.json").read_text())
        if client == "anvil":
            command = record["command"]
            assert command[command.index("--block-time") + 1] == "1"
        assert record["block_time"] == 1
        assert status.running
        assert dev_request(connect(status.rpc_url), "getAutomine", []) is False  # interval mining only
    finally:
        chain_down(port, tmp_path)


def test_the_node_names_its_client(tmp_path: Path) -> None:
    from offchain.chain.connect import connect
    from offchain.chain.devnode import client_version, detect_client

    port, url = start_anvil(tmp_path)
    try:
        version = client_version(connect(url))
        expected = {"anvil": "anvil/", "hardhat": "HardhatNetwork/"}[selected_evm()]
        assert version.startswith(expected), version
        assert detect_client(url) == detect_client(connect(url)) == selected_evm()
        assert chain_status(port, tmp_path).client == selected_evm()
    finally:
        chain_down(port, tmp_path)


def test_the_node_starts_from_any_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`poq chain up` outside the checkout: Hardhat refuses to run outside the project installing it
    (its error HH12) unless started there, so chain_up runs it from its node_modules' project."""
    monkeypatch.chdir(tmp_path)
    port, url = start_anvil(tmp_path / "chain")
    try:
        assert chain_status(port, tmp_path / "chain").running
    finally:
        chain_down(port, tmp_path / "chain")


def test_hardhat_refuses_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--state is anvil's"):
        chain_up(free_port(), state_file=tmp_path / "state.json", state_dir=tmp_path, client="hardhat")
    assert not list(tmp_path.glob("*.json"))  # nothing started, nothing recorded


def test_chain_down_without_a_chain_is_a_no_op(tmp_path: Path) -> None:
    assert chain_down(free_port(), tmp_path) is False


def test_fixture_yields_a_live_chain(anvil_chain: str) -> None:
    port = int(anvil_chain.rsplit(":", 1)[1])
    assert chain_status(port, Path("/nonexistent")).chain_id == 31337  # answers; not our record


def test_find_anvil_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POQ_ANVIL", str(tmp_path / "no-anvil"))
    with pytest.raises(ConfigError, match="POQ_ANVIL"):
        find_anvil()
    monkeypatch.delenv("POQ_ANVIL")
    monkeypatch.setattr(localchain, "_ANVIL_IN_NODE_MODULES", Path("no/such/anvil"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="npm install"):
        find_anvil()


def test_find_hardhat_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POQ_HARDHAT", str(tmp_path / "no-hardhat"))
    with pytest.raises(ConfigError, match="POQ_HARDHAT"):
        find_hardhat()
    monkeypatch.delenv("POQ_HARDHAT")
    monkeypatch.setattr(localchain, "_HARDHAT_IN_NODE_MODULES", Path("no/such/hardhat"))
    with pytest.raises(ConfigError, match="npm install"):
        find_hardhat()
