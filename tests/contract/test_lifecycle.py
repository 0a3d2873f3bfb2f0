"""Batch lifecycle edge cases pinned with exact numbers from `offchain.protocol` (settle_batch, wad).

K = 1, all scores equal, all evaluators silent (with the stake cap), a partial reveal, a batch
without a reference, a reference never revealed, a node that never answers (alone, and beside one
that does), a node suspended by a slash and reinstated by `addStake`, and the exit path from
unbonding to withdrawal. Costs are the contract's own measurements: each test times the answers and
commits, so a slow node is the costliest of its pool (C = 1) and a fast one the cheapest (C = 0).
Every test deploys the paper's rules (helpers.PAPER): these are the paper's equations, pinned; the
default rules' numbers are the differential test's and tests/contract/test_attacks_incentives.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from deploy.devnet import advance_time, now
from offchain.chain import reverts
from offchain.protocol import WAD, Params, expiry_penalty, wad
from offchain.protocol.types import Role, Stage, Status
from tests.contract.helpers import (
    PAPER,
    STAKE,
    answered,
    assert_solvent,
    balance,
    batch,
    block_time,
    build,
    commit_all,
    costs,
    expect,
    expected_events,
    measure_all,
    next_block_at,
    open_drawn,
    stage,
    stake,
    treasury,
)


@pytest.fixture
def net(make_devnet: Callable[..., Any]) -> Any:
    """The attack tests' chain (helpers.build) under the paper's rules."""
    return build(make_devnet, PAPER)


def _commit_stage_start(net: Any, batch_id: int) -> int:
    _, deadline = net.owner.call("stageOf", batch_id)
    return int(deadline) - net.params.commitWindow


def test_k1_batch_of_one_settles_exactly(make_devnet: Any) -> None:
    net = build(make_devnet, replace(PAPER, k=1), n_inference=3, n_evaluators=2)
    measure_all(net)  # every node answered or committed within seconds
    batch_id, drawn = open_drawn(net)
    node, (evaluator,) = drawn.node_of(0), drawn.panel_of(0)
    next_block_at(net, batch(net, batch_id)["deadline"])
    net.answer(batch_id, node)  # at the last second: the slowest of the pool
    net.reveal_references(batch_id)
    next_block_at(net, batch(net, batch_id)["deadline"])
    net.commit(batch_id, evaluator, [7_300])
    net.reveal(batch_id, evaluator)
    assert costs(net, [node, evaluator]) == [WAD, WAD]
    expected = expect(net, batch_id, {evaluator: [7_300]})
    before = {a: balance(net, a) for a in (node, evaluator, net.requester.sender)}
    fee = batch(net, batch_id)["fee"]

    result = net.settlement(net.finalize(batch_id))
    p, round_ = net.params, expected.rounds[0]
    assert round_ is not None
    assert result["quality"] == expected.quality == [73 * 10**16]
    assert round_.evaluator_rewards == (p.alphaM - wad.mul_wad_up(p.betaM, WAD),)  # d = 0
    assert round_.node_reward == wad.mul_wad_down(p.alphaF, 73 * 10**16) - wad.mul_wad_up(p.betaF, WAD)
    assert result["settled"] == {
        node: (1, round_.node_reward, round_.node_wei),
        evaluator: (1, round_.evaluator_rewards[0], round_.evaluator_wei[0]),
    }
    assert result["refund"] == expected.refund == fee - expected.paid
    assert balance(net, node) - before[node] == round_.node_wei > 0
    assert balance(net, evaluator) - before[evaluator] == round_.evaluator_wei[0] > 0
    assert balance(net, net.requester.sender) - before[net.requester.sender] == expected.refund


def test_all_scores_equal_pays_each_evaluator_alpha_minus_beta_cost(net: Any) -> None:
    batch_id, drawn = answered(net)
    start = _commit_stage_start(net, batch_id)
    panel = drawn.panel_of(0)
    for evaluator, delay in zip(panel, [1, 2, 4], strict=True):  # measured: 1, 2 and 4 s per seat
        next_block_at(net, start + delay)
        net.commit(batch_id, evaluator, [6_400])
    for evaluator in panel:
        net.reveal(batch_id, evaluator)
    node = drawn.node_of(0)
    assert costs(net, panel) == [0, -(-WAD // 3), WAD]
    assert costs(net, [node]) == [0]  # the only measured inference node
    expected = expect(net, batch_id, {e: [6_400] for e in panel})

    result = net.settlement(net.finalize(batch_id))
    p = net.params
    for address, cost in zip(panel, [0, -(-WAD // 3), WAD], strict=True):
        reward = p.alphaM - wad.mul_wad_up(p.betaM, cost)
        assert result["settled"][address] == (1, reward, wad.to_wei(reward, p.rewardUnit))
    assert result["settled"][node] == (1, 64 * 10**16, 64 * 10**14)
    assert result["settled"] == expected_events(net, batch_id, expected, {a: STAKE for a in drawn.participants})
    assert result["quality"] == expected.quality == [64 * 10**16]
    assert result["refund"] == expected.refund


def test_all_evaluators_silent_slashes_capped_at_stake_and_refunds_fee(make_devnet: Any) -> None:
    params = replace(PAPER, slashPenalty=300 * WAD)  # 3 ETH at rewardUnit 1e16: more than the 2 ETH stake
    net = build(make_devnet, params, stake=2 * 10**18)
    batch_id, drawn = answered(net)
    advance_time(net.w3, params.commitWindow + params.revealWindow + 1)
    assert stage(net, batch_id) == "Closed"
    fee = batch(net, batch_id)["fee"]
    expected = expect(net, batch_id, {})
    round_ = expected.rounds[0]
    assert round_ is not None
    assert (round_.quality, round_.node_reward, expected.paid, expected.refund) == (0, 0, 0, fee)
    assert round_.evaluator_wei == (wad.to_wei(-params.slashPenalty, params.rewardUnit),) * 3 == (-3 * 10**18,) * 3

    result = net.settlement(net.finalize(batch_id))
    node, panel = drawn.node_of(0), drawn.panel_of(0)
    assert result["settled"] == expected_events(net, batch_id, expected, {a: 2 * 10**18 for a in drawn.participants})
    assert result["settled"][node] == (1, 0, 0)  # no quality signal: neither paid nor penalized
    for address in panel:
        assert result["settled"][address] == (1, -params.slashPenalty, -2 * 10**18)  # debit capped at the stake
        assert (stake(net, address), net.owner.node(address)["status"]) == (0, Status.SUSPENDED)
    assert result["quality"] == [0]
    assert result["refund"] == fee == balance(net, net.requester.sender)
    # the slashed stake is the treasury's to withdraw (it used to sit in an unreachable slashedTotal)
    assert result["treasury"] == 6 * 10**18 == balance(net, treasury(net))
    assert net.owner.call("pool", Role.EVALUATOR) == [[], []]
    with pytest.raises(reverts.NotEnoughEvaluators) as err:
        net.open_batch()
    assert err.value.error_args == {"needed": 3, "available": 0}
    assert_solvent(net)


def test_partial_reveal_settles_revealed_seats_and_slashes_the_rest(net: Any) -> None:
    batch_id, drawn = answered(net)
    panel = drawn.panel_of(0)
    net.commit(batch_id, panel[0], [9_000])  # 1 s after the stage opened: cost 0
    net.commit(batch_id, panel[1], [6_000])  # 2 s: the slowest measured, cost 1; seat 2 never commits
    advance_time(net.w3, net.params.commitWindow + 1)
    net.reveal(batch_id, panel[0])
    net.reveal(batch_id, panel[1])
    assert stage(net, batch_id) == "Closed"  # every committed seat revealed: no need to wait
    assert costs(net, panel[:2]) == [0, WAD]
    expected = expect(net, batch_id, {panel[0]: [9_000], panel[1]: [6_000]})

    result = net.settlement(net.finalize(batch_id))
    round_, p = expected.rounds[0], net.params
    assert round_ is not None
    assert result["quality"] == expected.quality == [75 * 10**16]
    assert result["settled"] == expected_events(net, batch_id, expected, {a: STAKE for a in drawn.participants})
    assert round_.evaluator_rewards[:2] == (WAD - 15 * 10**16, WAD - 15 * 10**16 - p.betaM)  # d = 0.15 each
    assert result["refund"] == expected.refund == int(net.owner.call("maxPayout")) - expected.paid
    slash = wad.to_wei(-p.slashPenalty, p.rewardUnit)
    assert round_.evaluator_wei[2] == slash
    assert stake(net, panel[2]) == STAKE + slash == STAKE - 10**16
    assert [balance(net, a) for a in panel] == [*round_.evaluator_wei[:2], 0]


def test_commit_and_reveal_only_some_seats_then_deadline_closes(net: Any) -> None:
    measure_all(net)
    batch_id, drawn = open_drawn(net, with_reference=False)
    node, panel = drawn.node_of(0), drawn.panel_of(0)
    next_block_at(net, batch(net, batch_id)["deadline"])
    net.answer(batch_id, node)  # the slowest inference node: C_F = 1
    for address, score in zip(panel, [2_000, 4_000, 9_000], strict=True):
        net.commit(batch_id, address, [score])
    net.reveal(batch_id, panel[0])  # seats 1 and 2 committed but never reveal
    assert stage(net, batch_id) == "Revealing"
    advance_time(net.w3, net.params.revealWindow + 1)
    expected = expect(net, batch_id, {panel[0]: [2_000]})
    before = {a: stake(net, a) for a in drawn.participants}

    result = net.settlement(net.finalize(batch_id))
    round_ = expected.rounds[0]
    assert round_ is not None
    assert costs(net, [node]) == [WAD]
    assert result["settled"][node] == (1, round_.node_reward, round_.node_wei) == (1, -3 * 10**17, -3 * 10**15)
    assert stake(net, node) == before[node] - 3 * 10**15
    assert [result["settled"][a][2] for a in panel] == list(round_.evaluator_wei)
    assert result["settled"] == expected_events(net, batch_id, expected, before)
    assert result["refund"] == expected.refund


def test_batch_without_reference_goes_straight_to_committing(net: Any) -> None:
    batch_id, opened = net.open_batch(["q"], with_reference=False)
    assert net.owner.receipt_events(opened, "BatchOpened")[0]["args"]["referenceCommitment"] == b"\0" * 32
    assert batch(net, batch_id)["hasReference"] is False
    with pytest.raises(reverts.NoReference) as err:
        net.requester.transact("revealReferences", batch_id, [""], b"\0" * 32)
    assert err.value.error_args == {"batchId": batch_id}
    drawn, _ = net.draw(batch_id)
    receipt = net.answer(batch_id, drawn.node_of(0))
    answered_at = block_time(net, receipt)
    assert net.owner.call("stageOf", batch_id) == [Stage.COMMITTING, answered_at + net.params.commitWindow]
    with pytest.raises(reverts.NoReference):  # nor once the answers are in: there is nothing to reveal, ever
        net.requester.transact("revealReferences", batch_id, [""], b"\0" * 32)
    assert stage(net, batch_id) == "Committing"


def test_reference_never_revealed_opens_committing_after_reference_window(net: Any) -> None:
    """A requester who withholds its reference delays the batch by the reference window, never stalls
    it: the clock opens the commit stage and the panel scores against the inputs."""
    p = net.params
    batch_id, drawn = open_drawn(net, references=["Paris"])
    answered_at = block_time(net, net.answer(batch_id, drawn.node_of(0)))
    assert net.owner.call("stageOf", batch_id) == [Stage.REFERENCING, answered_at + p.referenceWindow]
    panel = drawn.panel_of(0)
    with pytest.raises(reverts.WrongStage) as err:  # no commits while the reference may still come
        net.commit(batch_id, panel[0], [5_000])
    assert err.value.error_args == {"batchId": batch_id, "expected": "Committing", "actual": "Referencing"}

    advance_time(net.w3, p.referenceWindow + 1)
    commit_deadline = answered_at + p.referenceWindow + p.commitWindow  # chained, not from "now"
    assert net.owner.call("stageOf", batch_id) == [Stage.COMMITTING, commit_deadline]
    with pytest.raises(reverts.WrongStage) as err:
        net.reveal_references(batch_id)
    assert err.value.error_args == {"batchId": batch_id, "expected": "Referencing", "actual": "Committing"}
    net.commit(batch_id, panel[0], [5_000])
    assert net.owner.call("stageOf", batch_id) == [Stage.COMMITTING, commit_deadline]
    for address in panel[1:]:
        net.commit(batch_id, address, [5_000])
    for address in panel:
        net.reveal(batch_id, address)
    expected = expect(net, batch_id, {a: [5_000] for a in panel})
    result = net.settlement(net.finalize(batch_id))
    assert stage(net, batch_id) == "Finalized"
    assert result["quality"] == expected.quality == [WAD // 2]
    assert net.owner.events("ReferencesRevealed", batchId=batch_id) == []


def test_node_that_never_answers_expires_refunds_requester_and_is_slashed(net: Any) -> None:
    batch_id, drawn = open_drawn(net)
    node, panel = drawn.node_of(0), drawn.panel_of(0)
    fee = batch(net, batch_id)["fee"]
    advance_time(net.w3, batch(net, batch_id)["deadline"] - now(net.w3))
    assert stage(net, batch_id) == "Answering"  # the deadline second itself is still in time
    advance_time(net.w3, 1)
    assert stage(net, batch_id) == "Closed"  # nobody answered: nothing to score
    result = net.settlement(net.finalize(batch_id))

    penalty_wad, penalty_wei = expiry_penalty(net.params)
    assert stage(net, batch_id) == "Finalized"
    assert (result["expired_mask"], result["quality"], result["rewards"]) == (1, [0], [penalty_wad, 0, 0, 0])
    # the node is slashed; its panel's seats are void: neither paid nor slashed
    assert result["settled"] == {node: (1, penalty_wad, penalty_wei), **{e: (0, 0, 0) for e in panel}}
    assert result["refund"] == fee == balance(net, net.requester.sender)
    assert stake(net, node) == STAKE + penalty_wei
    assert [stake(net, e) for e in panel] == [STAKE] * 3
    assert net.owner.node(node)["openBatches"] == 0
    assert result["treasury"] == -penalty_wei == balance(net, treasury(net))
    assert_solvent(net)


def test_batch_with_a_silent_node_expires_only_that_nodes_tasks(net: Any) -> None:
    batch_id, drawn = open_drawn(net, 4, until=lambda d: d.inference_count == 2, with_reference=False)
    silent, speaker = drawn.nodes
    net.answer(batch_id, speaker)
    assert stage(net, batch_id) == "Answering"  # one node is still to answer
    advance_time(net.w3, net.params.answerWindow + 1)
    assert stage(net, batch_id) == "Committing"  # someone answered: the clock moves the batch on
    revealed = commit_all(net, batch_id, lambda t, j, _e: 3_000 + 1_000 * t + 500 * j)
    for evaluator in drawn.evaluators:
        net.reveal(batch_id, evaluator)
    expected = expect(net, batch_id, revealed, silent=[silent])
    result = net.settlement(net.finalize(batch_id))

    assert result["expired_mask"] == expected.expired_mask == sum(1 << t for t in drawn.tasks_of(silent))
    assert result["quality"] == expected.quality
    assert result["rewards"] == [r for row in expected.rewards for r in row]
    for t in drawn.tasks_of(silent):  # void seats: the scores revealed for them are skipped
        assert expected.rewards[t] == [-net.params.slashPenalty, *[0] * net.k]
    assert result["settled"] == expected_events(net, batch_id, expected, {a: STAKE for a in drawn.participants})
    assert (result["paid"], result["refund"]) == (expected.paid, expected.refund)


def test_node_slashed_below_min_stake_is_suspended_until_topped_up(make_devnet: Any) -> None:
    net = build(make_devnet, PAPER, n_inference=1, stake=Params().minStake)  # staked exactly minStake
    node = net.inference[0]
    batch_id, drawn = open_drawn(net)
    assert drawn.node_of(0) == node.sender
    advance_time(net.w3, net.params.answerWindow + 1)
    final = net.finalize(batch_id)
    _, penalty_wei = expiry_penalty(net.params)
    left = net.params.minStake + penalty_wei
    suspended = net.owner.receipt_events(final, "NodeSuspended")
    assert [(e["args"]["node"], e["args"]["stake"]) for e in suspended] == [(node.sender, left)]
    assert net.owner.node(node.sender)["status"] == Status.SUSPENDED
    assert net.owner.call("pool", Role.INFERENCE) == [[], []]
    with pytest.raises(reverts.NoInferenceNodes):
        net.open_batch()

    node.transact("addStake", value=-penalty_wei - 1)  # one wei short
    assert net.owner.node(node.sender)["status"] == Status.SUSPENDED
    receipt = node.transact("addStake", value=1)
    assert net.owner.receipt_events(receipt, "NodeActivated")[0]["args"]["stake"] == net.params.minStake
    view = net.owner.node(node.sender)
    assert (view["status"], view["stake"]) == (Status.ACTIVE, net.params.minStake)
    assert net.owner.call("pool", Role.INFERENCE) == [[node.sender], [1]]
    _, drawn = open_drawn(net)
    assert drawn.node_of(0) == node.sender


def test_exit_unbond_release_and_withdraw(net: Any) -> None:
    w3, p = net.w3, net.params
    client = net.evaluators[0]
    address = client.sender
    receipt = client.transact("requestExit")
    ends = block_time(net, receipt) + p.unbondingDelay
    view = net.owner.node(address)
    assert (view["status"], view["unbondingEnds"], view["stake"]) == (Status.EXITING, ends, STAKE)
    assert address not in net.owner.call("pool", Role.EVALUATOR)[0]
    with pytest.raises(reverts.NotActive):
        client.transact("addStake", value=1)

    advance_time(w3, ends - now(w3))
    released = client.transact("releaseStake")
    assert net.owner.receipt_events(released, "StakeReleased")[0]["args"]["amount"] == STAKE
    view = net.owner.node(address)
    assert (view["status"], view["stake"], view["balance"]) == (Status.EXITED, 0, STAKE)

    eth_before, contract_before = w3.eth.get_balance(address), w3.eth.get_balance(net.owner.address)
    receipt = client.transact("withdraw", STAKE)
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(address) == eth_before + STAKE - gas_paid
    assert w3.eth.get_balance(net.owner.address) == contract_before - STAKE
    assert balance(net, address) == 0

    client.transact("register", Role.INFERENCE, "back again", value=p.minStake)  # Exited may return
    view = net.owner.node(address)
    assert (view["status"], view["role"], view["id"]) == (Status.ACTIVE, Role.INFERENCE, 3)  # keeps its id
    assert_solvent(net)

