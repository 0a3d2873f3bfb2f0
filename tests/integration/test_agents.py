"""Live agents against a real anvil with real (smallest) models: rounds, crashes, restarts, expiry.

Each node is its own `poq agent run` process (SmolLM2-135M answers, all-MiniLM-L6-v2 scores); the
requester runs in the test process. K = 2 so one evaluator's absence holds the commit phase open.
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
from offchain.protocol.types import Status

pytestmark = [pytest.mark.anvil, pytest.mark.models, pytest.mark.slow]

QUESTION = "Context: Super Bowl 50 was won by the Denver Broncos.\n\nQuestion: Which team won Super Bowl 50?"
SQUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad_v1.1_dev.jsonl"


def _installed(*names: str) -> bool:
    from offchain.models.packages import is_installed

    return all(is_installed(n) for n in names)


if not _installed("smollm2-135m", "minilm-l6"):
    pytestmark.append(pytest.mark.skip(reason="model weights not installed: run scripts/install-models.sh"))


class Fleet:
    """A deployment on a fresh anvil plus helpers to start agent processes and drive a requester."""

    def __init__(self, url: str, tmp: Path, params: Params) -> None:
        from deploy.deployer import deploy_poq
        from offchain.chain.accounts import dev_account
        from offchain.chain.client import PoQClient
        from offchain.chain.connect import connect

        self.url, self.tmp, self.params = url, tmp, params
        self.deployments = tmp / "deployments"
        self.w3 = connect(url)
        manifest = deploy_poq(self.w3, dev_account(0), params, deployments_dir=self.deployments)
        self.owner = PoQClient(self.w3, manifest, dev_account(0))
        self.processes: list[Any] = []
        self.states: list[Any] = []

    def agent(self, role: str, model: str, key: int) -> Any:
        from offchain.fleet.processes import AgentProcess

        process = AgentProcess(role, model, key, self.tmp / "logs" / f"{role}-{key}.log")
        process.start(self.url, self.deployments, self.tmp / "agents", poll_s=0.2, threads=1)
        self.processes.append(process)
        return process

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            for process in self.processes:
                if process.process.poll() is not None and process.process.returncode not in (0, -9, -15):
                    process.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.3)

    def registered(self, key: int) -> bool:
        from offchain.chain.accounts import dev_account

        return int(self.owner.node(dev_account(key).address)["status"]) == Status.ACTIVE

    def requester(self, records: list[Any]) -> Any:
        from offchain.agents.requester import RequesterAgent
        from offchain.agents.state import AgentState, genesis_hash
        from offchain.chain.accounts import dev_account

        client = self.owner.with_account(dev_account(1))
        state = AgentState(
            self.tmp / "requester.sqlite",
            chain_id=client.manifest.chain_id,
            contract=client.address,
            address=client.sender,
            role="requester",
            genesis=genesis_hash(client.w3),
        )
        self.states.append(state)
        return RequesterAgent(client, state, records, poll_s=0.2)

    def events(self, name: str, **filters: Any) -> list[Any]:
        return self.owner.events(name, from_block=self.owner.manifest.block_number, **filters)

    def close(self) -> None:
        from offchain.fleet.processes import stop_all

        stop_all(self.processes)
        for state in self.states:
            state.close()  # releases the requester key's lock


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


def _record() -> Any:
    from offchain.data import Record

    context, question = QUESTION.removeprefix("Context: ").split("\n\nQuestion: ")
    return Record(
        id="sb50",
        task="extractive_qa",
        input=QUESTION,
        reference="Denver Broncos",
        context=context,
        question=question,
    )


def _drive(fleet: Fleet, requester: Any, timeout: float = 300) -> None:
    def step() -> bool:
        requester.tick()
        return requester.done()

    fleet.wait(step, "the task to settle", timeout)


def test_full_round_end_to_end(make_fleet: Callable[..., Fleet]) -> None:
    fleet = make_fleet()
    fleet.agent("inference", "smollm2-135m", 2)
    fleet.agent("evaluator", "minilm-l6", 3)
    fleet.agent("evaluator", "minilm-l6", 4)
    fleet.wait(lambda: all(fleet.registered(k) for k in (2, 3, 4)), "agents to register")
    requester = fleet.requester([_record()])
    _drive(fleet, requester)

    ((task_id, _, data),) = requester.settled()
    assert data["phase"] == "Finalized"
    revealed = [int(e["args"]["score"]) for e in fleet.events("ScoreRevealed", taskId=task_id)]
    assert len(revealed) == 2
    num, den = wad.center(revealed)
    assert data["quality"] == wad.quality(num, den) / WAD
    answer = fleet.events("TaskAnswered", taskId=task_id)[0]["args"]["output"]
    assert answer.strip()  # a real model answered
    settled = fleet.events("RewardSettled", taskId=task_id)
    assert len(settled) == 3  # the node and both evaluators


def _commit_then_kill(fleet: Fleet, key: int) -> tuple[Any, int, Any]:
    """Start the node and evaluator `key` only, open a task, SIGKILL the evaluator once it committed."""
    from offchain.chain.accounts import dev_account

    fleet.agent("inference", "smollm2-135m", 2)
    evaluator = fleet.agent("evaluator", "minilm-l6", key)
    fleet.wait(lambda: fleet.registered(2) and fleet.registered(key), "agents to register")
    # a second evaluator is registered without an agent, so K = 2 has a silent seat for now
    silent = fleet.owner.with_account(dev_account(5))
    silent.transact("register", 2, "minilm-l6", value=fleet.params.minStake)
    requester = fleet.requester([_record()])
    address = dev_account(key).address
    fleet.wait(
        lambda: (requester.tick(), bool(fleet.events("ScoreCommitted", evaluator=address)))[1],
        "the evaluator's commitment",
    )
    evaluator.kill()  # SIGKILL between commit and reveal
    task_id = int(fleet.events("ScoreCommitted", evaluator=address)[0]["args"]["taskId"])
    return requester, task_id, address


def test_evaluator_killed_between_commit_and_reveal_resumes_and_is_paid(
    make_fleet: Callable[..., Fleet],
) -> None:
    fleet = make_fleet()
    requester, task_id, address = _commit_then_kill(fleet, key=3)
    fleet.agent("evaluator", "minilm-l6", 3)  # restarted: same key, same state directory
    _drive(fleet, requester)
    revealed = {str(e["args"]["evaluator"]) for e in fleet.events("ScoreRevealed", taskId=task_id)}
    assert address in revealed
    rewards = {
        str(e["args"]["account"]): int(e["args"]["rewardWad"])
        for e in fleet.events("RewardSettled", taskId=task_id)
    }
    assert rewards[address] > -fleet.params.slashPenalty  # paid by Eq. 5, not slashed
    assert int(fleet.owner.node(address)["balance"]) >= 0


def test_evaluator_that_stays_dead_is_slashed_and_round_finalizes(make_fleet: Callable[..., Fleet]) -> None:
    fleet = make_fleet(commitWindow=20, revealWindow=10)
    requester, task_id, address = _commit_then_kill(fleet, key=3)
    _drive(fleet, requester)
    ((_, _, data),) = requester.settled()
    assert data["phase"] == "Finalized"
    rewards = {
        str(e["args"]["account"]): int(e["args"]["rewardWad"])
        for e in fleet.events("RewardSettled", taskId=task_id)
    }
    assert rewards[address] == -fleet.params.slashPenalty
    assert int(fleet.owner.node(address)["stake"]) < fleet.params.minStake  # debited from stake


def test_node_that_never_answers_lets_the_task_expire(make_fleet: Callable[..., Fleet]) -> None:
    from offchain.chain.accounts import dev_account

    fleet = make_fleet(answerWindow=5)
    for key, role in ((2, 1), (3, 2), (4, 2)):  # registered, but no agent process runs for them
        fleet.owner.with_account(dev_account(key)).transact(
            "register", role, "silent", value=fleet.params.minStake
        )
    requester = fleet.requester([_record()])
    requester_before = requester.client.balance_of(requester.me)
    _drive(fleet, requester, timeout=60)
    ((task_id, _, data),) = requester.settled()
    assert data["phase"] == "Expired"
    refund = fleet.events("FeeRefunded", taskId=task_id)[0]["args"]["amount"]
    assert refund == int(fleet.owner.call("maxPayout"))
    node = dev_account(2).address
    assert int(fleet.owner.node(node)["stake"]) == fleet.params.minStake + wad.to_wei(
        -fleet.params.slashPenalty, fleet.params.rewardUnit
    )
    assert (
        requester.client.balance_of(requester.me) < requester_before
    )  # the fee left, the refund is credited
    assert int(fleet.owner.node(requester.me)["balance"]) == refund


def test_two_agents_with_the_same_key_are_refused(make_fleet: Callable[..., Fleet], tmp_path: Path) -> None:
    fleet = make_fleet()
    first = fleet.agent("evaluator", "minilm-l6", 3)
    time.sleep(3)  # the first holds its key's lock from its first second
    first.check_alive()
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "offchain.cli",
            "agent",
            "run",
            "--role",
            "evaluator",
            "--model",
            "minilm-l6",
            "--key-index",
            "3",
            "--rpc-url",
            fleet.url,
            "--deployments",
            str(fleet.deployments),
            "--state-dir",
            str(tmp_path / "other-state"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 1
    assert "already running with key" in second.stderr and "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
