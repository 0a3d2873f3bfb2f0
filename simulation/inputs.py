"""Inputs of the Monte Carlo simulation: evaluator scores and latencies, loaded into dense arrays.

A run directory (written by the evaluation pipeline, simulation/pipeline/) holds:

``scores.jsonl``
    One JSON object per line, ``{"record": str, "node": str, "evaluator": str, "score": number}``:
    evaluator ``evaluator``'s normalized score in [0, 10] of inference node ``node``'s answer to
    record ``record``. Every (record, node) answer listed must be scored by every evaluator, exactly
    once. A node may skip records (a heavy node answers a seeded subset): the simulation then draws
    each round's record among those its node answered. Blank lines are skipped.
``costs.json``
    ``{"inference": {node: latency_ms}, "evaluator": {evaluator: latency_ms}}``: the profiled mean
    latency per sample of each node, in milliseconds; the same node and evaluator names as the scores.
``f1.jsonl`` (optional)
    ``{"record": str, "node": str, "f1": number}``: the ground-truth proxy (token F1 x 10) per answer;
    pairs it does not list are NaN.

Any malformed input raises DatasetError naming the file and, where there is one, the first bad line.
Names are kept in order of first appearance, so the same files always give the same indices.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError, DatasetError
from offchain.metrics import pearson
from offchain.protocol.types import SCORE_SCALE

SCORES_FILE = "scores.jsonl"
COSTS_FILE = "costs.json"
F1_FILE = "f1.jsonl"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SimInputs:
    """Dense simulation inputs. ``scores[r, f, m]``: evaluator m's score of node f's answer to record r."""

    records: list[str]
    nodes: list[str]
    evaluators: list[str]
    scores: FloatArray  # (records, nodes, evaluators), each in [0, 10]
    node_latency_ms: FloatArray  # (nodes,)
    evaluator_latency_ms: FloatArray  # (evaluators,)
    f1: FloatArray | None = None  # (records, nodes) ground-truth proxy, NaN where unknown

    @property
    def answered(self) -> npt.NDArray[np.bool_]:
        """(records, nodes): whether the node answered the record (its scores are known)."""
        return ~np.isnan(self.scores[:, :, 0])


def load_inputs(
    run_dir: str | Path | None = None,
    *,
    scores_path: str | Path | None = None,
    costs_path: str | Path | None = None,
    f1_path: str | Path | None = None,
) -> SimInputs:
    """Load a run directory, or explicit files (which override the run directory's)."""
    base = Path(run_dir) if run_dir is not None else None
    if base is not None and not base.is_dir():
        raise ConfigError(f"run directory {base} does not exist")
    scores_file = _pick(scores_path, base, SCORES_FILE, "--scores")
    costs_file = _pick(costs_path, base, COSTS_FILE, "--costs")
    if f1_path is None and base is not None and (base / F1_FILE).is_file():
        f1_path = base / F1_FILE
    records, nodes, evaluators, scores = load_scores(scores_file)
    node_ms, evaluator_ms = load_costs(costs_file, nodes, evaluators)
    f1 = load_f1(Path(f1_path), records, nodes) if f1_path is not None else None
    return SimInputs(records, nodes, evaluators, scores, node_ms, evaluator_ms, f1)


def _pick(explicit: str | Path | None, base: Path | None, name: str, flag: str) -> Path:
    if explicit is not None:
        path = Path(explicit)
    elif base is not None:
        path = base / name
    else:
        raise ConfigError(f"no {name}: pass a run directory or {flag} FILE")
    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    return path


def _json_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; DatasetError on the first that is not an object."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(str(path), number, f"not JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise DatasetError(str(path), number, "expected a JSON object")
            rows.append((number, value))
    if not rows:
        raise DatasetError(str(path), None, "no lines")
    return rows


def _name(path: Path, number: int, row: dict[str, Any], key: str) -> str:
    if key not in row:
        raise DatasetError(str(path), number, f"missing key {key!r}")
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise DatasetError(str(path), number, f"{key} must be a non-empty string, got {value!r}")
    return str(value)


def _number(path: Path, number: int | None, value: Any, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DatasetError(str(path), number, f"{what} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise DatasetError(str(path), number, f"{what} must be in [{lo:g}, {hi:g}], got {value!r}")
    return float(value)


def _index(names: dict[str, int], name: str) -> int:
    return names.setdefault(name, len(names))


def load_scores(path: Path) -> tuple[list[str], list[str], list[str], FloatArray]:
    """Read scores.jsonl into (records, nodes, evaluators, S[record, node, evaluator])."""
    records: dict[str, int] = {}
    nodes: dict[str, int] = {}
    evaluators: dict[str, int] = {}
    entries: dict[tuple[int, int, int], float] = {}
    first_line: dict[tuple[int, int], int] = {}
    for number, row in _json_lines(path):
        r = _index(records, _name(path, number, row, "record"))
        f = _index(nodes, _name(path, number, row, "node"))
        m = _index(evaluators, _name(path, number, row, "evaluator"))
        if "score" not in row:
            raise DatasetError(str(path), number, "missing key 'score'")
        score = _number(path, number, row["score"], "score", 0.0, SCORE_SCALE)
        if (r, f, m) in entries:
            raise DatasetError(str(path), number, f"duplicate score of record {row['record']!r} "
                                                  f"node {row['node']!r} by evaluator {row['evaluator']!r}")
        entries[(r, f, m)] = score
        first_line.setdefault((r, f), number)
    scores = np.full((len(records), len(nodes), len(evaluators)), np.nan)
    for (r, f, m), score in entries.items():
        scores[r, f, m] = score
    _check_complete(path, scores, first_line, list(records), list(nodes), list(evaluators))
    return list(records), list(nodes), list(evaluators), scores


def _check_complete(
    path: Path,
    scores: FloatArray,
    first_line: dict[tuple[int, int], int],
    records: list[str],
    nodes: list[str],
    evaluators: list[str],
) -> None:
    """DatasetError for the earliest-listed (record, node) pair that some evaluator did not score."""
    incomplete = [(line, r, f) for (r, f), line in first_line.items() if np.isnan(scores[r, f]).any()]
    if incomplete:
        line, r, f = min(incomplete)
        missing = [evaluators[m] for m in np.flatnonzero(np.isnan(scores[r, f]))]
        raise DatasetError(str(path), line, f"record {records[r]!r} node {nodes[f]!r} is not scored by "
                                            f"evaluator(s) {', '.join(map(repr, missing))}")


def load_costs(path: Path, nodes: list[str], evaluators: list[str]) -> tuple[FloatArray, FloatArray]:
    """Read costs.json into latency vectors (ms) ordered like `nodes` and `evaluators`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), exc.lineno, f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise DatasetError(str(path), None, "expected a JSON object with 'inference' and 'evaluator'")
    return (_latencies(path, data, "inference", nodes, "node"),
            _latencies(path, data, "evaluator", evaluators, "evaluator"))


def _latencies(path: Path, data: dict[str, Any], role: str, names: list[str], what: str) -> FloatArray:
    table = data.get(role)
    if not isinstance(table, dict):
        raise DatasetError(str(path), None, f"missing object {role!r} of {what} latencies in ms")
    missing = [n for n in names if n not in table]
    if missing:
        shown = ", ".join(map(repr, missing))
        raise DatasetError(str(path), None, f"no {role} latency for {what}(s) {shown}")
    extra = [n for n in table if n not in names]
    if extra:
        raise DatasetError(str(path), None, f"{role} latency for {what}(s) without scores: "
                                            f"{', '.join(map(repr, extra))}")
    values = [_number(path, None, table[n], f"{role} latency of {n!r}", 0.0, math.inf) for n in names]
    return np.array(values, dtype=np.float64)


def load_f1(path: Path, records: list[str], nodes: list[str]) -> FloatArray:
    """Read f1.jsonl into F1[record, node] (NaN where not listed); names must appear in the scores."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    record_index = {name: i for i, name in enumerate(records)}
    node_index = {name: i for i, name in enumerate(nodes)}
    f1 = np.full((len(records), len(nodes)), np.nan)
    for number, row in _json_lines(path):
        record, node = _name(path, number, row, "record"), _name(path, number, row, "node")
        if record not in record_index or node not in node_index:
            raise DatasetError(str(path), number, f"record {record!r} node {node!r} has no scores")
        if "f1" not in row:
            raise DatasetError(str(path), number, "missing key 'f1'")
        f1[record_index[record], node_index[node]] = _number(path, number, row["f1"], "f1", 0.0, SCORE_SCALE)
    return f1


def f1_pearson(inputs: SimInputs) -> FloatArray:
    """(evaluators,): Pearson r of each evaluator's scores with F1 over the answers that have both.

    Every answered (record, node) pair with a known F1 counts once (not weighted by how often the
    simulation samples it). NaN for every evaluator without f1.jsonl, and for one whose scores are
    constant or unknown (a lazy evaluator: simulation.lazy).
    """
    out = np.full(len(inputs.evaluators), np.nan)
    if inputs.f1 is None:
        return out
    known = inputs.answered & ~np.isnan(inputs.f1)
    for m in range(len(inputs.evaluators)):
        scores = inputs.scores[:, :, m][known]
        if scores.size and not np.isnan(scores).any() and scores.min() < scores.max():  # exact test of a constant
            out[m] = pearson(scores, inputs.f1[known])
    return out
