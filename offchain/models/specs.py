"""What the registry knows about a model: its short name, kind, and where its weights come from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

ModelKind = Literal["generator", "bi-encoder", "cross-encoder", "composite"]


@dataclass(frozen=True)
class ModelSpec:
    """One registered model. Loading it is the job of `offchain.models.load_*`, not of the spec."""

    name: str
    """Short name used everywhere (CLI, configs, logs), e.g. ``smollm2-135m``."""
    kind: ModelKind
    """``generator`` (inference node) or an evaluator kind (``bi-encoder``, ``cross-encoder``,
    ``composite``: built from other registered evaluators)."""
    hub_id: str | None = None
    """Hub repository id for online users, e.g. ``HuggingFaceTB/SmolLM2-135M-Instruct``."""
    package: str | None = None
    """Key into `offchain.models.packages.PACKAGES` when the weights ship in registry packages."""
    heavy: bool = False
    """Large weights; skipped by default installs."""
    stop_at_newline: bool = False
    """Generators only: cut the answer at its first newline (base models with no chat template)."""
    default_range: tuple[float, float] = (0.0, 1.0)
    """Evaluators only: the (lo, hi) raw-score calibration used until `calibrate` replaces it."""
    factory: Callable[..., Any] | None = None
    """Optional custom loader ``factory(spec, **kwargs)``; None uses the built-in one for the kind."""
    requires: tuple[str, ...] = ()
    """Other registered models this one loads (a composite evaluator's parts)."""
    description: str = ""

    @property
    def is_evaluator(self) -> bool:
        return self.kind != "generator"
