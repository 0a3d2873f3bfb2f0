"""The one loading API: any model reference (`offchain.models.refs`) in, a ready model out.

``load_generator(ref)`` gives something with ``generate_records`` (a `Generator` on weights, an
`EndpointGenerator` for ``openai:``, a `ReplayGenerator` for ``replay:``); ``load_evaluator(ref)``
gives an `Evaluator` (or a `ReplayEvaluator`). Catalog names, ``hf:`` ids, local directories and
``.gguf`` files all go through `sources.resolve` / `sources.materialize` to a local directory, then
through the same constructors. torch and friends are imported only here, and only when needed.

Bi-encoders run on the exported ONNX path on the CPU when it can be built (`offchain.models.onnx_encoder`;
its scores match sentence-transformers to 1e-6), else — and on a GPU, and with
``backend="torch"`` or POQ_EVALUATOR_BACKEND=torch — on sentence-transformers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError
from offchain.models.device import resolve_device
from offchain.models.refs import Family, ModelRef, family_of, parse_ref, source_for, spec_for
from offchain.models.specs import ModelSpec

BACKEND_ENV = "POQ_EVALUATOR_BACKEND"
BACKENDS = ("auto", "onnx", "torch")


def check_model(text: str | None, role: str) -> ModelRef:
    """Validate a ``--model`` for ``role`` (inference/generator or evaluator) without loading or any I/O
    beyond a path's existence; one-line ConfigError otherwise."""
    family = family_of(role)
    if not text:
        raise ConfigError(f"an {'inference' if family == 'generator' else 'evaluator'} node needs --model NAME "
                          "(see `poq models list`)")
    return parse_ref(text, family)


def load_model(text: str, role: str, **kwargs: Any) -> Any:
    """The model for ``role`` named by ``text`` (see `load_generator` / `load_evaluator` for kwargs)."""
    family = family_of(role)
    return load_generator(text, **kwargs) if family == "generator" else load_evaluator(text, **kwargs)


def load_generator(text: str, *, source: str | None = None, device: str | None = None,
                   decoding: Any = None, progress: bool = True) -> Any:
    """A generator for ``text``. ``source`` overrides where a catalog model's weights come from
    (``auto``/``package``/``hub``/a path); ``device`` is ``auto``/``cpu``/``cuda``."""
    ref = parse_ref(text, "generator")
    if ref.scheme == "replay":
        from offchain.models.replay import ReplayGenerator

        return ReplayGenerator(Path(ref.target), str(ref.member))
    if ref.scheme == "openai":
        from offchain.models.endpoint import EndpointClient, EndpointGenerator

        generator = EndpointGenerator(ref.text, EndpointClient(str(ref.url)), ref.target, decoding)
        generator.check()
        return generator
    spec = spec_for(ref, "generator")
    from offchain.models.generators import Generator

    return Generator.load(spec, source=source or source_for(ref), device=device, decoding=decoding,
                          progress=progress)


def load_evaluator(text: str, *, source: str | None = None, device: str | None = None, batch_size: int = 32,
                   progress: bool = True, backend: str | None = None) -> Any:
    """An evaluator for ``text`` (``backend``: ``auto``/``onnx``/``torch`` for bi-encoders)."""
    ref = parse_ref(text, "evaluator")
    if ref.scheme == "replay":
        from offchain.models.replay import ReplayEvaluator

        return ReplayEvaluator(Path(ref.target), str(ref.member))
    spec = spec_for(ref, "evaluator")
    options: dict[str, Any] = {"device": device, "batch_size": batch_size, "progress": progress, "backend": backend}
    if spec.kind == "composite":
        return _composite(spec, **options)
    return evaluator_from_spec(spec, source=source or source_for(ref), **options)


def kind_of(text: str, family: Family) -> str:
    """The kind of the model ``text`` names (may read a local directory's or hub model's config)."""
    return spec_for(text, family).kind


def evaluator_from_spec(spec: ModelSpec, *, source: str = "auto", device: str | None = None,
                        batch_size: int = 32, progress: bool = True, backend: str | None = None) -> Any:
    """Load a bi-encoder or cross-encoder evaluator from its resolved source."""
    from offchain.models.evaluators import BiEncoderEvaluator, Calibration
    from offchain.models.sources import materialize, resolve

    location = Path(materialize(resolve(spec, source), progress=progress))
    calibration = Calibration(*spec.default_range)
    choice = resolve_device(device)
    chosen = _backend(backend)
    if spec.kind == "cross-encoder":
        from offchain.models.crossencoders import OnnxCrossEncoderEvaluator, TorchCrossEncoderEvaluator

        if (location / "model.onnx").exists() and not (location / "config.json").exists():
            return OnnxCrossEncoderEvaluator(spec.name, location, batch_size=batch_size, calibration=calibration)
        from sentence_transformers import CrossEncoder

        model = _on_device(CrossEncoder(str(location), device=choice.name, local_files_only=True), choice)
        return TorchCrossEncoderEvaluator(spec.name, model, batch_size=batch_size, calibration=calibration,
                                          label=spec.score_label)
    if spec.kind != "bi-encoder":
        raise ConfigError(f"{spec.name!r} is {spec.kind!r}, not an evaluator kind this loader knows")
    if chosen != "torch" and not choice.is_cuda:
        from offchain.models.onnx_encoder import OnnxSentenceEncoder, export_dir

        export = export_dir(location)
        if export is not None:
            return BiEncoderEvaluator(spec.name, OnnxSentenceEncoder(export), batch_size=batch_size,
                                      calibration=calibration)
        if chosen == "onnx":
            raise ConfigError(f"{spec.name}: no ONNX export possible (needs the onnx package and a "
                              "Transformer/Pooling/Normalize sentence-transformers model)")
    from sentence_transformers import SentenceTransformer

    model = _on_device(SentenceTransformer(str(location), device=choice.name, local_files_only=True), choice)
    return BiEncoderEvaluator(spec.name, model, batch_size=batch_size, calibration=calibration)


def _backend(backend: str | None) -> str:
    chosen = (backend or os.environ.get(BACKEND_ENV) or "auto").lower()
    if chosen not in BACKENDS:
        raise ConfigError(f"unknown evaluator backend {chosen!r}: use {', '.join(BACKENDS)}")
    return chosen


def _on_device(model: Any, choice: Any) -> Any:
    """Half precision on a GPU (sentence-transformers models are torch modules)."""
    if choice.is_cuda:
        model.to(choice.torch_dtype())
    return model


def _composite(spec: ModelSpec, **options: Any) -> Any:
    """The composite evaluator from its registered parts and the weights named by the environment."""
    from offchain.models.composite import SEMANTIC_MODEL, CompositeEvaluator, weights_from_env

    semantic_name, relevance_name = spec.requires or (SEMANTIC_MODEL, "ce-minilm-l12")
    semantic = load_evaluator(semantic_name, **options)
    relevance = load_evaluator(relevance_name, **options)
    return CompositeEvaluator(spec.name, semantic, relevance, weights_from_env(),
                              batch_size=options.get("batch_size", 32))
