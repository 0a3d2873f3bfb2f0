"""Fault injection at CI size (issue 19; bench/faults.py runs the full size): a fleet of replaying
agents (2 inference nodes, 3 evaluators, K = 3, batches of 8) settles 12 tasks on its own anvil
through a reorg, dropped transactions, a short RPC outage, a base-fee spike and 2 s interval mining.

Each case must settle every task (as the requester counts and on the canonical chain), end with 0 in
escrow, pass the exact audit, and no agent may exit or log a traceback. A case that wedges is stopped
at its time limit (poq.fleet.faults), so a failure here reports what failed instead of hanging."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from poq.fleet.faults import SMALL_CASES, CaseResult, fault_cases, run_case

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

N_TASKS = 12


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from deploy.localchain import find_anvil
    from offchain.errors import ConfigError

    try:
        find_anvil()
    except ConfigError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil missing under CI: {exc}")
        pytest.skip(str(exc))
    return tmp_path_factory.mktemp("faults")  # shared: the replay logs are written once


def _explain(result: CaseResult) -> str:
    return "\n".join([result.line(), f"plan: {result.plan}", *result.notes, f"logs: {result.run_dir}"])


@pytest.mark.parametrize("name", SMALL_CASES)
def test_the_fleet_settles_every_task_through_the_fault(name: str, work: Path) -> None:
    result = run_case(fault_cases("small")[name], work, n_tasks=N_TASKS)
    print("\n" + _explain(result))
    assert result.ok, _explain(result)
    assert result.settled_chain == result.settled_requester == N_TASKS
    assert result.escrow_wei == 0 and result.audit_ok
    assert result.fault_start_s is not None and result.fault_end_s is not None  # the fault did happen
