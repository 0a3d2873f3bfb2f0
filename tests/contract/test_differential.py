"""Differential test: the contract's settled rewards equal offchain.protocol's, to the wei.

Hundreds of random rounds (random K, aggregation including trust weighting with either update
rule, scores, silent seats, latencies, alpha/beta, reward unit) run on the real contract in the
embedded EVM; every RewardSettled and TrustUpdated event must equal `settle_round`'s WAD and wei
results exactly (the test carries each evaluator's trust weight from round to round, as the
contract does), and the float equations agree within 1e-12.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offchain.protocol import WAD, Params, floats, settle_round, wad
from offchain.protocol.params import AGGREGATIONS

STAKE = 1_000 * 10**18  # large enough that no debit in these rounds reaches the stake cap

weights = st.integers(min_value=0, max_value=3 * WAD)
params_strategy = st.builds(
    Params,
    alphaF=weights,
    betaF=weights,
    alphaM=weights,
    betaM=weights,
    slashPenalty=st.integers(min_value=0, max_value=2 * WAD),
    rewardUnit=st.integers(min_value=1, max_value=10**17),
    k=st.integers(min_value=1, max_value=3),
    aggregation=st.integers(min_value=0, max_value=3),
    minStake=st.just(10**18),
    epochLength=st.just(100),
    trustRule=st.integers(min_value=0, max_value=1),
    trustLambda=st.one_of(st.integers(min_value=0, max_value=WAD), st.just(WAD)),
    trustMin=st.integers(min_value=1, max_value=WAD),
    trustMax=st.integers(min_value=WAD, max_value=18 * WAD),
).flatmap(  # trustInitial anywhere in [trustMin, trustMax], often the default 1.0
    lambda p: st.one_of(st.just(WAD), st.integers(p.trustMin, p.trustMax)).map(
        lambda initial: replace(p, trustInitial=initial)
    )
)
score = st.one_of(st.integers(min_value=0, max_value=10_000), st.just(0), st.just(10_000))
seat_score = st.one_of(score, score, score, score, st.none())  # about one seat in five stays silent
latency = st.integers(min_value=1, max_value=5_000_000)


def _build(poq_artifacts: Any, params: Params, n_evaluators: int, tmp: Path) -> Any:
    from deploy.devnet import Devnet
    from offchain.chain.connect import embedded_web3

    return Devnet.create(
        embedded_web3(),
        params,
        n_inference=3,
        n_evaluators=n_evaluators,
        deployments_dir=tmp,
        artifacts=poq_artifacts,
        stake=STAKE,
        fixed_gas=2_000_000,
    )


def _cost(latencies: dict[str, int], pool: list[str], address: str) -> int:
    lo, hi = wad.cost_range([latencies[a] for a in pool])
    return wad.normalized_cost(True, latencies[address], lo, hi)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    params=params_strategy,
    n_evaluators=st.integers(min_value=3, max_value=5),
    latencies=st.lists(latency, min_size=8, max_size=8),
    rounds=st.lists(st.lists(seat_score, min_size=3, max_size=3), min_size=5, max_size=5),
)
def test_contract_rewards_equal_protocol_to_the_wei(
    poq_artifacts: Any, tmp_path: Path, params: Params, n_evaluators: int, latencies: list[int], rounds: Any
) -> None:
    net = _build(poq_artifacts, params, n_evaluators, tmp_path)
    inference = [c.sender for c in net.inference]
    evaluators = [c.sender for c in net.evaluators]
    reported = dict(zip(inference + evaluators, latencies, strict=False))
    net.report_costs(reported)
    fee = int(net.owner.call("maxPayout"))
    assert fee == wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)

    trust = dict.fromkeys(evaluators, params.trustInitial)  # every weight starts at the initial one
    for scores in rounds:
        result = net.play_round(scores[: params.k], reference=None)
        seats = result["evaluators"]
        seat_scores = scores[: len(seats)]
        expected = settle_round(
            params,
            fee,
            seat_scores,
            _cost(reported, inference, result["node"]),
            [_cost(reported, evaluators, e) for e in seats],
            [trust[e] for e in seats],
        )
        moved = {e: w for e, w in zip(seats, expected.trust_weights, strict=False) if w is not None}
        assert result["trust"] == moved  # no event outside trust mode, one per revealed seat in it
        trust.update(moved)
        for e in seats:
            assert net.owner.node(e)["trustWeight"] == trust[e]
        settled = result["settled"]
        assert settled[result["node"]] == (expected.node_reward, expected.node_wei)
        for seat, evaluator in enumerate(seats):
            assert settled[evaluator] == (expected.evaluator_rewards[seat], expected.evaluator_wei[seat])
        assert result["refund"] == expected.refund
        assert result["quality"] == expected.quality
        _check_floats(params, seat_scores, expected, reported, inference, evaluators, result)


def _check_floats(
    params: Params,
    seat_scores: list[int | None],
    expected: Any,
    reported: dict[str, int],
    inference: list[str],
    evaluators: list[str],
    result: dict[str, Any],
) -> None:
    """The float equations (simulation path) agree with the WAD results within 1e-12."""
    revealed = [s / 1000.0 for s in seat_scores if s is not None]
    if not revealed or params.aggregation == wad.TRUST:  # the trust center is checked exactly above
        return
    mode = AGGREGATIONS[params.aggregation]
    center = floats.consensus(revealed, mode)

    def cost(pool: list[str], address: str) -> float:
        values = [reported[a] for a in pool]
        return floats.normalized_cost(reported[address], min(values), max(values))

    q = center / 10.0
    assert abs(q - expected.quality / WAD) <= 1e-12
    r_f = floats.inference_reward(params.alphaF / WAD, params.betaF / WAD, q, cost(inference, result["node"]))
    assert abs(r_f - expected.node_reward / WAD) <= 1e-12
    for seat, evaluator in enumerate(result["evaluators"]):
        s = seat_scores[seat]
        if s is None:
            continue
        d = floats.deviation(s / 1000.0, center)
        r_m = floats.evaluator_reward(params.alphaM / WAD, params.betaM / WAD, d, cost(evaluators, evaluator))
        assert abs(r_m - expected.evaluator_rewards[seat] / WAD) <= 1e-12
