"""The built-in models, as data: the packaged pool (weights in registry packages, runs offline) and
the reference study's pool (hub ids, downloaded on first use).

The paper's generators decode as the paper states: at most 128 new tokens, nucleus sampling at a
moderate temperature (0.7, top-p 0.9), fixed seeds (`DecodingConfig.seed`), each in its own chat
template (the tokenizer's, from the hub). Loading lives in `offchain.models.loading`; this module
imports nothing but the spec type.
"""

from __future__ import annotations

from offchain.models.specs import ModelSpec

PACKAGED = "packaged"
PAPER = "paper"
POOLS: tuple[str, ...] = (PACKAGED, PAPER)
"""Catalog groups `--generators` / `--evaluators` accept as a single word."""

PAPER_TEMPERATURE, PAPER_TOP_P = 0.7, 0.9
"""'Nucleus sampling at moderate temperature' (the paper gives no numbers; these are the usual ones)."""

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
        chat_template="none",
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


def _paper_generator(name: str, hub_id: str, description: str) -> ModelSpec:
    return ModelSpec(name=name, kind="generator", hub_id=hub_id, pool=PAPER, heavy=True,
                     temperature=PAPER_TEMPERATURE, top_p=PAPER_TOP_P, description=description)


PAPER_GENERATORS: tuple[ModelSpec, ...] = (
    _paper_generator("tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "TinyLlama-1.1B-Chat (paper pool)"),
    _paper_generator("qwen2-1.5b", "Qwen/Qwen2-1.5B-Instruct", "Qwen2-1.5B-Instruct (paper pool)"),
    _paper_generator("gemma2-2b", "google/gemma-2-2b-it", "Gemma-2-2B-it (paper pool; gated: needs HF_TOKEN)"),
    _paper_generator("phi3-mini", "microsoft/Phi-3-mini-4k-instruct", "Phi-3-mini-4k-instruct, 3.8B (paper pool)"),
    _paper_generator("llama3.2-3b", "meta-llama/Llama-3.2-3B-Instruct",
                     "Llama-3.2-3B-Instruct (paper pool; gated: needs HF_TOKEN)"),
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
        description="multi-dimensional score: structure, grounding, MiniLM semantic, cross-encoder alignment "
        "(weights: POQ_COMPOSITE_WEIGHTS=multidim.json, else equal)",
    ),
)

PAPER_EVALUATORS: tuple[ModelSpec, ...] = (
    ModelSpec("ce-minilm-l6", "cross-encoder", hub_id="cross-encoder/ms-marco-MiniLM-L-6-v2", pool=PAPER,
              default_range=(-11.0, 11.0),
              description="CE-MiniLM: ms-marco-MiniLM-L-6-v2 cross-encoder, relevance logit (paper pool)"),
    ModelSpec("ce-deberta", "cross-encoder", hub_id="cross-encoder/nli-deberta-v3-small", pool=PAPER,
              score_label="entailment",
              description="CE-DeBERTa: nli-deberta-v3-small cross-encoder, entailment probability (paper pool)"),
    ModelSpec("sts-distilroberta", "bi-encoder", hub_id="sentence-transformers/stsb-distilroberta-base-v2",
              pool=PAPER,
              description="STS-DistilRoBERTa: stsb-distilroberta-base-v2 bi-encoder, cosine similarity (paper pool)"),
)
