"""What the registry knows about a model: its short name, kind, and where its weights come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModelKind = Literal["generator", "bi-encoder", "cross-encoder", "composite"]
MODEL_KINDS: tuple[str, ...] = ("generator", "bi-encoder", "cross-encoder", "composite")
ChatTemplate = Literal["tokenizer", "none"]


@dataclass(frozen=True)
class ModelSpec:
    """One model. Loading it is the job of `offchain.models.loading`, not of the spec."""

    name: str
    """Short name used everywhere (CLI, configs, logs), e.g. ``smollm2-135m``; for a model named by
    reference (``hf:ORG/NAME``, a path) the reference itself."""
    kind: ModelKind
    """``generator`` (inference node) or an evaluator kind (``bi-encoder``, ``cross-encoder``,
    ``composite``: built from other registered evaluators)."""
    hub_id: str | None = None
    """Hub repository id for online users, e.g. ``HuggingFaceTB/SmolLM2-135M-Instruct``."""
    package: str | None = None
    """Key into `offchain.models.packages.PACKAGES` when the weights ship in registry packages."""
    pool: str = "packaged"
    """The catalog group it belongs to: ``packaged`` (weights in registry packages, runs offline),
    ``paper`` (the reference study's pool, downloaded from the hub on first use) or ``custom``."""
    heavy: bool = False
    """Large weights; skipped by default installs (and answers a subset on CPU in `poq eval run`)."""
    stop_at_newline: bool = False
    """Generators only: cut the answer at its first newline (base models with no chat template)."""
    chat_template: ChatTemplate = "tokenizer"
    """Generators only: ``tokenizer`` wraps prompts in the tokenizer's own chat template when it has
    one; ``none`` always sends the plain base-model prompt."""
    temperature: float = 0.0
    """Generators only: default sampling temperature (0: greedy) unless the caller sets one."""
    top_p: float = 1.0
    """Generators only: default nucleus mass (1.0: off) unless the caller sets one."""
    default_range: tuple[float, float] = (0.0, 1.0)
    """Evaluators only: the (lo, hi) raw-score calibration used until `calibrate` replaces it."""
    score_label: str | None = None
    """Cross-encoders with several output labels (NLI): the label whose probability is the score,
    e.g. ``entailment``; None: the single logit."""
    requires: tuple[str, ...] = ()
    """Other registered models this one loads (a composite evaluator's parts)."""
    description: str = ""

    @property
    def is_evaluator(self) -> bool:
        return self.kind != "generator"

    @property
    def origin(self) -> str:
        """Where the weights come from by default: ``package``, ``hub``, ``parts`` (a composite) or ``-``."""
        if self.requires:
            return "parts"
        if self.package:
            return "package"
        return "hub" if self.hub_id else "-"
