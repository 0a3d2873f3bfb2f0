"""Fixtures shared by the whole test suite.

Add new shared fixtures in their own section at the end; keep each section self-contained
(imports inside the fixtures) so collecting the pure unit tests never pays for importing web3.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

# No per-example deadline: a timing is never a test verdict here (CI machines are shared and slow).
settings.register_profile("poq", deadline=None)
settings.load_profile("poq")

if TYPE_CHECKING:
    from deploy.compiler import CompiledArtifacts

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- local EVM node: anvil, or Hardhat's node with --evm hardhat -------------------------------
# The fixtures keep anvil's names (anvil_chain, anvil_url, the `anvil` marker: "needs a local EVM
# node"); `pytest --evm hardhat` (or POQ_TEST_EVM=hardhat) makes them start Hardhat's node instead
# (docs/evm-clients.md). A test that needs an anvil-only RPC method (or anvil's way of mining) carries
# @pytest.mark.anvil_only("the method and why") and is skipped on Hardhat with that reason.

EVM_CLIENTS = ("anvil", "hardhat")
_selected_evm = "anvil"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--evm",
        choices=EVM_CLIENTS,
        default=None,
        help="EVM client the chain fixtures start: anvil (default) or hardhat; env POQ_TEST_EVM.",
    )


def pytest_configure(config: pytest.Config) -> None:
    import os

    global _selected_evm
    chosen = config.getoption("--evm") or os.environ.get("POQ_TEST_EVM") or "anvil"
    if chosen not in EVM_CLIENTS:
        raise pytest.UsageError(f"POQ_TEST_EVM={chosen!r}: use one of {', '.join(EVM_CLIENTS)}")
    _selected_evm = chosen
    # registered here rather than in pyproject.toml: a pyproject change re-runs the bootstrap install
    config.addinivalue_line(
        "markers", "anvil_only(reason): needs anvil's own RPC methods or mining; skipped under --evm hardhat"
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"evm client: {_selected_evm} (--evm / POQ_TEST_EVM)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _selected_evm == "anvil":
        return
    for item in items:
        marker = item.get_closest_marker("anvil_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "needs an anvil-only RPC method"
            item.add_marker(pytest.mark.skip(reason=f"anvil only ({_selected_evm} selected): {reason}"))


def selected_evm() -> str:
    """The EVM client the chain fixtures start: "anvil" or "hardhat"."""
    return _selected_evm


def start_anvil(state_dir: Path, *, state_file: Path | None = None,
                client: str | None = None) -> tuple[int, str]:
    """Start the selected EVM client (anvil unless --evm hardhat) on a free port, retrying if
    another process grabs it first; (port, url).

    Skips the test when the client is not installed (`npm install` provides both), except under CI,
    where a missing node is a broken install and fails the test.
    """
    import os

    from deploy.localchain import chain_up, find_client
    from offchain.errors import ChainError, ConfigError

    client = client or _selected_evm
    try:
        find_client(client)
    except ConfigError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{client} missing under CI: {exc}")
        pytest.skip(str(exc))
    last_error: Exception | None = None
    for _ in range(3):
        port = free_port()
        try:
            status = chain_up(port, state_file=state_file, state_dir=state_dir, client=client)
        except ChainError as exc:  # lost the race for the port
            last_error = exc
            continue
        if not status.already_running:  # someone else's chain took the port meanwhile
            return port, status.rpc_url
    raise RuntimeError(f"could not start {client} on a free port: {last_error}")


@pytest.fixture
def anvil_chain(tmp_path: Path) -> Iterator[str]:
    """A fresh chain (anvil, or Hardhat under --evm hardhat) for one test; yields its RPC URL and
    stops it afterwards."""
    from deploy.localchain import chain_down

    state_dir = tmp_path / "anvil"
    port, url = start_anvil(state_dir)
    try:
        yield url
    finally:
        chain_down(port, state_dir)


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One chain (anvil, or Hardhat under --evm hardhat) shared by the session (cheaper; tests
    must not assume a fresh chain)."""
    from deploy.localchain import chain_down

    state_dir = tmp_path_factory.mktemp("anvil-session")
    port, url = start_anvil(state_dir)
    try:
        yield url
    finally:
        chain_down(port, state_dir)


# --- Solidity fixtures (tests/fixtures/contracts) -----------------------------------------------


@pytest.fixture(scope="session")
def artifact_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compile cache private to this session, so tests never depend on ~/.cache/poq."""
    return tmp_path_factory.mktemp("poq-cache")


@pytest.fixture(scope="session")
def fixture_artifacts(artifact_cache: Path) -> CompiledArtifacts:
    """The fixture contracts, compiled once per session."""
    from deploy.compiler import compile_contracts

    return compile_contracts(FIXTURES / "contracts", cache_dir=artifact_cache)
