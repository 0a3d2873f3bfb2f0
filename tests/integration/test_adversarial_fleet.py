"""A live fleet on anvil with one boosting evaluator out of four, median consensus (robust PoQ).

The booster runs the same model as the honest evaluators but adds 5 points to every score before
committing it. Under median aggregation its deviation from consensus is large whenever it is sampled,
so its on-chain reward ends below every honest evaluator's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.anvil, pytest.mark.models, pytest.mark.slow]


def test_boosting_evaluator_earns_less_than_honest_ones_under_median(anvil_chain: str, tmp_path: Path) -> None:
    from deploy.deployer import dev_account
    from offchain.chain.views import node_rows
    from offchain.fleet.config import NodeSpec, load_config
    from offchain.fleet.run import run_fleet
    from offchain.models.packages import is_installed

    if not (is_installed("smollm2-135m") and is_installed("minilm-l6")):
        pytest.skip("model weights not installed: run scripts/install-models.sh")
    config = load_config(None, {
        "rpc_url": anvil_chain,
        # betaM = 0 isolates the quality term: honest and boosting evaluators run the same model
        "params": {"k": 3, "aggregation": "median", "betaM": 0, "epochLength": 5, "answerWindow": 300},
        "inference": [{"model": "smollm2-135m"}],
        "evaluators": [{"model": "minilm-l6", "count": 3}, {"model": "minilm-l6", "strategy": "boost:b=5"}],
        "workload": {"n_squad": 6, "n_cnndm": 0, "seed": 3},
    })
    assert config.evaluators[1] == NodeSpec(model="minilm-l6", strategy="boost:b=5")
    result = run_fleet(config, tmp_path / "run", deployments_dir=tmp_path / "deployments")

    assert len(result.tasks) == 6 and all(data["phase"] == "Finalized" for _, _, data in result.tasks)
    (boosting_agent,) = [a for a in result.agents if a.strategy]
    evaluators = [row for row in node_rows(result.client) if row.role == "Evaluator"]
    (booster,) = [row for row in evaluators if row.address == dev_account(boosting_agent.key_index).address]
    honest = [row for row in evaluators if row is not booster]
    for row in evaluators:
        print(f"{'booster' if row is booster else 'honest '} jobs {row.jobs} avg reward {row.average_reward:+.4f}")
    assert booster.jobs > 0 and all(row.jobs > 0 for row in honest)
    assert booster.average_reward < min(row.average_reward for row in honest), [
        (row.model, row.jobs, row.average_reward) for row in evaluators
    ]


def test_onchain_trust_weights_push_a_booster_down_and_a_composite_evaluator_takes_part(
        anvil_chain: str, tmp_path: Path) -> None:
    """Trust-weighted consensus (robust rule) on chain: the booster's weight ends below every honest
    MiniLM evaluator's; the live ``composite`` evaluator scores, reveals and is paid like the others."""
    from deploy.deployer import dev_account
    from offchain.chain.views import node_rows
    from offchain.fleet.config import load_config
    from offchain.fleet.run import run_fleet
    from offchain.models.packages import is_installed

    if not all(is_installed(m) for m in ("smollm2-135m", "minilm-l6", "ce-minilm-l12")):
        pytest.skip("model weights not installed: run scripts/install-models.sh")
    config = load_config(None, {
        "rpc_url": anvil_chain,
        "params": {"k": 3, "aggregation": "trust", "trustRule": "robust", "trustLambda": "0.5",
                   "epochLength": 5, "answerWindow": 300},
        "inference": [{"model": "smollm2-135m"}],
        "evaluators": [{"model": "minilm-l6", "count": 2}, {"model": "composite"},
                       {"model": "minilm-l6", "strategy": "boost:b=5"}],
        "workload": {"n_squad": 6, "n_cnndm": 0, "seed": 3},
    })
    result = run_fleet(config, tmp_path / "run", deployments_dir=tmp_path / "deployments")

    assert len(result.tasks) == 6 and all(data["phase"] == "Finalized" for _, _, data in result.tasks)
    assert len(result.client.events("TrustUpdated", from_block=result.client.manifest.block_number)) >= 6
    (boosting_agent,) = [a for a in result.agents if a.strategy]
    rows = {row.address: row for row in node_rows(result.client) if row.role == "Evaluator"}
    booster = rows.pop(dev_account(boosting_agent.key_index).address)
    (composite,) = [row for row in rows.values() if row.model == "composite"]
    honest = [row for row in rows.values() if row.model == "minilm-l6"]
    for row in (booster, composite, *honest):
        print(f"{row.model:<10} jobs {row.jobs} trust {row.trust:.3f} avg reward {row.average_reward:+.4f}")
    assert booster.jobs > 0 and booster.trust is not None
    assert all(row.trust is not None and booster.trust < row.trust for row in honest)
    start = result.client.manifest.block_number
    selected = result.client.events("EvaluatorSelected", from_block=start, evaluator=composite.address)
    revealed = result.client.events("ScoreRevealed", from_block=start, evaluator=composite.address)
    assert composite.jobs > 0 and len(revealed) == len(selected) == composite.jobs  # scored every seat it got
