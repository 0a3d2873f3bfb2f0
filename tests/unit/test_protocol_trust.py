"""On-chain trust weights in offchain.protocol (the contract's mirror, checked to the wei against it
by tests/contract/test_differential.py): the update rules by hand, and 5,000 chained rounds."""

from __future__ import annotations

import random

import pytest

from offchain.errors import ConfigError
from offchain.protocol import WAD, Params, settle_round, wad

TRUST = dict(aggregation=3, trustLambda=WAD // 2, trustMin=WAD // 10, trustMax=2 * WAD)


def test_robust_rule_moves_weights_around_the_panel_mean_deviation() -> None:
    # median 4000; d = 0, 0, 0.6; pivot = mean d = 0.2; factors 1 + 0.5 * (0.2, 0.2, -0.4)
    out = wad.trust_next([4000, 4000, 10_000], [WAD] * 3, 0, 1, wad.ROBUST, WAD // 2, WAD // 10, 2 * WAD)
    assert out == [11 * WAD // 10, 11 * WAD // 10, 8 * WAD // 10]


def test_published_rule_pivots_on_one_half_against_the_weighted_center() -> None:
    num, den = wad.weighted_center([0, 10_000], [WAD, WAD])
    assert (num, den) == (10_000 * WAD, 2 * WAD)  # center 5.0: both seats are 0.5 away
    assert wad.trust_next([0, 10_000], [WAD, WAD], num, den, wad.PUBLISHED, WAD, 1, 2 * WAD) == [WAD, WAD]
    # a seat on the center gains lambda * 0.5, and the clip holds it at trustMax
    num, den = wad.weighted_center([5000, 5000], [WAD, 19 * WAD // 10])
    assert wad.trust_next([5000, 5000], [WAD, 19 * WAD // 10], num, den, wad.PUBLISHED, WAD // 2,
                          WAD // 10, 2 * WAD) == [5 * WAD // 4, 2 * WAD]


def test_weights_never_leave_their_bounds_and_lambda_zero_freezes_them() -> None:
    rng = random.Random(7)
    for _ in range(500):
        scores = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 3))]
        weights = [rng.randint(WAD // 10, 2 * WAD) for _ in scores]
        num, den = wad.weighted_center(scores, weights)
        for rule in (wad.PUBLISHED, wad.ROBUST):
            out = wad.trust_next(scores, weights, num, den, rule, WAD, WAD // 10, 2 * WAD)
            assert all(WAD // 10 <= w <= 2 * WAD for w in out)
            assert wad.trust_next(scores, weights, num, den, rule, 0, WAD // 10, 2 * WAD) == weights


def test_settlement_weights_the_center_and_reports_next_weights_per_revealed_seat() -> None:
    params = Params(**TRUST, trustRule=1)
    light, heavy = WAD // 10, 2 * WAD
    out = settle_round(params, 10**18, [2000, None, 8000], 0, [0, 0, 0], [light, WAD, heavy])
    # center = (0.1 * 2000 + 2 * 8000) / 2.1 = 7714.28...: the heavy seat dominates Q
    assert out.quality == 771_428_571_428_571_428  # (0.2e21 + 16e21) * 1e18 // (2.1e18 * 10_000)
    assert out.trust_weights[1] is None and out.evaluator_rewards[1] == -params.slashPenalty
    assert settle_round(Params(), 10**18, [2000, 8000], 0, [0, 0]).trust_weights == ()


def test_trust_parameters_are_validated() -> None:
    for bad in (dict(trustRule=3), dict(trustLambda=WAD + 1), dict(trustMin=0), dict(trustMax=WAD - 1),
                dict(trustMax=18 * WAD + 1), dict(trustMin=WAD + 1), dict(trustInitial=WAD // 10 - 1),
                dict(trustInitial=2 * WAD + 1)):
        with pytest.raises(ConfigError, match="trust"):
            Params(**bad)
    assert Params().with_overrides({"trustRule": "published", "trustLambda": "0.25"}).trustLambda == WAD // 4
    assert Params().with_overrides({"trustInitial": "0.1"}).trustInitial == WAD // 10


def test_unmoved_seats_start_at_the_initial_weight() -> None:
    """Without stored weights every seat weighs trustInitial: a fresh key starts there, not at 1.0."""
    params = Params(**TRUST, trustRule=1, trustInitial=WAD // 10)
    scores = [4000, 4000, 10_000]
    out = settle_round(params, 10**18, scores, 0, [0, 0, 0])
    assert out == settle_round(params, 10**18, scores, 0, [0, 0, 0], [WAD // 10] * 3)
    # the robust rule from 0.1: the two agreeing seats gain 10 %, the outlier is held at trustMin
    assert out.trust_weights == (11 * WAD // 100, 11 * WAD // 100, WAD // 10)


def _chain(rule: int, rounds: int = 5000, seed: int = 0) -> tuple[list[int], float]:
    """Chained trust rounds: evaluators 0-2 honest (truth + noise), 3 boosts by 3.0 points; K = 3."""
    rng = random.Random(seed)
    params = Params(**TRUST, trustRule=rule)
    weights = [WAD] * 4
    error = 0.0
    for _ in range(rounds):
        truth = rng.randint(1000, 7000)
        seats = rng.sample(range(4), 3)
        scores = [min(10_000, max(0, truth + rng.randint(-400, 400))) + (3000 if s == 3 else 0) for s in seats]
        scores = [min(10_000, s) for s in scores]
        out = settle_round(params, 10**18, scores, 0, [0, 0, 0], [weights[s] for s in seats])
        for s, w in zip(seats, out.trust_weights, strict=True):
            weights[s] = w
        error += abs(out.quality / WAD * 10_000 - truth) / rounds
    return weights, error


def test_published_rule_saturates_while_the_robust_rule_keeps_the_booster_apart_over_5000_rounds() -> None:
    published, published_error = _chain(wad.PUBLISHED)
    robust, robust_error = _chain(wad.ROBUST)
    # the published rule: the booster sits within 5 points of consensus, so it climbs to w_max too
    assert published[3] == 2 * WAD and min(published[:3]) == 2 * WAD
    # the robust rule: honest weights high, the booster pinned at w_min, and Q tracks the truth better
    assert robust[3] == WAD // 10 and min(robust[:3]) >= 19 * WAD // 10
    assert robust_error < published_error / 2
