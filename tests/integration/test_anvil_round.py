"""The same full round as the eth-tester lifecycle tests, on a real anvil node over JSON-RPC."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.protocol import Params, settle_round, wad

pytestmark = pytest.mark.anvil


def test_full_round_on_anvil_settles_exactly_as_the_protocol(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, stake=5 * 10**18)
    latencies = {c.sender: 1_000 * (i + 1) for i, c in enumerate(net.inference + net.evaluators)}
    net.report_costs(latencies)

    result = net.play_round([8_000, 6_500, 9_000], reference="Denver Broncos")

    fee = int(net.owner.call("maxPayout"))
    inference = [c.sender for c in net.inference]
    evaluators = [c.sender for c in net.evaluators]

    def cost(pool: list[str], address: str) -> int:
        lo, hi = wad.cost_range([latencies[a] for a in pool])
        return wad.normalized_cost(True, latencies[address], lo, hi)

    expected = settle_round(
        Params(), fee, [8_000, 6_500, 9_000], cost(inference, result["node"]),
        [cost(evaluators, e) for e in result["evaluators"]],
    )
    assert result["settled"][result["node"]] == (expected.node_reward, expected.node_wei)
    for seat, evaluator in enumerate(result["evaluators"]):
        assert result["settled"][evaluator] == (expected.evaluator_rewards[seat], expected.evaluator_wei[seat])
    assert result["refund"] == expected.refund
    # rewards are pull payments: the node withdraws exactly what was credited
    node = net.client_for(result["node"])
    credited = int(node.node(node.sender)["balance"])
    assert credited == expected.node_wei
    before = node.balance_of(node.sender)
    receipt = node.transact("withdraw", credited)
    spent = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
    assert node.balance_of(node.sender) == before + credited - spent
    assert int(node.node(node.sender)["balance"]) == 0


def test_revert_on_anvil_is_decoded_into_a_named_error(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from offchain.chain import reverts
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, n_evaluators=3)
    task_id, _, _ = net.open_task(reference=None)
    with pytest.raises(reverts.WrongPhase) as caught:
        net.finalize(task_id)
    assert caught.value.error_args == {"taskId": task_id, "expected": "Closed", "actual": "Open"}


def test_revert_with_fixed_gas_is_decoded_from_the_failed_receipt(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from offchain.chain import reverts
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, fixed_gas=1_000_000)
    with pytest.raises(reverts.UnknownTask) as caught:
        net.finalize(42)
    assert caught.value.error_args == {"taskId": 42}
