"""Connecting to a chain: a JSON-RPC node (HTTP, websocket or IPC) or the embedded eth-tester EVM,
and waiting for receipts.

Every connection failure is one line naming what to fix (RpcUnavailable); the liveness check runs
without web3's retry-with-backoff, so a closed port fails at once instead of after seconds of retries.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from offchain.errors import ChainError, ConfigError, RpcUnavailable

RECEIPT_POLL_S = 0.005  # local chains mine in milliseconds; web3's default polls every 0.1 s
RECEIPT_TIMEOUT_S = 120.0


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A synchronous Web3 over HTTP(S) or an IPC socket path, checked to answer `eth_chainId`.

    A ws:// URL is read as the HTTP endpoint on the same host and port (anvil serves both on one
    port); the websocket itself is for event subscriptions (`offchain.chain.events`).
    """
    if rpc_url.startswith(("ws://", "wss://")):
        rpc_url = http_url(rpc_url)
    if rpc_url.startswith(("http://", "https://")):
        provider: Any = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout})
    elif rpc_url.endswith(".ipc"):
        provider = Web3.IPCProvider(rpc_url, timeout=int(timeout))
    else:
        raise ConfigError(f"unsupported RPC URL {rpc_url!r}: use http(s)://HOST:PORT, ws://HOST:PORT or a .ipc path")
    w3 = Web3(provider)
    retry = getattr(provider, "exception_retry_configuration", None)
    if retry is not None:
        provider.exception_retry_configuration = None
    try:
        w3.eth.chain_id  # noqa: B018 - the property access is the liveness check
    except (requests.RequestException, OSError, Web3Exception, ValueError, TimeoutError) as exc:
        raise RpcUnavailable(rpc_url, short_reason(exc)) from None
    finally:
        if retry is not None:
            provider.exception_retry_configuration = retry
    return w3


def http_url(rpc_url: str) -> str:
    """ws://host:port -> http://host:port (wss -> https); other URLs unchanged."""
    if rpc_url.startswith("ws://"):
        return "http://" + rpc_url.removeprefix("ws://")
    if rpc_url.startswith("wss://"):
        return "https://" + rpc_url.removeprefix("wss://")
    return rpc_url


def embedded_web3() -> Web3:
    """An in-process chain: eth-tester on the py-evm backend (no node to start)."""
    return Web3(EthereumTesterProvider())


def is_embedded(w3: Web3) -> bool:
    return isinstance(w3.provider, EthereumTesterProvider)


def wait_for_receipt(w3: Web3, tx_hash: bytes | str, timeout: float = RECEIPT_TIMEOUT_S) -> TxReceipt:
    """Poll for a receipt every few milliseconds (of any status: the caller judges it)."""
    deadline = time.monotonic() + timeout
    key = HexBytes(tx_hash)
    while True:
        try:
            return w3.eth.get_transaction_receipt(key)
        except TransactionNotFound:
            if time.monotonic() > deadline:
                raise ChainError(f"no receipt for 0x{bytes(key).hex()} after {timeout:.0f} s") from None
            time.sleep(RECEIPT_POLL_S)


def is_network_error(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is the node being unreachable rather than a refusal: a
    refused or reset connection, a timeout, a closed websocket. Those are retried, never fatal."""
    import websockets.exceptions
    from web3.exceptions import PersistentConnectionError, ProviderConnectionError

    network = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError, ProviderConnectionError,
               PersistentConnectionError, websockets.exceptions.ConnectionClosed,
               websockets.exceptions.InvalidHandshake, RpcUnavailable)
    seen: BaseException | None = exc
    for _ in range(8):  # follow __cause__ / __context__ a few links
        if seen is None:
            return False
        if isinstance(seen, network):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def short_reason(exc: BaseException) -> str:
    """The gist of a connection error: "[Errno 111] Connection refused" rather than a page."""
    text = str(exc)
    if errno := re.search(r"\[Errno -?\d+\][^'\")]*", text):
        return errno.group(0).strip()
    if isinstance(exc, requests.Timeout):
        return "timed out"
    from offchain.errors import one_line

    return one_line(exc)
