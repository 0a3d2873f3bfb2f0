"""offchain.protocol.display: exact ETH and readable parameters, as `poq params` and the dashboard show them."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Context, Decimal

from offchain.protocol import AGGREGATIONS, WAD, Params
from offchain.protocol.display import WEI_FIELDS, eth_rounded, eth_text, param_text
from offchain.protocol.params import NAMED_FIELDS, WAD_FIELDS

EXACT = Context(prec=100)  # Decimal's default 28 digits would round the largest amounts here


def test_eth_text_is_exact_for_any_wei() -> None:
    for amount in (0, 1, 10**18, -15 * 10**17, 123_456_789_012_345_678_901, -1, 2**96 + 7):
        assert int(Decimal(eth_text(amount)).scaleb(18, EXACT)) == amount
    assert eth_text(0) == "0" and eth_text(-15 * 10**17) == "-1.5" and eth_text(10**18) == "1"


def test_eth_rounded_rounds_half_up_on_the_magnitude_to_six_places() -> None:
    assert eth_rounded(50_426_999_999_999_998) == "0.050427"  # what a settled balance looked like unrounded
    assert eth_rounded(500_000_000_000) == "0.000001" and eth_rounded(499_999_999_999) == "0.000000"
    assert eth_rounded(-500_000_000_000) == "-0.000001" and eth_rounded(-1) == "0.000000"  # no "-0"
    assert eth_rounded(123 * 10**18) == "123.000000" and eth_rounded(10**18, 2) == "1.00"
    for amount in (0, 1, 7 * 10**11, 10**18 - 1, 2**96 + 7, -3 * 10**17 - 5):
        assert abs(Decimal(eth_rounded(amount)).scaleb(18, EXACT) - amount) <= 5 * 10**11


def test_every_default_parameter_reads_back_to_its_value() -> None:
    for name, value in asdict(Params()).items():
        text = param_text(name, value)
        if name in WAD_FIELDS:
            assert float(text) == value / WAD
        elif name in WEI_FIELDS:
            assert text.endswith(" ETH") and int(Decimal(text.removesuffix(" ETH")).scaleb(18, EXACT)) == value
        elif name == "aggregation":
            assert text == AGGREGATIONS[value]
        elif name in NAMED_FIELDS:
            assert text == NAMED_FIELDS[name][value]
        elif name.endswith("Window"):
            assert text == f"{value} s"
        else:
            assert text.split()[0] == str(value)


def test_names_out_of_range_and_non_integers_pass_through() -> None:
    assert param_text("aggregation", len(AGGREGATIONS)) == str(len(AGGREGATIONS))
    address = "0x" + "ab" * 20
    assert param_text("treasury", address) == address
    assert param_text("k", True) == "True"
