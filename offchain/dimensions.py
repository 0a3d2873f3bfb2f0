"""Per-answer quality dimensions that need no panel or history, shared by the offline audit
(simulation.multidim) and the live ``composite`` evaluator (offchain.models.composite).

- ``structure``: format checks per task. QA: a short span (full marks up to 8 words, none at 40), no
  line breaks or repeated phrases. Summaries: length near the reference's (10 exp(-|log ratio|)),
  ends on a sentence, no repeated trigrams.
- ``grounding``: the share of the answer's normalized tokens found in the source (passage or
  article): extractive answers and faithful summaries copy from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from offchain.metrics import normalize_answer

QA, SUMMARY = "extractive_qa", "summarization"
QA_FULL_WORDS, QA_ZERO_WORDS = 8, 40
LEAD_WORDS = 80  # the article lead the summary's relevance is judged against


def _words(text: str) -> list[str]:
    return text.split()


def repeated_trigram_share(words: Sequence[str]) -> float:
    """Share of word trigrams that already occurred earlier in the text (0 for fewer than 4 words)."""
    grams = [tuple(w.lower() for w in words[i:i + 3]) for i in range(len(words) - 2)]
    if len(grams) < 2:
        return 0.0
    return (len(grams) - len(set(grams))) / len(grams)


def structure(task: str, output: str, reference: str) -> float:
    """Format score in [0, 10] (see the module docstring); an empty answer scores 0."""
    words = _words(output)
    if not words:
        return 0.0
    tidy = 1.0 - repeated_trigram_share(words)
    if task == QA:
        n = len(words)
        length = 1.0 if n <= QA_FULL_WORDS else max(0.0, 1.0 - (n - QA_FULL_WORDS) / (QA_ZERO_WORDS - QA_FULL_WORDS))
        single_line = 0.5 if "\n" in output.strip() else 1.0
        return 10.0 * length * tidy * single_line
    ratio = len(words) / max(1, len(_words(reference)))
    closed = 1.0 if output.rstrip()[-1:] in ".!?\"'" else 0.8
    return 10.0 * math.exp(-abs(math.log(ratio))) * tidy * closed


def grounding(output: str, source: str) -> float:
    """10 x the share of the answer's normalized tokens that occur in ``source`` (0 when empty)."""
    tokens = normalize_answer(output).split()
    if not tokens:
        return 0.0
    vocabulary = set(normalize_answer(source).split())
    return 10.0 * sum(t in vocabulary for t in tokens) / len(tokens)


def query_of(record: Mapping[str, Any]) -> str:
    """What the answer should be relevant to: the question, or the article's lead."""
    if record["task"] == QA:
        return str(record.get("question") or record["input"])
    lead = _words(str(record.get("context") or record["input"]))[:LEAD_WORDS]
    return " ".join(lead)


def source_of(record: Mapping[str, Any]) -> str:
    return str(record.get("context") or record["input"])
