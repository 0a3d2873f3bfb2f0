"""Fleet configuration (fleet.toml), validated once with pydantic."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from offchain.errors import ConfigError

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


class NodeSpec(BaseModel):
    """One kind of node in the fleet."""

    model: str = Field(description="Registered model name (`poq models list`) or replay:LOG#NAME.")
    count: int = Field(1, ge=1, description="How many nodes run this model (each its own key and process).")
    strategy: str | None = Field(None, description="Evaluators only: an adversarial strategy, e.g. boost:b=3.")
    declare_latency_us: int | None = Field(
        None, ge=1, lt=2**32,
        description="Declare this latency instead of the measured one (a liar: e.g. 1). Rewards use the "
        "contract's measurement, so it earns nothing by it.")


class Workload(BaseModel):
    """The tasks the requester opens: a seeded sample of each dataset."""

    squad: Path = Field(
        SHARED_DATA / "squad_v1.1_dev.jsonl", description="SQuAD v1.1 records (extractive QA)."
    )
    cnndm: Path = Field(SHARED_DATA / "cnn_dailymail_test.jsonl", description="CNN/DailyMail records.")
    n_squad: int = Field(6, ge=0, description="SQuAD tasks to open.")
    n_cnndm: int = Field(3, ge=0, description="CNN/DailyMail tasks to open.")
    seed: int = Field(0, description="Sampling seed.")


DEFAULT_PARAMS: dict[str, Any] = {
    "k": 3,
    "epochLength": 15,  # short epochs so the first cost reports land within seconds
    "answerWindow": 900,  # CPU generation of a batch of summaries can take minutes under load
    "referenceWindow": 120,
    "commitWindow": 300,
    "revealWindow": 300,
}


class FleetConfig(BaseModel):
    """A fleet: a chain, contract parameters, nodes and a workload."""

    rpc_url: str | None = Field(None, description="A running chain; None starts a local chain on `port`.")
    port: int = Field(8545, description="Port of the local chain started when rpc_url is None.")
    client: str = Field("anvil", pattern="^(anvil|hardhat)$",
                        description="EVM client of the local chain started when rpc_url is None "
                        "(docs/evm-clients.md).")
    params: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_PARAMS),
        description="Deployment parameter overrides (NAME = value).",
    )
    inference: list[NodeSpec] = Field(
        default_factory=lambda: [
            NodeSpec(model="smollm2-135m"),
            NodeSpec(model="gemma3-270m"),
            NodeSpec(model="qwen2.5-coder-0.5b"),
        ]
    )
    evaluators: list[NodeSpec] = Field(
        default_factory=lambda: [
            NodeSpec(model="minilm-l6"),
            NodeSpec(model="mpnet-base"),
            NodeSpec(model="ce-minilm-l12"),
        ]
    )
    workload: Workload = Field(default_factory=Workload)
    stake_multiple: float = Field(
        10,
        ge=1,
        description="Each node stakes this many times minStake, so small "
        "negative rewards do not suspend it at once.",
    )
    poll_s: float = Field(0.05, gt=0, description="Longest wait for events between an agent's turns.")
    batch_size: int = Field(16, ge=1, le=256, description="Tasks per batch the requester opens.")
    max_in_flight: int = Field(4, ge=1, description="Batches the requester keeps open at once.")
    transport: str = Field("ws", pattern="^(ws|http)$",
                           description="How agents get events: ws (subscriptions) or http (polling).")
    torch_threads: int = Field(1, ge=1, description="Torch threads per agent process.")
    max_fee_gwei: float | None = Field(None, gt=0, description="Agents' ceiling on the max fee per gas "
                                       "(None: 2 x base fee + tip, read at each send).")
    confirmations: int | None = Field(None, ge=1, description="Receipt depth before an agent acts on it "
                                      "(None: 2 on dev chains, 5 elsewhere).")
    ready_timeout_s: float = Field(
        900, gt=0, description="How long agents may take to load, register, report."
    )

    @field_validator("inference", "evaluators")
    @classmethod
    def _not_empty(cls, value: list[NodeSpec]) -> list[NodeSpec]:
        if not value:
            raise ValueError("needs at least one node")
        return value


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> FleetConfig:
    """The default fleet, or the one in `path` (TOML), with top-level overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"fleet config {path} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    data.update(overrides or {})
    try:
        config = FleetConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"fleet config{f' {path}' if path else ''}: {where}: {first['msg']}") from None
    params = dict(DEFAULT_PARAMS)
    params.update(config.params)
    config.params = params
    return config
