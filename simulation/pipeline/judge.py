"""Stage ``judge``: an LLM grades a seeded sample of answers 0–10 with a short justification.

The judge is an OpenAI-compatible chat endpoint (``--judge-endpoint URL --judge-model NAME``, or
``--judge-model openai:NAME@URL``; called through `offchain.models.endpoint.EndpointClient`, the same
client as ``openai:`` generators) or, without one, a local generator. Replies are parsed leniently
(`parse_reply`: the first JSON object with a ``score``, else the first number), validated to [0, 10] and retried up to
``RETRIES`` times (sampling on retries); failures are kept as rows with ``ok: false`` and counted.
``judge.jsonl`` rows: ``{record, node, task, judge, score, justification, attempts, ok, error}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from offchain.data import TASKS, Record, sample
from offchain.errors import ConfigError
from offchain.protocol.types import SCORE_SCALE
from simulation.pipeline.config import JUDGE_FILE, PipelineConfig, default_local_judge
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import JsonlStore, Row, field_key

RETRIES = 2
EXCERPT_CHARS = 1500
JUDGE_TOKENS = 64
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# fields of a JSON reply cut off at the token cap, read one by one
_SCORE_FIELD = re.compile(r'"score"\s*:\s*"?(-?\d+(?:\.\d+)?)')
_WHY_FIELD = re.compile(r'"justification"\s*:\s*"((?:[^"\\]|\\.)*)(")?')
_TASK_NAMES = {"extractive_qa": "extractive question answering", "summarization": "news summarization"}


class JudgeReplyError(ValueError):
    """A judge reply with no usable score in [0, 10]."""


@dataclass(frozen=True)
class Verdict:
    """A parsed judge reply."""

    score: float
    justification: str


def build_prompt(record: Record, output: str) -> str:
    """The grading prompt for one answer (source text cut to EXCERPT_CHARS characters)."""
    source = (record.context or record.input)[:EXCERPT_CHARS]
    lines = [f"You are grading an answer for a {_TASK_NAMES[record.task]} task.",
             f"Source text: {source}"]
    if record.question:
        lines.append(f"Question: {record.question}")
    lines += [f"Reference answer: {record.reference}", f"Answer to grade: {output}",
              "Rate the answer from 0 (wrong or useless) to 10 (as good as the reference). "
              'Reply with JSON only: {"score": <0-10>, "justification": "<one short sentence>"}']
    return "\n\n".join(lines)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _NUMBER.search(value)
        return float(match.group()) if match else None
    return None


def _first_json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "score" in value:
            return value
    return None


def parse_reply(text: str) -> Verdict:
    """The score and justification in a judge reply; JudgeReplyError when there is none.

    Accepts a JSON object with ``score`` (possibly inside prose or a code fence), else the first
    number in the text (``"8/10"`` → 8). The score must be finite and in [0, 10].
    """
    obj = _first_json_object(text)
    if obj is not None:
        score, why = _number(obj.get("score")), str(obj.get("justification", "")).strip()
    else:
        score, why = _salvage(text)
    if score is None or not math.isfinite(score):
        raise JudgeReplyError(f"no score in reply {text[:80]!r}")
    if not 0.0 <= score <= SCORE_SCALE:
        raise JudgeReplyError(f"score {score:g} outside [0, 10]")
    return Verdict(score, why[:300])


def _salvage(text: str) -> tuple[float | None, str]:
    """Score and justification from a reply that holds no whole JSON object: the fields of a JSON
    reply cut off at the token cap (an unfinished justification ends in "…"), else the first number
    and the whole text."""
    field, why = _SCORE_FIELD.search(text), _WHY_FIELD.search(text)
    match = field or _NUMBER.search(text)
    score = float(match.group(1 if field else 0)) if match else None
    if why is None:
        return score, text.strip()
    return score, why.group(1).strip() + ("" if why.group(2) else "…")


class JudgeBackend(Protocol):
    name: str

    def ask(self, prompts: Sequence[str], attempt: int) -> list[str | None]:
        """Raw replies to ``prompts`` (None: no reply came); ``attempt`` > 0 is a retry (may sample)."""


class LocalJudge:
    """A registered generator as the judge (greedy first, sampling with a new seed on retries)."""

    def __init__(self, name: str, generator: Any) -> None:
        self.name, self.generator = name, generator
        self._greedy = generator.decoding

    def ask(self, prompts: Sequence[str], attempt: int) -> list[str | None]:
        self.generator.decoding = self._greedy if attempt == 0 else replace(
            self._greedy, temperature=0.7, top_p=0.95, seed=self._greedy.seed + attempt)
        texts = [self.generator.format_text(p) for p in prompts]
        return [g.text for g in self.generator.generate(texts, JUDGE_TOKENS)]


class EndpointJudge:
    """An OpenAI-compatible chat endpoint (key from POQ_JUDGE_API_KEY or OPENAI_API_KEY when set).

    A request that fails after the client's retries counts as a failed attempt (``last_error`` says
    why); `judge_all` retries it with sampling.
    """

    KEY_ENVS = ("POQ_JUDGE_API_KEY", "OPENAI_API_KEY")

    def __init__(self, url: str, model: str, timeout: float = 60.0) -> None:
        from offchain.models.endpoint import EndpointClient

        # no client-side retries: judge_all retries a failed prompt itself (sampling on retries)
        self.client = EndpointClient(url, key_envs=self.KEY_ENVS, timeout_s=timeout, retries=0)
        self.url, self.name = self.client.url, model
        self.last_error = ""

    def ask(self, prompts: Sequence[str], attempt: int) -> list[str | None]:
        return [self._one(p, attempt) for p in prompts]

    def _one(self, prompt: str, attempt: int) -> str | None:
        from offchain.models.endpoint import EndpointError

        try:
            return self.client.chat(self.name, prompt, max_tokens=200, temperature=0.0 if attempt == 0 else 0.7,
                                    top_p=0.95).text
        except EndpointError as exc:
            self.last_error = str(exc)
            return None  # counts as a failed attempt


def judge_all(backend: JudgeBackend, prompts: Sequence[str]) -> list[tuple[Verdict | None, int, str]]:
    """(verdict or None, attempts used, last error) per prompt, retrying failures RETRIES times."""
    results: list[tuple[Verdict | None, int, str]] = [(None, 0, "")] * len(prompts)
    pending = list(range(len(prompts)))
    for attempt in range(RETRIES + 1):
        if not pending:
            break
        replies = backend.ask([prompts[i] for i in pending], attempt)
        still = []
        for i, reply in zip(pending, replies, strict=True):
            try:
                if reply is None:
                    raise JudgeReplyError(f"no reply ({getattr(backend, 'last_error', '')})")
                results[i] = (parse_reply(reply), attempt + 1, "")
            except JudgeReplyError as exc:
                results[i] = (None, attempt + 1, str(exc))
                still.append(i)
        pending = still
    return results


def judged_pairs(pairs: Sequence[tuple[Record, str]], n: int, seed: int) -> list[tuple[Record, str]]:
    """The seeded sample judged: ``n`` records per (task, node), in record order then node order.

    Nodes that answered the same records get the same sample (the seed and candidates match); a
    heavy node's sample comes from its own subset.
    """
    nodes = list(dict.fromkeys(node for _, node in pairs))
    chosen = {(r.id, node) for node in nodes for task in TASKS
              for r in sample([r for r, m in pairs if m == node and r.task == task], n, seed)}
    return [(r, node) for r, node in pairs if (r.id, node) in chosen]


def make_backend(config: PipelineConfig) -> JudgeBackend:
    """The endpoint judge when configured (``--judge-endpoint``, or ``--judge-model openai:NAME@URL``),
    else the local generator, greedy first (POQ_TORCH_THREADS applied)."""
    from offchain.models.refs import OPENAI, parse_ref

    if config.judge_model and config.judge_model.startswith(OPENAI):
        ref = parse_ref(config.judge_model, "generator")
        return EndpointJudge(str(ref.url), ref.target)
    if config.judge_endpoint:
        if not config.judge_model:
            raise ConfigError("--judge-endpoint needs --judge-model (the endpoint's model name)")
        return EndpointJudge(config.judge_endpoint, config.judge_model)
    from offchain.models.generators import DecodingConfig
    from simulation.pipeline.generate import load_real_generator

    name = config.judge_model or default_local_judge()
    decoding = DecodingConfig(batch_size=config.batch_size, seed=config.seed, temperature=0.0)
    return LocalJudge(name, load_real_generator(name, decoding, config.device))


def run_judge(config: PipelineConfig, reporter: Reporter, pairs: Sequence[tuple[Record, str]],
              answers: dict[tuple[str, str], Row], *,
              backend: JudgeBackend | None = None) -> tuple[int, int]:
    """Judge the missing sampled answers; returns (judged now, failures now)."""
    store = JsonlStore(config.path(JUDGE_FILE), field_key("record", "node"))
    done = store.done()
    todo = [(r, n) for r, n in judged_pairs(pairs, config.judge_samples, config.seed)
            if (r.id, n) not in done]
    if not todo:
        reporter.note(f"judge: all {len(done)} sampled answers judged")
        return 0, 0
    backend = backend or make_backend(config)
    total = len(done) + len(todo)
    judged = failed = 0
    step = max(1, config.batch_size)
    with reporter.bar(f"judge ({backend.name})", total, len(done)) as advance:
        for start in range(0, len(todo), step):
            chunk = todo[start:start + step]
            prompts = [build_prompt(r, answers[(r.id, n)]["output"]) for r, n in chunk]
            rows = []
            for (r, n), (verdict, attempts, error) in zip(chunk, judge_all(backend, prompts), strict=True):
                failed += verdict is None
                rows.append({"record": r.id, "node": n, "task": r.task, "judge": backend.name,
                             "score": verdict.score if verdict else None,
                             "justification": verdict.justification if verdict else "",
                             "attempts": attempts, "ok": verdict is not None, "error": error})
            judged += store.append(rows)
            advance(len(chunk))
    if failed:
        reporter.note(f"judge: {failed} of {judged} replies had no valid score after {RETRIES} retries")
    return judged, failed
