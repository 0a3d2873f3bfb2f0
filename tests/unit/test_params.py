"""Deployment parameters: validation and NAME=VALUE overrides."""

from __future__ import annotations

import pytest

from offchain.errors import ConfigError
from offchain.protocol import WAD, Params


def test_defaults_are_valid_and_in_struct_order() -> None:
    params = Params()
    assert params.as_tuple()[0] == params.alphaF and len(params.as_tuple()) == 21
    assert params.as_tuple()[-1] == params.trustInitial == WAD


@pytest.mark.parametrize("k", [0, 4])
def test_k_outside_one_to_three_is_rejected(k: int) -> None:
    with pytest.raises(ConfigError, match="k must be between 1 and 3"):
        Params(k=k)


def test_overrides_accept_decimals_for_weights_and_names_for_aggregation() -> None:
    params = Params().with_overrides({"betaF": "0.25", "aggregation": "median", "k": "2"})
    assert (params.betaF, params.aggregation, params.k) == (WAD // 4, 1, 2)


def test_unknown_parameter_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'alphaF'"):
        Params().with_overrides({"alphaf": "1"})


def test_too_many_decimals_is_an_error() -> None:
    with pytest.raises(ConfigError, match="more than 18 decimals"):
        Params().with_overrides({"alphaM": "0.0000000000000000001"})


def test_negative_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match="non-negative"):
        Params(minStake=-1)
