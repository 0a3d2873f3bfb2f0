"""`poq fleet run`: a chain, a fresh deployment, one process per agent, N tasks driven to settlement.

Keys are anvil's dev keys: 0 deploys, 1 is the requester, 2.. are the nodes (inference first). The
requester runs in this process; every node is its own `poq agent run` process with its own SQLite
state, so the fleet exercises exactly what users run on separate machines.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.agents.requester import RequesterAgent
from offchain.agents.state import AgentState, genesis_hash
from offchain.chain.client import PoQClient
from offchain.chain.fees import FeePolicy
from offchain.errors import ConfigError, PoQError
from offchain.protocol.types import Status
from poq.fleet.config import FleetConfig
from poq.fleet.processes import AgentProcess, stop_all

log = logging.getLogger("poq.fleet")
FUNDING_WEI = 1_000 * 10**18
REQUESTER_KEY = 1


@dataclass
class FleetResult:
    run_dir: Path
    client: PoQClient
    agents: list[AgentProcess]
    tasks: list[tuple[int, str, dict[str, Any]]]
    timings: dict[str, float] = field(default_factory=dict)


def load_workload(config: FleetConfig, n_tasks: int | None) -> list[Any]:
    """Seeded SQuAD and CNN/DM records; `n_tasks` splits between them in the configured ratio."""
    from offchain.data import load, sample

    w = config.workload
    n_squad, n_cnndm = w.n_squad, w.n_cnndm
    if n_tasks is not None:
        total = max(1, n_squad + n_cnndm)
        n_squad = round(n_tasks * n_squad / total)
        n_cnndm = n_tasks - n_squad
    records = []
    if n_squad:
        records += sample(load(w.squad), n_squad, w.seed)
    if n_cnndm:
        records += sample(load(w.cnndm), n_cnndm, w.seed)
    # interleave the two task types so every node sees both kinds early
    qa = [r for r in records if r.task == "extractive_qa"]
    summaries = [r for r in records if r.task != "extractive_qa"]
    mixed = []
    for i in range(max(len(qa), len(summaries))):
        mixed += qa[i : i + 1] + summaries[i : i + 1]
    return mixed


def plan_agents(config: FleetConfig, run_dir: Path) -> list[AgentProcess]:
    agents, key = [], REQUESTER_KEY + 1
    for role, specs in (("inference", config.inference), ("evaluator", config.evaluators)):
        for spec in specs:
            for _ in range(spec.count):
                name = "".join(c if c.isalnum() or c in "-._" else "_" for c in spec.model)[:60]
                log_path = run_dir / "logs" / f"{role}-{key}-{name}.log"
                agents.append(AgentProcess(role, spec.model, key, log_path, spec.strategy, spec.declare_latency_us,
                                           transaction_args(config)))
                key += 1
    return agents


def transaction_args(config: FleetConfig) -> list[str]:
    """The fleet's transaction settings as `poq agent run` options."""
    args = []
    if config.max_fee_gwei is not None:
        args += ["--max-fee-gwei", repr(config.max_fee_gwei)]
    if config.confirmations is not None:
        args += ["--confirmations", str(config.confirmations)]
    return args


