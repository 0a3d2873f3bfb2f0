"""What a ``--model`` may name, parsed once, before anything heavy is imported or any process starts.

- a catalog name (`poq models list`): ``smollm2-135m``, ``tinyllama-1.1b``, ``minilm-l6`` …;
- ``hf:ORG/NAME`` — any hub model, downloaded on first use (cached after that);
- a local model directory or a local ``.gguf`` file;
- ``openai:MODEL@URL`` — a model served by an OpenAI-compatible engine (vLLM, SGLang, llama.cpp's
  server, Ollama, TGI, ``transformers serve``); generators only;
- ``replay:LOG#NAME`` — logged outputs or scores (live agents only).

``hf:`` names and paths may end in ``#KIND`` (``generator``, ``bi-encoder``, ``cross-encoder``) when
the kind cannot be read from the model's own files. `spec_for` turns a reference into the
`ModelSpec` the loaders take (reading a directory's config to infer the kind).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from offchain.errors import ConfigError, UnknownNameError
from offchain.models.registry import EVALUATORS, GENERATORS
from offchain.models.specs import MODEL_KINDS, ModelSpec

Family = Literal["generator", "evaluator"]
Scheme = Literal["catalog", "hf", "path", "openai", "replay"]
HF, OPENAI, REPLAY = "hf:", "openai:", "replay:"
FORMS = "a catalog name (`poq models list`), hf:ORG/NAME, a local directory or .gguf file, openai:MODEL@URL"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_OPENAI = re.compile(r"^openai:(?P<model>[^@\s]+)@(?P<url>https?://\S+)$")
_GENERATOR_HEADS = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``--model`` value."""

    text: str
    """What the user wrote (the name a node registers on chain)."""
    scheme: Scheme
    target: str
    """Catalog name, hub id, absolute path, served model name, or replay log path."""
    kind: str | None = None
    """Given with ``#KIND``, or known (catalog, ``openai:``); None: read from the model's files."""
    url: str | None = None
    """``openai:`` only: the endpoint's base URL (…/v1)."""
    member: str | None = None
    """``replay:`` only: the logged model or evaluator name."""


def family_of(role: str) -> Family:
    """``inference``/``generator`` → generator; ``evaluator`` → evaluator."""
    if role in ("inference", "generator"):
        return "generator"
    if role == "evaluator":
        return "evaluator"
    raise ConfigError(f"unknown role {role!r}: use inference or evaluator")


def _split_kind(text: str) -> tuple[str, str | None]:
    body, sep, kind = text.rpartition("#")
    if not sep or kind not in MODEL_KINDS:
        return text, None
    return body, kind


def parse_ref(text: str, family: Family | None = None) -> ModelRef:
    """Parse ``text``; ConfigError (one line, naming what to fix) when it is malformed, names a path
    that does not exist, a catalog name that is unknown, or a kind that does not fit ``family``."""
    text = (text or "").strip()
    if not text:
        raise ConfigError(f"no model given: pass {FORMS}")
    ref = _parse(text, family)
    if family and ref.kind and (ref.kind == "generator") != (family == "generator"):
        raise ConfigError(f"{text!r} is {_a(ref.kind)}, not {_a(family)}")
    return ref


def _parse(text: str, family: Family | None) -> ModelRef:
    if text.startswith(REPLAY):
        from offchain.models.replay import parse

        path, member = parse(text)
        return ModelRef(text, "replay", str(path), member=member)
    if text.startswith(OPENAI):
        match = _OPENAI.match(text)
        if not match:
            raise ConfigError(f"malformed endpoint model {text!r}: write openai:MODEL@http://HOST:PORT/v1")
        return ModelRef(text, "openai", match["model"], kind="generator", url=match["url"].rstrip("/"))
    if text.startswith(HF):
        body, kind = _split_kind(text.removeprefix(HF))
        if not _HUB_ID.match(body):
            raise ConfigError(f"malformed hub model {text!r}: write hf:ORG/NAME (optionally #KIND)")
        return ModelRef(text, "hf", body, kind=kind)
    body, kind = _split_kind(text)
    if _looks_like_path(body):
        path = Path(body).expanduser()
        if not path.exists():
            raise ConfigError(f"model path {body} does not exist: pass a model directory or a .gguf file")
        if path.is_file() and path.suffix != ".gguf":
            raise ConfigError(f"model path {body} is a file but not a .gguf: pass a model directory or a .gguf file")
        return ModelRef(text, "path", str(path.resolve()), kind=kind or ("generator" if path.is_file() else None))
    return ModelRef(text, "catalog", text, kind=_catalog_spec(text, family).kind)


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.startswith(("~", ".")) or text.endswith(".gguf")


