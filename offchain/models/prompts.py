"""The prompt of a task, one template per task type, shared by in-process and endpoint generators.

`user_message` is what a chat model sees as the user's turn; `base_prompt` is the plain
continuation prompt for a model without a chat template. Long passages are cut first by the caller's
``clip`` (by tokens where a tokenizer is at hand, by characters at an endpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from offchain.errors import ConfigError

QA_INSTRUCTION = ("Answer the question with a short span copied from the context. "
                  "Reply with the answer only.")
SUMMARY_INSTRUCTION = "Summarize the following news article in 3 sentences."
QA, SUMMARY = "extractive_qa", "summarization"
CHARS_PER_TOKEN = 4
"""Where no tokenizer is at hand (an endpoint), a context of N tokens is cut at N * 4 characters."""


class PromptRecord(Protocol):
    """What a prompt template reads from a record (`offchain.data.Record` fits)."""

    task: str
    input: str
    context: str | None
    question: str | None


def _parts(record: PromptRecord, clip: Callable[[str], str]) -> tuple[str, str]:
    """(user message, base prompt) of ``record``."""
    if record.task == QA:
        if record.context is None or record.question is None:
            raise ConfigError(f"extractive_qa record needs context and question: {record!r}")
        context = clip(record.context)
        return (f"{QA_INSTRUCTION}\n\nContext: {context}\n\nQuestion: {record.question}",
                f"Context: {context}\nQuestion: {record.question}\nAnswer:")
    if record.task == SUMMARY:
        article = clip(record.context or record.input)
        return (f"{SUMMARY_INSTRUCTION}\n\nArticle: {article}",
                f"Article: {article}\n\nSummary in 3 sentences:")
    raise ConfigError(f"no prompt template for task {record.task!r}")


def user_message(record: PromptRecord, clip: Callable[[str], str]) -> str:
    """The user's turn for a chat model."""
    return _parts(record, clip)[0]


def base_prompt(record: PromptRecord, clip: Callable[[str], str]) -> str:
    """The continuation prompt for a model without a chat template."""
    return _parts(record, clip)[1]


def clip_chars(max_tokens: int) -> Callable[[str], str]:
    """A clip that keeps about ``max_tokens`` tokens' worth of characters."""
    limit = max_tokens * CHARS_PER_TOKEN
    return lambda text: text if len(text) <= limit else text[:limit]
