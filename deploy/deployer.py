"""Connect to a chain, fund dev accounts, deploy contracts and write the deployment manifest.

Transactions are always signed locally (one key per agent, see DESIGN.md) and sent raw, so the
same code runs against anvil, the embedded eth-tester chain and any remote JSON-RPC node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_typing import ChecksumAddress
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import MismatchedABI, Web3Exception, Web3ValidationError
from web3.types import RPCEndpoint, TxReceipt, Wei

from deploy.compiler import CompiledArtifacts, ContractArtifact, compile_contracts
from offchain.chain.manifest import Manifest, utc_now_iso
from offchain.errors import ChainError, ConfigError, RpcUnavailable, TransactionFailed
from offchain.protocol.params import Params

DEV_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's default
RECEIPT_POLL_LATENCY = 0.01  # local chains mine in milliseconds; web3's default polls at 0.1 s
RECEIPT_TIMEOUT = 120.0


# --- connecting -------------------------------------------------------------------------------


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A Web3 over HTTP(S) or an IPC socket path, checked to answer `eth_chainId`.

    Raises RpcUnavailable (one line) when nothing answers. The check runs without web3's
    retry-with-backoff, so a closed port fails at once instead of after ~2 s of retries.
    """
    if rpc_url.startswith(("http://", "https://")):
        provider: Any = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout})
    elif rpc_url.endswith(".ipc"):
        provider = Web3.IPCProvider(rpc_url, timeout=int(timeout))
    else:
        raise ConfigError(
            f"unsupported RPC URL {rpc_url!r}: use http(s)://HOST:PORT or a .ipc path"
        )
    w3 = Web3(provider)
    retry = getattr(provider, "exception_retry_configuration", None)
    if retry is not None:
        provider.exception_retry_configuration = None
    try:
        w3.eth.chain_id  # noqa: B018 - the property access is the liveness check
    except (requests.RequestException, OSError, Web3Exception, ValueError) as exc:
        raise RpcUnavailable(rpc_url, _short_reason(exc)) from None
    finally:
        if retry is not None:
            provider.exception_retry_configuration = retry
    return w3


def embedded_web3() -> Web3:
    """An in-process chain: eth-tester on the py-evm backend (no node to start)."""
    return Web3(EthereumTesterProvider())


def _short_reason(exc: BaseException) -> str:
    """The gist of a connection error: "[Errno 111] Connection refused" rather than a page."""
    text = str(exc)
    if errno := re.search(r"\[Errno -?\d+\][^'\")]*", text):
        return errno.group(0).strip()
    if isinstance(exc, requests.Timeout):
        return "timed out"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]


# --- accounts ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def dev_account(index: int = 0) -> LocalAccount:
    """Dev key `index` of anvil's default mnemonic (m/44'/60'/0'/0/index). Never for real funds."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def fund_accounts(w3: Web3, addresses: Iterable[str], amount_wei: int) -> None:
    """Top each address up to at least `amount_wei`.

    anvil: `anvil_setBalance`. eth-tester: a transfer from its own prefunded accounts, which are
    not the anvil mnemonic's, so dev keys start with nothing there.
    """
    targets = [Web3.to_checksum_address(a) for a in addresses]
    if isinstance(w3.provider, EthereumTesterProvider):
        _fund_from_tester(w3, targets, amount_wei)
        return
    for address in targets:
        if w3.eth.get_balance(address) >= amount_wei:
            continue
        response = w3.provider.make_request(
            RPCEndpoint("anvil_setBalance"), [address, hex(amount_wei)]
        )
        if response.get("error"):
            raise ChainError(
                f"cannot fund {address}: this node does not support anvil_setBalance "
                f"({_rpc_message(response['error'])}); fund the account from a wallet instead"
            )


def _fund_from_tester(w3: Web3, targets: list[ChecksumAddress], amount_wei: int) -> None:
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    sources = [Web3.to_checksum_address(a) for a in tester.get_accounts()]
    for address in targets:
        missing = amount_wei - w3.eth.get_balance(address)
        if missing <= 0:
            continue
        source = next((s for s in sources if w3.eth.get_balance(s) > missing + 10**17), None)
        if source is None:
            raise ChainError(f"eth-tester's prefunded accounts cannot cover {missing} wei")
        tx_hash = w3.eth.send_transaction({"from": source, "to": address, "value": Wei(missing)})
        _wait(w3, tx_hash)


def _rpc_message(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


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
            f"constructor arguments do not match {artifact.name}'s ABI: {_short_reason(exc)}"
        ) from None
    except (Web3Exception, TesterTransactionFailed) as exc:  # gas estimation ran the constructor
        reason = _short_reason(exc)
        raise TransactionFailed(f"deploying {artifact.name} reverted: {reason}") from exc
    signed = account.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except (Web3Exception, TesterTransactionFailed, ValueError) as exc:
        reason = _short_reason(exc)
        raise ChainError(f"sending the {artifact.name} deployment failed: {reason}") from exc
    receipt = _wait(w3, tx_hash)
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
    sources_dir: Path | None = None,
) -> Manifest:
    """Compile (cached) unless `artifacts` is given, deploy with `params`, write the manifest."""
    compiled = artifacts if artifacts is not None else compile_contracts(sources_dir)
    artifact = compiled.get(contract_name)
    address, receipt = deploy_contract(w3, deployer_account, artifact, params.as_tuple())
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


def _wait(w3: Web3, tx_hash: Any) -> TxReceipt:
    try:
        return w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=RECEIPT_POLL_LATENCY
        )
    except Web3Exception as exc:
        raise ChainError(f"no receipt for tx {_hex(tx_hash)}: {_short_reason(exc)}") from exc


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()
