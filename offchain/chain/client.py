"""A handle on the deployed PoQ contract for one actor: calls, signed transactions, events.

One key per client (agents never share keys: shared keys lose transactions to nonce races). The
nonce is counted locally after one `pending` read, fees are read from the chain at each send
(`offchain.chain.fees`, under the operator's ceiling), receipts are polled every few milliseconds
(local chains mine at once), and every revert is decoded into a named `offchain.chain.reverts`
exception. Gas is estimated first, which doubles as a dry run: a transaction that would revert is
never sent. Agents send through `offchain.chain.pipeline`, which tracks each transaction until it
is confirmed and re-sends what a reorg or a dropped pool loses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3.types import EventData, TxReceipt

from offchain.chain import reverts
from offchain.chain.connect import RECEIPT_TIMEOUT_S, connect, is_network_error, short_reason, wait_for_receipt
from offchain.chain.fees import FeeOracle, FeePolicy
from offchain.chain.manifest import Manifest, load_manifest
from offchain.errors import ChainError, ConfigError, RpcUnavailable, TransactionFailed, one_line

GAS_HEADROOM = 1.25  # estimates can fall short when state changes between estimate and mining


@dataclass(frozen=True)
class Signed:
    """A signed transaction not yet known to have reached the node (the pipeline keeps it to re-send)."""

    nonce: int
    fields: dict[str, Any]  # what was signed: to, data, value, gas, nonce, chainId, fees
    raw: bytes
    tx_hash: bytes


class PoQClient:
    """The PoQ contract as seen by one account (or read-only when `account` is None)."""

    def __init__(self, w3: Web3, manifest: Manifest, account: LocalAccount | None = None) -> None:
        self.w3 = w3
        self.manifest = manifest
        self.account = account
        self.contract = w3.eth.contract(address=Web3.to_checksum_address(manifest.address), abi=manifest.abi)
        self._nonce: int | None = None
        self._chain_id = manifest.chain_id
        self.fees = FeeOracle(w3)
        self._automine: bool | None = None
        self._params: dict[str, int] | None = None
        # eth-tester cannot estimate on "pending"; it mines every transaction at once anyway
        self._estimate_block = None if isinstance(w3.provider, EthereumTesterProvider) else "pending"
        # A fixed gas limit skips estimation (one RPC round trip and one EVM run per transaction);
        # a revert then shows up in the receipt and is decoded by replaying the call.
        self.fixed_gas: int | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        account: LocalAccount | None = None,
        deployments_dir: Path | str = Path("deployments"),
    ) -> PoQClient:
        """Connect to `rpc_url` and load that chain's manifest (one-line errors for both)."""
        w3 = connect(rpc_url)
        manifest = load_manifest(w3.eth.chain_id, Path(deployments_dir))
        client = cls(w3, manifest, account)
        if not w3.eth.get_code(Web3.to_checksum_address(client.address)):
            raise ConfigError(
                f"no contract at {manifest.address} on chain {manifest.chain_id} (the chain was reset?): "
                "run `poq deploy` again"
            )
        return client

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def rpc_url(self) -> str:
        return str(getattr(self.w3.provider, "endpoint_uri", None) or "the embedded EVM")

    @property
    def sender(self) -> str:
        if self.account is None:
            raise ConfigError("this client is read-only: give it a key to send transactions")
        return str(self.account.address)

    def with_account(self, account: LocalAccount) -> PoQClient:
        """Another client for `account` over the same connection and manifest."""
        other = PoQClient(self.w3, self.manifest, account)
        other.fixed_gas = self.fixed_gas
        other.fees = FeeOracle(self.w3, self.fees.policy)
        return other

    def set_fee_policy(self, policy: FeePolicy) -> None:
        self.fees = FeeOracle(self.w3, policy)

    # ------------------------------------------------------------------ reads

    def call(self, fn_name: str, *args: Any, block: str | int = "latest") -> Any:
        """Call a view function; reverts become named exceptions.

        `block="pending"` evaluates with the current time: on a chain that mines only on transactions
        (anvil's automine) the latest block's clock stands still, so a deadline read there never passes.
        Agents read time-dependent views (phases) that way.
        """
        fn = getattr(self.contract.functions, fn_name)(*args)
        try:
            return fn.call({"from": self.account.address} if self.account else {}, block_identifier=block)
        except Exception as exc:  # web3 and eth-tester raise unrelated types for a revert
            raise self._decode(exc) from None

    def params(self) -> dict[str, int]:
        """The deployment's parameters: immutable in the contract, so read once per client (the
        dashboard and every agent ask for them often)."""
        if self._params is None:
            values = self.call("params")
            names = [c["name"] for c in self._function_abi("params")["outputs"][0]["components"]]
            self._params = dict(zip(names, values, strict=True))
        return dict(self._params)

    def node(self, address: str) -> dict[str, Any]:
        return self._as_dict("getNode", self.call("getNode", Web3.to_checksum_address(address)))

    def task(self, task_id: int) -> dict[str, Any]:
        return self._as_dict("getTask", self.call("getTask", task_id))

    def now(self) -> int:
        """The chain's clock for the next block (see `call`)."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def balance_of(self, address: str) -> int:
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))

    # ------------------------------------------------------------------ writes

    def transact(self, fn_name: str, *args: Any, value: int = 0, gas: int | None = None) -> TxReceipt:
        """Sign, send and wait for one transaction; returns the successful receipt."""
        return self.wait(self.send(fn_name, *args, value=value, gas=gas))

    def send(self, fn_name: str, *args: Any, value: int = 0, gas: int | None = None) -> bytes:
        """Sign and send without waiting; returns the transaction hash. Reverts are raised here."""
        signed = self.sign(fn_name, *args, value=value, gas=gas)
        try:
            return self.broadcast(signed.raw)
        except Exception as exc:
            self._nonce = None  # resync from the chain before the next transaction
            if reverts.is_revert(exc):
                raise self._decode(exc) from None
            raise self.send_error(fn_name, exc) from None

    def sign(self, fn_name: str, *args: Any, value: int = 0, gas: int | None = None) -> Signed:
        """Dry-run (estimate gas: a revert is raised here, and no nonce is used), then sign with the
        next nonce and fees read from the chain now."""
        fn = getattr(self.contract.functions, fn_name)(*args)
        sender = self.sender
        gas = gas or self.fixed_gas
        try:
            if gas is None:
                # estimated on the pending block: its clock is the one the transaction will see
                estimate = fn.estimate_gas({"from": sender, "value": value}, block_identifier=self._estimate_block)
                gas = int(estimate * GAS_HEADROOM) + 10_000
            fees = self.fees.fields()
        except ChainError:
            raise
        except Exception as exc:
            if is_network_error(exc):
                raise self.send_error(fn_name, exc) from None
            raise self._decode(exc) from None
        fields = fn.build_transaction(
            {"from": sender, "value": value, "gas": gas, "nonce": 0, "chainId": self._chain_id, **fees}
        )
        fields["nonce"] = self._next_nonce()
        return self.sign_fields(dict(fields))

    def sign_fields(self, fields: dict[str, Any]) -> Signed:
        """Sign `fields` as they are (a replacement: the same nonce and call, other fees)."""
        signed = self.account.sign_transaction(fields)  # type: ignore[union-attr]
        return Signed(int(fields["nonce"]), fields, bytes(signed.raw_transaction), bytes(signed.hash))

    def broadcast(self, raw: bytes) -> bytes:
        """Hand a signed transaction to the node; its hash."""
        return bytes(self.w3.eth.send_raw_transaction(raw))

    def send_error(self, fn_name: str, exc: BaseException) -> ChainError:
        if is_network_error(exc):
            return RpcUnavailable(self.rpc_url, short_reason(exc))
        return ChainError(f"sending {fn_name} failed: {one_line(exc)}")

    def give_back_nonce(self, nonce: int) -> None:
        """A signed transaction the node refused outright: its nonce is free again (it was the last)."""
        if self._nonce == nonce + 1:
            self._nonce = nonce

    def resync_nonce(self) -> None:
        self._nonce = None

    def automines(self) -> bool:
        """Whether the chain mines a block per transaction and nothing else (anvil's or Hardhat's
        automine, eth-tester): then nobody else makes the blocks that confirm a transaction."""
        if self._automine is None:
            from web3 import EthereumTesterProvider
            from web3.types import RPCEndpoint

            self._automine = isinstance(self.w3.provider, EthereumTesterProvider)
            for method in ("anvil_getAutomine", "hardhat_getAutomine"):
                if self._automine:
                    break
                try:
                    response = self.w3.provider.make_request(RPCEndpoint(method), [])
                except Exception:  # noqa: BLE001 - not this client
                    continue
                if not response.get("error"):
                    self._automine = bool(response.get("result"))
                    break
        return self._automine

    def wait(self, tx_hash: bytes, timeout: float = RECEIPT_TIMEOUT_S) -> TxReceipt:
        """Poll for the receipt every few ms; a reverted receipt raises the decoded revert."""
        receipt = wait_for_receipt(self.w3, tx_hash, timeout)
        if receipt["status"] != 1:
            raise self.explain_failure(tx_hash, int(receipt["blockNumber"]))
        return receipt

    def explain_failure(self, tx_hash: bytes, block_number: int) -> Exception:
        """Replay a reverted transaction as a call to decode why. First at its own block, whose number
        and clock the transaction saw (a revert such as DrawTooEarly or a deadline's WrongStage depends
        on them; on an automining chain the state is the one it met, but for the sender's gas); then on
        the state before its block, which is what a block holding several transactions needs."""
        tx = self.w3.eth.get_transaction(HexBytes(tx_hash))
        call = {
            "from": tx["from"],
            "to": tx["to"],
            "data": tx["input"],
            "value": tx["value"],
            "gas": tx["gas"],
        }
        for block in (block_number, max(0, block_number - 1)):
            try:
                self.w3.eth.call(call, block_identifier=block)  # type: ignore[arg-type]
            except Exception as exc:
                decoded = self._decode(exc)
                if not isinstance(decoded, TransactionFailed):
                    return decoded
        return TransactionFailed(f"transaction 0x{tx_hash.hex()} reverted in block {block_number}")

    def mine_block(self) -> None:
        """Make the chain produce a block now: `evm_mine` on a dev node (anvil, eth-tester), else a
        zero-value transfer to ourselves. An idle automining chain makes no block by itself, and a
        batch's draw waits for the block after its open."""
        from web3.types import RPCEndpoint

        try:
            response = self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
            if not response.get("error"):
                return
        except Exception:  # noqa: BLE001 - a node without evm_mine: fall back to a transaction
            pass
        tx: dict[str, Any] = {"from": self.sender, "to": self.sender, "value": 0, "gas": 21_000,
                              "nonce": self._next_nonce(), "chainId": self._chain_id, **self.fees.fields()}
        signed = self.account.sign_transaction(tx)  # type: ignore[union-attr]
        self.w3.eth.send_raw_transaction(signed.raw_transaction)

    # ------------------------------------------------------------------ events

    def events(
        self,
        name: str,
        from_block: int = 0,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[EventData]:
        event = getattr(self.contract.events, name)
        return list(event.get_logs(from_block=from_block, to_block=to_block, argument_filters=filters or None))

    def receipt_events(self, receipt: TxReceipt, name: str) -> list[EventData]:
        from web3.logs import DISCARD

        return list(getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD))

    # ------------------------------------------------------------------ internals

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(self.sender), "pending"))
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def _decode(self, exc: BaseException) -> Exception:
        if isinstance(exc, ChainError):
            return exc
        return reverts.decode_revert(exc, self.manifest.abi)

    def _function_abi(self, name: str) -> dict[str, Any]:
        for entry in self.manifest.abi:
            if entry.get("type") == "function" and entry.get("name") == name:
                return entry
        raise ConfigError(f"the deployed ABI has no function {name!r}: redeploy with this version of poq")

    def _as_dict(self, fn_name: str, value: Iterable[Any]) -> dict[str, Any]:
        components = self._function_abi(fn_name)["outputs"][0]["components"]
        return {c["name"]: v for c, v in zip(components, value, strict=True)}

