"""Lifecycle edge cases pinned with exact numbers from `offchain.protocol.settle_round`.

K = 1, all scores equal, all evaluators silent (with the stake cap), a partial reveal, a task
without a reference, a reference never revealed, a node that never answers, a node suspended by a
slash and reinstated by `addStake`, and the exit path from unbonding to withdrawal.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy.devnet import ROLE_EVALUATOR, ROLE_INFERENCE, advance_time, now
from offchain.chain import reverts
from offchain.protocol import WAD, Params, expiry_penalty, settle_round, wad
from tests.contract.helpers import (
    UNREPORTED_COST,
    balance,
    open_in_commit,
    phase,
    refunded,
    settled,
    stake,
)

ACTIVE, SUSPENDED, EXITING, EXITED = 1, 2, 3, 4
STAKE = 5 * 10**18


def _costs(net: Any, latencies: dict[str, int]) -> dict[str, int]:
    """Normalized WAD cost per node from its role's latency range, checked against the contract."""
    roles = {c.sender: ROLE_INFERENCE for c in net.inference} | {
        c.sender: ROLE_EVALUATOR for c in net.evaluators
    }
    costs = {}
    for address, latency in latencies.items():
        lo, hi = wad.cost_range([v for a, v in latencies.items() if roles[a] == roles[address]])
        costs[address] = wad.normalized_cost(True, latency, lo, hi)
        assert int(net.owner.call("normalizedCost", address)) == costs[address]
    return costs


def _finalized_quality(net: Any, receipt: Any) -> int:
    return int(net.owner.receipt_events(receipt, "TaskFinalized")[0]["args"]["quality"])


def test_k1_round_settles_exactly(make_devnet: Any) -> None:
    net = make_devnet(Params(k=1), n_inference=3, n_evaluators=2, stake=STAKE)
    latencies = dict(zip([c.sender for c in net.inference], [1_000, 2_000, 4_000], strict=True))
    latencies |= dict(zip([c.sender for c in net.evaluators], [500, 1_500], strict=True))
    net.report_costs(latencies)
    costs = _costs(net, latencies)

    result = net.play_round([7_300])
    node, (evaluator,) = result["node"], result["evaluators"]
    fee = net.owner.task(result["task_id"])["fee"]
    expected = settle_round(net.params, fee, [7_300], costs[node], [costs[evaluator]])
    assert result["quality"] == expected.quality == 73 * 10**16
    assert expected.evaluator_rewards == (WAD - wad.mul_wad_up(net.params.betaM, costs[evaluator]),)  # d = 0
    assert result["settled"] == {
        node: (expected.node_reward, expected.node_wei),
        evaluator: (expected.evaluator_rewards[0], expected.evaluator_wei[0]),
    }
    assert result["refund"] == expected.refund == fee - expected.paid
    assert balance(net, node) == expected.node_wei
    assert balance(net, evaluator) == max(0, expected.evaluator_wei[0])
    assert balance(net, net.requester.sender) == expected.refund


