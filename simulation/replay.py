"""Replay simulated rounds on the real PoQ contract and check the reward equations to the wei.

The contract draws each task's inference node and its K evaluators itself, from on-chain
randomness; nobody can force its choice. So the replay does NOT reproduce the simulation's sampled
node and evaluators: it re-samples them on chain. For each of the first n simulated rounds it opens a
task for that round's sampled record, reads which node (TaskOpened) and evaluators (EvaluatorSelected)
the contract picked, commits and reveals the simulated scores of that record by that node from those
evaluators (as contract score units), finalizes, and compares every RewardSettled event with

* offchain.protocol.settle_round on the same inputs (WAD reward and wei amount: must be equal), and
* the float simulation's equations (simulation.montecarlo.round_rewards) on the same inputs, whose
  difference comes only from rounding scores to units and latencies to microseconds.

What is checked is therefore the reward equations (consensus, Q, R_F, d, R_M, costs, payouts) on
the chain's choices, not the sampling of the simulated rounds.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError
from offchain.protocol import WAD, Params
from simulation.exact import latency_us, score_units, settle, wad_costs
from simulation.montecarlo import SimResult, normalized_costs, round_rewards

STAKE_WEI = 1_000 * 10**18  # far above any debit in a replay, so the stake cap never applies
FIXED_GAS = 2_000_000


@dataclass(frozen=True)
class ReplayReport:
    rounds: int
    max_wad_diff: int  # max |on-chain rewardWad - settle_round's| (must be 0)
    max_wei_diff: int  # max |on-chain amountWei - settle_round's| (must be 0)
    max_float_diff: float  # max |on-chain reward - float equations'| in reward units
    nodes: list[int]  # the inference node the chain picked per round (index into the simulation's)
    evaluators: list[tuple[int, ...]]  # the evaluators the chain picked per round

    def as_dict(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "max_wad_diff": self.max_wad_diff, "max_wei_diff": self.max_wei_diff,
                "max_float_diff": self.max_float_diff}


def replay_onchain(
    result: SimResult,
    n: int,
    params: Params | None = None,
    *,
    artifacts: Any = None,
    w3: Any = None,
) -> ReplayReport:
    """Send the first n simulated rounds' records through a fresh deployment; compare rewards.

    `params` defaults to the simulation's weights, K and aggregation; `w3` to a fresh embedded
    eth-tester chain; `artifacts` to the compiled contracts (cached by source hash).
    """
    from deploy.compiler import compile_contracts
    from deploy.devnet import Devnet
    from offchain.chain.connect import embedded_web3

    if not 1 <= n <= len(result.rounds.record):
        raise ConfigError(f"replay rounds must be between 1 and the {len(result.rounds.record)} simulated")
    params = params or result.config.params()
    inputs = result.inputs
    n_nodes, n_evaluators = len(inputs.nodes), len(inputs.evaluators)
    if max(n_nodes, n_evaluators) > params.maxPoolSize:
        params = replace(params, maxPoolSize=max(n_nodes, n_evaluators))  # Params rejects > 255
    node_us, evaluator_us = latency_us(inputs.node_latency_ms), latency_us(inputs.evaluator_latency_ms)
    with tempfile.TemporaryDirectory(prefix="poq-replay-") as tmp:
        net = Devnet.create(
            w3 or embedded_web3(), params, n_inference=n_nodes, n_evaluators=n_evaluators,
            deployments_dir=Path(tmp), artifacts=artifacts or compile_contracts(), stake=STAKE_WEI,
            fixed_gas=FIXED_GAS,
        )
        net.report_costs({
            **{c.sender: us for c, us in zip(net.inference, node_us, strict=True)},
            **{c.sender: us for c, us in zip(net.evaluators, evaluator_us, strict=True)},
        })
        checker = _Checker(result, params, node_us, evaluator_us)
        node_of = {c.sender.lower(): i for i, c in enumerate(net.inference)}
        evaluator_of = {c.sender.lower(): i for i, c in enumerate(net.evaluators)}
        for i in range(n):
            record = int(result.rounds.record[i])
            task_id, node_address, _ = net.open_task(task_input=inputs.records[record], reference=None)
            node = node_of[node_address.lower()]
            output = f"{inputs.nodes[node]} on {inputs.records[record]}"
            seat_addresses, _ = net.answer(task_id, output=output)
            seats = [evaluator_of[a.lower()] for a in seat_addresses]
            for address, m in zip(seat_addresses, seats, strict=True):
                net.commit(task_id, address, int(checker.units[record, node, m]))
            for address in seat_addresses:
                net.reveal(task_id, address)
            receipt = net.finalize(task_id)
            settled = {
                str(e["args"]["account"]).lower(): (int(e["args"]["rewardWad"]), int(e["args"]["amountWei"]))
                for e in net.requester.receipt_events(receipt, "RewardSettled")
            }
            checker.check(record, node, seats, [settled[node_address.lower()]]
                          + [settled[a.lower()] for a in seat_addresses])
    return checker.report(n)


class _Checker:
    """Expected rewards of a round (exact and float) and the running worst differences."""

    def __init__(self, result: SimResult, params: Params, node_us: list[int],
                 evaluator_us: list[int]) -> None:
        self.result, self.params = result, params
        self.units = score_units(result.inputs.scores)
        self.node_wad, self.evaluator_wad = wad_costs(node_us), wad_costs(evaluator_us)
        self.node_float = normalized_costs(result.inputs.node_latency_ms)  # as the simulation has them
        self.evaluator_float = normalized_costs(result.inputs.evaluator_latency_ms)
        self.config = replace(result.config, alpha_f=params.alphaF / WAD, beta_f=params.betaF / WAD,
                              alpha_m=params.alphaM / WAD, beta_m=params.betaM / WAD,
                              aggregation=params.aggregation_name)
        self.wad_diff = self.wei_diff = 0
        self.float_diff = 0.0
        self.nodes: list[int] = []
        self.evaluators: list[tuple[int, ...]] = []

    def check(self, record: int, node: int, seats: list[int], onchain: list[tuple[int, int]]) -> None:
        """`onchain`: (rewardWad, amountWei) of the node, then of each seat."""
        expected = settle(self.params, self.units, self.node_wad, self.evaluator_wad, node, seats, record)
        wads = [expected.node_reward, *expected.evaluator_rewards]
        weis = [expected.node_wei, *expected.evaluator_wei]
        scores = self.result.inputs.scores[record, node, seats].reshape(-1, 1)  # (K, 1)
        _, r_f, r_m = round_rewards(scores, self.node_float[[node]],
                                    self.evaluator_float[seats].reshape(-1, 1), self.config)
        floats = [float(r_f[0]), *(float(x) for x in r_m[:, 0])]
        for (got_wad, got_wei), want_wad, want_wei, want_float in zip(onchain, wads, weis, floats,
                                                                      strict=True):
            self.wad_diff = max(self.wad_diff, abs(got_wad - want_wad))
            self.wei_diff = max(self.wei_diff, abs(got_wei - want_wei))
            self.float_diff = max(self.float_diff, abs(got_wad / WAD - want_float))
        self.nodes.append(node)
        self.evaluators.append(tuple(seats))

    def report(self, n: int) -> ReplayReport:
        return ReplayReport(n, self.wad_diff, self.wei_diff, self.float_diff, self.nodes, self.evaluators)
