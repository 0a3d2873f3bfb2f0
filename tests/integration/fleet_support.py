"""A deployment on a fresh anvil with agent processes started by hand and a requester driven in-process
(the pieces `poq fleet run` puts together), shared by the live-agent tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offchain.protocol import Params
from offchain.protocol.types import Status

RUN_400 = Path(__file__).resolve().parents[2] / "docs" / "results" / "run-400"


class Fleet:
    """A deployment on a fresh anvil plus helpers to start agent processes and drive a requester."""

    def __init__(self, url: str, tmp: Path, params: Params) -> None:
        from deploy.deployer import deploy_poq
        from offchain.chain.accounts import dev_account
        from offchain.chain.client import PoQClient
        from offchain.chain.connect import connect

        self.url, self.tmp, self.params = url, tmp, params
        self.ws_url = "ws://" + url.removeprefix("http://")
        self.deployments = tmp / "deployments"
        self.w3 = connect(url)
        manifest = deploy_poq(self.w3, dev_account(0), params, deployments_dir=self.deployments)
        self.owner = PoQClient(self.w3, manifest, dev_account(0))
        self.processes: list[Any] = []
        self.states: list[Any] = []

    def agent(self, role: str, model: str, key: int, declare_latency_us: int | None = None) -> Any:
        from poq.fleet.processes import AgentProcess

        process = AgentProcess(role, model, key, self.tmp / "logs" / f"{role}-{key}.log",
                               declare_latency_us=declare_latency_us)
        process.start(self.ws_url, self.deployments, self.tmp / "agents", poll_s=0.05, threads=1)
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
            time.sleep(0.2)

    def registered(self, key: int) -> bool:
        from offchain.chain.accounts import dev_account

        return int(self.owner.node(dev_account(key).address)["status"]) == Status.ACTIVE

    def requester(self, records: list[Any], batch_size: int = 4) -> Any:
        from offchain.agents.requester import RequesterAgent
        from offchain.agents.state import AgentState, genesis_hash
        from offchain.chain.accounts import dev_account

        client = self.owner.with_account(dev_account(1))
        state = AgentState(self.tmp / "requester.sqlite", chain_id=client.manifest.chain_id,
                           contract=client.address, address=client.sender, role="requester",
                           genesis=genesis_hash(client.w3))
        self.states.append(state)
        return RequesterAgent(client, state, records, batch_size=batch_size, rpc_url=self.ws_url, poll_s=0.05)

    def events(self, name: str, **filters: Any) -> list[Any]:
        return self.owner.events(name, from_block=self.owner.manifest.block_number, **filters)

    def close(self) -> None:
        from poq.fleet.processes import stop_all

        stop_all(self.processes)
        for state in self.states:
            state.close()  # releases the requester key's lock


def replay_models(tmp: Path) -> tuple[list[str], list[str], list[Any]]:
    """replay: model specs for the run-400 generators and evaluators, and its records."""
    from offchain.data import load
    from simulation.pipeline.replay_logs import write_replay_logs

    generations, scores, _ = write_replay_logs(RUN_400, tmp / "replay")
    inference = [f"replay:{generations}#{m}" for m in ("smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b")]
    evaluators = [f"replay:{scores}#{m}" for m in ("minilm-l6", "mpnet-base", "ce-minilm-l12")]
    return inference, evaluators, load(RUN_400 / "tasks.jsonl")


def drive(fleet: Fleet, requester: Any, timeout: float = 300) -> None:
    """Step the requester until every task it opened is settled."""
    def step() -> bool:
        requester.step(0.05)
        return bool(requester.done())

    try:
        fleet.wait(step, "the batches to settle", timeout)
    finally:
        requester.close_events()
