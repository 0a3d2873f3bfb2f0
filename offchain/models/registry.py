"""Registries of generators and evaluators keyed by short name.

A duplicate name raises DuplicateNameError; an unknown one raises UnknownNameError with a
"did you mean" hint. The registries hold specs only: loading is `offchain.models.loading`, and
names that are not catalogued (``hf:``, paths, ``openai:``) are `offchain.models.refs`.
"""

from __future__ import annotations

from collections.abc import Iterator

from offchain.errors import DuplicateNameError, UnknownNameError
from offchain.models.catalog import BUILTIN_EVALUATORS, BUILTIN_GENERATORS, PAPER_EVALUATORS, PAPER_GENERATORS
from offchain.models.specs import ModelSpec


class Registry:
    """Name → ModelSpec for one family (``generator`` or ``evaluator``)."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._specs: dict[str, ModelSpec] = {}

    def register(self, spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
        """Add ``spec``; DuplicateNameError if its name is taken (unless ``replace``)."""
        if spec.name in self._specs and not replace:
            raise DuplicateNameError(self.family, spec.name)
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ModelSpec:
        """The spec registered under ``name``; UnknownNameError (with a hint) otherwise."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownNameError(self.family, name, list(self._specs)) from None

    def names(self, pool: str | None = None) -> list[str]:
        """Registered names, in registration order; only those of ``pool`` when given."""
        return [n for n, s in self._specs.items() if pool is None or s.pool == pool]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)


GENERATORS = Registry("generator")
EVALUATORS = Registry("evaluator")
for _spec in BUILTIN_GENERATORS + PAPER_GENERATORS:
    GENERATORS.register(_spec)
for _spec in BUILTIN_EVALUATORS + PAPER_EVALUATORS:
    EVALUATORS.register(_spec)


def register_generator(spec: ModelSpec) -> ModelSpec:
    """Register a generator (kind must be ``generator``)."""
    if spec.kind != "generator":
        raise ValueError(f"{spec.name!r} has kind {spec.kind!r}, not 'generator'")
    return GENERATORS.register(spec)


def register_evaluator(spec: ModelSpec) -> ModelSpec:
    """Register an evaluator (kind ``bi-encoder``, ``cross-encoder`` or ``composite``)."""
    if not spec.is_evaluator:
        raise ValueError(f"{spec.name!r} is a generator, not an evaluator")
    return EVALUATORS.register(spec)


def get_spec(name: str) -> ModelSpec:
    """Look a name up among generators, then evaluators."""
    if name in GENERATORS:
        return GENERATORS.get(name)
    if name in EVALUATORS:
        return EVALUATORS.get(name)
    raise UnknownNameError("model", name, GENERATORS.names() + EVALUATORS.names())


def all_specs() -> list[ModelSpec]:
    return list(GENERATORS) + list(EVALUATORS)
