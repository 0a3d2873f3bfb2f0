"""Attacks on the requester's reference reveal, and the Python commitments (scores, costs,
references) checked against what the contract computes and accepts.

The requester commits the batch's references at the open and reveals them once the answers are in;
a reveal with other texts, another order, another salt or another caller must revert with its named
error and arguments, and leave the batch where it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.chain import reverts
from offchain.protocol import commitments
from tests.contract.helpers import open_drawn, stage, stranger, to_next_epoch

SALT = b"\x11" * 32


# ---------------------------------------------------------------- the requester's references


def test_references_with_wrong_text_order_or_salt_revert(net: Any) -> None:
    batch_id, drawn = open_drawn(net, 2, references=["Paris", "Rome"])
    for node in drawn.nodes:
        net.answer(batch_id, node)
    _, salt = net.references[batch_id]
    for texts, with_salt in ((["paris", "Rome"], salt), (["Rome", "Paris"], salt), (["Paris", "Rome"], SALT)):
        with pytest.raises(reverts.ReferenceMismatch) as err:
            net.requester.transact("revealReferences", batch_id, texts, with_salt)
        assert err.value.error_args == {"batchId": batch_id}
    with pytest.raises(reverts.LengthMismatch) as err:
        net.requester.transact("revealReferences", batch_id, ["Paris"], salt)
    assert err.value.error_args == {"expected": 2, "actual": 1}
    assert stage(net, batch_id) == "Referencing"
    net.reveal_references(batch_id)
    assert stage(net, batch_id) == "Committing"


def test_references_revealed_by_non_requester_revert(net: Any) -> None:
    batch_id, drawn = open_drawn(net, references=["Paris"])
    net.answer(batch_id, drawn.node_of(0))
    references, salt = net.references[batch_id]
    for caller in (net.client_for(drawn.node_of(0)), stranger(net)):
        with pytest.raises(reverts.NotRequester) as err:
            caller.transact("revealReferences", batch_id, references, salt)
        assert err.value.error_args == {"batchId": batch_id, "caller": caller.sender}
    assert stage(net, batch_id) == "Referencing"


def test_reference_reveal_without_reference_reverts(net: Any) -> None:
    batch_id, _ = open_drawn(net, with_reference=False)
    with pytest.raises(reverts.NoReference) as err:
        net.requester.transact("revealReferences", batch_id, ["anything"], SALT)
    assert err.value.error_args == {"batchId": batch_id}


# ---------------------------------------------------------------- the Python commitments match


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch_id=st.integers(min_value=0, max_value=2**256 - 1),
    scores=st.lists(st.integers(min_value=0, max_value=2**16 - 1), max_size=40),
    salt=st.binary(min_size=32, max_size=32),
)
def test_python_score_commitment_equals_contract_view(net: Any, batch_id: int, scores: list[int], salt: bytes) -> None:
    evaluator = net.evaluators[0].sender
    python = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, evaluator, scores, salt)
    assert python == net.owner.call("scoreCommitment", batch_id, evaluator, scores, salt)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    latency=st.one_of(st.just(1), st.just(2**32 - 1), st.integers(min_value=1, max_value=2**32 - 1)),
    salt=st.binary(min_size=32, max_size=32),
)
def test_python_cost_commitment_is_accepted_by_the_contract(net: Any, latency: int, salt: bytes) -> None:
    # The contract has no view for it (the epoch is the commit's own): a reveal in the next epoch accepts it.
    node = net.inference[0]
    epoch = to_next_epoch(net)  # the first second of an epoch: the commit lands in it
    node.transact("commitCost", commitments.cost_commitment(net.chain_id, net.owner.address, epoch, node.sender,
                                                            latency, salt))
    to_next_epoch(net)
    receipt = node.transact("revealCost", latency, salt)
    declared = net.owner.receipt_events(receipt, "CostDeclared")[0]["args"]
    assert (declared["epoch"], declared["declaredUs"]) == (epoch, latency)


def test_python_reference_commitment_is_accepted(net: Any) -> None:
    for references in ([""], ["Paris"], ["naïve café ☕ " * 40], ["", "Paris", "naïve café ☕ " * 40]):
        batch_id, drawn = open_drawn(net, len(references), references=references)
        opened = net.owner.events("BatchOpened", batchId=batch_id)[0]["args"]
        _, salt = net.references[batch_id]
        assert opened["referenceCommitment"] == commitments.reference_commitment(references, salt)
        for node in drawn.nodes:
            net.answer(batch_id, node)
        receipt = net.reveal_references(batch_id)
        assert net.owner.receipt_events(receipt, "ReferencesRevealed")[0]["args"]["references"] == references
        assert stage(net, batch_id) == "Committing"
