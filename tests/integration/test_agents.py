"""Live agents against a real anvil with real (smallest) models: batches, crashes, restarts, expiry.

Each node is its own `poq agent run` process (SmolLM2-135M answers, all-MiniLM-L6-v2 scores) that
gets its events over a websocket subscription; the requester runs in the test process. K = 2, so
one evaluator's absence holds the commit stage open.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offchain.protocol import WAD, Params, wad
from offchain.protocol.types import Role
from tests.integration.fleet_support import Fleet, drive

pytestmark = [pytest.mark.anvil, pytest.mark.models, pytest.mark.slow]

QUESTION = "Context: Super Bowl 50 was won by the Denver Broncos.\n\nQuestion: Which team won Super Bowl 50?"


def _installed(*names: str) -> bool:
    from offchain.models.packages import is_installed

    return all(is_installed(n) for n in names)


if not _installed("smollm2-135m", "minilm-l6"):
    pytestmark.append(pytest.mark.skip(reason="model weights not installed: run scripts/install-models.sh"))


@pytest.fixture
def make_fleet(anvil_chain: str, tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    fleets: list[Fleet] = []

    def build(**overrides: int) -> Fleet:
        params = Params(
            k=2, epochLength=5, answerWindow=240, referenceWindow=30, commitWindow=90, revealWindow=90
        ).with_overrides(overrides)
        fleet = Fleet(anvil_chain, tmp_path, params)
        fleets.append(fleet)
        return fleet

    yield build
    for fleet in fleets:
        fleet.close()


def _records(n: int = 2) -> list[Any]:
    from offchain.data import Record

    context, question = QUESTION.removeprefix("Context: ").split("\n\nQuestion: ")
    return [Record(id=f"sb50-{i}", task="extractive_qa", input=QUESTION + " " * i, reference="Denver Broncos",
                   context=context, question=question) for i in range(n)]


def test_full_batch_end_to_end(make_fleet: Callable[..., Fleet]) -> None:
    fleet = make_fleet()
    fleet.agent("inference", "smollm2-135m", 2)
    fleet.agent("evaluator", "minilm-l6", 3)
    fleet.agent("evaluator", "minilm-l6", 4)
    fleet.wait(lambda: all(fleet.registered(k) for k in (2, 3, 4)), "agents to register")
    requester = fleet.requester(_records(2), batch_size=2)
    drive(fleet, requester)

    settled = requester.settled()
    assert [row[0] for row in settled] == [1, 2]  # both tasks of the batch
    (revealed_a, revealed_b) = [e["args"]["scores"] for e in fleet.events("ScoresRevealed", batchId=1)]
    for task_index, (_, _, data) in enumerate(settled):
        scores = [int(revealed_a[task_index]), int(revealed_b[task_index])]  # both evaluators sit on both tasks
        assert data["quality"] == wad.quality(*wad.center(scores)) / WAD
    (answered,) = fleet.events("AnswersSubmitted", batchId=1)
    assert all(output.strip() for output in answered["args"]["outputs"])  # a real model answered
    assert len(fleet.events("RewardsSettled", batchId=1)) == 3  # the node and both evaluators
    assert len(fleet.events("CostMeasured", batchId=1)) == 3  # its answer and both commits were timed


def _commit_then_kill(fleet: Fleet, key: int) -> tuple[Any, str]:
    """Start the node and evaluator `key` only, open a batch, SIGKILL the evaluator once it committed."""
    from offchain.chain.accounts import dev_account

    fleet.agent("inference", "smollm2-135m", 2)
    evaluator = fleet.agent("evaluator", "minilm-l6", key)
    fleet.wait(lambda: fleet.registered(2) and fleet.registered(key), "agents to register")
    # a second evaluator is registered without an agent, so K = 2 has a silent seat for now
    silent = fleet.owner.with_account(dev_account(5))
    silent.transact("register", Role.EVALUATOR, "minilm-l6", value=fleet.params.minStake)
    requester = fleet.requester(_records(2), batch_size=2)
    address = dev_account(key).address
    fleet.wait(lambda: (requester.step(0.05), bool(fleet.events("ScoresCommitted", evaluator=address)))[1],
               "the evaluator's commitment")
    evaluator.kill()  # SIGKILL between commit and reveal
    return requester, address


def test_evaluator_killed_between_commit_and_reveal_resumes_and_is_paid(
    make_fleet: Callable[..., Fleet],
) -> None:
    fleet = make_fleet()
    requester, address = _commit_then_kill(fleet, key=3)
    staked = int(fleet.owner.node(address)["stake"])
    fleet.agent("evaluator", "minilm-l6", 3)  # restarted: same key, same state directory
    drive(fleet, requester)
    (revealed,) = fleet.events("ScoresRevealed", batchId=1, evaluator=address)
    assert len(revealed["args"]["scores"]) == 2  # every seat of the batch revealed
    (settled,) = fleet.events("RewardsSettled", batchId=1, account=address)
    jobs, reward = int(settled["args"]["jobs"]), int(settled["args"]["rewardWad"])
    assert jobs == 2 and reward > -2 * fleet.params.slashPenalty  # paid on its seats, not slashed
    (informed,) = fleet.events("EvaluatorInformed", batchId=1, evaluator=address)
    assert int(informed["args"]["seats"]) == 2  # both seats settled by the peer rule
    assert int(fleet.owner.node(address)["stake"]) == staked  # nothing slashed, nothing debited


def test_evaluator_that_stays_dead_is_slashed_and_batch_finalizes(make_fleet: Callable[..., Fleet]) -> None:
    fleet = make_fleet(commitWindow=20, revealWindow=10)
    requester, address = _commit_then_kill(fleet, key=3)
    drive(fleet, requester)
    (final,) = fleet.events("BatchFinalized", batchId=1)
    assert int(final["args"]["expiredMask"]) == 0
    (settled,) = fleet.events("RewardsSettled", batchId=1, account=address)
    assert int(settled["args"]["rewardWad"]) == -2 * fleet.params.slashPenalty  # both seats, never revealed
    assert int(fleet.owner.node(address)["stake"]) < fleet.params.minStake  # debited from stake


def test_node_that_never_answers_lets_the_batch_expire(make_fleet: Callable[..., Fleet]) -> None:
    from offchain.chain.accounts import dev_account

    fleet = make_fleet(answerWindow=5)
    for key, role in ((2, Role.INFERENCE), (3, Role.EVALUATOR), (4, Role.EVALUATOR)):  # no agent runs for them
        fleet.owner.with_account(dev_account(key)).transact("register", role, "silent", value=fleet.params.minStake)
    requester = fleet.requester(_records(1), batch_size=1)
    drive(fleet, requester, timeout=60)
    ((_, _, data),) = requester.settled()
    assert data["expired"]
    (refund,) = fleet.events("FeeRefunded", batchId=1)
    assert int(refund["args"]["amount"]) == int(fleet.owner.call("requiredFee", 1, True))  # the bond too
    node = dev_account(2).address
    assert int(fleet.owner.node(node)["stake"]) == fleet.params.minStake + wad.to_wei(
        -fleet.params.slashPenalty, fleet.params.rewardUnit
    )
    assert int(fleet.owner.node(requester.me)["balance"]) == int(refund["args"]["amount"])


def test_two_agents_with_the_same_key_are_refused(make_fleet: Callable[..., Fleet], tmp_path: Path) -> None:
    fleet = make_fleet()
    first = fleet.agent("evaluator", "minilm-l6", 3)
    time.sleep(3)  # the first holds its key's lock from its first second
    first.check_alive()
    second = subprocess.run(
        [sys.executable, "-m", "poq.cli", "agent", "run", "--role", "evaluator", "--model", "minilm-l6",
         "--key-index", "3", "--rpc-url", fleet.url, "--deployments", str(fleet.deployments),
         "--state-dir", str(tmp_path / "other-state")],
        capture_output=True, text=True, timeout=120,
    )
    assert second.returncode == 1
    assert "already running with key" in second.stderr and "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
