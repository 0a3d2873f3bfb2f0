"""Attack strategies: each one's effect and clipping, intermittent's rate, the spec parser, the scalar helper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from offchain.agents.strategies import (
    Strategy,
    boost,
    intermittent,
    make_scalar_strategy,
    noise,
    parse_strategy,
    sabotage,
)
from offchain.errors import ConfigError

GRID = np.linspace(0.0, 10.0, 101)


def test_boost_adds_b_and_clips_at_ten() -> None:
    out = boost(GRID, 3.0)
    assert np.allclose(out, np.minimum(10.0, GRID + 3.0))
    assert out.max() == 10.0 and np.all(out[GRID <= 7.0] == GRID[GRID <= 7.0] + 3.0)


def test_sabotage_subtracts_b_and_clips_at_zero_or_reports_a_constant() -> None:
    out = sabotage(GRID, 4.0)
    assert np.allclose(out, np.maximum(0.0, GRID - 4.0)) and out.min() == 0.0
    assert np.all(sabotage(GRID, const=1.0) == 1.0)


def test_noise_has_the_asked_spread_and_stays_in_range() -> None:
    mid = np.full(200_000, 5.0)
    out = noise(mid, np.random.default_rng(0), 1.0)  # 5 sigma from both ends: no clipping
    assert abs(out.mean() - 5.0) < 0.01 and abs(out.std() - 1.0) < 0.01
    edge = noise(np.r_[np.zeros(1000), np.full(1000, 10.0)], np.random.default_rng(1), 3.0)
    assert edge.min() == 0.0 and edge.max() == 10.0  # clipped, and some do hit the bounds
    again = noise(mid[:50], np.random.default_rng(2), 2.0)
    assert np.array_equal(noise(mid[:50], np.random.default_rng(2), 2.0), again)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_intermittent_attacks_each_score_with_probability_p(p: float) -> None:
    n = 100_000
    scores = np.full(n, 4.0)
    out = intermittent(scores, np.random.default_rng(3), p, lambda s, rng: boost(s, 3.0))
    attacked = out == 7.0
    assert np.all(attacked | (out == 4.0))
    assert abs(attacked.sum() - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_intermittent_extremes_are_honest_and_always_attacking() -> None:
    inner = parse_strategy("boost:b=2")
    rng = np.random.default_rng(4)
    assert np.array_equal(intermittent(GRID, rng, 0.0, inner), GRID)
    assert np.array_equal(intermittent(GRID, rng, 1.0, inner), boost(GRID, 2.0))


def test_attacks_do_not_mutate_their_input() -> None:
    scores = GRID.copy()
    for spec in ("noise", "boost", "sabotage", "sabotage:const=2", "intermittent", "honest"):
        out = parse_strategy(spec)(scores, np.random.default_rng(5))
        assert out.shape == scores.shape and out.min() >= 0.0 and out.max() <= 10.0
    assert np.array_equal(scores, GRID)


def test_attacks_work_on_two_dimensional_arrays() -> None:
    scores = np.random.default_rng(6).random((3, 40)) * 10
    out = parse_strategy("intermittent:p=0.5,inner=noise:sigma=1")(scores, np.random.default_rng(7))
    assert out.shape == (3, 40)


@pytest.mark.parametrize(("spec", "name", "params", "inner"), [
    ("boost:b=3", "boost", {"b": 3.0}, None),
    ("boost", "boost", {"b": 3.0}, None),
    ("noise:sigma=2", "noise", {"sigma": 2.0}, None),
    ("sabotage:b=4", "sabotage", {"b": 4.0}, None),
    ("sabotage:const=1", "sabotage", {"const": 1.0}, None),
    ("sabotage", "sabotage", {"b": 4.0}, None),
    ("intermittent:p=0.3,inner=boost:b=3", "intermittent", {"p": 0.3}, "boost:b=3"),
    (" intermittent : p = 0.5 ", "intermittent", {"p": 0.5}, "boost:b=3"),
    ("honest", "honest", {}, None),
])
def test_parse_strategy_reads_specs_and_defaults(spec: str, name: str, params: dict[str, float],
                                                  inner: str | None) -> None:
    strategy = parse_strategy(spec)
    assert strategy.name == name and strategy.params == params
    assert (strategy.inner.spec if strategy.inner else None) == inner
    assert parse_strategy(strategy.spec) == strategy  # the canonical spec reads back


def test_nested_intermittent_spec_round_trips() -> None:
    strategy = parse_strategy("intermittent:p=0.5,inner=intermittent:p=0.2,inner=sabotage:const=0")
    assert strategy.inner is not None and strategy.inner.inner == Strategy("sabotage", {"const": 0.0})
    assert parse_strategy(strategy.spec) == strategy


@pytest.mark.parametrize(("spec", "message"), [
    ("", "unknown attack strategy ''"),
    ("flip:b=1", "unknown attack strategy 'flip'"),
    ("boost:c=1", "unknown parameter 'c' for boost"),
    ("boost:b=x", "b='x' .* is not a number"),
    ("boost:b", "bad parameter 'b'"),
    ("boost:b=11", "must be in \\[0, 10\\]"),
    ("noise:sigma=-1", "must be in \\[0, inf\\]"),
    ("noise:sigma=nan", "must be in"),
    ("intermittent:p=1.5", "must be in \\[0, 1\\]"),
    ("sabotage:b=1,const=2", "b or const, not both"),
    ("boost:b=1,b=2", "given twice"),
    ("intermittent:p=0.3,inner=", "empty inner strategy"),
    ("intermittent:p=0.3,inner=boost:q=1", "unknown parameter 'q' for boost"),
    ("intermittent:inner=noise:sigma=1,p=0.2", "unknown parameter 'p' for noise"),  # inner takes the rest
])
def test_bad_specs_are_one_line_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_strategy(spec)
    assert "\n" not in str(info.value)


def test_scalar_strategy_is_seeded_and_matches_the_vector_form() -> None:
    a, b = make_scalar_strategy("noise:sigma=2", seed=9), make_scalar_strategy("noise:sigma=2", seed=9)
    seq_a, seq_b = [a(5.0) for _ in range(20)], [b(5.0) for _ in range(20)]
    assert seq_a == seq_b and len(set(seq_a)) > 1 and all(0.0 <= x <= 10.0 for x in seq_a)
    boost3 = make_scalar_strategy("boost:b=3", seed=0)
    assert boost3(2.5) == 5.5 and boost3(9.0) == 10.0 and isinstance(boost3(1), float)
    assert make_scalar_strategy("sabotage:const=1")(8.0) == 1.0
    with pytest.raises(ConfigError, match="unknown attack strategy"):
        make_scalar_strategy("nope")
