"""Attacks and bad inputs on answers, finalization, payouts, the node registry, cost reports and
deployment: each test fails if the attack works (named revert, its arguments, state unchanged)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector

from deploy.deployer import deploy_contract
from deploy.devnet import FUNDING_WEI, ROLE_EVALUATOR, ROLE_INFERENCE, advance_time
from offchain.chain import reverts
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.errors import ConfigError, TransactionFailed
from offchain.protocol import WAD, Params, commitments
from offchain.protocol.types import Status
from tests.contract.helpers import (
    STRANGER_KEY,
    balance,
    client_for_contract,
    open_in_commit,
    open_in_reveal,
    phase,
    stake,
    stranger,
    to_next_epoch,
)

SALT = b"\x22" * 32
STAKE = 5 * 10**18  # the devnet fixture's stake per node


def _eth(net: Any, address: str) -> int:
    return int(net.w3.eth.get_balance(address))


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize("who", ["other inference node", "evaluator", "requester"])
def test_answer_by_unassigned_node_reverts(devnet: Any, who: str) -> None:
    task_id, node, _ = devnet.open_task()
    caller = {
        "other inference node": next(c for c in devnet.inference if c.sender != node),
        "evaluator": devnet.evaluators[0],
        "requester": devnet.requester,
    }[who]
    with pytest.raises(reverts.NotAssignedNode) as err:
        caller.transact("submitAnswer", task_id, "a stolen answer")
    assert err.value.error_args == {
        "taskId": task_id,
        "caller": caller.sender,
        "assigned": node,
    }
    task = devnet.owner.task(task_id)
    assert phase(devnet, task_id) == "Open"
    assert task["evaluators"] == []
    devnet.answer(task_id)  # the assigned node can still answer
    assert phase(devnet, task_id) == "Answered"


def test_answer_after_deadline_reverts(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task()
    advance_time(devnet.w3, devnet.params.answerWindow + 1)
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.answer(task_id)
    assert err.value.error_args == {"taskId": task_id, "expected": "Open", "actual": "Lapsed"}
    assert devnet.owner.task(task_id)["evaluators"] == []
    assert devnet.owner.node(node)["openAssignments"] == 1


def test_answer_twice_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.answer(task_id, "a second answer, to reroll the evaluators")
    assert err.value.error_args == {"taskId": task_id, "expected": "Open", "actual": "Commit"}
    assert devnet.owner.task(task_id)["evaluators"] == seats


def test_unknown_task_reverts(devnet: Any) -> None:
    with pytest.raises(reverts.UnknownTask) as err:
        devnet.finalize(7)
    assert err.value.error_args == {"taskId": 7}


# ---------------------------------------------------------------- finalization


def test_finalize_too_early_reverts_in_every_open_phase(devnet: Any) -> None:
    task_id, _, _ = devnet.open_task()
    stages = [
        ("Open", lambda: devnet.answer(task_id)),
        ("Answered", lambda: devnet.reveal_reference(task_id)),
    ]
    for expected_phase, step in stages:
        with pytest.raises(reverts.WrongPhase) as err:
            devnet.finalize(task_id)
        assert err.value.error_args == {"taskId": task_id, "expected": "Closed", "actual": expected_phase}
        step()
    seats = devnet.owner.task(task_id)["evaluators"]
    for seat in seats:
        with pytest.raises(reverts.WrongPhase) as err:
            devnet.finalize(task_id)
        assert err.value.error_args["actual"] == "Commit"
        devnet.commit(task_id, seat, 5_000)
    for seat in seats:
        with pytest.raises(reverts.WrongPhase) as err:
            devnet.finalize(task_id)
        assert err.value.error_args["actual"] == "Reveal"
        devnet.reveal(task_id, seat)
    devnet.finalize(task_id)
    assert phase(devnet, task_id) == "Finalized"


def test_finalize_twice_reverts_and_pays_once(devnet: Any) -> None:
    task_id, node, seats = open_in_reveal(devnet, [6_000, 6_000, 6_000])
    for seat in seats:
        devnet.reveal(task_id, seat)
    devnet.finalize(task_id)
    everyone = [node, *seats, devnet.requester.sender]
    before = {a: (balance(devnet, a), stake(devnet, a)) for a in everyone}
    contract_eth = _eth(devnet, devnet.owner.address)
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.client_for(seats[0]).transact("finalize", task_id)
    assert err.value.error_args == {"taskId": task_id, "expected": "Closed", "actual": "Finalized"}
    assert {a: (balance(devnet, a), stake(devnet, a)) for a in everyone} == before
    assert _eth(devnet, devnet.owner.address) == contract_eth


def test_finalize_expired_task_twice_reverts_and_slashes_once(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task()
    advance_time(devnet.w3, devnet.params.answerWindow + 1)
    devnet.finalize(task_id)
    slashed = int(devnet.owner.call("slashedTotal"))
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.finalize(task_id)
    assert err.value.error_args == {"taskId": task_id, "expected": "Closed", "actual": "Expired"}
    assert stake(devnet, node) == STAKE - 10**16
    assert int(devnet.owner.call("slashedTotal")) == slashed == 10**16
    assert balance(devnet, devnet.requester.sender) == devnet.owner.task(task_id)["fee"]


# ---------------------------------------------------------------- withdrawals


def _refunded_requester_contract(net: Any, artifacts: Any, name: str) -> tuple[Any, str, int]:
    """Deploy test contract `name`, open a task through it and let it expire: it is owed the fee."""
    attacker = dev_account(STRANGER_KEY + 9)
    fund_accounts(net.w3, [attacker.address], FUNDING_WEI)
    artifact = artifacts.get(name)
    address, _ = deploy_contract(net.w3, attacker, artifact, net.owner.address)
    client = client_for_contract(net, address, artifact.abi, attacker)
    fee = int(net.owner.call("maxPayout"))
    client.transact("open", 0, "a task to be refunded", value=fee)
    task_id = int(net.owner.call("taskCount"))
    assert net.owner.task(task_id)["requester"] == address
    advance_time(net.w3, net.params.answerWindow + 1)
    receipt = net.finalize(task_id)
    assert net.owner.receipt_events(receipt, "FeeRefunded")[0]["args"]["amount"] == fee
    assert balance(net, address) == fee
    return client, address, fee


@pytest.mark.parametrize("gas", [None, 1_000_000], ids=["estimated", "mined"])
def test_withdraw_reentrancy_through_malicious_receiver_is_blocked(
    devnet: Any, poq_artifacts: Any, gas: int | None
) -> None:
    evil, receiver, fee = _refunded_requester_contract(devnet, poq_artifacts, "MaliciousReceiver")
    contract_eth = _eth(devnet, devnet.owner.address)
    with pytest.raises(reverts.TransferFailed) as err:  # its receive() re-enters and hits Reentrancy
        evil.transact("drain", fee, gas=gas)
    assert err.value.error_args == {"to": receiver, "amount": fee}
    assert balance(devnet, receiver) == fee
    assert _eth(devnet, receiver) == 0
    assert _eth(devnet, devnet.owner.address) == contract_eth
    assert evil.contract.functions.reentries().call() == 0
    assert devnet.owner.events("Withdrawn", account=receiver) == []


def test_withdraw_reentry_is_refused_by_the_guard(devnet: Any, poq_artifacts: Any) -> None:
    # MaliciousReceiver's failed re-entry reverts everything, so it cannot tell the guard from
    # checks-effects-interactions. ReentrancyProbe catches its re-entry: withdrawing half the
    # balance must pay exactly that half, with the re-entrant withdraw refused by Reentrancy().
    probe, address, fee = _refunded_requester_contract(devnet, poq_artifacts, "ReentrancyProbe")
    half = fee // 2
    contract_eth = _eth(devnet, devnet.owner.address)
    probe.transact("drain", half)
    view = probe.contract.functions
    assert view.reentries().call() == 1
    assert view.reentrySucceeded().call() is False
    assert view.reentryError().call() == function_signature_to_4byte_selector("Reentrancy()")
    assert _eth(devnet, address) == half
    assert balance(devnet, address) == fee - half
    assert _eth(devnet, devnet.owner.address) == contract_eth - half


def test_withdraw_more_than_balance_reverts(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task()
    advance_time(devnet.w3, devnet.params.answerWindow + 1)
    devnet.finalize(task_id)
    requester = devnet.requester
    fee = balance(devnet, requester.sender)
    contract_eth = _eth(devnet, devnet.owner.address)
    with pytest.raises(reverts.InsufficientBalance) as err:
        requester.transact("withdraw", fee + 1)
    assert err.value.error_args == {
        "account": requester.sender,
        "requested": fee + 1,
        "available": fee,
    }
    assert balance(devnet, requester.sender) == fee
    assert _eth(devnet, devnet.owner.address) == contract_eth
    requester.transact("withdraw", fee)
    assert balance(devnet, requester.sender) == 0
    assert _eth(devnet, devnet.owner.address) == contract_eth - fee


@pytest.mark.parametrize("who", ["staked node", "stranger"])
def test_withdraw_without_balance_reverts(devnet: Any, who: str) -> None:
    caller = devnet.evaluators[0] if who == "staked node" else stranger(devnet)
    with pytest.raises(reverts.InsufficientBalance) as err:  # stake is not withdrawable balance
        caller.transact("withdraw", 1)
    assert err.value.error_args == {"account": caller.sender, "requested": 1, "available": 0}
    if who == "staked node":
        assert stake(devnet, caller.sender) == STAKE


# ---------------------------------------------------------------- registry


def test_register_below_min_stake_reverts(devnet: Any) -> None:
    newcomer = stranger(devnet)
    min_stake = devnet.params.minStake
    with pytest.raises(reverts.StakeBelowMinimum) as err:
        newcomer.transact("register", ROLE_EVALUATOR, "cheap", value=min_stake - 1)
    assert err.value.error_args == {"stake": min_stake - 1, "minStake": min_stake}
    assert devnet.owner.node(newcomer.sender)["status"] == 0
    assert newcomer.sender not in devnet.owner.call("pool", ROLE_EVALUATOR)


def test_register_twice_reverts(devnet: Any) -> None:
    node = devnet.evaluators[0]
    with pytest.raises(reverts.AlreadyRegistered) as err:
        node.transact("register", ROLE_INFERENCE, "switching roles", value=devnet.params.minStake)
    assert err.value.error_args == {"node": node.sender}
    view = devnet.owner.node(node.sender)
    assert (view["role"], view["stake"], view["model"]) == (ROLE_EVALUATOR, STAKE, "evaluator-0")
    assert node.sender not in devnet.owner.call("pool", ROLE_INFERENCE)


def test_register_with_invalid_role_reverts(devnet: Any) -> None:
    newcomer = stranger(devnet)
    with pytest.raises(reverts.InvalidRole) as err:
        newcomer.transact("register", 0, "no role", value=devnet.params.minStake)
    assert err.value.error_args == {"role": 0}
    with pytest.raises(reverts.InvalidRole) as err:
        newcomer.transact("register", 3, "bad role", value=devnet.params.minStake)
    assert err.value.error_args == {"role": 3}
    assert devnet.owner.node(newcomer.sender)["status"] == 0


def test_exit_with_open_assignments_reverts(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task()
    with pytest.raises(reverts.NodeHasOpenAssignments) as err:
        devnet.client_for(node).transact("requestExit")
    assert err.value.error_args == {"node": node, "openAssignments": 1}
    seats, _ = devnet.answer(task_id)
    with pytest.raises(reverts.NodeHasOpenAssignments) as err:
        devnet.client_for(seats[0]).transact("requestExit")
    assert err.value.error_args == {"node": seats[0], "openAssignments": 1}
    assert devnet.owner.node(seats[0])["status"] == Status.ACTIVE  # still in the pool
    assert seats[0] in devnet.owner.call("pool", ROLE_EVALUATOR)


def test_release_stake_before_unbonding_over_reverts(devnet: Any) -> None:
    node = devnet.evaluators[0]
    with pytest.raises(reverts.NotExiting) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender}
    node.transact("requestExit")
    ends = int(devnet.owner.node(node.sender)["unbondingEnds"])
    advance_time(devnet.w3, devnet.params.unbondingDelay - 10)
    with pytest.raises(reverts.UnbondingNotOver) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender, "unbondingEnds": ends}
    assert (stake(devnet, node.sender), balance(devnet, node.sender)) == (STAKE, 0)


# ---------------------------------------------------------------- cost reports


def _commit_cost(net: Any, node: Any, latency: int, salt: bytes) -> int:
    epoch = to_next_epoch(net)  # the first second of an epoch: no boundary before the next step
    digest = commitments.cost_commitment(net.chain_id, net.owner.address, epoch, node.sender, latency, salt)
    node.transact("commitCost", digest)
    return epoch


def test_cost_reveal_with_wrong_salt_reverts(devnet: Any) -> None:
    node = devnet.inference[0]
    _commit_cost(devnet, node, 1_500, SALT)
    to_next_epoch(devnet)
    with pytest.raises(reverts.CostCommitmentMismatch) as err:
        node.transact("revealCost", 1_500, b"\x23" * 32)
    assert err.value.error_args == {"node": node.sender}
    with pytest.raises(reverts.CostCommitmentMismatch):  # nor another latency with the right salt
        node.transact("revealCost", 1, SALT)
    assert devnet.owner.node(node.sender)["latencyUs"] == 0
    node.transact("revealCost", 1_500, SALT)
    assert devnet.owner.node(node.sender)["latencyUs"] == 1_500


def test_cost_reveal_in_commit_epoch_reverts(devnet: Any) -> None:
    node = devnet.inference[0]
    epoch = _commit_cost(devnet, node, 1_500, SALT)
    with pytest.raises(reverts.CostRevealOutsideEpoch) as err:
        node.transact("revealCost", 1_500, SALT)
    assert err.value.error_args == {"node": node.sender, "commitEpoch": epoch, "currentEpoch": epoch}
    assert devnet.owner.node(node.sender)["latencyUs"] == 0


def test_cost_reveal_two_epochs_later_reverts(devnet: Any) -> None:
    node = devnet.inference[0]
    epoch = _commit_cost(devnet, node, 1_500, SALT)
    to_next_epoch(devnet)
    to_next_epoch(devnet)
    with pytest.raises(reverts.CostRevealOutsideEpoch) as err:
        node.transact("revealCost", 1_500, SALT)
    assert err.value.error_args == {
        "node": node.sender,
        "commitEpoch": epoch,
        "currentEpoch": epoch + 2,
    }


def test_cost_commit_twice_in_an_epoch_and_zero_latency_revert(devnet: Any) -> None:
    node = devnet.inference[0]
    epoch = _commit_cost(devnet, node, 0, SALT)
    with pytest.raises(reverts.CostAlreadyCommitted) as err:
        node.transact("commitCost", b"\x01" * 32)
    assert err.value.error_args == {"node": node.sender, "epoch": epoch}
    to_next_epoch(devnet)
    with pytest.raises(reverts.LatencyOutOfRange) as err:
        node.transact("revealCost", 0, SALT)
    assert err.value.error_args == {"latencyUs": 0}


def test_cost_report_by_non_node_reverts(devnet: Any) -> None:
    outsider = stranger(devnet)
    with pytest.raises(reverts.NotActive) as err:
        outsider.transact("commitCost", b"\x01" * 32)
    assert err.value.error_args == {"node": outsider.sender}
    with pytest.raises(reverts.NotActive):
        outsider.transact("revealCost", 1, SALT)


# ---------------------------------------------------------------- fees and deployment


def test_open_task_with_fee_below_max_payout_reverts(devnet: Any) -> None:
    max_payout = int(devnet.owner.call("maxPayout"))
    p = devnet.params
    assert max_payout == -(-(p.alphaF + p.k * p.alphaM) * p.rewardUnit // WAD)
    contract_eth = _eth(devnet, devnet.owner.address)
    with pytest.raises(reverts.FeeBelowMaxPayout) as err:
        devnet.open_task(fee=max_payout - 1)
    assert err.value.error_args == {"fee": max_payout - 1, "maxPayout": max_payout}
    assert int(devnet.owner.call("taskCount")) == 0
    assert _eth(devnet, devnet.owner.address) == contract_eth
    assert all(devnet.owner.node(c.sender)["openAssignments"] == 0 for c in devnet.inference)


@pytest.mark.parametrize(
    ("field", "value", "reported"),
    [
        ("k", 0, 0),
        ("k", 4, 4),
        ("aggregation", 4, 4),
        ("trustRule", 2, 2),
        ("trustLambda", WAD + 1, WAD + 1),
        ("trustMin", 0, 0),
        ("trustMin", WAD + 1, WAD + 1),
        ("trustMax", WAD - 1, WAD - 1),
        ("trustMax", 18 * WAD + 1, 18 * WAD + 1),
        ("trustInitial", WAD // 10 - 1, WAD // 10 - 1),  # below the default trustMin of 0.1
        ("trustInitial", 2 * WAD + 1, 2 * WAD + 1),  # above the default trustMax of 2
        ("maxPoolSize", 2, 2),  # below k = 3
        ("epochLength", 0, 0),
        ("alphaF", 10**6 * WAD + 1, 10**6 * WAD + 1),
        ("rewardUnit", 10**30 + 1, 10**30 + 1),
    ],
)
def test_invalid_deployment_parameter_reverts(
    poq_artifacts: Any, field: str, value: int, reported: int
) -> None:
    from dataclasses import fields

    from offchain.chain.connect import embedded_web3

    with pytest.raises(ConfigError, match=field):  # the Python Params refuses it first
        Params(**{field: value})
    raw = list(Params().as_tuple())
    raw[[f.name for f in fields(Params)].index(field)] = value
    w3 = embedded_web3()
    deployer = dev_account(STRANGER_KEY)
    fund_accounts(w3, [deployer.address], FUNDING_WEI)
    artifact = poq_artifacts.get("ProofOfQuality")
    with pytest.raises(TransactionFailed) as err:
        deploy_contract(w3, deployer, artifact, tuple(raw))
    decoded = reverts.decode_revert(err.value, artifact.abi)
    assert isinstance(decoded, reverts.InvalidParameter)
    assert decoded.error_args == {"name": field, "value": reported}
