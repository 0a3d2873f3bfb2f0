"""Model sources: choosing a source, atomic cache builds, split-zip assembly (no real model)."""

import io
import zipfile

import pytest

from offchain.errors import ConfigError
from offchain.models import ModelSpec, packages, sources


def test_failed_build_leaves_nothing_behind(tmp_path):
    out = tmp_path / "models" / "m"

    def boom(tmp):
        (tmp / "half-written").write_text("x")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        sources.build_once(out, {"v": 1}, boom)
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []


def test_build_is_cached_until_provenance_changes(tmp_path):
    out = tmp_path / "m"
    calls = []

    def make(tmp):
        calls.append(tmp)
        (tmp / "weights").write_text(str(len(calls)))

    sources.build_once(out, {"v": 1}, make)
    sources.build_once(out, {"v": 1}, make)
    assert len(calls) == 1
    sources.build_once(out, {"v": 2}, make)
    assert len(calls) == 2 and (out / "weights").read_text() == "2"


def test_split_zip_is_concatenated_and_extracted_without_top_folder(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model-dir/config.json", "{}")
        zf.writestr("model-dir/1_Pooling/config.json", "{\"p\": 1}")
        zf.writestr("model-dir/desktop.ini", "junk")
    data = buf.getvalue()
    parts = []
    for i, chunk in enumerate((data[:50], data[50:120], data[120:])):
        parts.append(tmp_path / f"a.zip.00{i + 1}")
        parts[-1].write_bytes(chunk)
    out = tmp_path / "out"
    out.mkdir()
    sources._extract_split_zip(parts, out, show=False)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "config.json"]


def test_resolve_prefers_installed_package_then_hub(monkeypatch):
    spec = ModelSpec(name="x", kind="generator", hub_id="org/x", package="x")
    monkeypatch.setattr(packages, "is_installed", lambda m: True)
    assert sources.resolve(spec).kind == "package"
    monkeypatch.setattr(packages, "is_installed", lambda m: False)
    resolved = sources.resolve(spec)
    assert (resolved.kind, resolved.location) == ("hub", "org/x")
    with pytest.raises(ConfigError, match="poq models install x"):
        sources.resolve(spec, "package")


def test_resolve_local_path_and_bad_source(tmp_path):
    spec = ModelSpec(name="x", kind="generator")
    assert sources.resolve(spec, str(tmp_path)).kind == "path"
    with pytest.raises(ConfigError, match="neither auto/package/hub nor an existing path"):
        sources.resolve(spec, str(tmp_path / "missing"))
