"""Deployment parameters: validation and NAME=VALUE overrides."""

from __future__ import annotations

from dataclasses import fields

import pytest

from offchain.errors import ConfigError
from offchain.protocol import WAD, Params


def test_defaults_are_valid_and_in_struct_order() -> None:
    params = Params()
    names = [f.name for f in fields(Params)]
    assert params.as_tuple()[0] == params.alphaF and len(params.as_tuple()) == 29
    assert params.as_tuple()[names.index("trustInitial")] == params.trustMin  # a fresh key starts at the floor
    assert params.as_tuple()[names.index("treasury")] == "0x0000000000000000000000000000000000000000"  # the deployer
    # the default rules are the ones only quality pays under; the paper's stay one parameter away
    assert (params.evaluatorReward, params.costRule, params.feeRule, params.trustRule) == (1, 1, 1, 2)


def test_treasury_is_an_address_and_new_parameters_are_bounded() -> None:
    treasury = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    params = Params().with_overrides({"treasury": treasury, "costSmoothing": "0.5", "maxBatchSize": "128"})
    assert params.as_tuple()[[f.name for f in fields(Params)].index("treasury")] == treasury
    assert params.costSmoothing == WAD // 2 and params.maxBatchSize == 128
    assert Params.from_dict(params.as_dict()) == params
    for name, bad, message in (("treasury", "0x1234", "40 hex digits"), ("maxBatchSize", "300", "maxBatchSize"),
                               ("costSmoothing", "0", "costSmoothing"), ("maxPoolSize", "33", "maxPoolSize"),
                               ("minStake", "0", "minStake"), ("evaluatorReward", "median", "evaluatorReward"),
                               ("costRule", "2", "costRule"), ("costQuantile", "1", "costQuantile"),
                               ("costQuantile", "0", "costQuantile"), ("feeRule", "free", "feeRule"),
                               ("referenceBond", str(2**88), "referenceBond"), ("trustRule", "3", "trustRule")):
        with pytest.raises(ConfigError, match=message):
            Params().with_overrides({name: bad})


@pytest.mark.parametrize("k", [0, 4])
def test_k_outside_one_to_three_is_rejected(k: int) -> None:
    with pytest.raises(ConfigError, match="k must be between 1 and 3"):
        Params(k=k)


def test_overrides_accept_decimals_for_weights_and_names_for_aggregation() -> None:
    params = Params().with_overrides({"betaF": "0.25", "aggregation": "median", "k": "2"})
    assert (params.betaF, params.aggregation, params.k) == (WAD // 4, 1, 2)


def test_weights_below_one_million_are_decimals_and_larger_integers_raw_wad() -> None:
    params = Params().with_overrides({"alphaF": "1", "betaF": 0, "trustMax": 3, "alphaM": "500000000000000000",
                                      "betaM": 250_000_000_000_000_000, "trustLambda": "1e-1"})
    assert (params.alphaF, params.betaF, params.trustMax) == (WAD, 0, 3 * WAD)
    assert (params.alphaM, params.betaM, params.trustLambda) == (WAD // 2, WAD // 4, WAD // 10)
    for bad in ("nan", "inf", "half"):
        with pytest.raises(ConfigError, match="cannot parse"):
            Params().with_overrides({"alphaF": bad})
    with pytest.raises(ConfigError, match="expected an integer"):
        Params().with_overrides({"k": "1.5"})


def test_unknown_parameter_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'alphaF'"):
        Params().with_overrides({"alphaf": "1"})


def test_too_many_decimals_is_an_error() -> None:
    with pytest.raises(ConfigError, match="more than 18 decimals"):
        Params().with_overrides({"alphaM": "0.0000000000000000001"})


def test_negative_value_is_rejected() -> None:
    with pytest.raises(ConfigError, match="non-negative"):
        Params(minStake=-1)
