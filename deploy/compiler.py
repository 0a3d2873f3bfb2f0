"""Compile the Solidity sources through py-solc-x's standard-JSON interface, with a disk cache.

The compiler is a native `solc` when one is installed (or named by $POQ_SOLC), else solc-js
driven through deploy/solcjs_shim.js, which answers the same two calls py-solc-x makes. Loading
solc-js costs seconds, so artifacts are cached under <cache>/artifacts/<key>.json, where the key
covers every source file, the settings and the compiler version; a cache hit starts no process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from deploy._files import atomic_write_text, default_cache_dir
from offchain.errors import CompilationError, ConfigError, UnknownNameError, one_line

SHIM = Path(__file__).resolve().with_name("solcjs_shim.js")
EVM_VERSION = "cancun"
OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]
_VERSION_RE = re.compile(r"(\d+\.\d+\.\d+)(?:-nightly\.\d+\.\d+\.\d+)?(\+commit\.\w+)")


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract; bytecodes are 0x-prefixed hex ("0x" for interfaces)."""

    name: str
    source: str  # source unit name, e.g. "contracts/ProofOfQuality.sol"
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    metadata: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.source}:{self.name}"


@dataclass(frozen=True)
class CompiledArtifacts:
    """Every contract of one compilation, keyed by "source:Name"."""

    contracts: dict[str, ContractArtifact]
    source_hash: str
    compiler_version: str
    settings: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False

    def __repr__(self) -> str:  # short: test reports print fixtures, and ABIs run to hundreds of kB
        return f"CompiledArtifacts({len(self.contracts)} contracts, sources {self.source_hash[:12]})"

    def get(self, name: str) -> ContractArtifact:
        """Look up a contract by plain name (when unique) or by "source:Name"."""
        if name in self.contracts:
            return self.contracts[name]
        matches = [a for a in self.contracts.values() if a.name == name]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownNameError("contract", name, self.names())
        choices = ", ".join(sorted(a.qualified_name for a in matches))
        raise ConfigError(f"contract name {name!r} is ambiguous; use one of: {choices}")

    def names(self) -> list[str]:
        return sorted({a.name for a in self.contracts.values()})

    def to_json(self) -> dict[str, Any]:
        return {
            "compiler_version": self.compiler_version,
            "source_hash": self.source_hash,
            "settings": self.settings,
            "contracts": {key: vars(a) for key, a in self.contracts.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, from_cache: bool = False) -> CompiledArtifacts:
        contracts = {k: ContractArtifact(**v) for k, v in data["contracts"].items()}
        return cls(contracts, data["source_hash"], data["compiler_version"],
                   data.get("settings", {}), from_cache)


# --- locating the compiler ------------------------------------------------------------------


def find_solc(cache_dir: Path | None = None) -> Path:
    """$POQ_SOLC, else a native `solc` on PATH, else a wrapper script around the solc-js shim."""
    if explicit := os.environ.get("POQ_SOLC"):
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"POQ_SOLC={explicit} is not a file")
        return path
    if native := shutil.which("solc"):
        return Path(native)
    return shim_wrapper(cache_dir)


def shim_wrapper(cache_dir: Path | None = None) -> Path:
    """An executable `solc` stand-in (<cache>/bin/solc-shim) that runs the shim under node.

    py-solc-x wants one executable path, so the node invocation lives in a two-line script,
    rewritten only when its content would change (an unchanged mtime keeps the version cache).
    """
    node = shutil.which("node")
    if node is None:
        raise ConfigError(
            "no Solidity compiler found: install a native solc (or set POQ_SOLC), or install "
            "Node.js and run `npm install` in the project root for solc-js"
        )
    # The absolute node path keeps the wrapper working under a different PATH.
    script = f'#!/bin/sh\nexec {shlex.quote(node)} {shlex.quote(str(SHIM))} "$@"\n'
    path = (cache_dir or default_cache_dir()) / "bin" / "solc-shim"
    if not path.is_file() or path.read_text(encoding="utf-8") != script:
        atomic_write_text(path, script, mode=0o755)
    return path


def _solcjs_package() -> Path | None:
    """The solc-js package.json the shim would load (same search order as the shim)."""
    starts = [Path.cwd(), SHIM.parent]
    candidates = [Path(p) for p in [os.environ.get("POQ_NODE_MODULES")] if p]
    candidates += [d / "node_modules" for s in starts for d in (s, *s.parents)]
    return next((c / "solc" / "package.json" for c in candidates
                 if (c / "solc" / "package.json").is_file()), None)


def _fingerprint(solc_binary: Path) -> str:
    """Identifies a compiler build without running it: path, mtime and size (plus solc-js's)."""
    parts = []
    targets = [solc_binary.resolve()]
    if "solcjs_shim.js" in _head(solc_binary) and (package := _solcjs_package()) is not None:
        targets.append(package.resolve())  # upgrading solc-js leaves the wrapper untouched
    for target in targets:
        st = target.stat()
        parts.append(f"{target}|{st.st_mtime_ns}|{st.st_size}")
    return ";".join(parts)


