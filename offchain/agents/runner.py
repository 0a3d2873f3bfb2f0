"""Build and run one agent: connect, lock the key, load the model, warm up, register, loop."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.agents.state import AgentState, genesis_hash
from offchain.agents.texts import ChainRecord
from offchain.chain.client import PoQClient
from offchain.chain.fees import FeePolicy
from offchain.errors import ConfigError
from offchain.models import replay
from offchain.protocol.types import Role, Status

log = logging.getLogger("poq.agent")
ROLES = {"inference": Role.INFERENCE, "evaluator": Role.EVALUATOR}
WARMUP_RECORD = ChainRecord(
    "extractive_qa",
    "Context: The Eiffel Tower is a wrought-iron tower in Paris, France.\n\nQuestion: Where is the Eiffel Tower?",
    "The Eiffel Tower is a wrought-iron tower in Paris, France.",
    "Where is the Eiffel Tower?",
)
WARMUP_PAIRS = [("Paris, France", "It is in Paris."), ("Paris, France", "Berlin")]


@dataclass
class AgentConfig:
    role: str
    model: str | None
    rpc_url: str
    deployments_dir: Path
    state_dir: Path
    account: Any
    stake_wei: int | None = None
    poll_s: float = 0.05  # longest wait for events between turns (a websocket pushes them at once)
    strategy: str | None = None  # evaluator only: an adversarial strategy spec, e.g. "boost:b=3"
    dataset: Path | None = None
    tasks: int | None = None
    seed: int = 0
    batch_size: int = 16  # requester: tasks per batch
    max_in_flight: int = 4  # requester: batches open at once
    declare_latency_us: int | None = None  # nodes: declare this latency instead of the measured mean
    max_fee_gwei: float | None = None  # a ceiling on the max fee per gas (None: 2 x base fee + tip)
    confirmations: int | None = None  # receipt depth before acting (None: 2 on dev chains, 5 elsewhere)
    # called with the chain id once connected, before anything is signed (the CLI refuses dev keys off dev chains)
    check_chain: Callable[[int], None] | None = None


def state_path(config: AgentConfig, chain_id: int) -> Path:
    return config.state_dir / str(chain_id) / f"{config.role}-{config.account.address.lower()}.sqlite"


def build_agent(config: AgentConfig) -> Any:
    """Everything up to the loop; errors are one-line PoQErrors (bad model, URL, manifest, funds, key)."""
    if config.role not in (*ROLES, "requester"):
        raise ConfigError(f"unknown role {config.role!r}: use inference, evaluator or requester")
    if config.role != "requester":
        check_model_name(config.role, config.model)
    strategy = _strategy(config)
    client = PoQClient.connect(config.rpc_url, config.account, config.deployments_dir)
    client.set_fee_policy(FeePolicy.from_gwei(config.max_fee_gwei))
    if config.check_chain is not None:
        config.check_chain(client.manifest.chain_id)
    state = AgentState(
        state_path(config, client.manifest.chain_id),
        chain_id=client.manifest.chain_id,
        contract=client.address,
        address=client.sender,
        role=config.role,
        genesis=genesis_hash(client.w3),
        deployment_block=client.manifest.block_number,
    )
    try:
        return _build(config, client, state, strategy)
    except BaseException:
        state.close()
        raise


def _strategy(config: AgentConfig) -> Any:
    """The evaluator's score transform; a bad spec fails before anything starts."""
    if config.strategy is None:
        return None
    if config.role != "evaluator":
        raise ConfigError("--strategy applies to evaluator agents only")
    from offchain.agents.strategies import make_scalar_strategy

    return make_scalar_strategy(config.strategy, seed=int(config.account.address, 16) % 2**32)


