"""Shared moves of the mechanism attack tests: declared costs, timed batches, attacker contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploy.deployer import deploy_contract
from deploy.devnet import Devnet, advance_time, now
from offchain.chain.client import PoQClient
from offchain.protocol import WAD, commitments
from tests.contract.helpers import client_for_contract, stranger

RUN_400 = Path(__file__).resolve().parents[2] / "docs" / "results" / "run-400"
COSTS = RUN_400 / "costs.json"
HONEST = ("minilm-l6", "mpnet-base", "ce-minilm-l12")  # the run's evaluators


def run400_answers() -> list[dict[str, int]]:
    """Every answer of the 400-task run with the scores its three evaluators gave it, in contract units
    (0..10_000), in the file's order."""
    by_answer: dict[tuple[str, str], dict[str, int]] = {}
    for line in (RUN_400 / "scores.jsonl").read_text().splitlines():
        row = json.loads(line)
        by_answer.setdefault((row["record"], row["node"]), {})[row["evaluator"]] = round(row["score"] * 1000)
    return [scores for scores in by_answer.values() if set(HONEST) <= set(scores)]


def run400_latencies() -> tuple[dict[str, float], dict[str, float]]:
    """The measured latencies (ms) of the 400-task reproduction run: (inference, evaluators)."""
    data = json.loads(COSTS.read_text())
    return dict(data["inference"]), dict(data["evaluator"])


def deploy_attacker(net: Devnet, artifacts: Any, name: str, *args: Any, index: int = 0) -> PoQClient:
    owner = stranger(net, index)
    artifact = artifacts.get(name)
    address, _ = deploy_contract(net.w3, owner.account, artifact, *args)
    return client_for_contract(net, address, artifact.abi, owner.account)


def declare(net: Devnet, node: PoQClient, latency_us: int) -> None:
    """A declared latency through commit-reveal: commit in epoch e, reveal in e + 1."""
    length = net.params.epochLength
    if length - now(net.w3) % length < 3:
        advance_time(net.w3, length - now(net.w3) % length)  # never commit at an epoch's last second
    epoch = int(net.owner.call("currentEpoch"))
    salt = commitments.new_salt()
    digest = commitments.cost_commitment(net.chain_id, net.owner.address, epoch, node.sender, latency_us, salt)
    node.transact("commitCost", digest)
    advance_time(net.w3, (epoch + 1) * length - now(net.w3))
    node.transact("revealCost", latency_us, salt)


def timed_batch(net: Devnet, size: int, node_seconds: dict[str, float], seat_seconds: dict[str, float],
                score: int) -> dict[str, Any]:
    """One batch without a reference in which each node answers as late as its latency says (seconds per
    task times its tasks) and each evaluator commits as late as its latency per seat says. Every seat
    scores `score`. Returns the settlement."""
    batch_id, _ = net.open_batch([f"q{i}" for i in range(size)], with_reference=False)
    drawn, _ = net.draw(batch_id)
    opened = int(net.owner.call("getBatch", batch_id)[6])
    finish = sorted((len(drawn.tasks_of(n)) * node_seconds[n], n) for n in drawn.nodes)
    for at, node in finish:  # answers in the order they would be ready
        advance_time(net.w3, max(0, opened + int(at) - now(net.w3)))
        net.answer(batch_id, node)
    _, deadline = net.owner.call("stageOf", batch_id, block="pending")
    start = int(deadline) - net.params.commitWindow
    ready = sorted((len(drawn.seats_of(e)) * seat_seconds[e], e) for e in drawn.evaluators)
    for at, evaluator in ready:
        advance_time(net.w3, max(0, start + int(at) - now(net.w3)))
        net.commit(batch_id, evaluator, [score] * len(drawn.seats_of(evaluator)))
    for evaluator in drawn.evaluators:
        net.reveal(batch_id, evaluator)
    return {"drawn": drawn, **net.settlement(net.finalize(batch_id))}


def per_task_rewards(result: dict[str, Any], k: int) -> dict[str, list[int]]:
    """Each participant's reward per task or seat in a settled batch (WAD)."""
    out: dict[str, list[int]] = {}
    drawn = result["drawn"]
    for t in range(len(drawn.tasks)):
        row = result["rewards"][t * (1 + k): (t + 1) * (1 + k)]
        for who, reward in zip([drawn.node_of(t), *drawn.panel_of(t)], row, strict=False):
            out.setdefault(who, []).append(reward)
    return out


def ratio(x: int, y: int) -> str:
    return f"{x / WAD:.3f} vs {y / WAD:.3f} ({(x - y) / abs(y) * 100 if y else float('inf'):+.0f} %)"
