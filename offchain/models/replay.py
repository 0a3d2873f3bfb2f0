"""Replay models: outputs and scores read from a log instead of computed (the paper's own method).

A fleet run logs every answer (`generations.jsonl`) and every score (`scores.jsonl`); agents given
`replay:<log>` as their model answer and score from those lines, so the chain part of a round can be
measured without model time. Lines are keyed by a hash of the text(s) they answer.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError, DatasetError
from offchain.models.evaluators import task_pair

PREFIX = "replay:"
PACED = "+paced"


def text_key(*texts: str) -> str:
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ReplayGeneration:
    text: str
    latency_s: float
    prompt_tokens: int = 0
    new_tokens: int = 0


def _load(path: Path, who: str, field: str) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"replay log {path} does not exist")
    table: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row[field] == who:
                    table[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(str(path), number, f"not a replay line ({exc})") from None
    if not table:
        raise ConfigError(f"replay log {path} has no lines for {field} {who!r}")
    return table


class ReplayGenerator:
    """Answers with the logged output of `model` for the same input text.

    The chain assigns tasks at random, so a replayed node may get an input its model never answered
    in the logged run; it then replays the answer another model logged for that input (the chain's
    work per round is the same, which is what replays measure). A model name ending in ``+paced``
    (``replay:LOG#qwen2.5-coder-0.5b+paced``) takes the logged time to answer, so the chain measures
    the logged model's cost rather than the replay's; ``+paced0.1`` a tenth of it.
    """

    def __init__(self, path: Path, model: str) -> None:
        model, paced, factor = model.partition(PACED)
        try:
            self.pace = float(factor or 1) if paced else 0.0
        except ValueError:
            raise ConfigError(f"replay model {model}{PACED}{factor}: the pace must be a number") from None
        self.name = f"{PREFIX}{model}"
        self._rows = _load(path, model, "model")
        self._any_model = _load_all(path)
        self.nominal_latency_s = _mean_latency(self._rows)

    def generate_records(self, records: list[Any]) -> list[ReplayGeneration]:
        out = []
        for record in records:
            key = text_key(record.input)
            row = self._rows.get(key) or self._any_model.get(key)
            if row is None:
                raise ConfigError(f"{self.name}: no logged output for this input")
            out.append(ReplayGeneration(str(row["output"]), float(row["latency_s"])))
        if self.pace:
            time.sleep(self.pace * sum(g.latency_s for g in out))
        return out


def _mean_latency(rows: dict[str, dict[str, Any]]) -> float:
    """The logged per-item latency, which a replayed node reports as its cost."""
    values = [float(r["latency_s"]) for r in rows.values() if r.get("latency_s")]
    return sum(values) / len(values) if values else 0.001


def _load_all(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return {row["key"]: row for row in (json.loads(line) for line in handle if line.strip())}


class ReplayEvaluator:
    """Scores with the logged calibrated score of `evaluator` for the same (reference, answer)."""

    def __init__(self, path: Path, evaluator: str) -> None:
        self.name = f"{PREFIX}{evaluator}"
        self._rows = _load(path, evaluator, "evaluator")
        self.nominal_latency_s = _mean_latency(self._rows)

    def score_calibrated(self, pairs: list[tuple[str, str]]) -> list[float]:
        out = []
        for pair in pairs:
            row = self._rows.get(text_key(*pair))
            if row is None:
                raise ConfigError(f"{self.name}: no logged score for this pair")
            out.append(float(row["score"]))
        return out

    def score_texts(self, items: Sequence[Mapping[str, Any]]) -> list[float]:
        return self.score_calibrated([task_pair(item) for item in items])


def parse(spec: str) -> tuple[Path, str]:
    """`replay:PATH#NAME` → (PATH, NAME)."""
    body = spec.removeprefix(PREFIX)
    path, sep, name = body.rpartition("#")
    if not sep or not path or not name:
        raise ConfigError(f"replay model must look like replay:PATH#NAME, got {spec!r}")
    return Path(path), name
