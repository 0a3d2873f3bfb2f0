"""One record schema for every task: ``Record(id, task, input, reference)``.

SQuAD records keep every gold answer in ``references`` (``reference`` is the first) and keep the
passage and question apart in ``context`` / ``question``. CNN/DailyMail records hold the article in
``context`` (and ``input``) and the highlights as the single reference.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from offchain.errors import ConfigError

Task = Literal["extractive_qa", "summarization"]
TASKS: tuple[Task, ...] = ("extractive_qa", "summarization")

T = TypeVar("T")


_QUESTION_MARK = "\n\nQuestion: "


def qa_input(context: str, question: str) -> str:
    """The ``input`` text of an extractive-QA record: the passage, then the question."""
    return f"Context: {context}{_QUESTION_MARK}{question}"


def split_qa_input(text: str) -> tuple[str, str] | None:
    """(context, question) of a `qa_input` text; None when it has no question part."""
    if _QUESTION_MARK not in text:
        return None
    context, question = text.rsplit(_QUESTION_MARK, 1)
    return context.removeprefix("Context: "), question


@dataclass(frozen=True)
class Record:
    """One evaluation item. ``references`` always holds at least ``reference``."""

    id: str
    task: Task
    input: str
    """What a model is given (QA: context + question; summarization: the article)."""
    reference: str
    """The reference answer (QA: the first gold answer; summarization: the highlights)."""
    references: tuple[str, ...] = ()
    """Every acceptable reference (all SQuAD gold answers, duplicates kept)."""
    context: str | None = None
    """QA: the passage. Summarization: the article."""
    question: str | None = None
    """QA only: the question."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Source-specific extras (e.g. SQuAD title, answer start offsets)."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {TASKS}")
        if not self.references:
            object.__setattr__(self, "references", (self.reference,))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the unified JSONL format that `load_records` reads back)."""
        out: dict[str, Any] = {
            "id": self.id, "task": self.task, "input": self.input, "reference": self.reference,
            "references": list(self.references),
        }
        if self.context is not None:
            out["context"] = self.context
        if self.question is not None:
            out["question"] = self.question
        if self.meta:
            out["meta"] = dict(self.meta)
        return out


def sample(records: Sequence[T], n: int, seed: int) -> list[T]:
    """``n`` records drawn without replacement with a seeded RNG, kept in their original order.

    The same (records, n, seed) always gives the same sample. ``n >= len(records)`` returns them
    all; a negative ``n`` raises ConfigError.
    """
    if n < 0:
        raise ConfigError(f"sample size must be >= 0, got {n}")
    if n >= len(records):
        return list(records)
    picked = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in picked]
