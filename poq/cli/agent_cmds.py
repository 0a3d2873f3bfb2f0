"""`poq agent run`: one agent process (what a user runs on each of several machines)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from poq.cli.options import (
    KeyChoice,
    check_signing_chain,
    deployments_option,
    key_options,
    load_account,
    rpc_url_option,
    transaction_options,
)


@click.group("agent")
def agent_group() -> None:
    """Run an inference, evaluator or requester agent."""


@agent_group.command("run")
@click.option("--role", type=click.Choice(["inference", "evaluator", "requester"]), required=True)
@click.option("--model", default=None, help="A model (`poq models list`), hf:ORG/NAME, a local path, "
              "openai:MODEL@URL or replay:LOG#NAME.")
@key_options
@rpc_url_option
@deployments_option
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".poq/agents"),
    show_default=True,
    help="Where the agent keeps its SQLite state.",
)
@click.option("--stake", type=float, default=None, help="ETH to stake when registering (default: minStake).")
@click.option(
    "--poll", "poll_s", type=float, default=0.05, show_default=True,
    help="Longest wait for events between turns (over ws:// the node pushes them at once).",
)
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Requester: records to open tasks from (JSONL/JSON/CSV/Parquet).",
)
@click.option("--tasks", type=click.IntRange(min=1), default=None, help="Requester: how many tasks to open.")
@click.option("--seed", type=int, default=0, show_default=True, help="Requester: sampling seed.")
@click.option("--batch-size", type=click.IntRange(min=1, max=256), default=16, show_default=True,
              help="Requester: tasks per batch.")
@click.option("--in-flight", "max_in_flight", type=click.IntRange(min=1), default=4, show_default=True,
              help="Requester: batches open at once.")
@click.option("--declare-latency-us", type=click.IntRange(min=1, max=2**32 - 1), default=None,
              help="Nodes: declare this latency (microseconds) instead of the measured one. The contract "
              "pays on its own measurement; this is how to check that a lie (e.g. 1) earns nothing.")
@click.option("--strategy", default=None,
              help="Evaluator: score adversarially, e.g. boost:b=3, noise:sigma=2, sabotage:b=4, "
              "intermittent:p=0.3,inner=boost:b=3 (robustness studies).")
@click.option("--device", default=None, help="Where in-process models run: auto | cpu | cuda[:N] "
              "[default: env POQ_DEVICE, else auto: CUDA when present].")
@transaction_options
@click.option("--for", "seconds", type=float, default=None, help="Stop after this many seconds.")
@click.option("-v", "--verbose", is_flag=True, help="Log every action.")
def agent_run_cmd(
    role: str,
    model: str | None,
    key: KeyChoice,
    rpc_url: str,
    deployments_dir: str,
    state_dir: Path,
    stake: float | None,
    poll_s: float,
    dataset: Path | None,
    tasks: int | None,
    seed: int,
    batch_size: int,
    max_in_flight: int,
    declare_latency_us: int | None,
    strategy: str | None,
    device: str | None,
    max_fee_gwei: float | None,
    confirmations: int | None,
    seconds: float | None,
    verbose: bool,
) -> None:
    """Watch the chain and act each round until stopped (Ctrl-C or SIGTERM)."""
    import os
    import time

    from offchain.agents.runner import AgentConfig, run_agent

    if device:
        os.environ["POQ_DEVICE"] = device  # read by offchain.models when the model loads

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(message)s"
    )
    config = AgentConfig(
        role=role,
        model=model,
        rpc_url=rpc_url,
        deployments_dir=Path(deployments_dir),
        state_dir=state_dir,
        account=load_account(key),
        check_chain=lambda chain_id: check_signing_chain(key, chain_id),
        stake_wei=int(stake * 10**18) if stake is not None else None,
        poll_s=poll_s,
        max_fee_gwei=max_fee_gwei,
        confirmations=confirmations,
        strategy=strategy,
        dataset=dataset,
        tasks=tasks,
        seed=seed,
        batch_size=batch_size,
        max_in_flight=max_in_flight,
        declare_latency_us=declare_latency_us,
    )
    run_agent(config, until=time.monotonic() + seconds if seconds else None)