def test_all_scores_equal_pays_each_evaluator_alpha_minus_beta_cost(make_devnet: Any) -> None:
    net = make_devnet(stake=STAKE)
    latencies = {c.sender: 1_000 for c in net.inference}  # equal: inference cost 0
    latencies |= dict(zip([c.sender for c in net.evaluators], [100, 200, 400], strict=True))
    net.report_costs(latencies)
    costs = _costs(net, latencies)
    assert sorted(costs[c.sender] for c in net.evaluators) == [0, -(-WAD // 3), WAD]

    result = net.play_round([6_400, 6_400, 6_400])
    seats, node = result["evaluators"], result["node"]
    fee = net.owner.task(result["task_id"])["fee"]
    expected = settle_round(net.params, fee, [6_400] * 3, costs[node], [costs[e] for e in seats])
    p = net.params
    for j, address in enumerate(seats):
        reward = p.alphaM - wad.mul_wad_up(p.betaM, costs[address])
        assert expected.evaluator_rewards[j] == reward
        assert result["settled"][address] == (reward, wad.to_wei(reward, p.rewardUnit))
    assert result["settled"][node] == (expected.node_reward, expected.node_wei) == (64 * 10**16, 64 * 10**14)
    assert result["quality"] == expected.quality
    assert result["refund"] == expected.refund


def test_all_evaluators_silent_slashes_capped_at_stake_and_refunds_fee(make_devnet: Any) -> None:
    params = Params(slashPenalty=300 * WAD)  # 3 ETH at rewardUnit 1e16: more than the 2 ETH stake
    net = make_devnet(params, stake=2 * 10**18)
    task_id, node, seats = open_in_commit(net)
    advance_time(net.w3, params.commitWindow + params.revealWindow + 1)
    assert phase(net, task_id) == "Closed"
    final = net.finalize(task_id)

    fee = net.owner.task(task_id)["fee"]
    expected = settle_round(params, fee, [None] * 3, UNREPORTED_COST, [UNREPORTED_COST] * 3)
    assert (expected.quality, expected.node_reward, expected.paid, expected.refund) == (0, 0, 0, fee)
    assert expected.evaluator_wei == (-3 * 10**18,) * 3
    events = settled(net, final)
    assert events[node] == (0, 0)  # no quality signal: neither paid nor penalized
    for address in seats:
        assert events[address] == (-params.slashPenalty, -2 * 10**18)  # debit capped at the stake
        assert (stake(net, address), net.owner.node(address)["status"]) == (0, SUSPENDED)
    assert _finalized_quality(net, final) == 0
    assert refunded(net, final) == fee
    assert balance(net, net.requester.sender) == fee
    assert int(net.owner.call("slashedTotal")) == 6 * 10**18
    assert net.owner.call("pool", ROLE_EVALUATOR) == []
    with pytest.raises(reverts.NotEnoughEvaluators) as err:
        net.open_task()
    assert err.value.error_args == {"needed": 3, "available": 0}


def test_partial_reveal_settles_revealed_seats_and_slashes_the_rest(devnet: Any) -> None:
    task_id, node, seats = open_in_commit(devnet)
    devnet.commit(task_id, seats[0], 9_000)
    devnet.commit(task_id, seats[1], 6_000)  # seat 2 never commits
    advance_time(devnet.w3, devnet.params.commitWindow + 1)
    devnet.reveal(task_id, seats[0])
    devnet.reveal(task_id, seats[1])
    assert phase(devnet, task_id) == "Closed"  # every committed seat revealed: no need to wait
    final = devnet.finalize(task_id)

    fee = devnet.owner.task(task_id)["fee"]
    expected = settle_round(devnet.params, fee, [9_000, 6_000, None], UNREPORTED_COST, [UNREPORTED_COST] * 3)
    assert _finalized_quality(devnet, final) == expected.quality == 75 * 10**16
    assert settled(devnet, final) == {
        node: (expected.node_reward, expected.node_wei),
        **{a: (expected.evaluator_rewards[j], expected.evaluator_wei[j]) for j, a in enumerate(seats)},
    }
    assert expected.evaluator_rewards[0] == expected.evaluator_rewards[1] == WAD - 15 * 10**16 - 3 * 10**17
    assert refunded(devnet, final) == expected.refund == fee - expected.paid
    assert stake(devnet, seats[2]) == STAKE + expected.evaluator_wei[2] == STAKE - 10**16
    assert [balance(devnet, a) for a in seats] == [*expected.evaluator_wei[:2], 0]


def test_commit_and_reveal_only_some_seats_then_deadline_closes(devnet: Any) -> None:
    task_id, node, seats = open_in_commit(devnet)
    for address, score in zip(seats, [2_000, 4_000, 9_000], strict=True):
        devnet.commit(task_id, address, score)
    devnet.reveal(task_id, seats[0])  # seats 1 and 2 committed but never reveal
    assert phase(devnet, task_id) == "Reveal"
    advance_time(devnet.w3, devnet.params.revealWindow + 1)
    final = devnet.finalize(task_id)
    fee = devnet.owner.task(task_id)["fee"]
    expected = settle_round(devnet.params, fee, [2_000, None, None], UNREPORTED_COST, [UNREPORTED_COST] * 3)
    assert (
        settled(devnet, final)[node]
        == (expected.node_reward, expected.node_wei)
        == (-3 * 10**17, -3 * 10**15)
    )
    assert stake(devnet, node) == STAKE - 3 * 10**15
    assert [settled(devnet, final)[a][1] for a in seats] == list(expected.evaluator_wei)
    assert refunded(devnet, final) == expected.refund


def test_task_without_reference_goes_straight_to_commit(devnet: Any) -> None:
    task_id, _, _ = devnet.open_task(reference=None)
    assert devnet.owner.task(task_id)["referenceCommitment"] == b"\0" * 32
    with pytest.raises(reverts.NoReference):
        devnet.requester.transact("revealReference", task_id, "", b"\0" * 32)
    _, receipt = devnet.answer(task_id)
    answered_at = int(devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert devnet.owner.call("phaseOf", task_id) == [3, answered_at + devnet.params.commitWindow]
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.requester.transact("revealReference", task_id, "", b"\0" * 32)
    assert err.value.error_args == {"taskId": task_id, "expected": "Answered", "actual": "Commit"}


def test_reference_never_revealed_opens_commit_after_reference_window(devnet: Any) -> None:
    p = devnet.params
    task_id, _, _ = devnet.open_task(reference="Paris")
    seats, receipt = devnet.answer(task_id)
    answered_at = int(devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert devnet.owner.call("phaseOf", task_id) == [2, answered_at + p.referenceWindow]
    with pytest.raises(reverts.WrongPhase):  # no commits while the reference may still come
        devnet.commit(task_id, seats[0], 5_000)

    advance_time(devnet.w3, p.referenceWindow + 1)
    commit_deadline = answered_at + p.referenceWindow + p.commitWindow  # chained, not from "now"
    assert devnet.owner.call("phaseOf", task_id) == [3, commit_deadline]
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.reveal_reference(task_id)
    assert err.value.error_args == {"taskId": task_id, "expected": "Answered", "actual": "Commit"}
    devnet.commit(task_id, seats[0], 5_000)
    assert devnet.owner.call("phaseOf", task_id) == [3, commit_deadline]
    for address in seats[1:]:
        devnet.commit(task_id, address, 5_000)
    for address in seats:
        devnet.reveal(task_id, address)
    devnet.finalize(task_id)
    assert phase(devnet, task_id) == "Finalized"


def test_node_that_never_answers_expires_refunds_requester_and_is_slashed(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task()
    fee = devnet.owner.task(task_id)["fee"]
    advance_time(devnet.w3, devnet.params.answerWindow)
    assert phase(devnet, task_id) == "Open"  # the deadline second itself is still in time
    advance_time(devnet.w3, 1)
    assert phase(devnet, task_id) == "Lapsed"
    final = devnet.finalize(task_id)

    penalty_wad, penalty_wei = expiry_penalty(devnet.params)
    assert phase(devnet, task_id) == "Expired"
    assert devnet.owner.receipt_events(final, "TaskExpired")[0]["args"]["node"] == node
    assert settled(devnet, final) == {node: (penalty_wad, penalty_wei)}
    assert refunded(devnet, final) == fee == balance(devnet, devnet.requester.sender)
    assert stake(devnet, node) == STAKE + penalty_wei
    assert devnet.owner.node(node)["openAssignments"] == 0
    assert int(devnet.owner.call("slashedTotal")) == -penalty_wei


def test_node_slashed_below_min_stake_is_suspended_until_topped_up(make_devnet: Any) -> None:
    net = make_devnet(n_inference=1)  # staked exactly minStake
    node = net.inference[0]
    task_id, assigned, _ = net.open_task()
    assert assigned == node.sender
    advance_time(net.w3, net.params.answerWindow + 1)
    final = net.finalize(task_id)
    _, penalty_wei = expiry_penalty(net.params)
    left = net.params.minStake + penalty_wei
    suspended = net.owner.receipt_events(final, "NodeSuspended")
    assert [(e["args"]["node"], e["args"]["stake"]) for e in suspended] == [(node.sender, left)]
    assert net.owner.node(node.sender)["status"] == SUSPENDED
    assert net.owner.call("pool", ROLE_INFERENCE) == []
    with pytest.raises(reverts.NoInferenceNodes):
        net.open_task()

    node.transact("addStake", value=-penalty_wei - 1)  # one wei short
    assert net.owner.node(node.sender)["status"] == SUSPENDED
    node.transact("addStake", value=1)
    view = net.owner.node(node.sender)
    assert (view["status"], view["stake"]) == (ACTIVE, net.params.minStake)
    assert net.owner.call("pool", ROLE_INFERENCE) == [node.sender]
    _, assigned, _ = net.open_task()
    assert assigned == node.sender


def test_exit_unbond_release_and_withdraw(devnet: Any) -> None:
    w3, p = devnet.w3, devnet.params
    client = devnet.evaluators[0]
    address = client.sender
    receipt = client.transact("requestExit")
    ends = int(w3.eth.get_block(receipt["blockNumber"])["timestamp"]) + p.unbondingDelay
    view = devnet.owner.node(address)
    assert (view["status"], view["unbondingEnds"], view["stake"]) == (EXITING, ends, STAKE)
    assert address not in devnet.owner.call("pool", ROLE_EVALUATOR)
    with pytest.raises(reverts.NotActive):
        client.transact("addStake", value=1)

    advance_time(w3, ends - now(w3))
    released = client.transact("releaseStake")
    assert devnet.owner.receipt_events(released, "StakeReleased")[0]["args"]["amount"] == STAKE
    view = devnet.owner.node(address)
    assert (view["status"], view["stake"], view["balance"]) == (EXITED, 0, STAKE)

    eth_before, contract_before = w3.eth.get_balance(address), w3.eth.get_balance(devnet.owner.address)
    receipt = client.transact("withdraw", STAKE)
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(address) == eth_before + STAKE - gas_paid
    assert w3.eth.get_balance(devnet.owner.address) == contract_before - STAKE
    assert balance(devnet, address) == 0

    client.transact("register", ROLE_INFERENCE, "back again", value=p.minStake)  # Exited may return
    view = devnet.owner.node(address)
    assert (view["status"], view["role"], view["id"]) == (ACTIVE, ROLE_INFERENCE, 3)  # keeps its id
