"""The draw's sampling (offchain.protocol.draw, mirrored by Sampling.sol): seats cost stake, not keys.

The contract's draws equal these functions entry for entry (tests/contract/test_differential.py); here
their distribution is checked over many random words.
"""

from __future__ import annotations

import random

import pytest

from offchain.protocol.draw import inclusion, pick, pick_panel, shuffled

DRAWS = 10_000


def _inclusion(units: list[int], k: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    counts = [0] * len(units)
    for _ in range(DRAWS):
        seats = pick_panel(units, sum(units), k, rng.getrandbits(256))
        assert len(seats) == k and len(set(seats)) == k  # K distinct evaluators, always
        for i in seats:
            counts[i] += 1
    return [c / DRAWS for c in counts]


@pytest.mark.parametrize(
    "units",
    [[1, 1, 1, 1, 1], [10, 10, 10, 100, 1, 1, 1, 1], [5, 3, 2], [1] * 29 + [10, 10, 10, 100], [7, 1, 1, 1]],
)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_each_evaluator_sits_in_proportion_to_its_stake(units: list[int], k: int) -> None:
    if k > len(units):
        pytest.skip("fewer evaluators than seats")
    expected = inclusion(units, k)
    for got, want in zip(_inclusion(units, k), expected, strict=True):
        assert abs(got - want) < 0.025  # 5 sigma at 10,000 draws


def test_splitting_a_stake_over_many_keys_buys_no_extra_seats() -> None:
    """An attacker with 30 units: one key of 30 or thirty keys of 1, beside three honest keys of 30."""
    honest = [30, 30, 30]
    one_key = _inclusion([*honest, 30], 3)
    many_keys = _inclusion([*honest, *([1] * 30)], 3)
    assert abs(sum(many_keys[3:]) - one_key[3]) < 0.04  # the same expected seats per task: 3 * 30/120


def test_inference_node_drawn_in_proportion_to_stake() -> None:
    rng = random.Random(3)
    units = [1, 2, 7]
    counts = [0, 0, 0]
    for _ in range(DRAWS):
        counts[pick(units, sum(units), rng.getrandbits(64))] += 1
    for got, u in zip(counts, units, strict=True):
        assert abs(got / DRAWS - u / 10) < 0.025


def test_shuffle_is_a_uniform_permutation() -> None:
    rng = random.Random(5)
    first = [0] * 4
    for _ in range(DRAWS):
        order = shuffled(4, rng.getrandbits(256))
        assert sorted(order) == [0, 1, 2, 3]
        first[order[0]] += 1
    assert all(abs(c / DRAWS - 0.25) < 0.025 for c in first)
