"""Deploy contracts and write the deployment manifest.

Transactions are always signed locally (one key per agent, see DESIGN.md) and sent raw, so the
same code runs against anvil, the embedded eth-tester chain and any remote JSON-RPC node. Connecting
and dev keys live in the chain layer (`offchain.chain.connect`, `offchain.chain.accounts`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from web3 import Web3
from web3.exceptions import MismatchedABI, Web3Exception, Web3ValidationError
from web3.types import TxReceipt

from deploy.compiler import CompiledArtifacts, ContractArtifact, compile_contracts
from offchain.chain.connect import short_reason, wait_for_receipt
from offchain.chain.manifest import Manifest, utc_now_iso
from offchain.errors import ChainError, ConfigError, TransactionFailed
from offchain.protocol.params import Params

# --- deploying --------------------------------------------------------------------------------


def deploy_contract(
    w3: Web3, account: LocalAccount, artifact: ContractArtifact, *args: Any, value: int = 0
) -> tuple[str, TxReceipt]:
    """Deploy `artifact` with constructor `args`, signed by `account`; (address, receipt)."""
    _check_deployable(artifact)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    try:
        constructor = factory.constructor(*args)
        tx = constructor.build_transaction(
            {"from": account.address, "nonce": nonce, "value": value}
        )
    except (MismatchedABI, Web3ValidationError, TypeError) as exc:
        raise ConfigError(
            f"constructor arguments do not match {artifact.name}'s ABI: {short_reason(exc)}"
        ) from None
    except (Web3Exception, TesterTransactionFailed) as exc:  # gas estimation ran the constructor
        reason = short_reason(exc)
        raise TransactionFailed(f"deploying {artifact.name} reverted: {reason}") from exc
    signed = account.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except (Web3Exception, TesterTransactionFailed, ValueError) as exc:
        reason = short_reason(exc)
        raise ChainError(f"sending the {artifact.name} deployment failed: {reason}") from exc
    receipt = wait_for_receipt(w3, tx_hash)
    contract_address = receipt.get("contractAddress")
    if receipt["status"] != 1 or not contract_address:
        raise TransactionFailed(
            f"deploying {artifact.name} failed in tx {_hex(receipt['transactionHash'])} "
            f"(block {receipt['blockNumber']}, gas used {receipt['gasUsed']})"
        )
    return Web3.to_checksum_address(contract_address), receipt


def deploy_poq(
    w3: Web3,
    deployer_account: LocalAccount,
    params: Params,
    *,
    artifacts: CompiledArtifacts | None = None,
    deployments_dir: Path = Path("deployments"),
    contract_name: str = "ProofOfQuality",
    module_name: str = "PoQBatchModule",
    sources_dir: Path | None = None,
) -> Manifest:
    """Compile (cached) unless `artifacts` is given, deploy the batch module and then the contract with
    `params` (the contract checks that the module was deployed with the same ones), write the manifest."""
    compiled = artifacts if artifacts is not None else compile_contracts(sources_dir)
    if params.treasury == 0:  # the contract resolves it to the deployer; the manifest says so
        params = replace(params, treasury=int(deployer_account.address, 16))
    module, _ = deploy_contract(w3, deployer_account, compiled.get(module_name), params.as_tuple())
    artifact = compiled.get(contract_name)
    address, receipt = deploy_contract(w3, deployer_account, artifact, params.as_tuple(), module)
    manifest = Manifest(
        chain_id=int(w3.eth.chain_id),
        address=address,
        abi=artifact.abi,
        deployer=deployer_account.address,
        tx_hash=_hex(receipt["transactionHash"]),
        block_number=int(receipt["blockNumber"]),
        params=params.as_dict(),
        contract_name=artifact.name,
        compiler_version=compiled.compiler_version,
        source_hash=compiled.source_hash,
        deployed_at=utc_now_iso(),
        module=module,
    )
    manifest.save(deployments_dir)
    return manifest


def _check_deployable(artifact: ContractArtifact) -> None:
    if artifact.bytecode in ("", "0x"):
        raise ConfigError(f"{artifact.name} has no bytecode: an interface or abstract contract")
    if "__$" in artifact.bytecode:  # solc's placeholder for an unlinked external library
        raise ConfigError(
            f"{artifact.name} needs linked libraries; make the library functions internal"
        )


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()
