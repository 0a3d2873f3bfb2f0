"""Deploying the fixture contracts to the embedded eth-tester chain and to a real anvil."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from web3 import Web3

from deploy.compiler import CompiledArtifacts
from deploy.deployer import deploy_contract, deploy_poq
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.chain.connect import connect, embedded_web3
from offchain.chain.manifest import load_manifest
from offchain.errors import ConfigError, RpcUnavailable, TransactionFailed
from offchain.protocol.params import Params
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

ANVIL_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PARAMS = Params(k=2, aggregation=1, epochLength=900)


def test_dev_accounts_follow_the_anvil_mnemonic() -> None:
    assert dev_account(0).address == ANVIL_ACCOUNT_0
    assert dev_account(1).address != dev_account(0).address


def test_fund_accounts_on_eth_tester_tops_up_dev_keys() -> None:
    w3 = embedded_web3()
    target = dev_account(3).address
    assert w3.eth.get_balance(target) == 0  # eth-tester does not fund the anvil mnemonic
    fund_accounts(w3, [target], 5 * 10**18)
    assert w3.eth.get_balance(target) == 5 * 10**18
    fund_accounts(w3, [target], 10**18)  # already above: nothing to send
    assert w3.eth.get_balance(target) == 5 * 10**18


def test_deploy_struct_constructor_on_eth_tester(fixture_artifacts: CompiledArtifacts) -> None:
    w3 = embedded_web3()
    account = dev_account(0)
    fund_accounts(w3, [account.address], 10**20)
    address, receipt = deploy_contract(w3, account, fixture_artifacts.get("Configured"), (7, 60, 2))
    assert receipt["status"] == 1
    contract = w3.eth.contract(address=address, abi=fixture_artifacts.get("Configured").abi)
    assert contract.functions.config().call() == [7, 60, 2]


def test_deploy_poq_writes_a_manifest(fixture_artifacts: CompiledArtifacts, tmp_path: Path) -> None:
    w3 = embedded_web3()
    account = dev_account(0)
    fund_accounts(w3, [account.address], 10**20)
    manifest = deploy_poq(w3, account, PARAMS, artifacts=fixture_artifacts,
                          deployments_dir=tmp_path, contract_name="PoQStub", module_name="ModuleStub")
    assert load_manifest(w3.eth.chain_id, tmp_path) == manifest
    resolved = replace(PARAMS, treasury=int(account.address, 16))  # 0 means the deployer
    assert manifest.params == resolved.as_dict()
    assert manifest.deployer == account.address
    assert manifest.source_hash == fixture_artifacts.source_hash
    stub = w3.eth.contract(address=manifest.address, abi=manifest.abi)
    assert tuple(stub.functions.getParams().call()) == resolved.as_tuple()
    assert stub.functions.module().call() == manifest.module
    assert w3.eth.get_code(manifest.module) != b""


def test_reverting_constructor_raises_transaction_failed(
    fixture_artifacts: CompiledArtifacts,
) -> None:
    w3 = embedded_web3()
    account = dev_account(0)
    fund_accounts(w3, [account.address], 10**20)
    with pytest.raises(TransactionFailed, match="Reverting"):
        deploy_contract(w3, account, fixture_artifacts.get("Reverting"), 0)


def test_wrong_constructor_arguments_are_a_config_error(
    fixture_artifacts: CompiledArtifacts,
) -> None:
    w3 = embedded_web3()
    with pytest.raises(ConfigError, match="constructor arguments"):
        deploy_contract(w3, dev_account(0), fixture_artifacts.get("Configured"), (1, 2))
    with pytest.raises(ConfigError, match="no bytecode"):
        deploy_contract(w3, dev_account(0), fixture_artifacts.get("ITypes"))


def test_connect_to_a_closed_port_raises_rpc_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcUnavailable) as caught:
        connect(url)
    assert url in str(caught.value)
    assert "\n" not in str(caught.value)


def test_connect_rejects_unknown_schemes() -> None:
    with pytest.raises(ConfigError, match="unsupported RPC URL"):
        connect("ftp://example.org")


@pytest.mark.anvil
def test_deploy_poq_on_anvil(
    anvil_chain: str, fixture_artifacts: CompiledArtifacts, tmp_path: Path
) -> None:
    w3 = connect(anvil_chain)
    assert w3.eth.chain_id == 31337
    manifest = deploy_poq(w3, dev_account(0), PARAMS, artifacts=fixture_artifacts,
                          deployments_dir=tmp_path, contract_name="PoQStub", module_name="ModuleStub")
    assert manifest.chain_id == 31337
    assert (tmp_path / "31337.json").is_file()
    assert w3.eth.get_code(manifest.address) != b""
    stub = w3.eth.contract(address=manifest.address, abi=manifest.abi)
    resolved = replace(PARAMS, treasury=int(dev_account(0).address, 16))
    assert tuple(stub.functions.getParams().call()) == resolved.as_tuple()


@pytest.mark.anvil
def test_anvil_funding_and_reverts(anvil_url: str, fixture_artifacts: CompiledArtifacts) -> None:
    w3 = connect(anvil_url)
    fresh = dev_account(40)
    fund_accounts(w3, [fresh.address], 3 * 10**18)
    assert w3.eth.get_balance(fresh.address) >= 3 * 10**18
    with pytest.raises(TransactionFailed, match="Reverting"):
        deploy_contract(w3, fresh, fixture_artifacts.get("Reverting"), 0)
    address, _ = deploy_contract(w3, fresh, fixture_artifacts.get("Reverting"), 5)
    value = w3.eth.contract(address=address, abi=fixture_artifacts.get("Reverting").abi)
    assert value.functions.value().call() == 5
    assert Web3.is_checksum_address(address)
