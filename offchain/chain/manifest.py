"""Deployment manifests: where the PoQ contract lives on one chain, and how it was built.

One JSON file per chain, `<directory>/<chain_id>.json`, written by `poq deploy` and read by every
agent and CLI command. Writes are atomic (temporary file + os.replace) so a reader never sees a
half-written manifest while a redeploy is in progress.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError, ManifestNotFound

DEFAULT_DIRECTORY = Path("deployments")


@dataclass(frozen=True)
class Manifest:
    chain_id: int
    address: str  # checksummed contract address
    abi: list[dict[str, Any]]
    deployer: str
    tx_hash: str  # 0x-prefixed
    block_number: int
    params: dict[str, int]  # the constructor's Params, by field name
    contract_name: str
    compiler_version: str
    source_hash: str  # sha256 over the compiled sources (see deploy.compiler.hash_sources)
    deployed_at: str  # ISO 8601, UTC
    module: str  # the batch module (draw and settlement) the contract delegates to

    def save(self, directory: Path = DEFAULT_DIRECTORY) -> Path:
        """Write `<directory>/<chain_id>.json` atomically; returns the path."""
        path = manifest_path(self.chain_id, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(self), handle, indent=2)
                handle.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "manifest") -> Manifest:
        """Build from parsed JSON; a missing key or a wrong type is a one-line ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        missing = [f.name for f in fields(cls) if f.name not in data]
        if missing:
            raise ConfigError(f"{source}: missing keys {', '.join(missing)}")
        try:
            manifest = cls(
                chain_id=int(data["chain_id"]),
                address=str(data["address"]),
                abi=list(data["abi"]),
                deployer=str(data["deployer"]),
                tx_hash=str(data["tx_hash"]),
                block_number=int(data["block_number"]),
                params={str(k): int(v) for k, v in dict(data["params"]).items()},
                contract_name=str(data["contract_name"]),
                compiler_version=str(data["compiler_version"]),
                source_hash=str(data["source_hash"]),
                deployed_at=str(data["deployed_at"]),
                module=str(data["module"]),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: malformed field ({exc})") from None
        if not all(isinstance(entry, dict) for entry in manifest.abi):
            raise ConfigError(f"{source}: abi must be a list of JSON objects")
        return manifest


def manifest_path(chain_id: int, directory: Path = DEFAULT_DIRECTORY) -> Path:
    return Path(directory) / f"{int(chain_id)}.json"


def load_manifest(chain_id: int, directory: Path = DEFAULT_DIRECTORY) -> Manifest:
    """Read the manifest of `chain_id`; ManifestNotFound when absent, ConfigError when broken."""
    path = manifest_path(chain_id, directory)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestNotFound(str(path), chain_id) from None
    except OSError as exc:
        raise ConfigError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"manifest {path} is not valid JSON: {exc}") from None
    manifest = Manifest.from_dict(data, source=f"manifest {path}")
    if manifest.chain_id != int(chain_id):
        raise ConfigError(f"manifest {path} is for chain {manifest.chain_id}, not {chain_id}")
    return manifest


def utc_now_iso() -> str:
    """The current time as an ISO 8601 UTC string, seconds precision (for deployed_at)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
