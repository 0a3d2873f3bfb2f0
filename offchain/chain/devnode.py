"""Which EVM client a node is, and its development RPC methods (docs/evm-clients.md).

anvil and Hardhat's node (EDR) answer the same `eth_*` and `evm_*` methods, but their own
development methods carry a prefix: `anvil_setBalance` on anvil, `hardhat_setBalance` on Hardhat.
`dev_request(w3, "setBalance", params)` sends the right one; `detect_client` tells the two apart by
`web3_clientVersion` ("anvil/v1.7.1" versus "HardhatNetwork/2.29.1/@nomicfoundation/edr/0.3.8").
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
import weakref
from typing import Any, Literal

from web3 import Web3
from web3.types import RPCEndpoint

from offchain.chain.connect import http_url, is_embedded
from offchain.errors import ChainError

Client = Literal["anvil", "hardhat", "eth-tester", "other"]
_PREFIX: dict[str, str] = {"anvil": "anvil_", "hardhat": "hardhat_"}
# provider -> client, so each connection asks once (keyed by the provider, not the URL: a port
# freed by one client may be reused by the other)
_KNOWN: weakref.WeakKeyDictionary[Any, Client] = weakref.WeakKeyDictionary()


def client_kind(version: str) -> Client:
    """The client named by a `web3_clientVersion` answer."""
    lowered = version.lower()
    if lowered.startswith("anvil"):
        return "anvil"
    if lowered.startswith("hardhat"):  # "HardhatNetwork/2.29.1/@nomicfoundation/edr/0.3.8"
        return "hardhat"
    if "ethereumtester" in lowered or "eth-tester" in lowered:
        return "eth-tester"
    return "other"


def client_version(w3: Web3) -> str:
    """The node's `web3_clientVersion` ("" when it does not answer one)."""
    try:
        return str(w3.client_version)
    except Exception:  # noqa: BLE001 - a node without web3_clientVersion is just unnamed
        return ""


def detect_client(target: Web3 | str, *, timeout: float = 2.0) -> Client:
    """anvil, hardhat, eth-tester or other, for a Web3 or a JSON-RPC URL (http(s) or ws(s))."""
    if isinstance(target, str):
        return client_kind(_url_client_version(http_url(target), timeout))
    if is_embedded(target):
        return "eth-tester"
    provider = target.provider
    try:
        return _KNOWN[provider]
    except (KeyError, TypeError):
        pass
    kind = client_kind(client_version(target))
    with contextlib.suppress(TypeError):  # a provider that takes no weak reference: asked each time
        _KNOWN[provider] = kind
    return kind


def dev_request(w3: Web3, method: str, params: list[Any]) -> Any:
    """Call development method `method` ("setBalance", "mine", ...) under the node's own prefix.

    An unknown client gets anvil's name first, then Hardhat's. Raises ChainError with the node's
    message when neither is supported.
    """
    kind = detect_client(w3)
    prefixes = [_PREFIX[kind]] if kind in _PREFIX else ["anvil_", "hardhat_"]
    message: Any = None
    for prefix in prefixes:
        response = w3.provider.make_request(RPCEndpoint(prefix + method), params)
        error = response.get("error")
        if not error:
            return response.get("result")
        message = error.get("message", error) if isinstance(error, dict) else error
    tried = " or ".join(p + method for p in prefixes)
    raise ChainError(f"this node ({kind}) does not support {tried}: {message}")


def _url_client_version(url: str, timeout: float) -> str:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(json.loads(response.read())["result"])
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return ""
