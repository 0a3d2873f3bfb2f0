"""Load SQuAD v1.1 and CNN/DailyMail into `Record`s from local files or, online, by name.

Local formats (chosen by suffix): JSON Lines (the flattened SQuAD / CNN-DM rows of
``shared/data``, or the unified `Record.to_dict` rows), the official SQuAD JSON
(``{"data": [...]}``), CSV (``article,highlights,id``), Parquet (needs pandas + pyarrow). Each row
is recognised by its keys. A malformed row raises DatasetError naming the file, the line (or row)
and what is wrong.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from offchain.data.schema import TASKS, Record, Task, qa_input
from offchain.errors import ConfigError, DatasetError, UnknownNameError

# name -> (datasets id, config, default split, task)
NAMED_DATASETS: dict[str, tuple[str, str | None, str, Task]] = {
    "squad": ("rajpurkar/squad", None, "validation", "extractive_qa"),
    "cnn_dailymail": ("abisee/cnn_dailymail", "3.0.0", "test", "summarization"),
}


class _RowError(Exception):
    """What is wrong with one row; turned into a DatasetError with file and line."""


def load(source: str | Path, *, task: Task | None = None, split: str | None = None,
         limit: int | None = None) -> list[Record]:
    """Records from a local file, or from a named dataset (``squad``, ``cnn_dailymail``)."""
    path = Path(source).expanduser()
    if path.exists():
        return load_records(path, task=task, limit=limit)
    if str(source) in NAMED_DATASETS:
        return load_named(str(source), split=split, limit=limit)
    raise UnknownNameError("dataset (not a file either)", str(source), list(NAMED_DATASETS))


def load_records(path: str | Path, *, task: Task | None = None,
                 limit: int | None = None) -> list[Record]:
    """Records from one local file; ``task`` (optional) must match every record's task."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(str(path), None, "no such file")
    suffix = path.suffix.lower()
    readers = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv,
               ".parquet": _read_parquet}
    if suffix not in readers:
        raise DatasetError(str(path), None, f"unsupported file type {suffix!r}; expected one of "
                                            f"{', '.join(readers)}")
    out: list[Record] = []
    for line, row in readers[suffix](path):
        if limit is not None and len(out) >= limit:
            break
        try:
            record = parse_row(row)
        except _RowError as exc:
            raise DatasetError(str(path), line, str(exc)) from None
        if task is not None and record.task != task:
            raise DatasetError(str(path), line, f"task is {record.task!r}, expected {task!r}")
        out.append(record)
    return out


def parse_row(row: Any) -> Record:
    """One row (unified, flattened SQuAD, HF SQuAD, or CNN/DM) as a Record."""
    if not isinstance(row, Mapping):
        raise _RowError(f"expected a JSON object, got {type(row).__name__}")
    if "task" in row:
        return _unified(row)
    if "question" in row or "answers" in row:
        return _squad(row)
    if "article" in row or "highlights" in row:
        return _cnn(row)
    raise _RowError(f"unrecognised record (keys {sorted(row)}); expected SQuAD "
                    "(context, question, answers), CNN/DM (article, highlights) or unified "
                    "(id, task, input, reference)")