def run_fleet(
    config: FleetConfig,
    run_dir: Path,
    *,
    deployments_dir: Path = Path("deployments"),
    n_tasks: int | None = None,
    records: list[Any] | None = None,
    progress: Any = None,
) -> FleetResult:
    """Deploy, start the agents, drive the tasks to settlement in batches, stop the agents.

    `records` replaces the configured workload (benchmarks replay a logged run's records). SIGTERM
    stops the run as Ctrl-C does: every agent process is stopped before this returns or raises.
    """
    from deploy.compiler import compile_contracts
    from deploy.deployer import deploy_poq
    from offchain.chain.accounts import dev_account, fund_accounts
    from offchain.chain.connect import connect
    from offchain.protocol import Params

    timings: dict[str, float] = {}
    started = time.monotonic()
    records = records if records is not None else load_workload(config, n_tasks)
    if not records:
        raise ConfigError("the workload is empty: ask for at least one task")
    _check_models(config)
    rpc_url = config.rpc_url or _local_chain(config.port, config.client)
    w3 = connect(rpc_url)
    agent_url = _agent_url(rpc_url, config.transport)
    params = Params().with_overrides(config.params)
    manifest = deploy_poq(
        w3, dev_account(0), params, artifacts=compile_contracts(), deployments_dir=deployments_dir
    )
    agents = plan_agents(config, run_dir)
    fund_accounts(
        w3, [dev_account(i).address for i in range(REQUESTER_KEY, agents[-1].key_index + 1)], FUNDING_WEI
    )
    requester_client = PoQClient(w3, manifest, dev_account(REQUESTER_KEY))
    state = AgentState(
        run_dir / "requester.sqlite",
        chain_id=manifest.chain_id,
        contract=manifest.address,
        address=requester_client.sender,
        role="requester",
        genesis=genesis_hash(w3),
        deployment_block=manifest.block_number,
    )
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # stop like Ctrl-C: agents first
    try:
        stake_eth = params.minStake * config.stake_multiple / 10**18
        for agent in agents:
            agent.start(agent_url, deployments_dir, run_dir / "agents", config.poll_s, config.torch_threads, stake_eth)
        _wait_ready(requester_client, agents, config.ready_timeout_s, progress)
        timings["agents_ready_s"] = time.monotonic() - started
        requester_client.set_fee_policy(FeePolicy.from_gwei(config.max_fee_gwei))
        requester = RequesterAgent(requester_client, state, records, batch_size=config.batch_size,
                                   max_in_flight=config.max_in_flight, rpc_url=agent_url, poll_s=config.poll_s,
                                   confirmations=config.confirmations)
        workload_started = time.monotonic()
        _drive(requester, agents, progress)
        timings["workload_s"] = time.monotonic() - workload_started
        tasks = requester.settled()
    finally:
        stop_all(agents)
        signal.signal(signal.SIGTERM, previous)
        state.close()
    timings["total_s"] = time.monotonic() - started
    return FleetResult(run_dir, requester_client.with_account(dev_account(0)), agents, tasks, timings)


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def _agent_url(rpc_url: str, transport: str) -> str:
    """Agents subscribe over ws:// on the same port when the node is reached over http:// (anvil
    and Hardhat's node both serve both)."""
    if transport == "ws" and rpc_url.startswith("http://"):
        return "ws://" + rpc_url.removeprefix("http://")
    if transport == "http":
        from offchain.chain.connect import http_url

        return http_url(rpc_url)
    return rpc_url


def _check_models(config: FleetConfig) -> None:
    """Bad model references (unknown names, missing paths, malformed openai: specs) fail before any
    process starts."""
    from offchain.models.loading import check_model

    for role, specs in (("inference", config.inference), ("evaluator", config.evaluators)):
        for spec in specs:
            check_model(spec.model, role)


def _local_chain(port: int, client: str = "anvil") -> str:
    from deploy.localchain import chain_up

    return chain_up(port=port, client=client).rpc_url


def _wait_ready(client: PoQClient, agents: list[AgentProcess], timeout: float, progress: Any) -> None:
    """Every node registered and in its pool."""
    from offchain.chain.accounts import dev_account

    deadline = time.monotonic() + timeout
    task = (
        progress.add_task("agents loading, registering", total=len(agents))
        if progress
        else None
    )
    while True:
        ready = 0
        for agent in agents:
            agent.check_alive()
            node = client.node(dev_account(agent.key_index).address)
            ready += int(int(node["status"]) == Status.ACTIVE)
        if progress is not None:
            progress.update(task, completed=ready)
        if ready == len(agents):
            return
        if time.monotonic() > deadline:
            raise PoQError(
                f"only {ready} of {len(agents)} agents were ready after {timeout:.0f} s; see their logs"
            )
        time.sleep(0.5)


def _drive(requester: RequesterAgent, agents: list[AgentProcess], progress: Any) -> None:
    """The requester's loop, in this process, until every task is settled; agents are checked alive."""
    total = len(requester.records)
    task = progress.add_task("tasks settled on chain", total=total) if progress else None
    requester.open_events()
    checked = 0.0
    try:
        while not requester.done():
            if time.monotonic() - checked > 1.0:
                for agent in agents:
                    agent.check_alive()
                checked = time.monotonic()
            requester.step(wait_s=0.0 if requester.busy() else requester.poll_s)
            if progress is not None:
                progress.update(task, completed=len(requester.settled()))
    finally:
        requester.close_events()
    if progress is not None:
        progress.update(task, completed=total)
