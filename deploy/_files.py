"""Small file helpers shared by the deploy modules: the cache directory and atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_cache_dir() -> Path:
    """$POQ_CACHE_DIR, else $XDG_CACHE_HOME/poq, else ~/.cache/poq (not created here)."""
    if explicit := os.environ.get("POQ_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "poq"
    return Path.home() / ".cache" / "poq"


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> Path:
    """Write `text` to `path` through a temporary file in the same directory and os.replace.

    Readers never see a half-written file, and concurrent writers of the same content are
    harmless (last replace wins).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
