"""The built-in models: three small generators (plus a heavy one), three evaluators and their composite."""

from __future__ import annotations

from typing import Any

from offchain.models.specs import ModelSpec


def _load_composite(spec: ModelSpec, **kwargs: Any) -> Any:
    from offchain.models.composite import load_composite  # imports torch-backed evaluators: load lazily

    return load_composite(spec, **kwargs)


BUILTIN_GENERATORS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="smollm2-135m",
        kind="generator",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="smollm2-135m",
        description="SmolLM2-135M-Instruct (chat template); packaged as GGUF Q4_1",
    ),
    ModelSpec(
        name="gemma3-270m",
        kind="generator",
        hub_id="google/gemma-3-270m",
        package="gemma3-270m",
        stop_at_newline=True,
        description="Gemma-3-270m base (no chat template: answers are cut at the first newline)",
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b",
        kind="generator",
        hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        package="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct (chat template); packaged as GGUF",
    ),
    ModelSpec(
        name="qwen2.5-coder-1.5b",
        kind="generator",
        hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        package="qwen2.5-coder-1.5b",
        heavy=True,
        description="Qwen2.5-Coder-1.5B-Instruct; packaged as GGUF Q4_K_M (1.1 GB)",
    ),
)

BUILTIN_EVALUATORS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="minilm-l6",
        kind="bi-encoder",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        package="minilm-l6",
        default_range=(0.0, 1.0),
        description="all-MiniLM-L6-v2 bi-encoder, cosine similarity",
    ),
    ModelSpec(
        name="mpnet-base",
        kind="bi-encoder",
        hub_id="sentence-transformers/all-mpnet-base-v2",
        package="mpnet-base",
        default_range=(0.0, 1.0),
        description="all-mpnet-base-v2 bi-encoder, cosine similarity (slower, larger)",
    ),
    ModelSpec(
        name="ce-minilm-l12",
        kind="cross-encoder",
        hub_id="cross-encoder/ms-marco-MiniLM-L-12-v2",
        package="ce-minilm-l12",
        default_range=(-11.0, 11.0),
        description="ms-marco-MiniLM-L-12-v2 cross-encoder (relevance logit); packaged as int8 ONNX",
    ),
    ModelSpec(
        name="composite",
        kind="composite",
        requires=("minilm-l6", "ce-minilm-l12"),
        default_range=(0.0, 10.0),
        factory=_load_composite,
        description="multi-dimensional score: structure, grounding, MiniLM semantic, cross-encoder alignment "
        "(weights: POQ_COMPOSITE_WEIGHTS=multidim.json, else equal)",
    ),
)
