"""The report's "Measured costs vs claimed costs" section on a synthetic run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offchain.protocol import floats
from simulation.costs import normalized_costs
from simulation.inputs import load_inputs
from simulation.pipeline.report_costs import TASK_Q, costs_section
from tests.unit.sim_data import write_run


def test_costs_section_prices_the_slowest_liars_under_both_rules(tmp_path: Path) -> None:
    inputs = load_inputs(write_run(tmp_path / "run", n_records=8))
    text, data = costs_section(inputs, rounds=1500, seed=4, k=2)
    slow_node = inputs.nodes[int(np.argmax(inputs.node_latency_ms))]
    slow_evaluator = inputs.evaluators[int(np.argmax(inputs.evaluator_latency_ms))]
    assert data["liars"] == {slow_node: 1, slow_evaluator: 1}
    claimed, measured = data["rules"]["claimed"], data["rules"]["measured"]
    node = next(c for c in claimed["liars"] if c["role"] == "inference")
    assert (node["name"], node["cost_truthful"], node["cost_lying"]) == (slow_node, 1.0, 0.0)
    assert node["gain"] > 0 and all(c["gain"] == 0.0 for c in measured["liars"])
    assert all(c["gain"] == 0.0 for role in measured["honest"].values() for c in role["nodes"].values())
    before = floats.inference_reward(1.0, 0.5, TASK_Q, 1.0)
    after = floats.inference_reward(1.0, 0.5, TASK_Q, 0.0)
    assert f"goes from {before:.2f} to {after:.2f} ({100 * (after - before) / before:+.0f} %)" in text
    claims = inputs.node_latency_ms.copy()
    claims[inputs.nodes.index(slow_node)] = 0.001
    fastest = int(np.argmin(inputs.node_latency_ms))
    assert (f"{inputs.nodes[fastest]}, goes from C = {normalized_costs(inputs.node_latency_ms)[fastest]:.2f} to "
            f"{normalized_costs(claims)[fastest]:.2f}") in text
    assert f"| inference {slow_node} | claimed (old) | 1.000 → 0.000 |" in text
    assert f"| evaluator {slow_evaluator} | measured (now) |" in text
