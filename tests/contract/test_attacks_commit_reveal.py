"""Attacks on score commit-reveal and on the reference reveal: each test fails if the attack works.

Every attack must revert with its named error and arguments, and leave the honest parties' state
(commitments, scores, payouts) as if it had never been tried. Gas estimation is on, so reverts are
decoded from the estimate.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.deployer import deploy_contract
from deploy.devnet import advance_time
from offchain.chain import reverts
from offchain.protocol import commitments, settle_round
from tests.contract.helpers import (
    UNREPORTED_COST,
    balance,
    open_in_commit,
    open_in_reveal,
    phase,
    settled,
    stake,
    stranger,
)

SALT = b"\x11" * 32


def _task(net: Any, task_id: int) -> dict[str, Any]:
    return net.owner.task(task_id)


# ---------------------------------------------------------------- copying and replaying commitments


def test_copied_commitment_cannot_be_revealed_by_the_copier(devnet: Any) -> None:
    task_id, _, (honest, copier, third) = open_in_commit(devnet)
    receipt = devnet.commit(task_id, honest, 8_000)
    copied = devnet.owner.receipt_events(receipt, "ScoreCommitted")[0]["args"]["commitment"]
    devnet.client_for(copier).transact("commitScore", task_id, copied)
    devnet.commit(task_id, third, 8_000)
    assert phase(devnet, task_id) == "Reveal"

    reveal = devnet.reveal(task_id, honest)
    # The copier learns the honest score and salt from the public reveal transaction...
    tx = devnet.w3.eth.get_transaction(reveal["transactionHash"])
    _, args = devnet.owner.contract.decode_function_input(tx["input"])
    assert args["score"] == 8_000
    # ...and still cannot open the copied commitment: it binds the honest evaluator's address.
    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(copier).transact("revealScore", task_id, args["score"], args["salt"])
    assert err.value.error_args == {"taskId": task_id, "evaluator": copier}

    devnet.reveal(task_id, third)
    advance_time(devnet.w3, devnet.params.revealWindow + 1)
    final = devnet.finalize(task_id)
    task = _task(devnet, task_id)
    assert task["revealed"] == [True, False, True]
    expected = settle_round(
        devnet.params, task["fee"], [8_000, None, 8_000], UNREPORTED_COST, [UNREPORTED_COST] * 3
    )
    events = settled(devnet, final)
    assert events[honest] == (expected.evaluator_rewards[0], expected.evaluator_wei[0])
    assert balance(devnet, honest) == expected.evaluator_wei[0] > 0
    assert events[copier] == (-devnet.params.slashPenalty, expected.evaluator_wei[1])
    assert stake(devnet, copier) == 5 * 10**18 + expected.evaluator_wei[1]
    assert balance(devnet, copier) == 0


def test_commitment_replayed_on_another_task_reverts(devnet: Any) -> None:
    first, _, seats = open_in_reveal(devnet, [7_000, 7_000, 7_000])
    evaluator = seats[0]
    score, salt = devnet.salts[(first, evaluator.lower())]
    second, _, second_seats = open_in_commit(devnet)
    assert evaluator in second_seats  # K = 3 of 3 evaluators: everyone sits on every task
    replayed = commitments.score_commitment(
        devnet.chain_id, devnet.owner.address, first, evaluator, score, salt
    )
    devnet.client_for(evaluator).transact("commitScore", second, replayed)
    for other in second_seats:
        if other != evaluator:
            devnet.commit(second, other, 7_000)

    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(evaluator).transact("revealScore", second, score, salt)
    assert err.value.error_args == {"taskId": second, "evaluator": evaluator}
    assert _task(devnet, second)["revealed"][second_seats.index(evaluator)] is False
    devnet.reveal(first, evaluator)  # the original commitment still opens on its own task
    assert _task(devnet, first)["scores"][0] == score


def test_commitment_for_another_chain_id_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    evaluator = seats[0]
    # What this contract accepts is bound to this chain's id (a contract that ignored the chain id
    # would accept the same digest on every chain), and the digest for chain id + 1 differs.
    own = commitments.score_commitment(devnet.chain_id, devnet.owner.address, task_id, evaluator, 6_000, SALT)
    assert devnet.owner.call("scoreCommitment", task_id, evaluator, 6_000, SALT) == own
    foreign = commitments.score_commitment(
        devnet.chain_id + 1, devnet.owner.address, task_id, evaluator, 6_000, SALT
    )
    devnet.client_for(evaluator).transact("commitScore", task_id, foreign)
    for other in seats[1:]:
        devnet.commit(task_id, other, 6_000)

    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(evaluator).transact("revealScore", task_id, 6_000, SALT)
    assert err.value.error_args == {"taskId": task_id, "evaluator": evaluator}
    assert _task(devnet, task_id)["revealed"] == [False, False, False]


def test_commitment_for_another_deployment_reverts(devnet: Any, poq_artifacts: Any) -> None:
    twin_address, _ = deploy_contract(
        devnet.w3, devnet.owner.account, poq_artifacts.get("ProofOfQuality"), devnet.params.as_tuple()
    )
    twin = devnet.w3.eth.contract(address=twin_address, abi=devnet.owner.manifest.abi)
    task_id, _, seats = open_in_commit(devnet)
    evaluator = seats[0]
    # The same chain, task id, evaluator, score and salt, but the twin contract's address.
    foreign = twin.functions.scoreCommitment(task_id, evaluator, 6_000, SALT).call()
    assert foreign == commitments.score_commitment(
        devnet.chain_id, twin_address, task_id, evaluator, 6_000, SALT
    )
    assert foreign != devnet.owner.call("scoreCommitment", task_id, evaluator, 6_000, SALT)
    devnet.client_for(evaluator).transact("commitScore", task_id, foreign)
    for other in seats[1:]:
        devnet.commit(task_id, other, 6_000)

    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(evaluator).transact("revealScore", task_id, 6_000, SALT)
    assert err.value.error_args == {"taskId": task_id, "evaluator": evaluator}


# ---------------------------------------------------------------- bad reveals


def test_reveal_with_wrong_salt_reverts_and_commitment_stays_valid(devnet: Any) -> None:
    task_id, _, seats = open_in_reveal(devnet, [9_000, 5_000, 5_000])
    evaluator = seats[0]
    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(evaluator).transact("revealScore", task_id, 9_000, SALT)
    assert err.value.error_args == {"taskId": task_id, "evaluator": evaluator}
    assert _task(devnet, task_id)["revealed"][0] is False

    devnet.reveal(task_id, evaluator)
    task = _task(devnet, task_id)
    assert task["revealed"][0] is True
    assert task["scores"][0] == 9_000


def test_reveal_of_another_score_than_committed_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_reveal(devnet, [2_000, 5_000, 5_000])
    evaluator = seats[0]
    _, salt = devnet.salts[(task_id, evaluator.lower())]
    with pytest.raises(reverts.CommitmentMismatch) as err:
        devnet.client_for(evaluator).transact("revealScore", task_id, 5_000, salt)
    assert err.value.error_args == {"taskId": task_id, "evaluator": evaluator}
    assert _task(devnet, task_id)["scores"][0] == 0


def test_reveal_before_commit_phase_closes_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    devnet.commit(task_id, seats[0], 7_000)  # two seats have not committed yet
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.reveal(task_id, seats[0])
    assert err.value.error_args == {"taskId": task_id, "expected": "Reveal", "actual": "Commit"}
    assert _task(devnet, task_id)["revealed"] == [False, False, False]


def test_reveal_after_deadline_reverts_and_late_evaluator_is_slashed(devnet: Any) -> None:
    task_id, _, seats = open_in_reveal(devnet, [7_000, 7_000, 7_000])
    devnet.reveal(task_id, seats[0])
    devnet.reveal(task_id, seats[1])
    advance_time(devnet.w3, devnet.params.revealWindow + 1)
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.reveal(task_id, seats[2])
    assert err.value.error_args == {"taskId": task_id, "expected": "Reveal", "actual": "Closed"}

    final = devnet.finalize(task_id)
    assert settled(devnet, final)[seats[2]] == (-devnet.params.slashPenalty, -(10**16))
    assert stake(devnet, seats[2]) == 5 * 10**18 - 10**16


def test_double_commit_reverts_and_first_commitment_stands(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    evaluator = seats[0]
    devnet.commit(task_id, evaluator, 3_000)
    first = devnet.salts[(task_id, evaluator.lower())]
    second = commitments.score_commitment(
        devnet.chain_id, devnet.owner.address, task_id, evaluator, 9_000, SALT
    )
    with pytest.raises(reverts.AlreadyCommitted) as err:
        devnet.client_for(evaluator).transact("commitScore", task_id, second)
    assert err.value.error_args == {"taskId": task_id, "evaluator": evaluator}

    for other in seats[1:]:
        devnet.commit(task_id, other, 3_000)
    with pytest.raises(reverts.CommitmentMismatch):  # the overwrite did not take
        devnet.client_for(evaluator).transact("revealScore", task_id, 9_000, SALT)
    devnet.client_for(evaluator).transact("revealScore", task_id, *first)
    assert _task(devnet, task_id)["scores"][0] == 3_000


def test_double_reveal_reverts_and_score_stands(devnet: Any) -> None:
    task_id, _, seats = open_in_reveal(devnet, [4_000, 6_000, 6_000])
    devnet.reveal(task_id, seats[0])
    with pytest.raises(reverts.AlreadyRevealed) as err:
        devnet.reveal(task_id, seats[0])
    assert err.value.error_args == {"taskId": task_id, "evaluator": seats[0]}
    with pytest.raises(reverts.AlreadyRevealed):  # nor with another score and a fresh salt
        devnet.client_for(seats[0]).transact("revealScore", task_id, 9_000, SALT)
    task = _task(devnet, task_id)
    assert task["scores"][0] == 4_000
    assert phase(devnet, task_id) == "Reveal"


def test_reveal_without_commit_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    devnet.commit(task_id, seats[0], 5_000)
    devnet.commit(task_id, seats[1], 5_000)
    advance_time(devnet.w3, devnet.params.commitWindow + 1)
    with pytest.raises(reverts.NotCommitted) as err:
        devnet.client_for(seats[2]).transact("revealScore", task_id, 5_000, SALT)
    assert err.value.error_args == {"taskId": task_id, "evaluator": seats[2]}


def test_commit_after_commit_deadline_reverts(devnet: Any) -> None:
    task_id, _, seats = open_in_commit(devnet)
    devnet.commit(task_id, seats[0], 5_000)
    advance_time(devnet.w3, devnet.params.commitWindow + 1)
    with pytest.raises(reverts.WrongPhase) as err:
        devnet.commit(task_id, seats[1], 5_000)
    assert err.value.error_args == {"taskId": task_id, "expected": "Commit", "actual": "Reveal"}
    assert _task(devnet, task_id)["committed"] == [True, False, False]


def test_score_above_max_reverts_even_with_matching_commitment(devnet: Any) -> None:
    task_id, _, seats = open_in_reveal(devnet, [10_001, 5_000, 5_000])
    with pytest.raises(reverts.ScoreOutOfRange) as err:
        devnet.reveal(task_id, seats[0])
    assert err.value.error_args == {"score": 10_001, "maxScore": 10_000}
    assert _task(devnet, task_id)["revealed"][0] is False


# ---------------------------------------------------------------- who may commit


def test_commit_by_unselected_evaluator_reverts(make_devnet: Any) -> None:
    net = make_devnet(n_evaluators=4, stake=5 * 10**18)  # K = 3 of 4: one evaluator sits out
    task_id, _, seats = open_in_commit(net)
    outsider = next(e.sender for e in net.evaluators if e.sender not in seats)
    digest = commitments.score_commitment(net.chain_id, net.owner.address, task_id, outsider, 5_000, SALT)
    with pytest.raises(reverts.NotSelectedEvaluator) as err:
        net.client_for(outsider).transact("commitScore", task_id, digest)
    assert err.value.error_args == {"taskId": task_id, "evaluator": outsider}
    assert _task(net, task_id)["committed"] == [False, False, False]
    assert net.owner.node(outsider)["openAssignments"] == 0


@pytest.mark.parametrize("who", ["stranger", "requester", "inference node"])
def test_commit_by_non_evaluator_reverts(devnet: Any, who: str) -> None:
    task_id, node, _ = open_in_commit(devnet)
    if who == "stranger":
        caller = stranger(devnet)
    else:
        caller = devnet.requester if who == "requester" else devnet.client_for(node)
    digest = commitments.score_commitment(
        devnet.chain_id, devnet.owner.address, task_id, caller.sender, 1, SALT
    )
    with pytest.raises(reverts.NotSelectedEvaluator) as err:
        caller.transact("commitScore", task_id, digest)
    assert err.value.error_args == {"taskId": task_id, "evaluator": caller.sender}
    assert phase(devnet, task_id) == "Commit"


# ---------------------------------------------------------------- the requester's reference


def test_reference_with_wrong_text_reverts(devnet: Any) -> None:
    task_id, _, _ = devnet.open_task(reference="Paris")
    devnet.answer(task_id)
    _, salt = devnet.references[task_id]
    with pytest.raises(reverts.ReferenceMismatch) as err:
        devnet.requester.transact("revealReference", task_id, "paris", salt)
    assert err.value.error_args == {"taskId": task_id}
    with pytest.raises(reverts.ReferenceMismatch):
        devnet.requester.transact("revealReference", task_id, "Paris", SALT)
    assert phase(devnet, task_id) == "Answered"
    devnet.reveal_reference(task_id)
    assert phase(devnet, task_id) == "Commit"


def test_reference_revealed_by_non_requester_reverts(devnet: Any) -> None:
    task_id, node, _ = devnet.open_task(reference="Paris")
    devnet.answer(task_id)
    reference, salt = devnet.references[task_id]
    for caller in (devnet.client_for(node), stranger(devnet)):
        with pytest.raises(reverts.NotRequester) as err:
            caller.transact("revealReference", task_id, reference, salt)
        assert err.value.error_args == {"taskId": task_id, "caller": caller.sender}
    assert phase(devnet, task_id) == "Answered"


def test_reference_reveal_without_reference_reverts(devnet: Any) -> None:
    task_id, _, _ = devnet.open_task(reference=None)
    with pytest.raises(reverts.NoReference) as err:
        devnet.requester.transact("revealReference", task_id, "anything", SALT)
    assert err.value.error_args == {"taskId": task_id}


# ---------------------------------------------------------------- the Python commitments match


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    task_id=st.integers(min_value=0, max_value=2**256 - 1),
    score=st.integers(min_value=0, max_value=2**16 - 1),
    salt=st.binary(min_size=32, max_size=32),
)
def test_python_score_commitment_equals_contract_view(
    devnet: Any, task_id: int, score: int, salt: bytes
) -> None:
    evaluator = devnet.evaluators[0].sender
    python = commitments.score_commitment(
        devnet.chain_id, devnet.owner.address, task_id, evaluator, score, salt
    )
    assert python == devnet.owner.call("scoreCommitment", task_id, evaluator, score, salt)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    epoch=st.integers(min_value=0, max_value=2**256 - 1),
    latency=st.integers(min_value=0, max_value=2**32 - 1),
    salt=st.binary(min_size=32, max_size=32),
)
def test_python_cost_commitment_equals_contract_view(
    devnet: Any, epoch: int, latency: int, salt: bytes
) -> None:
    node = devnet.inference[0].sender
    python = commitments.cost_commitment(devnet.chain_id, devnet.owner.address, epoch, node, latency, salt)
    assert python == devnet.owner.call("costCommitment", epoch, node, latency, salt)


@pytest.mark.parametrize("reference", ["", "Paris", "naïve café ☕ " * 40])
def test_python_reference_commitment_is_accepted(devnet: Any, reference: str) -> None:
    task_id, _, _ = devnet.open_task(reference=reference)
    devnet.answer(task_id)
    _, salt = devnet.references[task_id]
    assert devnet.owner.task(task_id)["referenceCommitment"] == commitments.reference_commitment(
        reference, salt
    )
    receipt = devnet.reveal_reference(task_id)
    assert devnet.owner.receipt_events(receipt, "ReferenceRevealed")[0]["args"]["referenceText"] == reference
    assert phase(devnet, task_id) == "Commit"
