"""Run-directory files: resumable JSON Lines stores and atomic JSON writes.

A `JsonlStore` appends one JSON object per line as results are produced (flushed at once), and
knows which keys are already on disk, so a killed stage restarts where it stopped: it skips the
keys present and appends the rest. A torn last line (the process died mid-write) is ignored on
read and overwritten on the next append.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from offchain.errors import DatasetError

Row = dict[str, Any]
KeyFn = Callable[[Row], Hashable]


def field_key(*fields: str) -> KeyFn:
    """A key function picking ``fields`` of a row, as a tuple (one field: the bare value)."""
    if len(fields) == 1:
        name = fields[0]
        return lambda row: row[name]
    return lambda row: tuple(row[f] for f in fields)


class JsonlStore:
    """A JSONL file of rows identified by ``key(row)``; append-only, resumable."""

    def __init__(self, path: str | Path, key: KeyFn) -> None:
        self.path = Path(path)
        self.key = key

    def rows(self) -> list[Row]:
        """Every complete row on disk, in file order (a torn last line is skipped)."""
        return list(self._iter())

    def _iter(self) -> Iterator[Row]:
        if not self.path.is_file():
            return
        with self.path.open(encoding="utf-8") as handle:
            lines = handle.readlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines) and not line.endswith("\n"):
                    return  # torn last write of a killed run
                raise DatasetError(str(self.path), number, "not JSON") from None
            if not isinstance(row, dict):
                raise DatasetError(str(self.path), number, "expected a JSON object")
            yield row

    def done(self) -> set[Hashable]:
        """Keys of the rows already written."""
        return {self.key(row) for row in self._iter()}

    def append(self, rows: Iterable[Row]) -> int:
        """Append ``rows`` (flushed and fsynced); returns how many were written."""
        rows = list(rows)
        if not rows:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_torn_tail()
        with self.path.open("a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(dumps(row) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return len(rows)

    def _drop_torn_tail(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def __len__(self) -> int:
        return sum(1 for _ in self._iter())


def clean(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by None (strict JSON), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(clean(value), ensure_ascii=False, indent=indent, allow_nan=False)


def write_json(path: str | Path, value: Any) -> None:
    """Write ``value`` as indented JSON, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(value, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def write_jsonl(path: str | Path, rows: Iterable[Row]) -> int:
    """Rewrite a whole JSONL file atomically (for derived files recomputed from scratch)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(dumps(row) + "\n")
            count += 1
    tmp.replace(path)
    return count


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), exc.lineno, f"not JSON ({exc.msg})") from None