def _head(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(512).decode("utf-8", "replace")


def compiler_version(solc_binary: Path, cache_dir: Path | None = None) -> str:
    """The "X.Y.Z+commit.H" version of a compiler, cached per binary fingerprint."""
    table_path = (cache_dir or default_cache_dir()) / "solc-versions.json"
    key = _fingerprint(solc_binary)
    table = _read_json(table_path) or {}
    if isinstance(table.get(key), str):
        return table[key]
    try:
        proc = subprocess.run([str(solc_binary), "--version"], capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot run the Solidity compiler {solc_binary}: {exc}") from None
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        reason = one_line(proc.stderr, 500) or one_line(proc.stdout, 500) or f"exit {proc.returncode}"
        raise ConfigError(f"{solc_binary} --version failed: {reason}")
    version = "".join(match.groups())
    table[key] = version
    atomic_write_text(table_path, json.dumps(table, indent=1, sort_keys=True))
    return version


# --- compiling ------------------------------------------------------------------------------


def default_contracts_dir() -> Path:
    """$POQ_CONTRACTS_DIR, else the repository's contracts/ beside this package, else ./contracts."""
    if explicit := os.environ.get("POQ_CONTRACTS_DIR"):
        return Path(explicit)
    beside = Path(__file__).resolve().parents[1] / "contracts"
    return beside if beside.is_dir() else Path("contracts")


def compile_contracts(
    sources_dir: Path | None = None,
    *,
    via_ir: bool = False,
    optimizer_runs: int = 200,
    solc_binary: Path | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> CompiledArtifacts:
    """Compile every .sol file under `sources_dir` (recursively); reuse the cache when it can.

    Source unit names are paths relative to the parent of `sources_dir` ("contracts/X.sol"),
    so relative imports between the files resolve without touching the disk again.
    """
    cache = cache_dir or default_cache_dir()
    root = (sources_dir or default_contracts_dir()).resolve()
    sources = _collect_sources(root)
    settings = compiler_settings(via_ir=via_ir, optimizer_runs=optimizer_runs)
    solc = solc_binary or find_solc(cache)
    version = compiler_version(solc, cache)
    source_hash = hash_sources(sources)
    key_material = json.dumps([source_hash, settings, version], sort_keys=True).encode()
    artifact_path = cache / "artifacts" / f"{hashlib.sha256(key_material).hexdigest()}.json"

    if use_cache and (cached := _read_json(artifact_path)) is not None:
        try:
            return CompiledArtifacts.from_json(cached, from_cache=True)
        except (KeyError, TypeError):
            pass  # an old or damaged cache entry: compile again and overwrite it

    input_json = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": settings,
    }
    try:
        output = solcx.compile_standard(input_json, solc_binary=str(solc),
                                        base_path=str(root.parent), allow_paths=[str(root)])
    except SolcError as exc:
        raise _compilation_error(exc) from None
    except ValueError as exc:  # the compiler printed something that is not JSON
        raise CompilationError(f"{solc} did not answer with JSON: {exc}") from None
    artifacts = CompiledArtifacts(_parse_output(output), source_hash, version, settings)
    atomic_write_text(artifact_path, json.dumps(artifacts.to_json()))
    return artifacts


def compiler_settings(*, via_ir: bool = False, optimizer_runs: int = 200) -> dict[str, Any]:
    return {
        "optimizer": {"enabled": True, "runs": optimizer_runs},
        "evmVersion": EVM_VERSION,
        "viaIR": via_ir,
        "outputSelection": {"*": {"*": list(OUTPUTS)}},
    }


def hash_sources(sources: dict[str, str]) -> str:
    """sha256 over the sorted (source unit name, content) pairs."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def _collect_sources(root: Path) -> dict[str, str]:
    if not root.is_dir():
        raise ConfigError(
            f"Solidity source directory {root} does not exist: pass --contracts DIR or set POQ_CONTRACTS_DIR"
        )
    files = sorted(root.rglob("*.sol"))
    if not files:
        raise ConfigError(f"no Solidity sources (*.sol) under {root}")
    return {f.relative_to(root.parent).as_posix(): f.read_text(encoding="utf-8") for f in files}


def _parse_output(output: dict[str, Any]) -> dict[str, ContractArtifact]:
    contracts: dict[str, ContractArtifact] = {}
    for source, by_name in output.get("contracts", {}).items():
        for name, data in by_name.items():
            evm = data.get("evm", {})
            artifact = ContractArtifact(
                name=name,
                source=source,
                abi=data.get("abi", []),
                bytecode="0x" + evm.get("bytecode", {}).get("object", ""),
                deployed_bytecode="0x" + evm.get("deployedBytecode", {}).get("object", ""),
                metadata=data.get("metadata", ""),
            )
            contracts[artifact.qualified_name] = artifact
    return contracts


def _compilation_error(exc: SolcError) -> CompilationError:
    """One line: the first error's headline and its location, plus how many more there are."""
    errors = [e for e in (exc.error_dict or []) if e.get("severity") == "error"]
    if not errors:  # the compiler process itself failed
        reason = one_line(exc.stderr_data or "", 500) or one_line(exc.message, 500)
        return CompilationError(f"the Solidity compiler failed: {reason}")
    first = errors[0]
    formatted = str(first.get("formattedMessage") or first.get("message", ""))
    headline = one_line(formatted, 500)
    location = re.search(r"-->\s*(\S+?):?\s*$", formatted, re.MULTILINE)
    where = f" ({location.group(1)})" if location else ""
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return CompilationError(f"{headline}{where}{more}", errors)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
