"""Replay simulated rounds on the real PoQ batch contract and check the reward equations to the wei.

Each of the first n simulated rounds becomes a batch of one task: the replay opens it with that
round's record, lets the contract draw the node and the panel (from a later block's hash, in
proportion to stake: all stakes are equal here, so uniformly), and plays the round with the chain's
choice, so it checks the equations on the chain's draws, not the simulation's sampling. When the drawn
node skipped the record (a partial grid), a record it answered stands in, drawn as the Monte Carlo
draws one (seeded).

Costs: the contract measures them from block timestamps, so the replay makes the chain see the
profiled latencies. It moves the clock by the node's latency (whole seconds, the timestamps'
resolution) before the answer; the evaluators commit in parallel, as real ones would: those of equal
whole-second latency in one block, each group after its own latency counted from the commit stage's
start. The chain adds its own inclusion time (the draw's blocks before an answer, one block per
transaction), common to a role in a batch of one. Every CostMeasured event is checked against
wad.per_item_us and wad.smooth_cost on the block timestamps (a mirror kept here), and each batch is
settled with offchain.protocol.settle_batch on the mirror's costs, compared with BatchFinalized and
RewardsSettled:

* WAD rewards and wei amounts must be equal (max_wad_diff, max_wei_diff, max_cost_us_diff: 0);
* the float equations (simulation.montecarlo.round_rewards) on the same measured costs differ only by
  the rounding of scores to units and of the WAD arithmetic (max_float_diff);
* against the profiled costs (the simulation's claimed rule, the paper's C) they also differ by what
  measuring changes: quantization to seconds, the inclusion time, smoothing (max_cost_diff,
  max_profiled_diff). Latencies that round to the same second are measured alike: sub-second
  evaluators all cost 0 in batches of one.

The evaluator reward checked is the paper's per-round rule: replay_onchain takes a simulation run with
evaluator_reward "paper" only (the default "peer" rule pays per batch of rounds, simulation.peer).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from offchain.errors import ConfigError
from offchain.protocol import WAD, Params, commitments, floats, settle_batch, wad
from simulation.costs import normalized_costs
from simulation.exact import score_units
from simulation.lazy import RANDOM
from simulation.montecarlo import SimResult, answered_records, round_rewards
from simulation.peer import PAPER

STAKE_WEI = 1_000 * 10**18  # far above any debit in a replay, so the stake cap never applies
FIXED_GAS = 2_000_000


@dataclass(frozen=True)
class ReplayReport:
    rounds: int  # batches of one task, one per replayed round
    max_wad_diff: int  # max |on-chain reward (WAD) - settle_batch's| (must be 0)
    max_wei_diff: int  # max |on-chain wei amount, paid, refund - settle_batch's| (must be 0)
    max_cost_us_diff: int  # max |CostMeasured / getNode costUs - the mirror's| in µs (must be 0)
    max_float_diff: float  # max |on-chain reward - float equations on the measured costs|, reward units
    max_cost_diff: float  # max |C the contract measured - C of the profiled latencies|
    max_profiled_diff: float  # max |on-chain reward - float equations on the profiled costs|
    nodes: list[int]  # the inference node the chain picked per round (index into the simulation's)
    evaluators: list[tuple[int, ...]]  # the evaluators the chain picked per round
    measured_us: dict[str, int]  # every node's measured cost after the replay (name: µs per item)

    def as_dict(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "batch_size": 1, "max_wad_diff": self.max_wad_diff,
                "max_wei_diff": self.max_wei_diff, "max_cost_us_diff": self.max_cost_us_diff,
                "max_float_diff": self.max_float_diff, "max_cost_diff": self.max_cost_diff,
                "max_profiled_diff": self.max_profiled_diff, "measured_us": self.measured_us}


def whole_seconds(latency_ms: float) -> int:
    """A latency at the timestamps' resolution: the nearest whole second."""
    return int(latency_ms / 1000.0 + 0.5)


def replay_onchain(result: SimResult, n: int, params: Params | None = None, *, artifacts: Any = None,
                   w3: Any = None) -> ReplayReport:
    """Play the first n simulated rounds' records as batches of one on a fresh deployment; compare rewards.

    `params` defaults to the simulation's weights, K, aggregation and cost smoothing; `w3` to a fresh
    embedded eth-tester chain; `artifacts` to the compiled contracts (cached by source hash). The
    float equations it checks are the paper's per-round ones, so `result` must use evaluator_reward
    "paper" (ConfigError otherwise).
    """
    from deploy.compiler import compile_contracts
    from deploy.devnet import Devnet
    from offchain.chain.connect import embedded_web3

    if not 1 <= n <= len(result.rounds.record):
        raise ConfigError(f"replay rounds must be between 1 and the {len(result.rounds.record)} simulated")
    if result.config.evaluator_reward != PAPER:
        raise ConfigError(f"the replay checks the paper's per-round evaluator reward, not "
                          f"{result.config.evaluator_reward!r}: simulate with evaluator_reward 'paper' "
                          "(--evaluator-reward paper)")
    if any(x.kind == RANDOM for x in result.config.lazy):
        raise ConfigError("the replay plays the run's scores; a random evaluator has none (its draws are per seat)")
    params = params or result.config.params()
    inputs = result.inputs
    n_nodes, n_evaluators = len(inputs.nodes), len(inputs.evaluators)
    slowest = (whole_seconds(float(inputs.node_latency_ms.max())),
               whole_seconds(float(inputs.evaluator_latency_ms.max())))
    if slowest[0] >= params.answerWindow or slowest[1] >= params.commitWindow:
        raise ConfigError(f"the replay waits out each latency on the chain's clock: {slowest[0]} s to answer and "
                          f"{slowest[1]} s to commit do not fit the {params.answerWindow} s answer and "
                          f"{params.commitWindow} s commit windows")
    if max(n_nodes, n_evaluators) > params.maxPoolSize:
        params = replace(params, maxPoolSize=max(n_nodes, n_evaluators))  # Params rejects > 32
    with tempfile.TemporaryDirectory(prefix="poq-replay-") as tmp:
        net = Devnet.create(
            w3 or embedded_web3(), params, n_inference=n_nodes, n_evaluators=n_evaluators,
            deployments_dir=Path(tmp), artifacts=artifacts or compile_contracts(), stake=STAKE_WEI,
            fixed_gas=FIXED_GAS,
        )
        checker = _Checker(result, net)
        for i in range(n):
            checker.play(int(result.rounds.record[i]))
        return checker.report(n)


class _Checker:
    """Plays batches of one, mirrors the measured costs, and keeps the worst differences."""

    def __init__(self, result: SimResult, net: Any) -> None:
        self.result, self.net, self.params = result, net, net.params
        inputs = result.inputs
        self.units = score_units(inputs.scores)
        self.index = {c.sender.lower(): i for i, c in enumerate(net.inference)}
        self.index.update({c.sender.lower(): i for i, c in enumerate(net.evaluators)})
        self.pools = ([c.sender.lower() for c in net.inference], [c.sender.lower() for c in net.evaluators])
        self.profiled = (normalized_costs(inputs.node_latency_ms), normalized_costs(inputs.evaluator_latency_ms))
        self.config = replace(result.config, alpha_f=self.params.alphaF / WAD, beta_f=self.params.betaF / WAD,
                              alpha_m=self.params.alphaM / WAD, beta_m=self.params.betaM / WAD,
                              aggregation=self.params.aggregation_name)
        self.stand_in = np.random.default_rng([result.config.seed, 3])
        self.cost: dict[str, int] = {}  # the mirror: address (lower) -> measured µs
        self.wad_diff = self.wei_diff = self.us_diff = 0
        self.float_diff = self.cost_diff = self.profiled_diff = 0.0
        self.nodes: list[int] = []
        self.evaluators: list[tuple[int, ...]] = []

    def play(self, record: int) -> None:
        from deploy.devnet import advance_time, now

        net, inputs = self.net, self.result.inputs
        batch_id, opened = net.open_batch([inputs.records[record]], with_reference=False)
        drawn, _ = net.draw(batch_id)
        node_address, panel = drawn.node_of(0), drawn.panel_of(0)
        node, seats = self.index[node_address.lower()], [self.index[a.lower()] for a in panel]
        if not inputs.answered[record, node]:
            record = int(answered_records(inputs.answered, np.array([node]), self.stand_in)[0])
        wait = whole_seconds(float(inputs.node_latency_ms[node]))
        if wait:
            advance_time(net.w3, wait)
        answered = net.answer(batch_id, node_address, [f"{inputs.nodes[node]} on {inputs.records[record]}"])
        start = self._observe(answered, self._time(opened))
        groups: dict[int, list[int]] = {}
        for j, m in enumerate(seats):
            groups.setdefault(whole_seconds(float(inputs.evaluator_latency_ms[m])), []).append(j)
        for wait in sorted(groups):
            gap = start + wait - now(net.w3)
            if gap > 0:
                advance_time(net.w3, gap)
            for receipt in self._commit_together(batch_id, [(panel[j], int(self.units[record, node, seats[j]]))
                                                            for j in groups[wait]]):
                self._observe(receipt, start)
        for address in panel:
            net.reveal(batch_id, address)
        self._check(drawn, record, node, seats, net.finalize(batch_id))

    def _commit_together(self, batch_id: int, commits: Sequence[tuple[str, int]]) -> list[Any]:
        """Commit one score per evaluator, all in one block (the evaluators work in parallel)."""
        net = self.net
        hashes = []
        with _one_block(net.w3):
            for evaluator, score in commits:
                salt = commitments.new_salt()
                net.salts[(batch_id, evaluator.lower())] = ([score], salt)  # what Devnet.reveal opens
                digest = commitments.score_commitment(net.chain_id, net.owner.address, batch_id, evaluator,
                                                      [score], salt)
                hashes.append((evaluator, net.client_for(evaluator).send("commitScores", batch_id, digest)))
        return [net.client_for(evaluator).wait(h) for evaluator, h in hashes]

    def _time(self, receipt: Any) -> int:
        return int(self.net.w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def _observe(self, receipt: Any, started_at: int) -> int:
        """Check an answer's or commit's CostMeasured against the mirror; returns the receipt's time."""
        at = self._time(receipt)
        event = self.net.owner.receipt_events(receipt, "CostMeasured")[0]["args"]
        who = str(event["node"]).lower()
        observed = wad.per_item_us(at - started_at, 1)
        smoothed = wad.smooth_cost(self.cost.get(who, 0), who in self.cost, observed, self.params.costSmoothing)
        self.us_diff = max(self.us_diff, abs(int(event["observedUs"]) - observed), abs(int(event["costUs"]) - smoothed))
        self.cost[who] = smoothed
        return at

    def _normalized(self, address: str, role: int) -> int:
        lo, hi = wad.cost_range([self.cost.get(a) for a in self.pools[role]])
        return wad.normalized_cost(address.lower() in self.cost, self.cost.get(address.lower(), 0), lo, hi)

    def _check(self, drawn: Any, record: int, node: int, seats: list[int], receipt: Any) -> None:
        """settle_batch on the mirror's costs against the receipt; the float equations against both."""
        params, net = self.params, self.net
        parts = drawn.participants
        costs = [self._normalized(a, 0 if p < drawn.inference_count else 1) for p, a in enumerate(parts)]
        (p_node, p_seats), = drawn.tasks
        revealed: list[list[int] | None] = [None] * len(parts)
        for p in p_seats:
            revealed[p] = [int(self.units[record, node, self.index[parts[p].lower()]])]
        fee = int(net.owner.call("maxPayout"))
        expected = settle_batch(params, fee, drawn.tasks, [p < drawn.inference_count for p in range(len(parts))],
                                revealed, costs)
        got = net.settlement(receipt)
        want = [r for row in expected.rewards for r in row]
        self.wad_diff = max(self.wad_diff, *(abs(a - b) for a, b in zip(got["rewards"], want, strict=True)))
        self.wei_diff = max(self.wei_diff, abs(got["paid"] - expected.paid), abs(got["refund"] - expected.refund))
        for p, address in enumerate(parts):
            party = expected.parties[p]
            jobs, reward, amount = got["settled"][address]
            self.wad_diff = max(self.wad_diff, abs(reward - party.reward_wad), abs(jobs - party.jobs))
            self.wei_diff = max(self.wei_diff, abs(amount - (party.credit - party.debit)))
        onchain = [r / WAD for r in expected.rewards[0]]  # equal to the chain's (checked above)
        measured = [self._float_cost(parts[p], 0 if p < drawn.inference_count else 1) for p in (p_node, *p_seats)]
        profiled = [float(self.profiled[0][node]), *(float(self.profiled[1][m]) for m in seats)]
        self.float_diff = max(self.float_diff, *self._diffs(record, node, seats, measured, onchain))
        self.profiled_diff = max(self.profiled_diff, *self._diffs(record, node, seats, profiled, onchain))
        self.cost_diff = max(self.cost_diff, *(abs(a - b) for a, b in zip(measured, profiled, strict=True)))
        self.nodes.append(node)
        self.evaluators.append(tuple(seats))

    def _float_cost(self, address: str, role: int) -> float:
        lo, hi = wad.cost_range([self.cost.get(a) for a in self.pools[role]])
        return floats.normalized_cost(float(self.cost[address.lower()]), float(lo), float(hi))

    def _diffs(self, record: int, node: int, seats: list[int], costs: list[float], onchain: list[float]) -> list[float]:
        """|on-chain reward - float equations| per party (node first) with these float costs."""
        scores = self.result.inputs.scores[record, node, seats].reshape(-1, 1)  # (K, 1)
        _, r_f, r_m = round_rewards(scores, np.array(costs[:1]), np.array(costs[1:]).reshape(-1, 1), self.config)
        floats_ = [float(r_f[0]), *(float(x) for x in r_m[:, 0])]
        return [abs(a - b) for a, b in zip(onchain, floats_, strict=True)]

    def report(self, n: int) -> ReplayReport:
        net, inputs, names = self.net, self.result.inputs, {}
        for clients, labels in ((net.inference, inputs.nodes), (net.evaluators, inputs.evaluators)):
            for client, name in zip(clients, labels, strict=True):
                chain_us = int(net.owner.node(client.sender)["costUs"])
                if client.sender.lower() in self.cost:
                    self.us_diff = max(self.us_diff, abs(chain_us - self.cost[client.sender.lower()]))
                    names[name] = chain_us
        return ReplayReport(n, self.wad_diff, self.wei_diff, self.us_diff, self.float_diff, self.cost_diff,
                            self.profiled_diff, self.nodes, self.evaluators, names)


@contextmanager
def _one_block(w3: Any) -> Iterator[None]:
    """Transactions sent inside go into one block, mined on the way out (eth-tester or anvil).

    eth-tester mines the pending transactions when auto-mining is switched back on (an explicit mine
    first would cost a second block, one more second on the clock); anvil needs the evm_mine.
    """
    from deploy.devnet import mine
    from offchain.chain.connect import is_embedded

    embedded = is_embedded(w3)
    if embedded:
        w3.provider.ethereum_tester.disable_auto_mine_transactions()
    else:
        w3.provider.make_request("evm_setAutomine", [False])
    try:
        yield
    finally:
        if embedded:
            w3.provider.ethereum_tester.enable_auto_mine_transactions()
        else:
            mine(w3, 1)
            w3.provider.make_request("evm_setAutomine", [True])
