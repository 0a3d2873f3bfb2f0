"""Attacks and bad inputs on opening, drawing, answering, finalizing and withdrawing: each test fails
if the attack works (named revert, its arguments, state and money unchanged)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector

from deploy.deployer import deploy_contract
from deploy.devnet import advance_time, mine
from offchain.chain import reverts
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.protocol import Params, expiry_penalty, wad
from offchain.protocol.types import ANSWERED
from tests.contract.helpers import (
    STAKE,
    STRANGER_KEY,
    answer_all,
    assert_solvent,
    balance,
    batch,
    build,
    client_for_contract,
    commit_all,
    eth,
    flags,
    open_drawn,
    stage,
    stake,
    stranger,
    treasury,
)

FUNDS = 10**20


# ---------------------------------------------------------------- opening a batch


def test_open_batch_with_fee_below_max_payout_reverts(net: Any) -> None:
    max_payout = int(net.owner.call("maxPayout"))
    p = net.params
    assert max_payout == wad.max_payout(p.alphaF, p.alphaM, p.k, p.rewardUnit)
    contract_eth = eth(net, net.owner.address)
    for size in (1, 3):  # the fee covers every task of the batch, and the reference bond of each
        required = size * (max_payout + p.referenceBond)
        assert int(net.owner.call("requiredFee", size, True)) == required
        assert int(net.owner.call("requiredFee", size, False)) == size * max_payout
        with pytest.raises(reverts.FeeBelowMaxPayout) as err:
            net.open_batch(["q"] * size, fee=required - 1)
        assert err.value.error_args == {"fee": required - 1, "required": required}
        with pytest.raises(reverts.FeeBelowMaxPayout):
            net.open_batch(["q"] * size, fee=size * max_payout - 1, with_reference=False)
    assert (int(net.owner.call("batchCount")), int(net.owner.call("taskCount"))) == (0, 0)
    assert eth(net, net.owner.address) == contract_eth
    assert net.owner.call("accounting")[2] == 0  # nothing in escrow
    assert all(net.owner.node(c.sender)["openBatches"] == 0 for c in net.inference)


def test_open_batch_of_invalid_size_or_kinds_reverts(make_devnet: Any) -> None:
    net = build(make_devnet, Params(maxBatchSize=4))
    max_payout = int(net.owner.call("maxPayout"))
    for size in (0, 5):
        with pytest.raises(reverts.InvalidBatchSize) as err:
            net.open_batch(["q"] * size, fee=size * max_payout)
        assert err.value.error_args == {"size": size, "maxBatchSize": 4}
    for kinds in ([0], [0, 1, 1]):
        with pytest.raises(reverts.LengthMismatch) as err:
            net.open_batch(["q", "r"], kinds=kinds)
        assert err.value.error_args == {"expected": 2, "actual": len(kinds)}
    assert int(net.owner.call("batchCount")) == 0
    batch_id, _ = net.open_batch(["q"] * 4, kinds=[0, 1, 0, 1])  # the largest batch allowed
    assert batch(net, batch_id)["size"] == 4


# ---------------------------------------------------------------- draws


def test_draw_in_the_block_of_its_draw_block_reverts(net: Any) -> None:
    batch_id, receipt = net.open_batch()
    draw_block = receipt["blockNumber"] + 1
    assert batch(net, batch_id)["drawBlock"] == draw_block
    with pytest.raises(reverts.DrawTooEarly) as err:  # mined in the draw block itself: its hash is unknown
        net.owner.transact("draw", batch_id)
    assert err.value.error_args == {"batchId": batch_id, "drawBlock": draw_block}
    assert (stage(net, batch_id), int(net.owner.call("drawnCount"))) == ("Opened", 0)
    drawn, _ = net.draw(batch_id, caller=stranger(net))  # anyone may draw, from the next block on
    assert stage(net, batch_id) == "Answering"
    assert batch(net, batch_id)["participants"] == list(drawn.participants)


def test_draws_go_in_batch_order_and_only_once(net: Any) -> None:
    first, _ = net.open_batch()
    second, _ = net.open_batch()
    mine(net.w3)
    with pytest.raises(reverts.DrawOutOfOrder) as err:
        net.owner.transact("draw", second)
    assert err.value.error_args == {"batchId": second, "next": first}
    assert int(net.owner.call("drawnCount")) == 0
    drawn, _ = net.draw(first)
    with pytest.raises(reverts.WrongStage) as err:  # a second draw cannot reroll the first
        net.owner.transact("draw", first)
    assert err.value.error_args == {"batchId": first, "expected": "Opened", "actual": "Answering"}
    assert batch(net, first)["participants"] == list(drawn.participants)
    net.draw(second)
    assert int(net.owner.call("drawnCount")) == 2


def test_draw_after_its_block_hash_expired_rearms_on_a_future_block(net: Any) -> None:
    batch_id, _ = net.open_batch()
    mine(net.w3, 257)  # the draw block's hash is gone: it must not draw from a zero or a known hash
    receipt = net.owner.transact("draw", batch_id)
    rearmed = net.owner.receipt_events(receipt, "DrawRearmed")[0]["args"]
    assert rearmed["drawBlock"] == receipt["blockNumber"] + 1 == batch(net, batch_id)["drawBlock"]
    assert net.owner.receipt_events(receipt, "BatchDrawn") == []
    assert (stage(net, batch_id), int(net.owner.call("drawnCount"))) == ("Opened", 0)
    net.draw(batch_id)
    assert stage(net, batch_id) == "Answering"


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize("who", ["other inference node", "evaluator", "requester"])
def test_answer_by_unassigned_account_reverts(net: Any, who: str) -> None:
    batch_id, drawn = open_drawn(net)
    node = drawn.node_of(0)
    caller = {
        "other inference node": next(c for c in net.inference if c.sender != node),
        "evaluator": net.client_for(drawn.evaluators[0]),  # drawn in this very batch, to score it
        "requester": net.requester,
    }[who]
    with pytest.raises(reverts.NotAssigned) as err:
        caller.transact("submitAnswers", batch_id, ["a stolen answer"])
    assert err.value.error_args == {"batchId": batch_id, "caller": caller.sender}
    assert (stage(net, batch_id), flags(net, batch_id, node)) == ("Answering", 0)
    net.answer(batch_id, node)  # the assigned node can still answer
    assert stage(net, batch_id) == "Referencing"


def test_answer_to_another_nodes_batch_reverts(net: Any) -> None:
    first, drawn = open_drawn(net)
    mine_ = drawn.node_of(0)
    second, other = open_drawn(net, until=lambda d: mine_ not in d.nodes)
    with pytest.raises(reverts.NotAssigned) as err:
        net.answer(second, mine_, ["output 0"])
    assert err.value.error_args == {"batchId": second, "caller": mine_}
    assert flags(net, second, other.node_of(0)) == 0
    net.answer(first, mine_)
    assert flags(net, first, mine_) == ANSWERED


def test_answer_with_the_wrong_number_of_outputs_reverts(net: Any) -> None:
    batch_id, drawn = open_drawn(net, 3)
    node = drawn.nodes[0]
    tasks = len(drawn.tasks_of(node))
    for count in sorted({0, tasks - 1, tasks + 1}):
        with pytest.raises(reverts.LengthMismatch) as err:
            net.answer(batch_id, node, ["an output"] * count)
        assert err.value.error_args == {"expected": tasks, "actual": count}
    assert flags(net, batch_id, node) == 0
    net.answer(batch_id, node)
    assert flags(net, batch_id, node) == ANSWERED


def test_answer_after_deadline_reverts(net: Any) -> None:
    batch_id, drawn = open_drawn(net)
    advance_time(net.w3, net.params.answerWindow + 1)
    with pytest.raises(reverts.WrongStage) as err:
        net.answer(batch_id, drawn.node_of(0))
    assert err.value.error_args == {"batchId": batch_id, "expected": "Answering", "actual": "Closed"}
    assert flags(net, batch_id, drawn.node_of(0)) == 0
    assert net.owner.node(drawn.node_of(0))["openBatches"] == 1


def test_answer_twice_reverts(net: Any) -> None:
    batch_id, drawn = open_drawn(net, 4, until=lambda d: d.inference_count == 2)
    first, second = drawn.nodes
    net.answer(batch_id, first)
    rerolls = ["a second answer, to change the outcome"] * len(drawn.tasks_of(first))
    with pytest.raises(reverts.AlreadyAnswered) as err:
        net.answer(batch_id, first, rerolls)
    assert err.value.error_args == {"batchId": batch_id, "node": first}
    net.answer(batch_id, second)
    with pytest.raises(reverts.WrongStage) as err:
        net.answer(batch_id, first, rerolls)
    assert err.value.error_args == {"batchId": batch_id, "expected": "Answering", "actual": "Referencing"}
    submitted = net.owner.events("AnswersSubmitted", batchId=batch_id, node=first)
    assert [list(e["args"]["outputs"]) for e in submitted] == [[f"output {t}" for t in drawn.tasks_of(first)]]
    first_task = batch(net, batch_id)["firstTaskId"]
    assert [net.owner.task(first_task + t)["evaluators"] for t in range(4)] == [drawn.panel_of(t) for t in range(4)]


def test_unknown_batch_and_task_ids_revert(net: Any) -> None:
    net.open_batch()  # batch 1 and task 1 exist
    for unknown in (0, 7):
        with pytest.raises(reverts.UnknownTask) as err:
            net.owner.call("getTask", unknown)
        assert err.value.error_args == {"taskId": unknown}
        for view in ("getBatch", "stageOf"):
            with pytest.raises(reverts.UnknownBatch) as err:
                net.owner.call(view, unknown)
            assert err.value.error_args == {"batchId": unknown}
        calls = [("draw",), ("submitAnswers", ["x"]), ("revealReferences", ["x"], b"\0" * 32),
                 ("commitScores", b"\1" * 32), ("revealScores", [1], b"\0" * 32), ("finalize", [], [])]
        for name, *args in calls:
            with pytest.raises(reverts.UnknownBatch) as err:
                net.requester.transact(name, unknown, *args)
            assert err.value.error_args == {"batchId": unknown}


# ---------------------------------------------------------------- finalization


def test_finalize_too_early_reverts_in_every_stage(net: Any) -> None:
    batch_id, _ = net.open_batch()
    drawn: list[Any] = []

    def check(expected: str) -> None:
        with pytest.raises(reverts.WrongStage) as err:
            net.finalize(batch_id)
        assert err.value.error_args == {"batchId": batch_id, "expected": "Closed", "actual": expected}

    check("Opened")
    drawn.append(net.draw(batch_id)[0])
    check("Answering")
    net.answer(batch_id, drawn[0].node_of(0))
    check("Referencing")
    net.reveal_references(batch_id)
    for evaluator in drawn[0].evaluators:
        check("Committing")
        net.commit(batch_id, evaluator, [5_000])
    for evaluator in drawn[0].evaluators:
        check("Revealing")
        net.reveal(batch_id, evaluator)
    net.finalize(batch_id)
    assert stage(net, batch_id) == "Finalized"


def test_finalize_twice_reverts_and_pays_once(net: Any) -> None:
    played = net.play_batch(2, 6_000)
    everyone = [*played["drawn"].participants, net.requester.sender, treasury(net)]
    before = {a: (balance(net, a), stake(net, a)) for a in everyone}
    contract_eth = eth(net, net.owner.address)
    with pytest.raises(reverts.WrongStage) as err:
        net.evaluators[0].transact("finalize", played["batch_id"], [], [])
    assert err.value.error_args == {"batchId": played["batch_id"], "expected": "Closed", "actual": "Finalized"}
    assert {a: (balance(net, a), stake(net, a)) for a in everyone} == before
    assert eth(net, net.owner.address) == contract_eth
    assert_solvent(net)


def test_finalize_expired_batch_twice_reverts_and_slashes_once(net: Any) -> None:
    batch_id, drawn = open_drawn(net)
    fee = batch(net, batch_id)["fee"]
    advance_time(net.w3, net.params.answerWindow + 1)
    net.finalize(batch_id)
    with pytest.raises(reverts.WrongStage) as err:
        net.finalize(batch_id)
    assert err.value.error_args == {"batchId": batch_id, "expected": "Closed", "actual": "Finalized"}
    _, penalty_wei = expiry_penalty(net.params)
    assert stake(net, drawn.node_of(0)) == STAKE + penalty_wei == STAKE - 10**16
    assert treasury(net) == net.owner.sender  # treasury 0 means the deployer
    assert balance(net, treasury(net)) == -penalty_wei  # the treasury was credited once
    assert balance(net, net.requester.sender) == fee


def test_slashed_stake_reaches_the_treasury_alone(make_devnet: Any) -> None:
    """Slashes used to pile up in an unreachable `slashedTotal`; now they are the treasury's balance: the
    slashed node cannot take them back and only the treasury withdraws them."""
    account = dev_account(STRANGER_KEY + 5)
    net = build(make_devnet, Params(treasury=int(account.address, 16)))
    batch_id, drawn = open_drawn(net)
    node = drawn.node_of(0)
    advance_time(net.w3, net.params.answerWindow + 1)
    result = net.settlement(net.finalize(batch_id))
    _, penalty_wei = expiry_penalty(net.params)
    assert result["treasury"] == -penalty_wei == balance(net, account.address)
    assert balance(net, net.owner.sender) == 0  # the deployer is not the treasury here
    with pytest.raises(reverts.InsufficientBalance) as err:
        net.client_for(node).transact("withdraw", -penalty_wei)
    assert err.value.error_args == {"account": node, "requested": -penalty_wei, "available": 0}
    fund_accounts(net.w3, [account.address], FUNDS)
    vault = net.owner.with_account(account)
    eth_before = eth(net, account.address)
    receipt = vault.transact("withdraw", -penalty_wei)
    assert eth(net, account.address) == eth_before - penalty_wei - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert balance(net, account.address) == 0
    assert_solvent(net)


# ---------------------------------------------------------------- withdrawals


def _refunded_requester_contract(net: Any, artifacts: Any, name: str) -> tuple[Any, str, int]:
    """Deploy test contract `name`, open a batch through it and let it expire: it is owed the fee."""
    attacker = dev_account(STRANGER_KEY + 9)
    fund_accounts(net.w3, [attacker.address], FUNDS)
    artifact = artifacts.get(name)
    address, _ = deploy_contract(net.w3, attacker, artifact, net.owner.address)
    client = client_for_contract(net, address, artifact.abi, attacker)
    fee = int(net.owner.call("maxPayout"))
    client.transact("open", 0, "a task to be refunded", value=fee)
    batch_id = int(net.owner.call("batchCount"))
    assert batch(net, batch_id)["requester"] == address
    net.draw(batch_id)
    advance_time(net.w3, net.params.answerWindow + 1)
    receipt = net.finalize(batch_id)
    assert net.owner.receipt_events(receipt, "FeeRefunded")[0]["args"]["amount"] == fee
    assert balance(net, address) == fee
    return client, address, fee


@pytest.mark.parametrize("gas", [None, 1_000_000], ids=["estimated", "mined"])
def test_withdraw_reentrancy_through_malicious_receiver_is_blocked(
    net: Any, poq_artifacts: Any, gas: int | None
) -> None:
    evil, receiver, fee = _refunded_requester_contract(net, poq_artifacts, "MaliciousReceiver")
    evil.fixed_gas = gas  # None: estimated first, the revert comes from the estimate
    contract_eth = eth(net, net.owner.address)
    with pytest.raises(reverts.TransferFailed) as err:  # its receive() re-enters and hits Reentrancy
        evil.transact("drain", fee)
    assert err.value.error_args == {"to": receiver, "amount": fee}
    assert balance(net, receiver) == fee
    assert eth(net, receiver) == 0
    assert eth(net, net.owner.address) == contract_eth
    assert evil.contract.functions.reentries().call() == 0
    assert net.owner.events("Withdrawn", account=receiver) == []


def test_withdraw_reentry_is_refused_by_the_guard(net: Any, poq_artifacts: Any) -> None:
    # MaliciousReceiver's failed re-entry reverts everything, so it cannot tell the guard from
    # checks-effects-interactions. ReentrancyProbe catches its re-entry: withdrawing half the
    # balance must pay exactly that half, with the re-entrant withdraw refused by Reentrancy().
    probe, address, fee = _refunded_requester_contract(net, poq_artifacts, "ReentrancyProbe")
    half = fee // 2
    contract_eth = eth(net, net.owner.address)
    probe.transact("drain", half)
    view = probe.contract.functions
    assert view.reentries().call() == 1
    assert view.reentrySucceeded().call() is False
    assert view.reentryError().call() == function_signature_to_4byte_selector("Reentrancy()")
    assert eth(net, address) == half
    assert balance(net, address) == fee - half
    assert eth(net, net.owner.address) == contract_eth - half
    assert_solvent(net)


def test_withdraw_more_than_balance_reverts(net: Any) -> None:
    batch_id, _ = open_drawn(net)
    advance_time(net.w3, net.params.answerWindow + 1)
    net.finalize(batch_id)
    requester = net.requester
    fee = balance(net, requester.sender)
    contract_eth = eth(net, net.owner.address)
    with pytest.raises(reverts.InsufficientBalance) as err:
        requester.transact("withdraw", fee + 1)
    assert err.value.error_args == {"account": requester.sender, "requested": fee + 1, "available": fee}
    assert balance(net, requester.sender) == fee
    assert eth(net, net.owner.address) == contract_eth
    requester.transact("withdraw", fee)
    assert balance(net, requester.sender) == 0
    assert eth(net, net.owner.address) == contract_eth - fee


@pytest.mark.parametrize("who", ["staked node", "stranger"])
def test_withdraw_without_balance_reverts(net: Any, who: str) -> None:
    caller = net.evaluators[0] if who == "staked node" else stranger(net)
    with pytest.raises(reverts.InsufficientBalance) as err:  # stake is not withdrawable balance
        caller.transact("withdraw", 1)
    assert err.value.error_args == {"account": caller.sender, "requested": 1, "available": 0}
    if who == "staked node":
        assert stake(net, caller.sender) == STAKE


def test_escrowed_fees_are_not_withdrawable_before_finalize(net: Any) -> None:
    batch_id, drawn = open_drawn(net, 2, with_reference=False)
    answer_all(net, batch_id)
    commit_all(net, batch_id, 5_000)
    fee = batch(net, batch_id)["fee"]
    with pytest.raises(reverts.InsufficientBalance) as err:  # the fee is escrow, not the requester's balance
        net.requester.transact("withdraw", fee)
    assert err.value.error_args == {"account": net.requester.sender, "requested": fee, "available": 0}
    assert net.owner.call("accounting")[2] == fee
    assert all(balance(net, a) == 0 for a in drawn.participants)  # nobody is paid before the batch settles
