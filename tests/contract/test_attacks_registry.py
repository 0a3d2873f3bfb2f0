"""Attacks and bad inputs on the node registry, the ranked pools, exits, declared costs and deployment:
each test fails if the attack works (named revert, its arguments, state unchanged)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest

from deploy.deployer import deploy_contract
from deploy.devnet import FUNDING_WEI, advance_time
from offchain.chain import reverts
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.errors import ConfigError, TransactionFailed
from offchain.protocol import WAD, Params, commitments, expiry_penalty
from offchain.protocol.types import Role, Status
from tests.contract.helpers import (
    STAKE,
    STRANGER_KEY,
    answer_all,
    balance,
    build,
    client_for_contract,
    commit_all,
    open_drawn,
    stake,
    stranger,
    to_next_epoch,
)

SALT = b"\x22" * 32


def _pool(net: Any, role: Role) -> list[str]:
    return list(net.owner.call("pool", role)[0])


# ---------------------------------------------------------------- registration


def test_register_below_min_stake_reverts(net: Any) -> None:
    newcomer = stranger(net)
    min_stake = net.params.minStake
    with pytest.raises(reverts.StakeBelowMinimum) as err:
        newcomer.transact("register", Role.EVALUATOR, "cheap", value=min_stake - 1)
    assert err.value.error_args == {"stake": min_stake - 1, "minStake": min_stake}
    assert net.owner.node(newcomer.sender)["status"] == Status.NONE
    assert newcomer.sender not in _pool(net, Role.EVALUATOR)


def test_register_twice_reverts(net: Any) -> None:
    node = net.evaluators[0]
    with pytest.raises(reverts.AlreadyRegistered) as err:
        node.transact("register", Role.INFERENCE, "switching roles", value=net.params.minStake)
    assert err.value.error_args == {"node": node.sender}
    view = net.owner.node(node.sender)
    assert (view["role"], view["stake"], view["model"]) == (Role.EVALUATOR, STAKE, "evaluator-0")
    assert node.sender not in _pool(net, Role.INFERENCE)


def test_register_with_invalid_role_reverts(net: Any) -> None:
    newcomer = stranger(net)
    for role in (0, 3):
        with pytest.raises(reverts.InvalidRole) as err:
            newcomer.transact("register", role, "no such role", value=net.params.minStake)
        assert err.value.error_args == {"role": role}
    assert net.owner.node(newcomer.sender)["status"] == Status.NONE


# ---------------------------------------------------------------- ranked pools


def test_full_pool_admits_only_a_strictly_larger_stake_and_evicts_the_lowest(make_devnet: Any) -> None:
    net = build(make_devnet, Params(maxPoolSize=3))  # three evaluators: the evaluator pool is full
    newcomer = stranger(net)
    with pytest.raises(reverts.PoolFull) as err:  # an equal stake evicts nobody
        newcomer.transact("register", Role.EVALUATOR, "equal", value=STAKE)
    assert err.value.error_args == {"role": "Evaluator", "maxPoolSize": 3, "lowestStake": STAKE}
    assert net.owner.node(newcomer.sender)["status"] == Status.NONE

    receipt = newcomer.transact("register", Role.EVALUATOR, "larger", value=STAKE + 1)
    evicted = net.owner.receipt_events(receipt, "NodeEvicted")[0]["args"]
    assert (evicted["node"], evicted["by"], evicted["stake"]) == (net.evaluators[0].sender, newcomer.sender, STAKE)
    out = net.evaluators[0]  # the lowest stake, the earliest entry among equals
    assert net.owner.node(out.sender)["status"] == Status.STANDBY
    assert sorted(_pool(net, Role.EVALUATOR)) == sorted([newcomer.sender, *(e.sender for e in net.evaluators[1:])])
    _, drawn = open_drawn(net, 4)  # a node on Standby is never drawn
    assert out.sender not in drawn.participants

    out.transact("addStake", value=0)  # no more than the lowest stake: still on Standby
    assert net.owner.node(out.sender)["status"] == Status.STANDBY
    receipt = out.transact("addStake", value=1)  # outbids the lowest and takes its place
    assert net.owner.receipt_events(receipt, "NodeActivated")[0]["args"]["node"] == out.sender
    second = net.owner.receipt_events(receipt, "NodeEvicted")[0]["args"]
    assert (second["by"], second["stake"]) == (out.sender, STAKE)
    assert net.owner.node(second["node"])["status"] == Status.STANDBY
    assert sorted(_pool(net, Role.EVALUATOR)) == sorted(
        [newcomer.sender, out.sender, *(e.sender for e in net.evaluators[1:] if e.sender != second["node"])])


# ---------------------------------------------------------------- exits


@pytest.mark.parametrize("role", ["inference", "evaluator"])
def test_exit_with_open_batches_cannot_escape_the_slash(make_devnet: Any, role: str) -> None:
    """Exiting used to revert while the node had open work; now it succeeds at once, and the stake stays
    bonded (NodeHasOpenBatches) until the batches that drew the node settle, slashes included."""
    net = build(make_devnet, n_evaluators=4)
    batch_id, drawn = open_drawn(net, with_reference=False)
    quitter = drawn.node_of(0) if role == "inference" else drawn.evaluators[0]
    receipt = net.client_for(quitter).transact("requestExit")
    exit_event = net.owner.receipt_events(receipt, "ExitRequested")[0]["args"]
    assert exit_event["exitBatch"] == batch_id
    assert net.owner.node(quitter)["status"] == Status.EXITING
    assert quitter not in _pool(net, Role.INFERENCE) + _pool(net, Role.EVALUATOR)
    if role == "evaluator":  # the node answers; the quitting evaluator never commits
        answer_all(net, batch_id)
    advance_time(net.w3, max(net.params.unbondingDelay, net.params.answerWindow) + 1)
    with pytest.raises(reverts.NodeHasOpenBatches) as err:
        net.client_for(quitter).transact("releaseStake")
    assert err.value.error_args == {"node": quitter, "openBatches": 1}

    result = net.settlement(net.finalize(batch_id))
    _, slash = expiry_penalty(net.params)
    assert result["settled"][quitter] == (1, -net.params.slashPenalty, slash)
    released = net.client_for(quitter).transact("releaseStake")
    assert net.owner.receipt_events(released, "StakeReleased")[0]["args"]["amount"] == STAKE + slash
    assert (stake(net, quitter), balance(net, quitter)) == (0, STAKE + slash)
    _, later = open_drawn(net, 4)  # batches opened after the exit never draw the node
    assert quitter not in later.participants


def test_exit_before_the_draw_still_owes_the_batches_opened_before(make_devnet: Any) -> None:
    net = build(make_devnet, n_inference=1)
    node = net.inference[0]
    batch_id, _ = net.open_batch(with_reference=False)
    receipt = node.transact("requestExit")  # after the open, before the draw
    assert net.owner.receipt_events(receipt, "ExitRequested")[0]["args"]["exitBatch"] == batch_id
    with pytest.raises(reverts.NoInferenceNodes):  # out of the pool at once
        net.open_batch()
    advance_time(net.w3, net.params.unbondingDelay + 1)
    with pytest.raises(reverts.DrawsPending) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender, "exitBatch": batch_id, "drawnBatches": 0}

    drawn, _ = net.draw(batch_id)  # drawn from the pools as they stood at the open
    assert drawn.node_of(0) == node.sender
    with pytest.raises(reverts.NodeHasOpenBatches) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender, "openBatches": 1}
    answer_all(net, batch_id)  # an exiting node still serves its batches
    commit_all(net, batch_id, 8_000)
    for evaluator in drawn.evaluators:
        net.reveal(batch_id, evaluator)
    result = net.settlement(net.finalize(batch_id))
    assert result["settled"][node.sender][2] > 0
    released = node.transact("releaseStake")
    assert net.owner.receipt_events(released, "StakeReleased")[0]["args"]["amount"] == STAKE
    assert balance(net, node.sender) == STAKE + result["settled"][node.sender][2]


def test_release_stake_before_unbonding_over_reverts(net: Any) -> None:
    node = net.evaluators[0]
    with pytest.raises(reverts.NotExiting) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender}
    node.transact("requestExit")
    ends = int(net.owner.node(node.sender)["unbondingEnds"])
    advance_time(net.w3, net.params.unbondingDelay - 10)
    with pytest.raises(reverts.UnbondingNotOver) as err:
        node.transact("releaseStake")
    assert err.value.error_args == {"node": node.sender, "unbondingEnds": ends}
    assert (stake(net, node.sender), balance(net, node.sender)) == (STAKE, 0)


# ---------------------------------------------------------------- declared costs


def _commit_cost(net: Any, node: Any, latency: int, salt: bytes) -> int:
    epoch = to_next_epoch(net)  # the first second of an epoch: no boundary before the next step
    digest = commitments.cost_commitment(net.chain_id, net.owner.address, epoch, node.sender, latency, salt)
    node.transact("commitCost", digest)
    return epoch


def test_cost_reveal_with_wrong_salt_reverts_and_a_declared_cost_moves_no_reward(net: Any) -> None:
    net.play_batch(4)
    node = net.inference[0]
    cost = int(net.owner.call("normalizedCost", node.sender))
    _commit_cost(net, node, 1, SALT)  # claims to be the fastest node there is
    to_next_epoch(net)
    with pytest.raises(reverts.CostCommitmentMismatch) as err:
        node.transact("revealCost", 1, b"\x23" * 32)
    assert err.value.error_args == {"node": node.sender}
    with pytest.raises(reverts.CostCommitmentMismatch):  # nor another latency with the right salt
        node.transact("revealCost", 2, SALT)
    assert net.owner.node(node.sender)["declaredUs"] == 0
    receipt = node.transact("revealCost", 1, SALT)
    declared = net.owner.receipt_events(receipt, "CostDeclared")[0]["args"]
    view = net.owner.node(node.sender)
    assert (declared["declaredUs"], declared["measuredUs"]) == (1, view["costUs"])
    assert view["declaredUs"] == 1
    assert int(net.owner.call("normalizedCost", node.sender)) == cost  # a claim, checked, never paid for


def test_cost_reveal_without_commitment_reverts(net: Any) -> None:
    node = net.inference[0]
    with pytest.raises(reverts.NoCostCommitment) as err:
        node.transact("revealCost", 1_500, SALT)
    assert err.value.error_args == {"node": node.sender}


def test_cost_reveal_in_commit_epoch_reverts(net: Any) -> None:
    node = net.inference[0]
    epoch = _commit_cost(net, node, 1_500, SALT)
    with pytest.raises(reverts.CostRevealOutsideEpoch) as err:
        node.transact("revealCost", 1_500, SALT)
    assert err.value.error_args == {"node": node.sender, "commitEpoch": epoch, "currentEpoch": epoch}
    assert net.owner.node(node.sender)["declaredUs"] == 0


def test_cost_reveal_two_epochs_later_reverts(net: Any) -> None:
    node = net.inference[0]
    epoch = _commit_cost(net, node, 1_500, SALT)
    to_next_epoch(net)
    to_next_epoch(net)
    with pytest.raises(reverts.CostRevealOutsideEpoch) as err:
        node.transact("revealCost", 1_500, SALT)
    assert err.value.error_args == {"node": node.sender, "commitEpoch": epoch, "currentEpoch": epoch + 2}


def test_cost_commit_twice_in_an_epoch_and_zero_latency_revert(net: Any) -> None:
    node = net.inference[0]
    epoch = _commit_cost(net, node, 0, SALT)
    with pytest.raises(reverts.CostAlreadyCommitted) as err:
        node.transact("commitCost", b"\x01" * 32)
    assert err.value.error_args == {"node": node.sender, "epoch": epoch}
    to_next_epoch(net)
    with pytest.raises(reverts.LatencyOutOfRange) as err:
        node.transact("revealCost", 0, SALT)
    assert err.value.error_args == {"latencyUs": 0}


def test_cost_report_by_non_node_reverts(net: Any) -> None:
    outsider = stranger(net)
    with pytest.raises(reverts.NotActive) as err:
        outsider.transact("commitCost", b"\x01" * 32)
    assert err.value.error_args == {"node": outsider.sender}
    with pytest.raises(reverts.NotActive):
        outsider.transact("revealCost", 1, SALT)


# ---------------------------------------------------------------- deployment


def _deployer(w3: Any, index: int = 0) -> Any:
    account = dev_account(STRANGER_KEY + index)
    fund_accounts(w3, [account.address], FUNDING_WEI)
    return account


def _deploy_reverts(w3: Any, account: Any, artifact: Any, *args: Any) -> Any:
    with pytest.raises(TransactionFailed) as err:
        deploy_contract(w3, account, artifact, *args)
    return reverts.decode_revert(err.value, artifact.abi)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("k", 0),
        ("k", 4),
        ("aggregation", 4),
        ("trustLambda", WAD + 1),
        ("trustMin", 0),
        ("trustMin", WAD + 1),
        ("trustMax", WAD - 1),
        ("trustMax", 18 * WAD + 1),
        ("trustInitial", WAD // 10 - 1),  # below the default trustMin of 0.1
        ("trustInitial", 2 * WAD + 1),  # above the default trustMax of 2
        ("maxPoolSize", 2),  # below k = 3
        ("maxPoolSize", 33),  # above the 32 entries a pool can hold
        ("maxBatchSize", 0),
        ("maxBatchSize", 257),  # a batch's expired tasks must fit one 256-bit mask
        ("costSmoothing", 0),
        ("costSmoothing", WAD + 1),
        ("minStake", 0),
        ("minStake", 2**88),
        ("epochLength", 0),
        ("alphaF", 10**6 * WAD + 1),
        ("rewardUnit", 10**30 + 1),
        ("trustRule", 3),
        ("evaluatorReward", 2),
        ("costRule", 2),
        ("costQuantile", 0),
        ("costQuantile", WAD),  # the quantile must leave some stake above it
        ("feeRule", 2),
        ("referenceBond", 2**88),
    ],
)
def test_invalid_deployment_parameter_reverts(poq_artifacts: Any, field: str, value: int) -> None:
    from offchain.chain.connect import embedded_web3

    with pytest.raises(ConfigError, match=field):  # the Python Params refuses it first
        Params(**{field: value})
    raw = list(Params().as_tuple())
    raw[[f.name for f in fields(Params)].index(field)] = value
    w3 = embedded_web3()
    account = _deployer(w3)
    # both contracts check: the batch module, and ProofOfQuality before it even looks at its module
    for name, args in (("PoQBatchModule", (tuple(raw),)), ("ProofOfQuality", (tuple(raw), account.address))):
        decoded = _deploy_reverts(w3, account, poq_artifacts.get(name), *args)
        assert isinstance(decoded, reverts.InvalidParameter), name
        assert decoded.error_args == {"name": field, "value": value}


@pytest.mark.parametrize("module", ["other slashPenalty", "other treasury", "deployed by another key", "no code"])
def test_poq_with_a_module_of_other_parameters_reverts(poq_artifacts: Any, module: str) -> None:
    """The module runs in the PoQ contract's storage with its own immutables: one deployed with other
    parameters (a zero slash, another treasury) would settle by other rules."""
    from offchain.chain.connect import embedded_web3

    w3 = embedded_web3()
    account, other = _deployer(w3), _deployer(w3, 1)
    params = {
        "other slashPenalty": replace(Params(), slashPenalty=0),
        "other treasury": replace(Params(), treasury=int(other.address, 16)),
    }.get(module, Params())
    if module == "no code":
        address = other.address
    else:  # Params() names no treasury: a module deployed by another key resolves it to that key
        by = other if module == "deployed by another key" else account
        address, _ = deploy_contract(w3, by, poq_artifacts.get("PoQBatchModule"), params.as_tuple())
    decoded = _deploy_reverts(w3, account, poq_artifacts.get("ProofOfQuality"), Params().as_tuple(), address)
    assert isinstance(decoded, reverts.InvalidParameter)
    assert decoded.error_args == {"name": "module", "value": int(address, 16)}


def test_batch_module_called_directly_reverts(net: Any, poq_artifacts: Any) -> None:
    module_address = net.owner.manifest.module
    module = client_for_contract(net, module_address, poq_artifacts.get("PoQBatchModule").abi, net.requester.account)
    batch_id, _ = net.open_batch()
    advance_time(net.w3, 1)
    for name, *args in (("draw",), ("settle", [], [])):
        with pytest.raises(reverts.NotDelegated):
            module.transact(name, batch_id, *args)
    assert int(net.owner.call("drawnCount")) == 0
    assert net.w3.eth.get_balance(module_address) == 0
    net.draw(batch_id)  # through the PoQ contract's delegatecall it works
    assert int(net.owner.call("drawnCount")) == 1
