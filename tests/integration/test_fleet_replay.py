"""Fleets of agents replaying the 400-task run's answers and scores (no model time) on a real anvil:
a cost liar earns what it would earn truthfully, every reward equals offchain.protocol's, and a
fleet stopped with SIGTERM leaves no agent process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offchain.protocol import Params, settle_batch, wad
from tests.integration.fleet_support import Fleet, drive, replay_models

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


@pytest.fixture
def fleet(anvil_chain: str, tmp_path: Path) -> Iterator[Fleet]:
    params = Params(k=3, epochLength=2, answerWindow=120, referenceWindow=60, commitWindow=60, revealWindow=60)
    built = Fleet(anvil_chain, tmp_path, params)
    yield built
    built.close()


def test_a_node_declaring_one_microsecond_earns_what_it_would_truthfully(fleet: Fleet, tmp_path: Path) -> None:
    from offchain.chain.accounts import dev_account
    from poq.fleet.audit import audit

    inference, evaluators, records = replay_models(tmp_path)
    liar_key = 2
    # the slowest generator (answering in a tenth of its logged time) declares 1 us
    fleet.agent("inference", inference[2] + "+paced0.1", liar_key, declare_latency_us=1)
    for key, model in enumerate([*inference[:2], *evaluators], start=3):
        fleet.agent("inference" if key < 5 else "evaluator", model, key)
    liar = dev_account(liar_key).address
    fleet.wait(lambda: bool(fleet.events("CostDeclared", node=liar)), "the liar's declared latency", 120)
    requester = fleet.requester(records[:48], batch_size=16)
    drive(fleet, requester)

    declared = {int(e["args"]["declaredUs"]) for e in fleet.events("CostDeclared", node=liar)}
    assert declared == {1}  # the lie is on chain, beside what the contract measured
    report = audit(fleet.owner)  # every settlement recomputed from the measurements alone
    assert report.ok and report.tasks == 48, report.summary()
    # what the lie would have earned under the old rule, where the claim was the cost
    paid = claimed = 0
    for batch_id in range(1, int(fleet.owner.call("batchCount")) + 1):
        earned, counterfactual = _liar_under_both_rules(fleet, batch_id, liar)
        paid, claimed = paid + earned, claimed + counterfactual
    assert claimed > paid  # the old rule would have paid the lie; the contract paid the measurement
    settled = sum(int(e["args"]["rewardWad"]) for e in fleet.events("RewardsSettled", account=liar))
    assert settled == paid
    print(f"\nliar: {settled / 10**18:+.3f} paid on measured costs; the claimed-cost rule would have paid "
          f"{claimed / 10**18:+.3f}")


def _liar_under_both_rules(fleet: Fleet, batch_id: int, liar: str) -> tuple[int, int]:
    """The liar's summed reward in a batch: as settled (measured costs, from the audit's replay of the
    events) and as the old rule would have settled it (its declared 1 us as its cost, the others' too)."""
    from offchain.chain.batches import batch_record

    record = batch_record(fleet.owner, batch_id)
    assert record is not None and record.quality is not None
    if liar not in record.participants:
        return 0, 0
    k = fleet.params.k
    earned = sum(record.rewards[t * (1 + k)] for t in record.tasks_of(liar))  # type: ignore[index]
    declared = {str(e["args"]["node"]): int(e["args"]["declaredUs"]) for e in fleet.events("CostDeclared")}
    inference = record.participants[: record.inference_count]
    lo, hi = wad.cost_range([declared.get(a) for a in inference])
    costs = [wad.normalized_cost(a in declared, declared.get(a, 0), lo, hi) if i < record.inference_count else 0
             for i, a in enumerate(record.participants)]
    answered = [a in {record.node_of(t) for t in record.outputs} for a in record.participants]
    revealed = [record.scores.get(a) for a in record.participants]
    fee = record.fee
    old = settle_batch(fleet.params, fee, record.tasks, answered, revealed, costs)
    counterfactual = sum(old.rewards[t][0] for t in record.tasks_of(liar))
    return earned, counterfactual


def test_sigterm_stops_the_fleet_and_every_agent(anvil_chain: str, tmp_path: Path) -> None:
    inference, evaluators, _ = replay_models(tmp_path)
    config = tmp_path / "fleet.toml"
    config.write_text("\n".join([
        f'rpc_url = "{anvil_chain}"',
        "params = { k = 3, epochLength = 5 }",
        *[f'[[inference]]\nmodel = "{m}"' for m in inference],
        *[f'[[evaluators]]\nmodel = "{m}"' for m in evaluators],
        "[workload]\nn_squad = 400\nn_cnndm = 200",
    ]) + "\n")
    run_dir = tmp_path / "run"
    fleet = subprocess.Popen([sys.executable, "-m", "poq.cli", "fleet", "run", "--config", str(config),
                              "--run-dir", str(run_dir), "--deployments", str(tmp_path / "deployments")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_agents_of(run_dir)) < 6:  # every agent process is up
            assert fleet.poll() is None, fleet.stderr.read() if fleet.stderr else ""
            assert time.monotonic() < deadline, "the fleet's agents did not start"
            time.sleep(0.2)
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _agents_of(run_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _agents_of(run_dir) == []  # every agent stopped with the fleet
    finally:
        if fleet.poll() is None:
            fleet.kill()
        for pid in _agents_of(run_dir):
            os.kill(pid, signal.SIGKILL)


def _agents_of(run_dir: Path) -> list[int]:
    """PIDs of live agent processes whose state lives under `run_dir`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if "agent run" in cmdline and str(run_dir) in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids
