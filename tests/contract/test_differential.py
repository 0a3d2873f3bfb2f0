"""Differential test: the contract's draws, measured costs and settlements equal offchain.protocol's, to the wei.

Random deployments (K, aggregation including trust weighting with either update rule, alpha/beta,
reward unit, slash penalty, trust and smoothing parameters) and random stakes play batches of random
size on the real contract in the embedded EVM, with random response times (the test moves the
clock before each answer and commit), silent nodes, silent and commit-only evaluators. For every
batch the draw equals `draw_batch` over the pools as they stood at the open, every CostMeasured
event equals `per_item_us` and `smooth_cost`, and every BatchFinalized, RewardsSettled and
TrustUpdated value equals `settle_batch`'s WAD and wei results exactly (carrying trust weights from
batch to batch, as the contract does). A batch of one is checked against the float equations too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from deploy.devnet import Devnet, advance_time, mine
from offchain.protocol import WAD, Params, floats, settle_batch, wad
from offchain.protocol.draw import draw_batch, draw_seed
from offchain.protocol.params import AGGREGATIONS
from offchain.protocol.types import Role

STAKE_UNIT = 10**18

weights = st.integers(min_value=0, max_value=3 * WAD)
_fields = st.fixed_dictionaries({
    "alphaF": weights,
    "betaF": weights,
    "alphaM": weights,
    "betaM": weights,
    "slashPenalty": st.integers(min_value=0, max_value=2 * WAD),
    "rewardUnit": st.integers(min_value=1, max_value=10**17),
    "k": st.integers(min_value=1, max_value=3),
    "aggregation": st.integers(min_value=0, max_value=3),
    "minStake": st.just(STAKE_UNIT),
    "epochLength": st.just(100),
    "trustRule": st.integers(min_value=0, max_value=2),
    "costRule": st.integers(min_value=0, max_value=1),
    "costQuantile": st.one_of(st.just(WAD // 2), st.integers(min_value=1, max_value=WAD - 1)),
    "feeRule": st.integers(min_value=0, max_value=1),
    "referenceBond": st.one_of(st.just(0), st.integers(min_value=1, max_value=10**17)),
    "evaluatorReward": st.integers(min_value=0, max_value=1),
    "trustLambda": st.one_of(st.integers(min_value=0, max_value=WAD), st.just(WAD)),
    "trustMin": st.integers(min_value=1, max_value=WAD),
    "trustMax": st.integers(min_value=WAD, max_value=18 * WAD),
    "costSmoothing": st.one_of(st.integers(min_value=1, max_value=WAD), st.just(WAD // 5)),
})
params_strategy = _fields.flatmap(  # trustInitial anywhere in [trustMin, trustMax], often the default trustMin
    lambda f: st.one_of(st.just(f["trustMin"]), st.integers(f["trustMin"], f["trustMax"])).map(
        lambda initial: Params(**{**f, "evaluatorReward": f["evaluatorReward"] if f["k"] > 1 else 0},
                               trustInitial=initial)
    )
)


def _build(poq_artifacts: Any, params: Params, n_inference: int, n_evaluators: int, stakes: list[int],
           tmp: Path) -> Devnet:
    from offchain.chain.connect import embedded_web3

    net = Devnet.create(embedded_web3(), params, n_inference=n_inference, n_evaluators=n_evaluators,
                        deployments_dir=tmp, artifacts=poq_artifacts, stake=100 * STAKE_UNIT,
                        fixed_gas=12_000_000)
    for client, extra in zip([*net.inference, *net.evaluators], stakes, strict=False):
        if extra:
            client.transact("addStake", value=extra * STAKE_UNIT)  # unequal stakes: unequal sampling weights
    return net


def _pool_entries(net: Devnet, role: Role) -> list[tuple[int, int]]:
    nodes, units = net.owner.call("pool", role)
    return [(int(net.owner.node(a)["id"]), int(u)) for a, u in zip(nodes, units, strict=True)]


class Mirror:
    """What offchain.protocol expects: each node's measured cost and each evaluator's trust weight."""

    def __init__(self, net: Devnet) -> None:
        self.net = net
        self.cost: dict[str, int] = {}
        self.trust: dict[str, int] = {}

    def observe(self, receipt: Any, started_at: int, items: int) -> None:
        """One answer or commit: check its CostMeasured event against the mirror's arithmetic."""
        event = self.net.owner.receipt_events(receipt, "CostMeasured")[0]["args"]
        node = str(event["node"])
        at = int(self.net.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
        observed = wad.per_item_us(at - started_at, items)
        smoothed = wad.smooth_cost(self.cost.get(node, 0), node in self.cost, observed,
                                   self.net.params.costSmoothing)
        assert (int(event["observedUs"]), int(event["costUs"])) == (observed, smoothed)
        self.cost[node] = smoothed

    def normalized(self, address: str, pool: list[tuple[str, int]]) -> int:
        params = self.net.params
        lo, hi = wad.pool_cost_range([(self.cost.get(a), u) for a, u in pool], params.costRule, params.costQuantile)
        return wad.normalized_cost(address in self.cost, self.cost.get(address, 0), lo, hi)


def _play(net: Devnet, mirror: Mirror, rng: random.Random, size: int) -> None:
    params, k = net.params, net.params.k
    with_reference = rng.random() < 0.5
    withheld = with_reference and rng.random() < 0.3  # committed references the requester never reveals
    inference_pool, evaluator_pool = _pool_entries(net, Role.INFERENCE), _pool_entries(net, Role.EVALUATOR)
    batch_id, receipt = net.open_batch([f"q{i}" for i in range(size)], with_reference=with_reference)
    opened_at = int(net.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    drawn, draw_receipt = net.draw(batch_id)
    # the draw: the seed of the draw block's hash, the pools as they stood at the open
    draw_block = int(net.owner.call("getBatch", batch_id)[5])
    seed = draw_seed(bytes(net.w3.eth.get_block(draw_block)["hash"]), net.owner.address, batch_id)
    event = net.owner.receipt_events(draw_receipt, "BatchDrawn")[0]["args"]
    assert bytes(event["seed"]) == seed
    expected_draw = draw_batch(seed, size, k, inference_pool, evaluator_pool)
    ids = [int(net.owner.node(a)["id"]) for a in drawn.participants]
    assert (tuple(ids), drawn.inference_count, drawn.tasks) == (
        expected_draw.participants, expected_draw.inference_count, expected_draw.tasks)

    silent = {n for n in drawn.nodes if rng.random() < 0.2}
    answered = [n not in silent for n in drawn.nodes]
    for node in drawn.nodes:
        if node in silent:
            continue
        advance_time(net.w3, rng.randint(0, 30))
        mirror.observe(net.answer(batch_id, node), opened_at, len(drawn.tasks_of(node)))
    if silent:
        advance_time(net.w3, params.answerWindow + 1)
    revealed: list[list[int] | None] = [None] * len(drawn.participants)
    if any(answered):
        if withheld:
            advance_time(net.w3, params.referenceWindow + 1)  # the referencing stage ends by the clock
        start = _stage_start(net, batch_id, with_reference and not withheld)
        committed: dict[str, list[int]] = {}
        for offset, evaluator in enumerate(drawn.evaluators):
            if rng.random() < 0.15:
                continue  # never commits
            scores = [rng.choice([0, 10_000, rng.randint(0, 10_000)]) for _ in drawn.seats_of(evaluator)]
            advance_time(net.w3, rng.randint(0, 20))
            receipt = net.commit(batch_id, evaluator, scores)
            mirror.observe(receipt, start, len(scores))
            committed[evaluator] = scores
            del offset
        if len(committed) < len(drawn.evaluators):
            advance_time(net.w3, params.commitWindow + 1)
        quiet = {e for e in committed if rng.random() < 0.15}
        for evaluator, scores in committed.items():
            if evaluator not in quiet:
                net.reveal(batch_id, evaluator)
                revealed[drawn.participants.index(evaluator)] = scores
        if quiet:
            advance_time(net.w3, params.revealWindow + 1)
    inference, evaluators = _addresses(net, Role.INFERENCE), _addresses(net, Role.EVALUATOR)
    costs = [mirror.normalized(a, inference if p < drawn.inference_count else evaluators)
             for p, a in enumerate(drawn.participants)]
    trust = [mirror.trust.get(a, params.trustInitial) for a in drawn.participants]
    stakes_before = {a: int(net.owner.node(a)["stake"]) for a in drawn.participants}
    bond = params.referenceBond if with_reference and params.feeRule == wad.FIXED else 0
    fee = size * (wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit) + bond)
    assert int(net.owner.call("requiredFee", size, with_reference)) == fee
    expected = settle_batch(params, fee, drawn.tasks, answered + [False] * len(drawn.evaluators), revealed,
                            costs, trust, references_withheld=withheld and any(answered))
    result = net.settlement(net.finalize(batch_id))
    assert result["quality"] == expected.quality
    assert result["rewards"] == [r for row in expected.rewards for r in row]
    assert result["expired_mask"] == expected.expired_mask
    assert (result["paid"], result["refund"]) == (expected.paid, expected.refund)
    slashed = 0
    for p, address in enumerate(drawn.participants):
        party = expected.parties[p]
        debited = min(party.debit, stakes_before[address])
        slashed += debited
        assert result["settled"][address] == (party.jobs, party.reward_wad, party.credit - debited)
    assert result["treasury"] == slashed
    assert result["retained"] == expected.retained
    informed = {drawn.participants[p]: (expected.parties[p].informed_seats, expected.parties[p].information)
                for p in range(len(drawn.participants)) if revealed[p] is not None and params.informed}
    assert result["information"] == informed
    moved = {a: w for a, w in zip(drawn.participants, expected.weights, strict=False) if w is not None}
    assert result["trust"] == moved
    mirror.trust.update(moved)
    if size == 1 and expected.rounds[0] is not None:
        _check_floats(params, drawn, revealed, costs, expected)


def _stage_start(net: Devnet, batch_id: int, with_reference: bool) -> int:
    """When the commit stage began: the reference reveal, or the last answer, or a deadline."""
    if with_reference:
        receipt = net.reveal_references(batch_id)
        return int(net.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    stage, deadline = net.owner.call("stageOf", batch_id, block="pending")
    return int(deadline) - net.params.commitWindow


def _addresses(net: Devnet, role: Role) -> list[tuple[str, int]]:
    nodes, units = net.owner.call("pool", role)
    return list(zip([str(a) for a in nodes], [int(u) for u in units], strict=True))


def _check_floats(params: Params, drawn: Any, revealed: list[list[int] | None], costs: list[int],
                  expected: Any) -> None:
    """The float equations (simulation path) agree with the WAD results within 1e-12."""
    node, seats = drawn.tasks[0]
    seat_scores = [revealed[s][0] if revealed[s] is not None else None for s in seats]  # type: ignore[index]
    scores = [s / 1000.0 for s in seat_scores if s is not None]
    if not scores or params.aggregation == wad.TRUST or params.evaluatorReward == wad.PEER:
        # the trust center and the peer rule (0 in a batch of one: every sign is 0) are checked exactly above
        return
    center = floats.consensus(scores, AGGREGATIONS[params.aggregation])
    q = center / 10.0
    assert abs(q - expected.quality[0] / WAD) <= 1e-12
    r_f = floats.inference_reward(params.alphaF / WAD, params.betaF / WAD, q, costs[node] / WAD)
    assert abs(r_f - expected.rewards[0][0] / WAD) <= 1e-12
    for j, s in enumerate(seat_scores):
        if s is not None:
            d = floats.deviation(s / 1000.0, center)
            r_m = floats.evaluator_reward(params.alphaM / WAD, params.betaM / WAD, d, costs[seats[j]] / WAD)
            assert abs(r_m - expected.rewards[0][1 + j] / WAD) <= 1e-12


@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing example prints as found: shrinking
    # a run of EVM transactions takes longer than reading the first counterexample
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    params=params_strategy,
    n_inference=st.integers(min_value=1, max_value=4),
    n_evaluators=st.integers(min_value=3, max_value=5),
    stakes=st.lists(st.integers(min_value=0, max_value=4), min_size=9, max_size=9),
    sizes=st.lists(st.one_of(st.just(1), st.integers(min_value=1, max_value=12)), min_size=3, max_size=3),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_contract_equals_protocol_to_the_wei(
    poq_artifacts: Any, tmp_path: Path, params: Params, n_inference: int, n_evaluators: int,
    stakes: list[int], sizes: list[int], seed: int,
) -> None:
    stakes = [s * 100 for s in stakes]  # large stakes: the cap on debits is the stateful test's business
    net = _build(poq_artifacts, params, n_inference, n_evaluators, stakes, tmp_path)
    assert int(net.owner.call("maxPayout")) == wad.max_payout(params.alphaF, params.alphaM, params.k,
                                                               params.rewardUnit)
    mirror, rng = Mirror(net), random.Random(seed)
    for size in sizes:
        _play(net, mirror, rng, size)
        mine(net.w3)
    stakes_, balances, escrow = net.owner.call("accounting")
    assert stakes_ + balances + escrow == net.w3.eth.get_balance(net.owner.address)
