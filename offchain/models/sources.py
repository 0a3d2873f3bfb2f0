"""Where a model's weights come from: packaged weights (offline), a hub id (online), a local path.

``resolve(spec, source)`` picks the source; ``materialize(resolved)`` turns it into a local
directory that ``from_pretrained`` / sentence-transformers load with ``local_files_only``: a hub
model's cached or freshly downloaded snapshot (`offchain.models.hub`), a package's files, a path.
GGUF weights (packaged or local) are converted once into dense
safetensors + tokenizer under ``cache_root()/models/<name>/``: the GGUF is loaded with
``gguf_file=``, its quantizer dropped, the weights cast to bfloat16 (the 4-bit values lose
nothing that matters) and saved. The result is written to a temporary directory and renamed into
place, so a killed conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offchain.errors import ConfigError
from offchain.models import packages
from offchain.models.specs import ModelSpec

SourceKind = Literal["package", "hub", "path"]
_MARKER = "poq-source.json"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ResolvedSource:
    """A chosen source before any conversion."""

    spec: ModelSpec
    kind: SourceKind
    location: str
    """Hub id, or a filesystem path (GGUF file, model directory), or the package key."""


def resolve(spec: ModelSpec, source: str = "auto") -> ResolvedSource:
    """Choose where to load ``spec`` from.

    ``source`` is ``auto`` (packaged weights when installed, else the hub id), ``package``,
    ``hub``, or a filesystem path (a model directory or a ``.gguf`` file).
    """
    if source == "auto":
        if spec.package and packages.is_installed(spec.package):
            return ResolvedSource(spec, "package", spec.package)
        if spec.hub_id:
            return ResolvedSource(spec, "hub", spec.hub_id)
        raise ConfigError(f"{spec.name!r} has no installed weights and no hub id")
    if source == "package":
        if not spec.package:
            raise ConfigError(f"{spec.name!r} has no packaged weights; use --source hub or a path")
        if not packages.is_installed(spec.package):
            raise ConfigError(
                f"weights of {spec.name!r} are not installed: run `poq models install "
                f"{spec.name}` (or scripts/install-models.sh)"
            )
        return ResolvedSource(spec, "package", spec.package)
    if source == "hub":
        if not spec.hub_id:
            raise ConfigError(f"{spec.name!r} has no hub id")
        return ResolvedSource(spec, "hub", spec.hub_id)
    path = Path(source).expanduser()
    if not path.exists():
        raise ConfigError(f"model source {source!r} is neither auto/package/hub nor an existing path")
    return ResolvedSource(spec, "path", str(path.resolve()))


def materialize(resolved: ResolvedSource, *, progress: bool = True) -> str:
    """A local directory ready for ``from_pretrained`` / sentence-transformers (``local_files_only``).

    Downloads a hub snapshot, converts GGUF and extracts split archives on first use (cached);
    returns at once after that. An uncached hub model offline is a one-line HubModelUnavailable.
    """
    spec = resolved.spec
    if resolved.kind == "hub":
        from offchain.models.hub import snapshot

        return str(snapshot(resolved.location, spec.name))
    if resolved.kind == "path":
        path = Path(resolved.location)
        if path.is_dir():
            return str(path)
        if path.suffix != ".gguf":
            raise ConfigError(f"{path}: expected a model directory or a .gguf file")
        stat = path.stat()
        key = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        out = model_cache_dir(f"local-{path.stem}-{key}")
        provenance = {"source": str(path), "size": stat.st_size}
        return str(build_once(out, provenance, lambda tmp: _convert_gguf([path], tmp, progress)))

    pkg = packages.package_for(resolved.location)
    parts = packages.part_paths(pkg.model)
    if pkg.layout == "dir":
        return str(parts[0])
    out = model_cache_dir(spec.name)
    provenance = {"requirements": list(pkg.requirements), "layout": pkg.layout}
    if pkg.layout == "split_zip":
        return str(build_once(out, provenance, lambda tmp: _extract_split_zip(parts, tmp, progress)))
    return str(build_once(out, provenance, lambda tmp: _convert_gguf(parts, tmp, progress)))


def model_cache_dir(name: str) -> Path:
    """``cache_root()/models/<name>``: where converted weights of ``name`` live."""
    return packages.cache_root() / "models" / name


def build_once(out: Path, provenance: dict[str, object], make: Callable[[Path], None]) -> Path:
    """Return ``out`` if it holds a build with the same provenance, else build it atomically."""
    marker = out / _MARKER
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get("provenance") == provenance:
                return out
        except (OSError, ValueError):
            pass
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        make(tmp)
        (tmp / _MARKER).write_text(json.dumps({"provenance": provenance}, indent=1))
        if out.exists():  # stale build (other package version): replace it
            shutil.rmtree(out)
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / _MARKER).exists():  # lost a race to a concurrent build that finished
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _progress(enabled: bool):  # -> rich.progress.Progress
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), disable=not enabled, transient=False,
    )


def _concat(parts: list[Path], target: Path, progress, label: str) -> None:
    total = sum(p.stat().st_size for p in parts)
    task = progress.add_task(label, total=total)
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(_CHUNK):
                    out.write(block)
                    progress.advance(task, len(block))


def _convert_gguf(parts: list[Path], tmp: Path, show: bool) -> None:
    """Dequantize a GGUF (one file, or chunks to concatenate) into safetensors + tokenizer."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _progress(show) as progress:
        if len(parts) == 1:
            gguf = parts[0]
        else:
            gguf = tmp / "source.gguf"
            _concat(parts, gguf, progress, "assembling GGUF")
        task = progress.add_task("dequantizing GGUF (one time)", total=None)
        transformers.utils.logging.disable_progress_bar()
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        finally:
            transformers.utils.logging.enable_progress_bar()
        model.hf_quantizer = None  # a dense copy: no quantizer to re-apply at load time
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model = model.to(torch.bfloat16)
        progress.update(task, description="saving safetensors", total=1, completed=0)
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        progress.update(task, completed=1)
        if gguf.parent == tmp:
            gguf.unlink()


def _extract_split_zip(parts: list[Path], tmp: Path, show: bool) -> None:
    """Concatenate a split zip and extract the model directory it holds into ``tmp``."""
    with _progress(show) as progress:
        archive = tmp / "archive.zip"
        _concat(parts, archive, progress, "assembling archive")
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()
                       and not m.filename.endswith("desktop.ini")]
            task = progress.add_task("extracting", total=sum(m.file_size for m in members))
            for m in members:
                name = Path(m.filename)
                rel = Path(*name.parts[1:]) if len(name.parts) > 1 else name  # drop top folder
                if rel.is_absolute() or ".." in rel.parts:
                    raise ConfigError(f"{parts[0]}: unsafe path {m.filename!r} in archive")
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, dest.open("wb") as out:
                    while block := src.read(_CHUNK):
                        out.write(block)
                        progress.advance(task, len(block))
        archive.unlink()
