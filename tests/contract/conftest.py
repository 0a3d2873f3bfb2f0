"""Fixtures for contract tests on the embedded eth-tester EVM (py-evm): real bytecode, real EVM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offchain.protocol import Params


@pytest.fixture(scope="session")
def poq_artifacts() -> Any:
    """The real contracts, compiled once per session (cached by source hash across sessions)."""
    from deploy.compiler import compile_contracts

    return compile_contracts(Path(__file__).resolve().parents[2] / "contracts")


@pytest.fixture
def make_devnet(poq_artifacts: Any, tmp_path: Path) -> Callable[..., Any]:
    """Build a fresh chain + deployment: make_devnet(params=Params(), n_inference=2, n_evaluators=3)."""
    from deploy.devnet import Devnet
    from offchain.chain.connect import embedded_web3

    def build(params: Params | None = None, **kwargs: Any) -> Devnet:
        return Devnet.create(
            embedded_web3(),
            params or Params(),
            deployments_dir=tmp_path / "deployments",
            artifacts=poq_artifacts,
            **kwargs,
        )

    return build


@pytest.fixture
def devnet(make_devnet: Callable[..., Any]) -> Any:
    """Default parameters (K = 3), two inference nodes, three evaluators, 5 ETH stake each."""
    return make_devnet(stake=5 * 10**18)


@pytest.fixture
def net(make_devnet: Callable[..., Any]) -> Any:
    """Default parameters, two inference nodes, three evaluators, 5 ETH stake each, with fixed gas and a
    deterministic clock (tests.contract.helpers.build): the attack and lifecycle tests' chain."""
    from tests.contract.helpers import build

    return build(make_devnet)