def _build(config: AgentConfig, client: PoQClient, state: AgentState, strategy: Any) -> Any:
    if config.role == "requester":
        from offchain.agents.requester import RequesterAgent
        from offchain.data import load, sample

        if config.dataset is None:
            raise ConfigError("a requester needs --dataset FILE (and --tasks N)")
        records = load(config.dataset)
        chosen = sample(records, config.tasks or len(records), config.seed)
        _require_funds(client, int(client.call("requiredFee", len(chosen), True)))
        agent = RequesterAgent(client, state, chosen, batch_size=config.batch_size,
                               max_in_flight=config.max_in_flight, **_loop_options(config))
        agent.reconcile()
        return agent
    model_name = str(config.model)  # present: build_agent checked it
    node = client.node(client.sender)
    registered = int(node["status"]) not in (Status.NONE, Status.EXITED)  # restarts keep their registration
    if registered and int(node["role"]) != ROLES[config.role]:
        raise ConfigError(
            f"key {client.sender} is registered with another role; use another key (--keystore FILE or --dev-key N)"
        )
    stake = config.stake_wei if config.stake_wei is not None else int(client.params()["minStake"])
    if not registered:
        _require_funds(client, stake)
    model = load_model(config.role, model_name)
    _warm_up(config.role, model, state)
    if not registered:
        client.transact("register", ROLES[config.role], public_name(model_name), value=stake)
        log.info("registered %s as %s node %s", client.sender, config.role, model_name)
    if config.role == "inference":
        from offchain.agents.inference import InferenceAgent

        return InferenceAgent(client, state, model, **_loop_options(config))
    from offchain.agents.evaluator import EvaluatorAgent

    return EvaluatorAgent(client, state, model, strategy=strategy, **_loop_options(config))


def public_name(model: str) -> str:
    """The model name registered on chain: an endpoint's URL (and any key in it) stays private."""
    return model.split("@", 1)[0] if model.startswith("openai:") else model


def _loop_options(config: AgentConfig) -> dict[str, Any]:
    return {"rpc_url": config.rpc_url, "poll_s": config.poll_s, "declared_latency_us": config.declare_latency_us,
            "confirmations": config.confirmations}


def check_model_name(role: str, name: str | None) -> None:
    """Bad model references fail at once, with a did-you-mean, before any connection or import of torch
    (catalog names, hf:ORG/NAME, a local directory or .gguf file, openai:MODEL@URL, replay:LOG#NAME)."""
    from offchain.models.loading import check_model

    check_model(name, role)


def load_model(role: str, name: str) -> Any:
    """The node's model through offchain.models' one loading API (torch threads from POQ_TORCH_THREADS:
    agents share the machine, and one thread each beats oversubscribed cores, 10x here)."""
    from offchain.models.loading import load_model as load

    if not name.startswith(("replay:", "openai:")):  # in-process weights: pin torch's threads first
        import torch

        torch.set_num_threads(int(os.environ.get("POQ_TORCH_THREADS", "1")))
    return load(name, role, progress=False)


def _warm_up(role: str, model: Any, state: AgentState) -> None:
    """One measured call, so the first cost report has a latency before any task arrives."""
    if isinstance(model, replay.ReplayGenerator | replay.ReplayEvaluator):
        state.record_latency(model.nominal_latency_s)
        return
    started = time.perf_counter()
    if role == "inference":
        generation = model.generate_records([WARMUP_RECORD])[0]
        state.record_latency(generation.latency_s)
    else:
        model.score_calibrated(WARMUP_PAIRS)
        state.record_latency((time.perf_counter() - started) / len(WARMUP_PAIRS))


def _require_funds(client: PoQClient, needed_wei: int) -> None:
    balance = client.balance_of(client.sender)
    gas_margin = 10**16
    if balance < needed_wei + gas_margin:
        raise ConfigError(
            f"key {client.sender} holds {balance / 1e18:.4f} ETH but needs about "
            f"{(needed_wei + gas_margin) / 1e18:.4f} ETH (stake or fees plus gas): fund it first"
        )


def run_agent(config: AgentConfig, *, until: float | None = None) -> None:
    agent = build_agent(config)
    try:
        agent.run(until=until, stop_when=agent.done if config.role == "requester" else None)
    finally:
        agent.state.close()
