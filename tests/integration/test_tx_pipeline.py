"""The transaction layer against a real anvil: what a public chain does to a transaction, and what the
pipeline does about it. Each test is the fault: a dropped pool, a reorg after confirmation, a base fee
that jumps past what was offered, a base fee above the operator's ceiling."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offchain.protocol import Params

pytestmark = [pytest.mark.anvil, pytest.mark.anvil_only("anvil_reorg, anvil_dropAllTransactions, evm_setAutomine")]
GWEI = 10**9


def _rpc(w3: Any, method: str, *params: Any) -> Any:
    from web3.types import RPCEndpoint

    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    assert not response.get("error"), response
    return response.get("result")


@pytest.fixture
def node(anvil_chain: str, tmp_path: Path) -> Any:
    """A registered evaluator's client (so `addStake` is a transaction it may send any time)."""
    from deploy.devnet import Devnet
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, n_inference=1, n_evaluators=1)
    return net.evaluators[0]


def _stake(client: Any) -> int:
    return int(client.node(client.sender)["stake"])


def _collect_until(pipeline: Any, condition: Callable[[list[Any]], bool], timeout: float = 20.0) -> list[Any]:
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += pipeline.collect()
        if condition(seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"timed out; outcomes so far: {seen}")


def test_a_dropped_transaction_is_sent_again_and_lands(node: Any) -> None:
    from offchain.chain.pipeline import TxPipeline

    pipeline = TxPipeline(node, confirmations=1)
    before = _stake(node)
    _rpc(node.w3, "evm_setAutomine", False)
    tx_hash = pipeline.send("addStake", value=10**15, tag=("addStake", None))
    _rpc(node.w3, "anvil_dropAllTransactions")  # the pool forgets it: before the fix, the nonce gap stayed forever
    time.sleep(1.2)  # longer than LOST_AFTER_S: the next collect looks it up and re-sends it
    assert pipeline.collect() == []
    _rpc(node.w3, "evm_mine")
    _rpc(node.w3, "evm_setAutomine", True)
    (outcome,) = _collect_until(pipeline, lambda seen: len(seen) == 1)
    assert outcome.ok and outcome.sent.tx_hash == tx_hash
    assert _stake(node) == before + 10**15


def test_a_receipt_reorged_away_after_confirmation_is_followed_and_the_action_redone(node: Any) -> None:
    from offchain.chain.pipeline import TxPipeline

    pipeline = TxPipeline(node, confirmations=2)
    before = _stake(node)
    pipeline.send("addStake", value=10**15, tag=("addStake", None))
    (first,) = _collect_until(pipeline, lambda seen: len(seen) == 1)  # the pipeline mined the confirming block
    assert first.ok and _stake(node) == before + 10**15
    mined_in = int(first.receipt["blockNumber"])
    _rpc(node.w3, "anvil_reorg", int(node.w3.eth.block_number) - mined_in + 1, [])  # its block is gone
    assert _stake(node) == before  # the chain forgot the stake
    again = _collect_until(pipeline, lambda _: _stake(node) == before + 10**15 and pipeline.pending == 0)
    assert again == []  # re-mined with the same result: the agent already acted on it, nothing to redo
    receipt = node.w3.eth.get_transaction_receipt(first.sent.tx_hash)
    assert int(receipt["blockNumber"]) > mined_in - 1 and receipt["blockHash"] != first.receipt["blockHash"]


def test_a_transaction_below_a_risen_base_fee_is_replaced_with_higher_fees(node: Any) -> None:
    from offchain.chain.pipeline import TxPipeline

    pipeline = TxPipeline(node, confirmations=1)
    before = _stake(node)
    _rpc(node.w3, "evm_setAutomine", False)
    first_hash = pipeline.send("addStake", value=10**15, tag=("addStake", None))
    first = node.w3.eth.get_transaction(first_hash)
    offered = int(first["maxFeePerGas"])
    _rpc(node.w3, "anvil_setNextBlockBaseFeePerGas", hex(4 * offered))  # a spike past what it offered
    _rpc(node.w3, "evm_mine")  # a block it cannot enter
    assert _stake(node) == before
    time.sleep(1.2)
    pipeline.collect()  # finds it pending below the base fee: replaces it at the same nonce
    _rpc(node.w3, "evm_setAutomine", True)
    _rpc(node.w3, "evm_mine")
    (outcome,) = _collect_until(pipeline, lambda seen: len(seen) == 1)
    assert outcome.ok and outcome.sent.tx_hash != first_hash
    replacement = node.w3.eth.get_transaction(outcome.sent.tx_hash)
    assert int(replacement["maxFeePerGas"]) > 4 * offered * 0.875  # at least the fresh offer for the new base fee
    assert int(replacement["nonce"]) == int(first["nonce"])
    assert _stake(node) == before + 10**15


