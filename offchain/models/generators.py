"""Generators (inference nodes): a batch of prompts in, texts with latency and token counts out.

One prompt template per task type (`offchain.models.prompts`), wrapped in the model's chat template
when its tokenizer has one (and the spec does not say ``chat_template="none"``). Decoding is seeded:
greedy, or temperature / top-p sampling with a fixed seed (the spec's defaults unless the caller sets
them). Batches are left-padded and run under ``torch.inference_mode`` on the resolved device
(`offchain.models.device`: CUDA in half precision when present, else CPU in float32).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from offchain.errors import ConfigError
from offchain.models.device import DeviceChoice, resolve_device
from offchain.models.prompts import PromptRecord, base_prompt, user_message
from offchain.models.specs import ModelSpec


@dataclass(frozen=True)
class Generation:
    """One generated answer.

    ``latency_s`` is the wall time of the batch that produced it divided by ``batch_size``
    (the per-sample cost; at batch size 1 it is the plain latency).
    """

    text: str
    latency_s: float
    prompt_tokens: int
    new_tokens: int
    """Tokens the model produced, its end-of-sequence token included."""
    batch_size: int = 1


@dataclass(frozen=True)
class DecodingConfig:
    """How to decode. ``temperature == 0`` means greedy."""

    max_new_tokens: int = 128
    qa_max_new_tokens: int = 32
    """Extractive QA answers are short spans: a tighter cap stops base models that ramble."""
    temperature: float | None = None
    """None: the model's default (its spec's; greedy for most); 0 means greedy."""
    top_p: float | None = None
    """None: the model's default (its spec's)."""
    seed: int = 0
    batch_size: int = 4
    max_context_tokens: int = 1024
    """The passage/article is cut to this many tokens before templating."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.max_context_tokens < 1:
            raise ConfigError("max_new_tokens, batch_size and max_context_tokens must be >= 1")
        if (self.temperature is not None and self.temperature < 0) or \
                (self.top_p is not None and not 0 < self.top_p <= 1):
            raise ConfigError("need temperature >= 0 and 0 < top_p <= 1")

    def with_defaults(self, spec: ModelSpec) -> DecodingConfig:
        """Unset sampling settings filled from ``spec`` (the catalog's decoding for that model)."""
        return replace(self, temperature=spec.temperature if self.temperature is None else self.temperature,
                       top_p=spec.top_p if self.top_p is None else self.top_p)


