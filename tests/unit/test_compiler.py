"""Compiling through py-solc-x with the artifact cache (uses solc-js through the shim)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from deploy.compiler import (
    CompiledArtifacts,
    compile_contracts,
    compiler_version,
    find_solc,
    hash_sources,
    shim_wrapper,
)
from offchain.errors import CompilationError, ConfigError, UnknownNameError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def _counting_solc(tmp_path: Path, real: Path) -> tuple[Path, Path]:
    """A fake `solc` that logs each invocation to a file, then runs the real compiler."""
    log = tmp_path / "invocations.log"
    fake = tmp_path / "fake-counting-solc"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, log


def _count(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@needs_node
def test_fixture_contracts_compile(fixture_artifacts: CompiledArtifacts) -> None:
    configured = fixture_artifacts.get("Configured")
    assert configured.source == "contracts/Configured.sol"
    constructor = next(e for e in configured.abi if e["type"] == "constructor")
    assert constructor["inputs"][0]["type"] == "tuple"  # the struct argument
    assert configured.bytecode.startswith("0x60") and len(configured.deployed_bytecode) > 2
    assert fixture_artifacts.get("ITypes").bytecode == "0x"  # interfaces have no code
    assert fixture_artifacts.compiler_version.startswith("0.8.")
    assert {"Configured", "PoQStub", "Reverting"} <= set(fixture_artifacts.names())


@needs_node
def test_unknown_contract_name_suggests_a_close_one(fixture_artifacts: CompiledArtifacts) -> None:
    with pytest.raises(UnknownNameError, match="Configured"):
        fixture_artifacts.get("Configure")


@needs_node
def test_second_compile_is_a_cache_hit_without_running_solc(tmp_path: Path) -> None:
    sources = tmp_path / "contracts"
    shutil.copytree(FIXTURES / "contracts", sources)
    cache = tmp_path / "cache"
    fake, log = _counting_solc(tmp_path, shim_wrapper(cache))

    first = compile_contracts(sources, solc_binary=fake, cache_dir=cache)
    runs_after_first = _count(log)
    assert runs_after_first >= 2  # --version and --standard-json at least
    assert not first.from_cache

    second = compile_contracts(sources, solc_binary=fake, cache_dir=cache)
    assert _count(log) == runs_after_first  # the compiler was not started at all
    assert second.from_cache
    assert second.get("Configured") == first.get("Configured")
    assert second.source_hash == first.source_hash

    # Any source change is a cache miss.
    target = sources / "Configured.sol"
    target.write_text(target.read_text() + "\n// changed\n")
    third = compile_contracts(sources, solc_binary=fake, cache_dir=cache)
    assert _count(log) > runs_after_first
    assert not third.from_cache and third.source_hash != first.source_hash


@needs_node
def test_compile_error_is_one_line_with_location(tmp_path: Path) -> None:
    with pytest.raises(CompilationError) as caught:
        compile_contracts(FIXTURES / "bad_contracts", cache_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("ParserError:")
    assert "bad_contracts/Broken.sol:6" in message
    assert caught.value.errors[0]["severity"] == "error"
    assert isinstance(caught.value, ConfigError)


def test_directory_without_sources_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Solidity sources"):
        compile_contracts(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="does not exist"):
        compile_contracts(tmp_path / "missing", cache_dir=tmp_path / "cache")


def test_compiler_version_is_cached_per_binary(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    fake = tmp_path / "fake-solc"
    fake.write_text(f'#!/bin/sh\necho run >> "{log}"\n'
                    'echo "solc, the solidity compiler commandline interface"\n'
                    'echo "Version: 0.8.99+commit.deadbeef.Linux.g++"\n')
    fake.chmod(0o755)
    assert compiler_version(fake, tmp_path) == "0.8.99+commit.deadbeef"
    assert compiler_version(fake, tmp_path) == "0.8.99+commit.deadbeef"
    assert _count(log) == 1


def test_compiler_without_a_version_line_is_a_config_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake-broken-solc"
    fake.write_text("#!/bin/sh\necho 'no compiler here' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ConfigError, match="no compiler here"):
        compiler_version(fake, tmp_path)


def test_find_solc_prefers_poq_solc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-solc"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("POQ_SOLC", str(fake))
    assert find_solc(tmp_path) == fake
    monkeypatch.setenv("POQ_SOLC", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="POQ_SOLC"):
        find_solc(tmp_path)


@needs_node
def test_find_solc_falls_back_to_the_shim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node_dir = str(Path(shutil.which("node") or "").parent)
    monkeypatch.delenv("POQ_SOLC", raising=False)
    monkeypatch.setenv("PATH", node_dir)  # node but no native solc
    if shutil.which("solc"):
        pytest.skip("a native solc sits next to node")
    wrapper = find_solc(tmp_path)
    assert wrapper.parent == tmp_path / "bin"
    assert os.access(wrapper, os.X_OK)
    assert "solcjs_shim.js" in wrapper.read_text()
    assert find_solc(tmp_path).stat().st_mtime_ns == wrapper.stat().st_mtime_ns  # not rewritten


def test_source_hash_depends_on_names_and_contents_not_order() -> None:
    a = {"contracts/A.sol": "contract A {}", "contracts/B.sol": "contract B {}"}
    b = dict(reversed(list(a.items())))
    assert hash_sources(a) == hash_sources(b)
    assert hash_sources(a) != hash_sources({**a, "contracts/A.sol": "contract A { }"})
    assert hash_sources(a) != hash_sources({"contracts/C.sol": "contract A {}",
                                            "contracts/B.sol": "contract B {}"})
