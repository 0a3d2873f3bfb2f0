"""Models: generators (inference nodes) and evaluators (evaluator nodes), named by catalog name,
``hf:ORG/NAME``, a local directory or ``.gguf`` file, ``openai:MODEL@URL`` or ``replay:LOG#NAME``.

Importing this package is cheap: torch, transformers, sentence-transformers, onnxruntime and the
openai client are imported only when a model is loaded. Modules: `specs` (ModelSpec), `catalog`
(the built-in models, as data), `registry` (names → specs), `refs` (parsing a ``--model``),
`loading` (the one loading API), `sources`/`packages`/`hub` (where weights come from), `device`,
`generators`, `endpoint` (OpenAI-compatible engines), `evaluators`/`crossencoders`/`onnx_encoder`,
`composite`, `replay`.
"""

from offchain.models.loading import check_model, load_evaluator, load_generator, load_model
from offchain.models.refs import ModelRef, parse_ref, spec_for
from offchain.models.registry import (
    EVALUATORS,
    GENERATORS,
    Registry,
    all_specs,
    get_spec,
    register_evaluator,
    register_generator,
)
from offchain.models.specs import ModelKind, ModelSpec

__all__ = [
    "EVALUATORS", "GENERATORS", "ModelKind", "ModelRef", "ModelSpec", "Registry", "all_specs", "check_model",
    "get_spec", "load_evaluator", "load_generator", "load_model", "parse_ref", "register_evaluator",
    "register_generator", "spec_for",
]
