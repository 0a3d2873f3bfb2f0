"""anvil and Hardhat's node, told apart without a node: client names, dev-method prefixes, revert shapes
(the shapes are the ones each node answered; docs/evm-clients.md)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers.base import BaseProvider

from offchain.chain import reverts
from offchain.chain.devnode import client_kind, detect_client, dev_request
from offchain.errors import ChainError, TransactionFailed

ABI = [{"type": "error", "name": "UnknownBatch", "inputs": [{"name": "batchId", "type": "uint256"}]}]
UNKNOWN_42 = "0x" + (function_signature_to_4byte_selector("UnknownBatch(uint256)") + encode(["uint256"], [42])).hex()
HARDHAT_MESSAGE = ("Error: VM Exception while processing transaction: reverted with an unrecognized custom error "
                   f"(return data: {UNKNOWN_42})")


@pytest.mark.parametrize(
    ("version", "kind"),
    [
        ("anvil/v1.7.1", "anvil"),
        ("HardhatNetwork/2.29.1/@nomicfoundation/edr/0.3.8", "hardhat"),
        ("EthereumTester/0.13.0/linux/python3.12", "eth-tester"),
        ("Geth/v1.14.0-stable/linux-amd64/go1.22", "other"),
        ("", "other"),
    ],
)
def test_client_kind_reads_web3_client_version(version: str, kind: str) -> None:
    assert client_kind(version) == kind


class _FakeNode(BaseProvider):
    """Answers web3_clientVersion with `version` and supports only the dev methods in `methods`."""

    def __init__(self, version: str, methods: set[str]) -> None:
        super().__init__()
        self.version, self.methods, self.asked = version, methods, []  # type: ignore[var-annotated]

    def make_request(self, method: Any, params: Any) -> Any:
        self.asked.append(str(method))
        if method == "web3_clientVersion":
            return {"jsonrpc": "2.0", "id": 1, "result": self.version}
        if method in self.methods:
            return {"jsonrpc": "2.0", "id": 1, "result": True}
        return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32004, "message": f"Method {method} is not supported"}}


@pytest.mark.parametrize(
    ("version", "expected"),
    [("anvil/v1.7.1", "anvil_setBalance"), ("HardhatNetwork/2.29.1/@nomicfoundation/edr/0.3.8", "hardhat_setBalance")],
)
def test_dev_request_uses_the_clients_own_prefix(version: str, expected: str) -> None:
    node = _FakeNode(version, {expected})
    w3 = Web3(node)
    assert dev_request(w3, "setBalance", ["0x00", "0x1"]) is True
    assert dev_request(w3, "setBalance", ["0x00", "0x1"]) is True
    assert node.asked == ["web3_clientVersion", expected, expected]  # asked once per connection


def test_dev_request_on_an_unknown_client_tries_both_then_names_them() -> None:
    w3 = Web3(_FakeNode("Geth/v1.14.0", {"hardhat_mine"}))
    assert detect_client(w3) == "other"
    assert dev_request(w3, "mine", ["0x1"]) is True
    with pytest.raises(ChainError, match="anvil_setBalance or hardhat_setBalance"):
        dev_request(w3, "setBalance", ["0x00", "0x1"])


def test_anvils_revert_decodes() -> None:
    exc = ContractCustomError(UNKNOWN_42, data=UNKNOWN_42)
    decoded = reverts.decode_revert(exc, ABI)
    assert isinstance(decoded, reverts.UnknownBatch) and decoded.error_args == {"batchId": 42}


def test_hardhats_nested_revert_data_decodes() -> None:
    """Hardhat: error -32603, data {"message", "data": hex}; web3 raises ContractLogicError with the dict."""
    exc = ContractLogicError(f"execution reverted: {HARDHAT_MESSAGE}",
                             data={"message": HARDHAT_MESSAGE, "data": UNKNOWN_42})
    decoded = reverts.decode_revert(exc, ABI)
    assert isinstance(decoded, reverts.UnknownBatch) and decoded.error_args == {"batchId": 42}
    # the bytes come from the dict, not the text: a message without them, a txHash beside them
    # (eth_sendRawTransaction's refusal of a transaction it mined and reverted) still decodes
    named = "Error: VM Exception while processing transaction: reverted with custom error 'UnknownBatch(42)'"
    exc = ContractLogicError(f"execution reverted: {named} 0x{'ab' * 32}",
                             data={"message": named, "txHash": "0x" + "ab" * 32, "data": UNKNOWN_42})
    decoded = reverts.decode_revert(exc, ABI)
    assert isinstance(decoded, reverts.UnknownBatch) and decoded.error_args == {"batchId": 42}


def test_hardhats_revert_without_data_is_a_plain_failure() -> None:
    message = "Error: Transaction reverted without a reason"
    exc = ContractLogicError(f"execution reverted: {message}", data={"message": message, "data": "0x"})
    assert isinstance(reverts.decode_revert(exc, ABI), TransactionFailed)
