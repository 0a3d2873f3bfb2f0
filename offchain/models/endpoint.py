"""OpenAI-compatible serving engines (vLLM, SGLang, llama.cpp's server, Ollama, TGI, `transformers serve`).

`EndpointClient` is the one client for every such call, the judge's and the generators': the
maintained ``openai`` library, with a timeout per request and its retries (connection errors,
408/429/5xx, exponential back-off); what is left after them surfaces as a named `EndpointError`
whose one-line message says what to fix. The API key comes from an environment variable (the first
set of ``key_envs``; servers without auth accept any).

`EndpointGenerator` is an inference node backed by an endpoint: the task's user message (the same
template as in-process models, `offchain.models.prompts`) goes out as a chat turn, the server applies
the model's chat template, and a batch is answered by concurrent requests. ``latency_s`` is measured
end to end here (the batch's wall time over its size, as for in-process models); token counts come
from the server's ``usage``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from offchain.errors import PoQError, named_line, one_line
from offchain.models.generators import DecodingConfig, Generation
from offchain.models.prompts import QA, PromptRecord, clip_chars, user_message

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_RETRIES = 2
GENERATOR_KEY_ENVS = ("POQ_OPENAI_API_KEY", "OPENAI_API_KEY")
T = TypeVar("T")
NO_KEY = "EMPTY"  # what vLLM's docs send to a server started without --api-key


class EndpointError(PoQError):
    """An OpenAI-compatible endpoint failed a request (after the client's retries)."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)


class EndpointUnreachable(EndpointError):
    """Nothing answers at the URL (refused, DNS, TLS)."""

    def __init__(self, url: str, attempts: int, reason: str = "") -> None:
        self.attempts, self.reason = attempts, reason
        extra = f" ({reason})" if reason else ""
        super().__init__(url, f"cannot reach the OpenAI-compatible endpoint at {url} after {attempts} attempts"
                              f"{extra}: start the server or fix the URL")


class EndpointTimeout(EndpointError):
    """Requests timed out on every attempt."""

    def __init__(self, url: str, timeout_s: float, attempts: int) -> None:
        self.timeout_s, self.attempts = timeout_s, attempts
        super().__init__(url, f"the endpoint at {url} did not answer within {timeout_s:g} s in {attempts} attempts: "
                              "raise the timeout or lighten the server's load")


class EndpointRejected(EndpointError):
    """The server answered with an error status (unknown model, bad key, bad request)."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        self.status, self.detail = status, detail
        super().__init__(url, f"the endpoint at {url} refused the request (HTTP {status}): {detail}")


def api_key(envs: Sequence[str]) -> str:
    """The first of ``envs`` that is set, else a placeholder servers without auth accept."""
    return next((os.environ[e] for e in envs if os.environ.get(e)), NO_KEY)


@dataclass(frozen=True)
class Completion:
    """One chat completion: the reply and what the server counted."""

    text: str
    prompt_tokens: int
    new_tokens: int
    finish_reason: str | None


class EndpointClient:
    """Chat completions against one base URL (…/v1), with timeouts and retries and named errors."""

    def __init__(self, url: str, *, key_envs: Sequence[str] = GENERATOR_KEY_ENVS,
                 timeout_s: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES) -> None:
        from openai import OpenAI

        base = url.rstrip("/").removesuffix("/chat/completions")
        self.url, self.timeout_s, self.retries = base, timeout_s, retries
        self._client = OpenAI(base_url=base, api_key=api_key(key_envs), timeout=timeout_s, max_retries=retries)

    def chat(self, model: str, message: str, *, max_tokens: int, temperature: float = 0.0,
             top_p: float = 1.0, seed: int | None = None) -> Completion:
        """One user turn; the reply. EndpointError subclasses on failure."""
        extra: dict[str, Any] = {} if seed is None else {"seed": seed}
        if temperature > 0:
            extra["top_p"] = top_p
        reply = self._request(lambda: self._client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": message}], max_tokens=max_tokens,
            temperature=temperature, **extra))
        choice = reply.choices[0] if reply.choices else None
        usage = reply.usage
        return Completion(text=str(choice.message.content or "") if choice else "",
                          prompt_tokens=int(usage.prompt_tokens) if usage else 0,
                          new_tokens=int(usage.completion_tokens) if usage else 0,
                          finish_reason=choice.finish_reason if choice else None)

    def served_models(self) -> list[str] | None:
        """The model ids ``/models`` lists, or None when the server does not implement it."""
        try:
            return self._request(lambda: [m.id for m in self._client.models.list()])
        except EndpointRejected as exc:
            if exc.status in (404, 405):
                return None
            raise

    def _request(self, call: Callable[[], T]) -> T:
        """``call()``, with the openai library's exceptions (after its retries) as EndpointError subclasses."""
        import openai

        attempts = self.retries + 1
        try:
            return call()
        except openai.APITimeoutError:
            raise EndpointTimeout(self.url, self.timeout_s, attempts) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc.__context__
            raise EndpointUnreachable(self.url, attempts, named_line(cause, 120) if cause else "") from None
        except openai.APIStatusError as exc:
            raise EndpointRejected(self.url, exc.status_code, _detail(exc)) from None


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") or inner.get("detail") if isinstance(inner, dict) else inner
        if text:
            return one_line(str(text))
    return one_line(str(getattr(exc, "message", exc)))  # "" for an empty message, not an IndexError


class EndpointGenerator:
    """An inference node answering through an OpenAI-compatible endpoint (``openai:MODEL@URL``)."""

    def __init__(self, name: str, client: EndpointClient, model: str,
                 decoding: DecodingConfig | None = None) -> None:
        self.name, self.client, self.model = name, client, model
        self.decoding = decoding or DecodingConfig()

    def check(self) -> None:
        """Fail early, with one line, when the server is down or does not serve ``model``."""
        served = self.client.served_models()
        if served is not None and self.model not in served:
            raise EndpointRejected(self.client.url, 404, f"model {self.model!r} is not served here "
                                                         f"(served: {', '.join(served) or 'none'})")

    def format_text(self, text: str) -> str:
        """Free text as the user's turn (the server applies the chat template)."""
        return text

    def format_prompt(self, record: PromptRecord) -> str:
        return user_message(record, clip_chars(self.decoding.max_context_tokens))

    def generate_records(self, records: Sequence[PromptRecord]) -> list[Generation]:
        """One concurrent batch per task type (QA with its tighter token cap), in input order."""
        results: list[Generation | None] = [None] * len(records)
        for task in {r.task for r in records}:
            idx = [i for i, r in enumerate(records) if r.task == task]
            cap = self.decoding.qa_max_new_tokens if task == QA else None
            for i, gen in zip(idx, self.generate([self.format_prompt(records[i]) for i in idx], cap), strict=True):
                results[i] = gen
        return [g for g in results if g is not None]

    def generate(self, messages: list[str], max_new_tokens: int | None = None) -> list[Generation]:
        """Answers to user messages, ``decoding.batch_size`` requests in flight at a time."""
        cfg = self.decoding
        out: list[Generation] = []
        for start in range(0, len(messages), cfg.batch_size):
            out += self._batch(messages[start:start + cfg.batch_size], max_new_tokens or cfg.max_new_tokens)
        return out

    def _batch(self, messages: list[str], max_tokens: int) -> list[Generation]:
        cfg = self.decoding

        def ask(message: str) -> Completion:
            return self.client.chat(self.model, message, max_tokens=max_tokens, temperature=cfg.temperature or 0.0,
                                    top_p=cfg.top_p or 1.0, seed=cfg.seed)

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(messages)) as pool:
            replies = list(pool.map(ask, messages))
        per_sample = (time.perf_counter() - began) / len(messages)
        return [Generation(text=r.text.strip(), latency_s=per_sample, prompt_tokens=r.prompt_tokens,
                           new_tokens=r.new_tokens, batch_size=len(messages)) for r in replies]