def _catalog_spec(name: str, family: Family | None) -> ModelSpec:
    if family is None:
        if name not in GENERATORS and name not in EVALUATORS:
            raise UnknownNameError("model", name, GENERATORS.names() + EVALUATORS.names())
        family = "generator" if name in GENERATORS else "evaluator"
    registry, other = (GENERATORS, EVALUATORS) if family == "generator" else (EVALUATORS, GENERATORS)
    if name in registry:
        return registry.get(name)
    if name in other:
        raise ConfigError(f"unknown {family} {name!r}: it is {_a(other.family)}")
    raise UnknownNameError(family, name, registry.names())


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def spec_for(ref: ModelRef | str, family: Family | None = None) -> ModelSpec:
    """The spec the loaders take. ``hf:`` evaluators without ``#KIND`` are fetched (the kind is read
    from their files); ``replay:`` has no spec (ConfigError)."""
    ref = parse_ref(ref, family) if isinstance(ref, str) else ref
    if ref.scheme == "catalog":
        return _catalog_spec(ref.target, family)
    if ref.scheme == "replay":
        raise ConfigError(f"{ref.text!r}: replayed logs drive live agents only, not this command")
    if ref.scheme == "openai":
        return ModelSpec(name=ref.text, kind="generator", pool="endpoint",
                         description=f"{ref.target} served at {ref.url}")
    kind = ref.kind or ("generator" if family == "generator" else None)
    if ref.scheme == "hf":
        if kind is None:
            from offchain.models.hub import snapshot

            kind = infer_kind(snapshot(ref.target, ref.text), ref.text)
        return ModelSpec(name=ref.text, kind=kind, hub_id=ref.target, pool="custom")  # type: ignore[arg-type]
    kind = kind or infer_kind(Path(ref.target), ref.text)
    return ModelSpec(name=ref.text, kind=kind, pool="custom")  # type: ignore[arg-type]


def source_for(ref: ModelRef) -> str:
    """The `sources.resolve` source of a reference: ``hub``, a path, or ``auto`` for catalog names."""
    return {"hf": "hub", "path": ref.target}.get(ref.scheme, "auto")


def infer_kind(path: Path, label: str) -> str:
    """``generator``, ``bi-encoder`` or ``cross-encoder`` from a model directory's files (a .gguf is
    a generator); ConfigError asking for ``#KIND`` when the files do not tell."""
    if path.is_file():
        return "generator"
    st_config = _json(path / "config_sentence_transformers.json")
    if "crossencoder" in str(st_config.get("model_type", "")).lower():
        return "cross-encoder"
    if (path / "modules.json").exists():
        return "bi-encoder"
    config = _json(path / "config.json")
    if not config and (path / "model.onnx").exists() and (path / "tokenizer.json").exists():
        return "cross-encoder"  # an exported reranker (no config.json), like the packaged ms-marco one
    heads = [str(a) for a in config.get("architectures") or []]
    if any(h.endswith(_GENERATOR_HEADS) for h in heads):
        return "generator"
    if any(h.endswith("ForSequenceClassification") for h in heads):
        return "cross-encoder"
    raise ConfigError(f"cannot tell what kind of model {label} is from its files: "
                      f"append #generator, #bi-encoder or #cross-encoder")


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
