"""Development keys and funding on local chains (anvil's mnemonic; never for real funds)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import Wei

from offchain.chain.connect import is_embedded, wait_for_receipt
from offchain.chain.devnode import dev_request
from offchain.errors import ChainError, ConfigError

DEV_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's default
DEV_CHAIN_IDS = (31337, 1337)  # anvil/hardhat, and ganache/geth --dev: the only chains dev keys sign on


@lru_cache(maxsize=256)
def dev_account(index: int = 0) -> LocalAccount:
    """Dev key `index` of anvil's default mnemonic (m/44'/60'/0'/0/index)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def require_dev_chain(chain_id: int, index: int) -> None:
    """Refuse dev key `index` on a chain that is not a local dev chain: its key is public."""
    if chain_id not in DEV_CHAIN_IDS:
        allowed = " or ".join(str(c) for c in DEV_CHAIN_IDS)
        raise ConfigError(
            f"dev key {index} is anvil's public test key, for local chains only (chain id {allowed}), "
            f"not chain {chain_id}: use --keystore FILE (create one with `poq account new`)"
        )


def fund_accounts(w3: Web3, addresses: Iterable[str], amount_wei: int) -> None:
    """Top each address up to at least `amount_wei`.

    anvil: `anvil_setBalance`; Hardhat's node: `hardhat_setBalance` (offchain.chain.devnode picks
    by `web3_clientVersion`). eth-tester: a transfer from its own prefunded accounts, which are
    not the anvil mnemonic's, so dev keys start with nothing there.
    """
    targets = [Web3.to_checksum_address(a) for a in addresses]
    if is_embedded(w3):
        _fund_from_tester(w3, targets, amount_wei)
        return
    for address in targets:
        if w3.eth.get_balance(address) >= amount_wei:
            continue
        try:
            dev_request(w3, "setBalance", [address, hex(amount_wei)])
        except ChainError as exc:
            raise ChainError(f"cannot fund {address}: {exc}; fund the account from a wallet instead") from None


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
        wait_for_receipt(w3, tx_hash)
