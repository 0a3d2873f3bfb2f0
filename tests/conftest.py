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


# --- local anvil node ---------------------------------------------------------------------------


def start_anvil(state_dir: Path, *, state_file: Path | None = None) -> tuple[int, str]:
    """Start anvil on a free port (retrying if another process grabs it first); (port, url).

    Skips the test when no anvil binary is installed (`npm install` provides one), except under CI,
    where a missing anvil is a broken install and fails the test.
    """
    import os

    from deploy.localchain import chain_up, find_anvil
    from offchain.errors import ChainError, ConfigError

    try:
        find_anvil()
    except ConfigError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"anvil missing under CI: {exc}")
        pytest.skip(str(exc))
    last_error: Exception | None = None
    for _ in range(3):
        port = free_port()
        try:
            status = chain_up(port, state_file=state_file, state_dir=state_dir)
        except ChainError as exc:  # lost the race for the port
            last_error = exc
            continue
        if not status.already_running:  # someone else's chain took the port meanwhile
            return port, status.rpc_url
    raise RuntimeError(f"could not start anvil on a free port: {last_error}")


@pytest.fixture
def anvil_chain(tmp_path: Path) -> Iterator[str]:
    """A fresh anvil for one test; yields its RPC URL and stops it afterwards."""
    from deploy.localchain import chain_down

    state_dir = tmp_path / "anvil"
    port, url = start_anvil(state_dir)
    try:
        yield url
    finally:
        chain_down(port, state_dir)


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One anvil shared by the session (cheaper; tests must not assume a fresh chain)."""
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
