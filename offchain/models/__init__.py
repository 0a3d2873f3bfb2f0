"""Models: generators (inference nodes) and evaluators (evaluator nodes) behind name registries.

Importing this package is cheap: torch, transformers, sentence-transformers and onnxruntime are
imported only when a model is loaded.
"""

from offchain.models.registry import (
    EVALUATORS,
    GENERATORS,
    Registry,
    all_specs,
    get_spec,
    load_evaluator,
    load_generator,
    register_evaluator,
    register_generator,
)
from offchain.models.specs import ModelKind, ModelSpec

__all__ = [
    "EVALUATORS", "GENERATORS", "ModelKind", "ModelSpec", "Registry", "all_specs", "get_spec",
    "load_evaluator", "load_generator", "register_evaluator", "register_generator",
]
