"""Pinned edge cases of the WAD protocol math (the contract mirrors these bit for bit)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.protocol import WAD, Params, floats, settle_round, wad


def test_mean_quality_of_full_marks_is_one() -> None:
    num, den = wad.center([10_000, 10_000, 10_000])
    assert wad.quality(num, den) == WAD


def test_quality_rounds_down() -> None:
    num, den = wad.center([1, 0, 0])  # 1/30_000 of full marks
    assert wad.quality(num, den) == WAD // 30_000  # 33333333333333.33 floored


def test_deviation_rounds_up() -> None:
    num, den = wad.center([1, 0, 0])  # center 1/3 score unit
    assert wad.deviation(0, num, den) == -(-WAD // 30_000)  # 33333333333333.33 ceiled


def test_all_scores_equal_have_zero_deviation() -> None:
    num, den = wad.center([7_000, 7_000, 7_000])
    assert all(wad.deviation(7_000, num, den) == 0 for _ in range(3))


def test_median_of_even_count_is_midpoint() -> None:
    assert wad.center([0, 10_000], wad.MEDIAN) == (10_000, 2)
    assert wad.center([9, 1, 5], wad.MEDIAN) == (5, 1)


@pytest.mark.parametrize(("n", "trimmed"), [(1, 0), (2, 0), (3, 1), (4, 1), (7, 1), (8, 2), (12, 3)])
def test_trim_count(n: int, trimmed: int) -> None:
    assert wad.trim_count(n) == trimmed


def test_trimmed_mean_drops_extremes() -> None:
    assert wad.center([0, 5_000, 10_000, 6_000], wad.TRIMMED) == (11_000, 2)


def test_no_scores_center_is_zero() -> None:
    assert wad.center([]) == (0, 1)


def test_to_wei_floors_toward_minus_infinity() -> None:
    assert wad.to_wei(WAD // 3, 10) == 3  # 3.33 -> 3: payouts round down
    assert wad.to_wei(-(WAD // 3), 10) == -4  # -3.33 -> -4: debits round up


@pytest.mark.parametrize(
    ("reported", "latency", "lo", "hi", "expected"),
    [
        (False, 0, 0, 0, WAD),  # never reported: the worst cost
        (True, 5, 5, 5, 0),  # everyone equal
        (True, 5, 5, 10, 0),
        (True, 10, 5, 10, WAD),
        (True, 6, 5, 8, -(-WAD // 3)),  # 1/3 rounded up
        (True, 20, 5, 10, WAD),  # outside the active range (left the pool): clamped
    ],
)
def test_normalized_cost(reported: bool, latency: int, lo: int, hi: int, expected: int) -> None:
    assert wad.normalized_cost(reported, latency, lo, hi) == expected


def test_max_payout_covers_best_case_round() -> None:
    params = Params(alphaF=WAD + 1, alphaM=WAD // 3, k=3, rewardUnit=7)
    fee = wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)
    best = settle_round(params, fee, [10_000, 10_000, 10_000], 0, [0, 0, 0])
    assert best.paid <= fee
    assert best.refund == fee - best.paid >= 0


def test_silent_seats_are_slashed_and_node_unpaid() -> None:
    params = Params()
    fee = wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)
    result = settle_round(params, fee, [None, None, None], 0, [0, 0, 0])
    assert result.node_reward == 0 and result.quality == 0
    assert result.evaluator_rewards == (-params.slashPenalty,) * 3
    assert result.refund == fee


def test_paper_example_round() -> None:
    # scores 8, 7, 9 of 10: Q = 0.8; deviations 0, 0.1, 0.1 (the paper's rule: Eqs. 3-5)
    params = Params(alphaF=WAD, betaF=WAD // 2, alphaM=WAD, betaM=3 * WAD // 10, evaluatorReward=wad.PAPER)
    result = settle_round(params, 10**17, [8_000, 7_000, 9_000], WAD // 2, [0, WAD, 0])
    assert result.quality == 8 * WAD // 10
    assert result.node_reward == 8 * WAD // 10 - WAD // 4
    assert result.evaluator_rewards == (WAD, 9 * WAD // 10 - 3 * WAD // 10, 9 * WAD // 10)


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=7), st.sampled_from(["mean", "median", "trimmed"]))
def test_float_consensus_matches_wad(scores: list[int], mode: str) -> None:
    num, den = wad.center(scores, ["mean", "median", "trimmed"].index(mode))
    center = floats.consensus([s / 1000 for s in scores], mode)
    assert abs(wad.quality(num, den) / WAD - center / 10) <= 1e-12
    for s in scores:
        assert abs(wad.deviation(s, num, den) / WAD - floats.deviation(s / 1000, center)) <= 1e-12


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=3), st.integers(0, 2))
def test_quality_and_deviation_bounded(scores: list[int], mode: int) -> None:
    num, den = wad.center(scores, mode)
    assert 0 <= wad.quality(num, den) <= WAD
    assert all(0 <= wad.deviation(s, num, den) <= WAD for s in scores)
