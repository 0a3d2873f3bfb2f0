"""Live fleets on anvil for robust PoQ: one boosting evaluator out of four, and the composite evaluator.

The booster runs the same model as the honest evaluators but adds 5 points to every score before
committing it. Under median aggregation and the paper's evaluator rule (and under trust weights,
robust rule) its deviation from consensus is large whenever it is sampled, so its on-chain reward
(weight) ends below every honest evaluator's. The default peer rule pays information, not level: a
shift that keeps the booster's ranking neither pays nor costs it, and the median keeps it from moving
Q (docs/mechanism.md, "What this does not defend against"). The claims hold for every panel the
chain's randomness can draw, so the tests are not at the mercy of the block hashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.anvil, pytest.mark.models, pytest.mark.slow]


BOOSTED = [{"model": "minilm-l6", "count": 3}, {"model": "minilm-l6", "strategy": "boost:b=5"}]


def _run(anvil_chain: str, tmp_path: Path, spec: dict[str, Any], tasks: int,
         models: tuple[str, ...] = ("smollm2-135m", "minilm-l6")) -> tuple[Any, Any]:
    """Skip without the weights of `models`; else run the fleet (one SmolLM2 node, the spec's params,
    evaluators and workload) and check that every task finalized. Returns (config, result)."""
    from offchain.models.packages import is_installed
    from poq.fleet.config import load_config
    from poq.fleet.run import run_fleet

    if not all(is_installed(m) for m in models):
        pytest.skip("model weights not installed: run scripts/install-models.sh")
    config = load_config(None, {"rpc_url": anvil_chain, "inference": [{"model": "smollm2-135m"}], **spec})
    result = run_fleet(config, tmp_path / "run", deployments_dir=tmp_path / "deployments")
    assert len(result.tasks) == tasks and not any(data["expired"] for _, _, data in result.tasks)
    return config, result


def _booster_and_honest(result: Any) -> tuple[Any, list[Any]]:
    """The boosting agent's node row and the other evaluators' rows, as read from chain."""
    from offchain.chain.accounts import dev_account
    from offchain.chain.views import node_rows

    (boosting_agent,) = [a for a in result.agents if a.strategy]
    rows = {row.address: row for row in node_rows(result.client) if row.role == "Evaluator"}
    return rows.pop(dev_account(boosting_agent.key_index).address), list(rows.values())


def test_boosting_evaluator_earns_less_than_honest_ones_under_median(anvil_chain: str, tmp_path: Path) -> None:
    from poq.fleet.config import NodeSpec

    config, result = _run(anvil_chain, tmp_path, {
        # betaM = 0 isolates the quality term: honest and boosting evaluators run the same model
        "params": {"k": 3, "aggregation": "median", "betaM": 0, "epochLength": 5, "answerWindow": 300,
                   "evaluatorReward": "paper"},
        "evaluators": BOOSTED,
        "workload": {"n_squad": 6, "n_cnndm": 0, "seed": 3},
    }, tasks=6)
    assert config.evaluators[1] == NodeSpec(model="minilm-l6", strategy="boost:b=5")
    booster, honest = _booster_and_honest(result)
    for row in (booster, *honest):
        print(f"{'booster' if row is booster else 'honest '} jobs {row.jobs} avg reward {row.average_reward:+.4f}")
    assert booster.jobs > 0 and all(row.jobs > 0 for row in honest)
    assert booster.average_reward < min(row.average_reward for row in honest), [
        (row.model, row.jobs, row.average_reward) for row in (booster, *honest)
    ]


def test_onchain_trust_weights_push_a_booster_below_every_honest_evaluator(anvil_chain: str, tmp_path: Path) -> None:
    """Trust-weighted consensus (robust rule) on chain, three honest MiniLM evaluators and one booster.

    Whatever panels the chain's randomness draws, a panel holding the booster has at least two honest
    seats, which agree, so the median is theirs: the booster's deviation is above the panel's mean
    deviation and its weight falls, theirs rises. Panels without it leave every weight near 1.0.
    """
    _, result = _run(anvil_chain, tmp_path, {
        # every weight starts at 1.0 here, so "falls" and "rises" are measured from the same place
        "params": {"k": 3, "aggregation": "trust", "trustRule": "robust", "trustLambda": "0.5",
                   "trustInitial": "1", "epochLength": 5, "answerWindow": 300},
        "evaluators": BOOSTED,
        "workload": {"n_squad": 6, "n_cnndm": 0, "seed": 3},
        "batch_size": 2,
    }, tasks=6)
    updates = result.client.events("TrustUpdated", from_block=result.client.manifest.block_number)
    assert len({int(e["args"]["batchId"]) for e in updates}) == 3  # weights moved in every batch
    booster, honest = _booster_and_honest(result)
    for row in (booster, *honest):
        print(f"{'booster' if row is booster else 'honest '} jobs {row.jobs} trust {row.trust:.3f} "
              f"avg reward {row.average_reward:+.4f}")
    assert booster.jobs > 0 and booster.trust is not None and booster.trust < 1.0
    assert all(row.trust is not None and booster.trust < row.trust for row in honest)


def test_composite_evaluator_scores_reveals_and_is_paid_on_chain(anvil_chain: str, tmp_path: Path) -> None:
    """The live ``composite`` evaluator (MiniLM + cross-encoder) takes every seat it is drawn for."""
    from offchain.chain.views import node_rows

    _, result = _run(anvil_chain, tmp_path, {
        "params": {"k": 2, "epochLength": 5, "answerWindow": 300},
        "evaluators": [{"model": "minilm-l6"}, {"model": "composite"}],
        "workload": {"n_squad": 2, "n_cnndm": 1, "seed": 3},
    }, tasks=3, models=("smollm2-135m", "minilm-l6", "ce-minilm-l12"))
    (composite,) = [row for row in node_rows(result.client) if row.model == "composite"]
    start = result.client.manifest.block_number
    drawn = [e for e in result.client.events("BatchDrawn", from_block=start)
             if composite.address in e["args"]["participants"]]
    revealed = result.client.events("ScoresRevealed", from_block=start, evaluator=composite.address)
    paid = result.client.events("RewardsSettled", from_block=start, account=composite.address)
    seats = sum(len(e["args"]["scores"]) for e in revealed)
    assert drawn and len(revealed) == len(paid) == len(drawn)  # every batch it sat in: revealed and paid
    assert composite.jobs == seats == 3  # K = 2 of 2: a seat on every task