class Generator:
    """A causal LM behind the `generate(prompts)` interface. Build it with `Generator.load`."""

    def __init__(self, name: str, model: Any, tokenizer: Any, *, stop_at_newline: bool = False,
                 decoding: DecodingConfig | None = None, chat: bool = True,
                 device: DeviceChoice | None = None) -> None:
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.stop_at_newline = stop_at_newline
        self.decoding = (decoding or DecodingConfig()).with_defaults(ModelSpec(name, "generator"))
        self.chat = chat
        self.device = device or DeviceChoice("cpu", "float32")
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(cls, spec: ModelSpec, *, source: str = "auto", device: str | None = None,
             decoding: DecodingConfig | None = None, progress: bool = True) -> Generator:
        """Resolve ``spec``'s weights (converting GGUF once, fetching a hub snapshot) and load them."""
        from offchain.models.sources import materialize, resolve

        location = materialize(resolve(spec, source), progress=progress)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        choice = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=choice.torch_dtype(), local_files_only=True)
        model.to(choice.torch_device()).eval()
        return cls(spec.name, model, tokenizer, stop_at_newline=spec.stop_at_newline,
                   decoding=(decoding or DecodingConfig()).with_defaults(spec),
                   chat=spec.chat_template != "none", device=choice)

    @property
    def has_chat_template(self) -> bool:
        return self.chat and bool(getattr(self.tokenizer, "chat_template", None))

    def _clip(self, text: str) -> str:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        limit = self.decoding.max_context_tokens
        return text if len(ids) <= limit else self.tokenizer.decode(ids[:limit])

    def _wrap(self, user: str, plain: str) -> str:
        if not self.has_chat_template:
            return plain
        messages = [{"role": "user", "content": user}]
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=True))

    def format_prompt(self, record: PromptRecord) -> str:
        """The prompt for a record, from its task's template."""
        if self.has_chat_template:
            return self._wrap(user_message(record, self._clip), "")
        return base_prompt(record, self._clip)

    def format_text(self, text: str) -> str:
        """Free text as a prompt (a single user turn when there is a chat template)."""
        return self._wrap(text, text)

    def generate_records(self, records: Sequence[PromptRecord]) -> list[Generation]:
        """`generate` over the task prompts of ``records`` (QA with its tighter token cap)."""
        results: list[Generation | None] = [None] * len(records)
        for task in {r.task for r in records}:
            idx = [i for i, r in enumerate(records) if r.task == task]
            cap = self.decoding.qa_max_new_tokens if task == "extractive_qa" else None
            prompts = [self.format_prompt(records[i]) for i in idx]
            for i, gen in zip(idx, self.generate(prompts, cap), strict=True):
                results[i] = gen
        return [g for g in results if g is not None]

    def generate(self, prompts: list[str], max_new_tokens: int | None = None) -> list[Generation]:
        """Generate for fully formatted prompts, in order, ``decoding.batch_size`` at a time.

        Prompts are grouped by length to waste less padding; results come back in input order.
        """
        import torch

        cfg = self.decoding
        torch.manual_seed(cfg.seed)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: list[Generation | None] = [None] * len(prompts)
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            for i, gen in zip(idx, self._batch([prompts[i] for i in idx], max_new_tokens), strict=True):
                results[i] = gen
        return [g for g in results if g is not None]

    def _batch(self, prompts: list[str], max_new_tokens: int | None = None) -> list[Generation]:
        import torch
        from transformers import GenerationConfig, StoppingCriteriaList

        cfg = self.decoding
        tok = self.tokenizer
        add_special = not self.has_chat_template  # chat templates already hold BOS markers
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=add_special)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        prompt_len = enc["input_ids"].shape[1]
        eos = self.model.generation_config.eos_token_id
        eos_ids = {eos} if isinstance(eos, int) else set(eos or [tok.eos_token_id])
        sampling = bool(cfg.temperature)
        gen_cfg = GenerationConfig(
            max_new_tokens=max_new_tokens or cfg.max_new_tokens, do_sample=sampling,
            temperature=cfg.temperature if sampling else None,
            top_p=cfg.top_p if sampling else None, top_k=None,
            pad_token_id=tok.pad_token_id, eos_token_id=sorted(eos_ids),
        )
        stops = StoppingCriteriaList([_NewlineStop(tok, prompt_len)] if self.stop_at_newline
                                     else [])
        began = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, generation_config=gen_cfg, stopping_criteria=stops)
        per_sample = (time.perf_counter() - began) / len(prompts)
        results = []
        for row, mask in zip(out[:, prompt_len:].tolist(), enc["attention_mask"], strict=True):
            produced = _until_eos(row, eos_ids)
            text = tok.decode(produced, skip_special_tokens=True).strip()
            if self.stop_at_newline:
                text = text.split("\n", 1)[0].strip()
            results.append(Generation(text=text, latency_s=per_sample,
                                      prompt_tokens=int(mask.sum()), new_tokens=len(produced),
                                      batch_size=len(prompts)))
        return results


def _until_eos(ids: list[int], eos_ids: set[int]) -> list[int]:
    """Tokens up to and including the first end-of-sequence token (padding after it dropped)."""
    for pos, token in enumerate(ids):
        if token in eos_ids:
            return ids[:pos + 1]
    return ids


def _newline_stop_class() -> type:
    from transformers import StoppingCriteria

    class NewlineStop(StoppingCriteria):
        """Per row: done once the new text has a newline after some non-blank text."""

        def __init__(self, tokenizer: Any, prompt_len: int) -> None:
            self.tokenizer, self.prompt_len = tokenizer, prompt_len

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            done = []
            for row in input_ids[:, self.prompt_len:]:
                text = self.tokenizer.decode(row, skip_special_tokens=True).lstrip()
                done.append("\n" in text)
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return NewlineStop


def _NewlineStop(tokenizer: Any, prompt_len: int) -> Any:  # noqa: N802 - reads like a class
    return _newline_stop_class()(tokenizer, prompt_len)
