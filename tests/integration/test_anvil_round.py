"""A whole batch on a real anvil node over JSON-RPC, settled exactly as offchain.protocol settles it."""

from __future__ import annotations

from pathlib import Path

import pytest

from offchain.protocol import Params, settle_batch

pytestmark = pytest.mark.anvil


def test_batch_on_anvil_settles_exactly_as_the_protocol(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet, advance_time
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, n_inference=3, stake=5 * 10**18)
    batch_id, _ = net.open_batch([f"question {i}" for i in range(6)], ["Denver Broncos"] * 6)
    drawn, _ = net.draw(batch_id)
    for seconds, node in enumerate(drawn.nodes):  # each node answers a few seconds later: unequal costs
        advance_time(net.w3, 2 + 3 * seconds)
        net.answer(batch_id, node)
    net.reveal_references(batch_id)
    scores = {e: [8_000 - 500 * i + 100 * t for t, _ in drawn.seats_of(e)] for i, e in enumerate(drawn.evaluators)}
    for evaluator, values in scores.items():
        net.commit(batch_id, evaluator, values)
    for evaluator in scores:
        net.reveal(batch_id, evaluator)
    costs = [int(net.owner.call("normalizedCost", a)) for a in drawn.participants]
    fee = int(net.owner.call("requiredFee", 6, True))
    expected = settle_batch(net.params, fee, drawn.tasks, [True] * len(drawn.participants),
                            [scores.get(a) for a in drawn.participants], costs)
    result = net.settlement(net.finalize(batch_id))
    assert result["rewards"] == [r for row in expected.rewards for r in row]
    for p, address in enumerate(drawn.participants):
        party = expected.parties[p]
        assert result["settled"][address] == (party.jobs, party.reward_wad, party.credit - party.debit)
    assert result["refund"] == expected.refund
    # rewards are pull payments: a node withdraws exactly what was credited
    node = net.client_for(drawn.nodes[0])
    credited = int(node.node(node.sender)["balance"])
    assert credited == expected.parties[0].credit
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
    batch_id, _ = net.open_batch(["q"], with_reference=False)
    with pytest.raises(reverts.WrongStage) as caught:
        net.requester.transact("finalize", batch_id, [], [])
    assert caught.value.error_args == {"batchId": batch_id, "expected": "Closed", "actual": "Opened"}


def test_revert_with_fixed_gas_is_decoded_from_the_failed_receipt(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.devnet import Devnet
    from offchain.chain import reverts
    from offchain.chain.connect import connect

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, fixed_gas=1_000_000)
    with pytest.raises(reverts.UnknownBatch) as caught:
        net.requester.transact("finalize", 42, [], [])
    assert caught.value.error_args == {"batchId": 42}


def test_amounts_beyond_88_bits_revert_instead_of_being_cut(anvil_chain: str, tmp_path: Path) -> None:
    """Stakes, top-ups and fees live in 88-bit fields. A whale's 2^88 wei, cast without the check, would
    be stored as 0 (a stake or fee of nothing, the ETH stranded beside the books): each is refused with
    its amount, and nothing moves. On anvil, because only anvil_setBalance funds that much ETH."""
    from deploy.devnet import Devnet
    from offchain.chain import reverts
    from offchain.chain.accounts import dev_account, fund_accounts
    from offchain.chain.connect import connect
    from offchain.protocol.types import Role

    net = Devnet.create(connect(anvil_chain), Params(), deployments_dir=tmp_path, n_inference=1, n_evaluators=3)
    huge = 2**88
    whale = net.owner.with_account(dev_account(40))
    node = net.inference[0]
    fund_accounts(net.w3, [whale.sender, node.sender, net.requester.sender], 2 * huge)
    books = (net.owner.call("accounting"), net.owner.balance_of(net.owner.address))
    node_stake = int(net.owner.node(node.sender)["stake"])

    with pytest.raises(reverts.AmountTooLarge) as caught:
        whale.transact("register", Role.INFERENCE, "whale", value=huge)
    assert caught.value.error_args == {"amount": huge}
    with pytest.raises(reverts.AmountTooLarge) as caught:
        node.transact("addStake", value=huge)
    assert caught.value.error_args == {"amount": node_stake + huge}
    with pytest.raises(reverts.AmountTooLarge) as caught:
        net.open_batch(["q"], fee=huge)
    assert caught.value.error_args == {"amount": huge}

    assert (net.owner.call("accounting"), net.owner.balance_of(net.owner.address)) == books
    assert int(net.owner.node(node.sender)["stake"]) == node_stake
    assert int(net.owner.node(whale.sender)["status"]) == 0  # never registered
