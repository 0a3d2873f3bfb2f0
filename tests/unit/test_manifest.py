"""Deployment manifests: atomic save, load, and one-line errors for missing or broken files."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from offchain.chain.manifest import Manifest, load_manifest, manifest_path, utc_now_iso
from offchain.errors import ConfigError, ManifestNotFound


def _manifest(chain_id: int = 31337) -> Manifest:
    return Manifest(
        chain_id=chain_id,
        address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        abi=[{"type": "function", "name": "k", "inputs": [], "outputs": []}],
        deployer="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        tx_hash="0x" + "ab" * 32,
        block_number=1,
        params={"k": 3, "alphaF": 10**18},
        contract_name="ProofOfQuality",
        compiler_version="0.8.28+commit.7893614a",
        source_hash="00" * 32,
        deployed_at=utc_now_iso(),
        module="0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    )


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    manifest = _manifest()
    path = manifest.save(tmp_path / "deployments")
    assert path == manifest_path(31337, tmp_path / "deployments")
    assert path.name == "31337.json"
    assert load_manifest(31337, tmp_path / "deployments") == manifest
    assert [p.name for p in path.parent.iterdir()] == ["31337.json"]  # no temporary left over


def test_save_replaces_an_existing_manifest(tmp_path: Path) -> None:
    _manifest().save(tmp_path)
    newer = replace(_manifest(), block_number=7)
    newer.save(tmp_path)
    assert load_manifest(31337, tmp_path).block_number == 7


def test_missing_manifest_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ManifestNotFound) as caught:
        load_manifest(5, tmp_path)
    assert str(tmp_path / "5.json") in str(caught.value)
    assert caught.value.chain_id == 5


def test_malformed_json_is_a_one_line_config_error(tmp_path: Path) -> None:
    (tmp_path / "31337.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON") as caught:
        load_manifest(31337, tmp_path)
    assert not isinstance(caught.value, ManifestNotFound)
    assert "\n" not in str(caught.value)


def test_missing_keys_are_named(tmp_path: Path) -> None:
    data = asdict(_manifest())
    del data["abi"], data["tx_hash"]
    (tmp_path / "31337.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="missing keys abi, tx_hash"):
        load_manifest(31337, tmp_path)


def test_wrong_types_and_wrong_chain_are_config_errors(tmp_path: Path) -> None:
    data = asdict(_manifest())
    (tmp_path / "31337.json").write_text(json.dumps({**data, "block_number": "soon"}))
    with pytest.raises(ConfigError, match="malformed field"):
        load_manifest(31337, tmp_path)
    (tmp_path / "31337.json").write_text(json.dumps({**data, "chain_id": 1}))
    with pytest.raises(ConfigError, match="for chain 1"):
        load_manifest(31337, tmp_path)
    (tmp_path / "31337.json").write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_manifest(31337, tmp_path)