def _text(row: Mapping[str, Any], key: str, *, allow_empty: bool = False) -> str:
    if key not in row or row[key] is None:
        raise _RowError(f"missing field {key!r}")
    value = row[key]
    if not isinstance(value, str):
        raise _RowError(f"field {key!r} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _RowError(f"field {key!r} is empty")
    return value


def _id(row: Mapping[str, Any]) -> str:
    value = row.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise _RowError("missing or invalid field 'id' (a non-empty string)")
    return str(value)


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _RowError(f"field {key!r} must be a non-empty list of strings")
    return value


def _squad(row: Mapping[str, Any]) -> Record:
    context, question = _text(row, "context"), _text(row, "question")
    answers = row.get("answers")
    starts = row.get("answer_starts")
    if isinstance(answers, Mapping):  # the HF `datasets` layout: {"text": [...], "answer_start"}
        starts = answers.get("answer_start")
        answers = answers.get("text")
    elif answers and isinstance(answers, list) and isinstance(answers[0], Mapping):
        starts = [a.get("answer_start") for a in answers]  # official layout inside `qas`
        answers = [a.get("text") for a in answers]
    golds = _strings(answers, "answers")
    meta: dict[str, Any] = {}
    if row.get("title"):
        meta["title"] = row["title"]
    if starts is not None:
        meta["answer_starts"] = list(starts)
    return Record(id=_id(row), task="extractive_qa", input=qa_input(context, question),
                  reference=golds[0], references=tuple(golds), context=context,
                  question=question, meta=meta)


def _cnn(row: Mapping[str, Any]) -> Record:
    article, highlights = _text(row, "article"), _text(row, "highlights")
    return Record(id=_id(row), task="summarization", input=article, reference=highlights,
                  context=article)


def _unified(row: Mapping[str, Any]) -> Record:
    task = row.get("task")
    if task not in TASKS:
        raise _RowError(f"field 'task' must be one of {TASKS}, got {task!r}")
    reference = _text(row, "reference", allow_empty=True)
    refs = row.get("references")
    references = tuple(_strings(refs, "references")) if refs is not None else (reference,)
    context = row.get("context")
    question = row.get("question")
    for key, value in (("context", context), ("question", question)):
        if value is not None and not isinstance(value, str):
            raise _RowError(f"field {key!r} must be a string")
    meta = row.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise _RowError("field 'meta' must be an object")
    return Record(id=_id(row), task=task, input=_text(row, "input"), reference=reference,
                  references=references, context=context, question=question, meta=dict(meta))


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(str(path), number, f"invalid JSON: {exc.msg}") from None


def _read_json(path: Path) -> Iterator[tuple[int | None, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(str(path), exc.lineno, f"invalid JSON: {exc.msg}") from None
    if isinstance(doc, list):
        yield from ((None, row) for row in doc)
        return
    if not isinstance(doc, Mapping) or not isinstance(doc.get("data"), list):
        raise DatasetError(str(path), None, 'expected the SQuAD layout {"data": [...]} or a list')
    yield from _official_squad(path, doc["data"])


def _official_squad(path: Path, articles: Iterable[Any]) -> Iterator[tuple[None, Any]]:
    for a, article in enumerate(articles):
        where = f"data[{a}]"
        try:
            for p, para in enumerate(article["paragraphs"]):
                where = f"data[{a}].paragraphs[{p}]"
                for q in para["qas"]:
                    yield None, {"id": q.get("id"), "title": article.get("title"),
                                 "context": para.get("context"), "question": q.get("question"),
                                 "answers": q.get("answers")}
        except (KeyError, TypeError, AttributeError) as exc:
            raise DatasetError(str(path), None, f"{where}: malformed ({exc!r})") from None


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise DatasetError(str(path), 1, "empty CSV (no header)")
        missing = {"article", "highlights"} - set(reader.fieldnames)
        if missing:
            raise DatasetError(str(path), 1, f"CSV header lacks {sorted(missing)}")
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise DatasetError(str(path), start, "more fields than the header")
            yield start, dict(row)
            start = reader.line_num + 1


def _read_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("reading Parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
    frame = pd.read_parquet(path)
    for number, row in enumerate(frame.to_dict("records"), start=1):
        yield number, _plain(row)


def _plain(value: Any) -> Any:
    """numpy arrays and nested mappings from Parquet as plain lists and dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_named(name: str, *, split: str | None = None, limit: int | None = None) -> list[Record]:
    """Records of a public dataset by name, through the `datasets` library (needs the network)."""
    if name not in NAMED_DATASETS:
        raise UnknownNameError("dataset", name, list(NAMED_DATASETS))
    dataset_id, config, default_split, _task = NAMED_DATASETS[name]
    try:
        import datasets
    except ImportError:
        raise ConfigError(f"loading {name!r} by name needs the `datasets` library "
                          "(pip install datasets), or pass a local file") from None
    split = split or default_split
    if limit is not None:
        split = f"{split}[:{limit}]"
    rows = datasets.load_dataset(dataset_id, config, split=split)
    out = []
    for number, row in enumerate(rows, start=1):
        try:
            out.append(parse_row(row))
        except _RowError as exc:
            raise DatasetError(f"{dataset_id}:{split}", number, str(exc)) from None
    return out
