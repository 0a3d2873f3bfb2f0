"""Attacks on score commit-reveal: each test fails if the attack works.

An evaluator commits one hash over its scores for all its seats of a batch (seat order) and reveals
them in one call (the references' commit-reveal: test_attacks_references.py). Every attack must revert
with its named error and arguments and leave the honest parties' state (flags, scores, payouts) as if
it had never been tried.
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy.deployer import deploy_poq
from deploy.devnet import advance_time
from offchain.chain import reverts
from offchain.chain.batches import finalize_arguments, revealed_scores
from offchain.protocol import commitments, wad
from offchain.protocol.types import COMMITTED, REVEALED
from tests.contract.helpers import (
    STAKE,
    answered,
    balance,
    build,
    commit_all,
    expect,
    expected_events,
    flags,
    stage,
    stake,
    stranger,
)

SALT = b"\x11" * 32


def _revealed(net: Any, batch_id: int) -> dict[str, list[int]]:
    """The ScoresRevealed events of a batch: evaluator -> scores."""
    return {str(e["args"]["evaluator"]): list(e["args"]["scores"])
            for e in net.owner.events("ScoresRevealed", batchId=batch_id)}


def _committed_batch(net: Any, scores: list[int]) -> tuple[int, list[str]]:
    """A batch of one, answered, whose seat j committed [scores[j]]: it is Revealing. (batch id, panel)."""
    batch_id, drawn = answered(net)
    panel = drawn.panel_of(0)
    for address, score in zip(panel, scores, strict=True):
        net.commit(batch_id, address, [score])
    return batch_id, panel


# ---------------------------------------------------------------- copying and replaying commitments


def test_copied_commitment_cannot_be_revealed_by_the_copier(net: Any) -> None:
    batch_id, drawn = answered(net, 2)  # K = 3 of 3: each evaluator holds one seat per task
    honest, copier, third = drawn.evaluators
    receipt = net.commit(batch_id, honest, [8_000, 2_000])
    copied = net.owner.receipt_events(receipt, "ScoresCommitted")[0]["args"]["commitment"]
    net.client_for(copier).transact("commitScores", batch_id, copied)
    net.commit(batch_id, third, [8_000, 2_000])
    assert stage(net, batch_id) == "Revealing"

    reveal = net.reveal(batch_id, honest)
    # The copier learns the honest scores and salt from the public reveal transaction...
    tx = net.w3.eth.get_transaction(reveal["transactionHash"])
    _, args = net.owner.contract.decode_function_input(tx["input"])
    assert list(args["scores"]) == [8_000, 2_000]
    # ...and still cannot open the copied commitment: it binds the honest evaluator's address.
    with pytest.raises(reverts.CommitmentMismatch) as err:
        net.client_for(copier).transact("revealScores", batch_id, list(args["scores"]), args["salt"])
    assert err.value.error_args == {"batchId": batch_id, "evaluator": copier}
    assert flags(net, batch_id, copier) == COMMITTED

    net.reveal(batch_id, third)
    advance_time(net.w3, net.params.revealWindow + 1)
    revealed = {honest: [8_000, 2_000], third: [8_000, 2_000]}
    expected = expect(net, batch_id, revealed)
    result = net.settlement(net.finalize(batch_id))
    assert _revealed(net, batch_id) == revealed
    assert result["settled"] == expected_events(net, batch_id, expected, {a: STAKE for a in drawn.participants})
    assert balance(net, honest) == expected.parties[drawn.participants.index(honest)].credit > 0
    slash = wad.to_wei(-net.params.slashPenalty, net.params.rewardUnit)
    assert result["settled"][copier] == (2, -2 * net.params.slashPenalty, 2 * slash)
    assert stake(net, copier) == STAKE + 2 * slash
    assert balance(net, copier) == 0


def test_commitment_replayed_on_another_batch_reverts(net: Any) -> None:
    first, panel = _committed_batch(net, [7_000, 7_000, 7_000])
    evaluator = panel[0]
    scores, salt = net.salts[(first, evaluator.lower())]
    second, drawn = answered(net)
    assert evaluator in drawn.evaluators  # K = 3 of 3 evaluators: everyone sits on every task
    replayed = commitments.score_commitment(net.chain_id, net.owner.address, first, evaluator, scores, salt)
    net.client_for(evaluator).transact("commitScores", second, replayed)
    for other in drawn.evaluators:
        if other != evaluator:
            net.commit(second, other, [7_000])

    with pytest.raises(reverts.CommitmentMismatch) as err:
        net.client_for(evaluator).transact("revealScores", second, scores, salt)
    assert err.value.error_args == {"batchId": second, "evaluator": evaluator}
    assert flags(net, second, evaluator) == COMMITTED
    net.reveal(first, evaluator)  # the original commitment still opens on its own batch
    assert _revealed(net, first) == {evaluator: scores}
    assert _revealed(net, second) == {}


def test_commitment_for_another_chain_id_reverts(net: Any) -> None:
    batch_id, drawn = answered(net)
    evaluator = drawn.evaluators[0]
    # What this contract accepts is bound to this chain's id (a contract that ignored the chain id
    # would accept the same digest on every chain), and the digest for chain id + 1 differs.
    own = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, evaluator, [6_000], SALT)
    assert net.owner.call("scoreCommitment", batch_id, evaluator, [6_000], SALT) == own
    foreign = commitments.score_commitment(net.chain_id + 1, net.owner.address, batch_id, evaluator, [6_000], SALT)
    net.client_for(evaluator).transact("commitScores", batch_id, foreign)
    for other in drawn.evaluators[1:]:
        net.commit(batch_id, other, [6_000])

    with pytest.raises(reverts.CommitmentMismatch) as err:
        net.client_for(evaluator).transact("revealScores", batch_id, [6_000], SALT)
    assert err.value.error_args == {"batchId": batch_id, "evaluator": evaluator}
    assert [flags(net, batch_id, e) for e in drawn.evaluators] == [COMMITTED] * 3


def test_commitment_for_another_deployment_reverts(net: Any, poq_artifacts: Any, tmp_path: Any) -> None:
    twin = deploy_poq(net.w3, net.owner.account, net.params, artifacts=poq_artifacts,
                      deployments_dir=tmp_path / "twin")
    twin_poq = net.w3.eth.contract(address=twin.address, abi=twin.abi)
    batch_id, drawn = answered(net)
    evaluator = drawn.evaluators[0]
    # The same chain, batch id, evaluator, scores and salt, but the twin contract's address.
    foreign = twin_poq.functions.scoreCommitment(batch_id, evaluator, [6_000], SALT).call()
    assert foreign == commitments.score_commitment(net.chain_id, twin.address, batch_id, evaluator, [6_000], SALT)
    assert foreign != net.owner.call("scoreCommitment", batch_id, evaluator, [6_000], SALT)
    net.client_for(evaluator).transact("commitScores", batch_id, foreign)
    for other in drawn.evaluators[1:]:
        net.commit(batch_id, other, [6_000])

    with pytest.raises(reverts.CommitmentMismatch) as err:
        net.client_for(evaluator).transact("revealScores", batch_id, [6_000], SALT)
    assert err.value.error_args == {"batchId": batch_id, "evaluator": evaluator}


# ---------------------------------------------------------------- bad reveals


def test_reveal_with_wrong_salt_reverts_and_commitment_stays_valid(net: Any) -> None:
    batch_id, panel = _committed_batch(net, [9_000, 5_000, 5_000])
    evaluator = panel[0]
    with pytest.raises(reverts.CommitmentMismatch) as err:
        net.client_for(evaluator).transact("revealScores", batch_id, [9_000], SALT)
    assert err.value.error_args == {"batchId": batch_id, "evaluator": evaluator}
    assert flags(net, batch_id, evaluator) == COMMITTED

    net.reveal(batch_id, evaluator)
    assert flags(net, batch_id, evaluator) == COMMITTED | REVEALED
    assert _revealed(net, batch_id) == {evaluator: [9_000]}


def test_reveal_of_other_scores_than_committed_reverts(net: Any) -> None:
    batch_id, drawn = answered(net, 2)
    commit_all(net, batch_id, lambda t, _j, _e: [2_000, 7_000][t])
    evaluator = drawn.evaluators[0]
    _, salt = net.salts[(batch_id, evaluator.lower())]
    for other in ([5_000, 7_000], [7_000, 2_000]):  # another score, or the same scores on other seats
        with pytest.raises(reverts.CommitmentMismatch) as err:
            net.client_for(evaluator).transact("revealScores", batch_id, other, salt)
        assert err.value.error_args == {"batchId": batch_id, "evaluator": evaluator}
    assert flags(net, batch_id, evaluator) == COMMITTED
    assert _revealed(net, batch_id) == {}


def test_reveal_of_the_wrong_number_of_scores_reverts_even_with_matching_commitment(net: Any) -> None:
    batch_id, drawn = answered(net, 2)
    evaluator = drawn.evaluators[0]
    for other in drawn.evaluators[1:]:
        net.commit(batch_id, other, [5_000, 5_000])
    net.commit(batch_id, evaluator, [5_000, 5_000, 9_000])  # a hash over one score too many
    with pytest.raises(reverts.LengthMismatch) as err:
        net.reveal(batch_id, evaluator)
    assert err.value.error_args == {"expected": 2, "actual": 3}
    with pytest.raises(reverts.LengthMismatch) as err:
        net.client_for(evaluator).transact("revealScores", batch_id, [5_000], SALT)
    assert err.value.error_args == {"expected": 2, "actual": 1}
    assert flags(net, batch_id, evaluator) == COMMITTED


def test_reveal_before_committing_closes_reverts(net: Any) -> None:
    batch_id, drawn = answered(net)
    evaluator = drawn.evaluators[0]
    net.commit(batch_id, evaluator, [7_000])  # two evaluators have not committed yet
    with pytest.raises(reverts.WrongStage) as err:
        net.reveal(batch_id, evaluator)
    assert err.value.error_args == {"batchId": batch_id, "expected": "Revealing", "actual": "Committing"}
    assert [flags(net, batch_id, e) for e in drawn.evaluators] == [COMMITTED, 0, 0]


def test_reveal_after_deadline_reverts_and_late_evaluator_is_slashed(net: Any) -> None:
    batch_id, panel = _committed_batch(net, [7_000, 7_000, 7_000])
    net.reveal(batch_id, panel[0])
    net.reveal(batch_id, panel[1])
    advance_time(net.w3, net.params.revealWindow + 1)
    with pytest.raises(reverts.WrongStage) as err:
        net.reveal(batch_id, panel[2])
    assert err.value.error_args == {"batchId": batch_id, "expected": "Revealing", "actual": "Closed"}

    result = net.settlement(net.finalize(batch_id))
    slash = wad.to_wei(-net.params.slashPenalty, net.params.rewardUnit)
    assert result["settled"][panel[2]] == (1, -net.params.slashPenalty, slash) == (1, -net.params.slashPenalty,
                                                                                   -(10**16))
    assert stake(net, panel[2]) == STAKE + slash


def test_finalize_with_other_scores_than_revealed_reverts_and_pays_nothing(net: Any) -> None:
    """finalize takes the revealed scores as calldata: a finalizer (here the silent evaluator itself)
    that passes scores for a seat that never revealed, to escape its slash, or moves a revealed score,
    to move Q, is refused; the honest call then settles the batch with the silent seat slashed."""
    batch_id, panel = _committed_batch(net, [7_000, 7_000, 7_000])
    net.reveal(batch_id, panel[0])
    net.reveal(batch_id, panel[1])
    advance_time(net.w3, net.params.revealWindow + 1)
    silent = net.client_for(panel[2])
    honest = revealed_scores(net.owner, batch_id)
    seat = {address: i for i, address in enumerate(net.draws[batch_id].evaluators)}  # finalize's order
    assert honest[seat[panel[2]]] == []
    balances = {a: (stake(net, a), balance(net, a)) for a in panel}

    erased = [list(s) for s in honest]
    erased[seat[panel[2]]] = [7_000]  # as if the silent seat had revealed
    with pytest.raises(reverts.RevealedScoresMismatch) as err:
        silent.transact("finalize", batch_id, erased, [[7_000, 7_000]] * len(erased))
    assert err.value.error_args == {"batchId": batch_id, "evaluator": panel[2]}
    moved = [list(s) for s in honest]
    moved[seat[panel[0]]] = [10_000]  # a revealed score, changed
    with pytest.raises(reverts.RevealedScoresMismatch) as err:
        silent.transact("finalize", batch_id, moved, [[7_000, 7_000]] * len(moved))
    assert err.value.error_args == {"batchId": batch_id, "evaluator": panel[0]}
    assert stage(net, batch_id) == "Closed"
    assert {a: (stake(net, a), balance(net, a)) for a in panel} == balances

    result = net.settlement(net.finalize(batch_id, silent))
    assert result["settled"][panel[2]][1] == -net.params.slashPenalty


def test_finalize_with_false_middle_scores_reverts_and_pays_nothing(net: Any) -> None:
    """The peer rule splits each evaluator's scores at its median, which the finalizer passes as the two
    middle scores (the contract checks them in one pass instead of sorting). A finalizer that passes
    other middles, to move every sign of an evaluator, is refused with the values it gave."""
    batch_id, drawn = answered(net, size=5)
    scores = {e: [1_000 * (i + 1) + 10 * t for t, _ in enumerate(drawn.seats_of(e))]
              for i, e in enumerate(drawn.evaluators)}
    for evaluator, values in scores.items():
        net.commit(batch_id, evaluator, values)
    for evaluator in drawn.evaluators:
        net.reveal(batch_id, evaluator)
    revealed, middles = finalize_arguments(net.owner, batch_id)
    first = drawn.evaluators[0]
    assert middles[0] == list(wad.middles(scores[first]))
    before = {a: (stake(net, a), balance(net, a)) for a in drawn.participants}
    for lower, upper in ((middles[0][0] + 1, middles[0][1]), (0, 0), (10_000, 10_000)):
        false = [[lower, upper], *middles[1:]]
        with pytest.raises(reverts.MiddlesMismatch) as err:
            net.requester.transact("finalize", batch_id, revealed, false)
        assert err.value.error_args == {"batchId": batch_id, "evaluator": first, "lower": lower, "upper": upper}
    with pytest.raises(reverts.LengthMismatch):
        net.requester.transact("finalize", batch_id, revealed, middles[1:])
    assert stage(net, batch_id) == "Closed"
    assert {a: (stake(net, a), balance(net, a)) for a in drawn.participants} == before
    net.finalize(batch_id)
    assert stage(net, batch_id) == "Finalized"


def test_double_commit_reverts_and_first_commitment_stands(net: Any) -> None:
    batch_id, drawn = answered(net)
    evaluator = drawn.evaluators[0]
    net.commit(batch_id, evaluator, [3_000])
    first = net.salts[(batch_id, evaluator.lower())]
    second = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, evaluator, [9_000], SALT)
    with pytest.raises(reverts.AlreadyCommitted) as err:
        net.client_for(evaluator).transact("commitScores", batch_id, second)
    assert err.value.error_args == {"batchId": batch_id, "evaluator": evaluator}

    for other in drawn.evaluators[1:]:
        net.commit(batch_id, other, [3_000])
    with pytest.raises(reverts.CommitmentMismatch):  # the overwrite did not take
        net.client_for(evaluator).transact("revealScores", batch_id, [9_000], SALT)
    net.client_for(evaluator).transact("revealScores", batch_id, *first)
    assert _revealed(net, batch_id) == {evaluator: [3_000]}


def test_double_reveal_reverts_and_scores_stand(net: Any) -> None:
    batch_id, panel = _committed_batch(net, [4_000, 6_000, 6_000])
    net.reveal(batch_id, panel[0])
    with pytest.raises(reverts.AlreadyRevealed) as err:
        net.reveal(batch_id, panel[0])
    assert err.value.error_args == {"batchId": batch_id, "evaluator": panel[0]}
    with pytest.raises(reverts.AlreadyRevealed):  # nor with other scores and a fresh salt
        net.client_for(panel[0]).transact("revealScores", batch_id, [9_000], SALT)
    assert _revealed(net, batch_id) == {panel[0]: [4_000]}
    assert stage(net, batch_id) == "Revealing"


def test_reveal_without_commit_reverts(net: Any) -> None:
    batch_id, drawn = answered(net)
    first, second, silent = drawn.evaluators
    net.commit(batch_id, first, [5_000])
    net.commit(batch_id, second, [5_000])
    advance_time(net.w3, net.params.commitWindow + 1)
    with pytest.raises(reverts.NotCommitted) as err:
        net.client_for(silent).transact("revealScores", batch_id, [5_000], SALT)
    assert err.value.error_args == {"batchId": batch_id, "evaluator": silent}
    assert flags(net, batch_id, silent) == 0


def test_commit_after_commit_deadline_reverts(net: Any) -> None:
    batch_id, drawn = answered(net)
    net.commit(batch_id, drawn.evaluators[0], [5_000])
    advance_time(net.w3, net.params.commitWindow + 1)
    with pytest.raises(reverts.WrongStage) as err:
        net.commit(batch_id, drawn.evaluators[1], [5_000])
    assert err.value.error_args == {"batchId": batch_id, "expected": "Committing", "actual": "Revealing"}
    assert [flags(net, batch_id, e) for e in drawn.evaluators] == [COMMITTED, 0, 0]


def test_score_above_max_reverts_even_with_matching_commitment(net: Any) -> None:
    batch_id, drawn = answered(net, 2)
    evaluator = drawn.evaluators[0]
    commit_all(net, batch_id, lambda t, _j, e: 10_001 if (e, t) == (evaluator, 1) else [5_000, 10_000][t])
    with pytest.raises(reverts.ScoreOutOfRange) as err:
        net.reveal(batch_id, evaluator)
    assert err.value.error_args == {"score": 10_001, "maxScore": 10_000}
    assert flags(net, batch_id, evaluator) == COMMITTED
    net.reveal(batch_id, drawn.evaluators[1])  # 10_000 itself is in range
    assert _revealed(net, batch_id) == {drawn.evaluators[1]: [5_000, 10_000]}


# ---------------------------------------------------------------- who may commit


def test_commit_by_unselected_evaluator_reverts(make_devnet: Any) -> None:
    net = build(make_devnet, n_evaluators=4)  # K = 3 of 4: in a batch of one, one evaluator sits out
    batch_id, drawn = answered(net)
    outsider = next(e.sender for e in net.evaluators if e.sender not in drawn.evaluators)
    digest = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, outsider, [5_000], SALT)
    with pytest.raises(reverts.NotAssigned) as err:
        net.client_for(outsider).transact("commitScores", batch_id, digest)
    assert err.value.error_args == {"batchId": batch_id, "caller": outsider}
    assert [flags(net, batch_id, e) for e in drawn.evaluators] == [0, 0, 0]
    assert net.owner.node(outsider)["openBatches"] == 0


@pytest.mark.parametrize("who", ["stranger", "requester", "inference node"])
def test_commit_by_non_evaluator_reverts(net: Any, who: str) -> None:
    batch_id, drawn = answered(net)
    if who == "stranger":
        caller = stranger(net)
    else:
        caller = net.requester if who == "requester" else net.client_for(drawn.node_of(0))
    digest = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, caller.sender, [1], SALT)
    with pytest.raises(reverts.NotAssigned) as err:
        caller.transact("commitScores", batch_id, digest)
    assert err.value.error_args == {"batchId": batch_id, "caller": caller.sender}
    assert stage(net, batch_id) == "Committing"


# ---------------------------------------------------------------- selective non-reveal


def test_withholding_a_reveal_never_pays_more_than_revealing(net: Any) -> None:
    """An evaluator that sees the others' reveals and withholds its own, out-voted scores is slashed on
    every seat: -slashPenalty is below the worst reward a reveal can earn (d = 1, C = 1)."""
    p = net.params
    assert -p.slashPenalty <= wad.evaluator_reward(p.alphaM, p.betaM, wad.WAD, wad.WAD)
    batch_id, drawn = answered(net, 2)
    outlier = drawn.evaluators[-1]
    scores = commit_all(net, batch_id, lambda _t, _j, e: 0 if e == outlier else 10_000)
    honest = {e: s for e, s in scores.items() if e != outlier}
    for evaluator in honest:
        net.reveal(batch_id, evaluator)
    advance_time(net.w3, p.revealWindow + 1)
    if_revealed = expect(net, batch_id, scores)
    withheld = expect(net, batch_id, honest)
    result = net.settlement(net.finalize(batch_id))

    stakes = {a: STAKE for a in drawn.participants}
    assert result["settled"] == expected_events(net, batch_id, withheld, stakes)
    index = drawn.participants.index(outlier)
    paid_withholding = withheld.parties[index].credit - withheld.parties[index].debit
    paid_revealing = if_revealed.parties[index].credit - if_revealed.parties[index].debit
    assert result["settled"][outlier][2] == paid_withholding < paid_revealing
    for t, (row_withheld, row_revealed) in enumerate(zip(withheld.rewards, if_revealed.rewards, strict=True)):
        seat = 1 + drawn.panel_of(t).index(outlier)  # a row: the node's reward, then one per seat
        assert row_withheld[seat] == -p.slashPenalty <= row_revealed[seat]