def test_a_base_fee_above_the_ceiling_holds_the_send_and_nothing_is_lost(node: Any) -> None:
    from offchain.chain.fees import FeeAboveCeiling, FeePolicy
    from offchain.chain.pipeline import TxPipeline

    node.set_fee_policy(FeePolicy.from_gwei(max_fee_gwei=100))
    pipeline = TxPipeline(node, confirmations=1)
    nonce = node.w3.eth.get_transaction_count(node.sender, "pending")
    _rpc(node.w3, "anvil_setNextBlockBaseFeePerGas", hex(500 * GWEI))
    _rpc(node.w3, "evm_mine")
    _rpc(node.w3, "anvil_setNextBlockBaseFeePerGas", hex(500 * GWEI))
    with pytest.raises(FeeAboveCeiling, match="base fee 5[0-9][0-9].[0-9] gwei is above --max-fee-gwei 100"):
        pipeline.send("addStake", value=10**15, tag=("addStake", None))
    assert pipeline.pending == 0 and node.w3.eth.get_transaction_count(node.sender, "pending") == nonce
    for _ in range(40):  # the base fee falls 12.5 % a block back under the ceiling
        _rpc(node.w3, "evm_mine")
    node.fees.base_fee(fresh=True)
    tx_hash = pipeline.send("addStake", value=10**15, tag=("addStake", None))
    assert int(node.w3.eth.get_transaction(tx_hash)["nonce"]) == nonce  # the held send used no nonce
    assert int(node.w3.eth.get_transaction(tx_hash)["maxFeePerGas"]) <= 100 * GWEI
    (outcome,) = _collect_until(pipeline, lambda seen: len(seen) == 1)
    assert outcome.ok


def test_fees_are_read_at_each_send_not_once_per_process(node: Any) -> None:
    """The old client cached its fee fields for the life of the process: after a spike every send was
    below the base fee. Now a send after the spike offers at least twice the new base fee."""
    low = int(node.fees.fields()["maxFeePerGas"])
    _rpc(node.w3, "anvil_setNextBlockBaseFeePerGas", hex(500 * GWEI))
    _rpc(node.w3, "evm_mine")
    time.sleep(0.3)  # past the fee cache's quarter second
    base = int(node.w3.eth.get_block("pending")["baseFeePerGas"])
    assert base > 400 * GWEI
    receipt = node.transact("addStake", value=10**15)
    assert int(receipt["effectiveGasPrice"]) >= base > low


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_events_of_blocks_a_reorg_replaced_are_read_again(node: Any, transport: str) -> None:
    """A reorg that puts another transaction into the replacement block: a stream that only reads
    forward from its last block would never see its event (the replaced block's number is behind it)."""
    from offchain.chain.events import open_stream

    url = node.rpc_url if transport == "http" else "ws://" + node.rpc_url.removeprefix("http://")
    stream = open_stream(node, url, int(node.w3.eth.block_number) + 1, poll_s=0.02)
    try:
        node.transact("addStake", value=10**15)
        first = _read_until(stream, lambda evs: any(e.name == "StakeAdded" for e in evs))
        replaced = next(e for e in first if e.name == "StakeAdded")
        data = node.contract.functions.addStake().build_transaction({"from": node.sender, "value": 0, "gas": 100_000,
                                                                      "nonce": 0, "chainId": 31337})["data"]
        later = {"from": node.sender, "to": node.address, "value": hex(2 * 10**15), "data": data}
        _rpc(node.w3, "anvil_reorg", 1, [[later, 0]])  # the block is replaced by one holding another addStake
        again = _read_until(stream, lambda evs: any(e.name == "StakeAdded" and e.tx_hash != replaced.tx_hash
                                                    for e in evs))
        (event,) = [e for e in again if e.name == "StakeAdded" and e.tx_hash != replaced.tx_hash]
        assert event.block == replaced.block and int(event.args["amount"]) == 2 * 10**15
    finally:
        stream.close()


def _read_until(stream: Any, condition: Callable[[list[Any]], bool], timeout: float = 10.0) -> list[Any]:
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += stream.read(0.1)
        if condition(seen):
            return seen
    raise AssertionError(f"timed out; events so far: {[(e.name, e.block) for e in seen]}")
