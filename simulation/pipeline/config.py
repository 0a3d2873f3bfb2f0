"""What one evaluation run is: its directory, data, models, sizes and stages (validated once).

File names of the run directory live here too, so every stage and the report agree on them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from offchain.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data"
"""Default data: ``shared/data`` next to the repository (``../shared/data``)."""
DEFAULT_SQUAD = DATA_DIR / "squad_v1.1_dev.jsonl"
DEFAULT_CNNDM = DATA_DIR / "cnn_dailymail_test.jsonl"

TASKS_FILE = "tasks.jsonl"
GENERATIONS_FILE = "generations.jsonl"
F1_FILE = "f1.jsonl"  # = simulation.inputs.F1_FILE
EVALUATIONS_FILE = "evaluations.jsonl"
SCORES_FILE = "scores.jsonl"  # = simulation.inputs.SCORES_FILE
JUDGE_FILE = "judge.jsonl"
CORRELATIONS_FILE = "correlations.json"
EFFICIENCY_FILE = "efficiency.json"
COSTS_FILE = "costs.json"  # = simulation.inputs.COSTS_FILE
MULTIDIM_FILE = "multidim.json"  # written by simulation.multidim
COMPOSITE_DIR = "composite"  # a run directory of composite scores, written by simulation.multidim

STAGES: tuple[str, ...] = ("tasks", "generations", "f1", "scores", "judge", "correlations",
                           "efficiency", "costs")
"""Stage names in run order; each writes the file the next one reads."""
STAGE_FILES: dict[str, str] = {
    "tasks": TASKS_FILE, "generations": GENERATIONS_FILE, "f1": F1_FILE, "scores": SCORES_FILE,
    "judge": JUDGE_FILE, "correlations": CORRELATIONS_FILE, "efficiency": EFFICIENCY_FILE,
    "costs": COSTS_FILE,
}

EVALUATOR_BATCH = {"cross-encoder": 32, "bi-encoder": 64, "composite": 32}
"""Evaluator batch sizes for profiling, as in the paper (scoring uses them too on the CPU, and
`offchain.models.device.GPU_BATCH_FACTOR` times them on a GPU)."""


def torch_threads() -> int:
    """Threads for torch in the model stages: env POQ_TORCH_THREADS (default 1).

    On a shared 2-core machine one thread is ~10x faster than two when other processes are busy;
    set POQ_TORCH_THREADS=2 (or more) on a quiet machine.
    """
    raw = os.environ.get("POQ_TORCH_THREADS", "1")
    try:
        threads = int(raw)
    except ValueError:
        raise ConfigError(f"POQ_TORCH_THREADS must be an integer, got {raw!r}") from None
    if threads < 1:
        raise ConfigError(f"POQ_TORCH_THREADS must be >= 1, got {threads}")
    return threads


def set_torch_threads() -> int:
    """Apply `torch_threads()` to torch (imported here, lazily) and silence transformers' weight
    loading bars (the stages draw their own); returns the thread count."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    threads = torch_threads()
    torch.set_num_threads(threads)
    return threads


def parse_stages(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Stage names from ``"a,b"`` or a list, in run order; ConfigError for an unknown one."""
    if text is None:
        return STAGES
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        from offchain.errors import UnknownNameError

        raise UnknownNameError("stage", unknown[0], list(STAGES))
    return tuple(s for s in STAGES if s in names)


@dataclass(frozen=True)
class PipelineConfig:
    """One evaluation run (the `poq eval run` options)."""

    run_dir: Path
    """Where every stage file goes."""
    squad: Path = DEFAULT_SQUAD
    """SQuAD v1.1 dev records (any format `offchain.data.load` reads)."""
    cnndm: Path = DEFAULT_CNNDM
    """CNN/DailyMail test records."""
    n_squad: int = 200
    n_cnndm: int = 200
    seed: int = 0
    """Seeds the task sample, the heavy subset, the judge samples and the profiling prompts."""
    generators: tuple[str, ...] = ()
    """Inference nodes: catalog names, a pool name (``paper``, ``packaged``), ``hf:ORG/NAME``, local
    directories or .gguf files, ``openai:MODEL@URL``; empty: every installed packaged generator."""
    evaluators: tuple[str, ...] = ()
    """Evaluator nodes, named the same way (no ``openai:``); empty: every installed packaged evaluator."""
    heavy_subset: int = 50
    """Records (seeded, per task) a heavy generator answers when no GPU is present."""
    batch_size: int = 4
    """Generation batch size (concurrent requests for an ``openai:`` node)."""
    device: str | None = None
    """``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``; None: env POQ_DEVICE, else auto."""
    max_new_tokens: int = 128
    """Summary token cap (QA answers use DecodingConfig.qa_max_new_tokens)."""
    judge_endpoint: str | None = None
    """OpenAI-compatible base URL (e.g. http://host:8000/v1); None: a local generator judges."""
    judge_model: str | None = None
    """Endpoint model name, ``openai:MODEL@URL``, or the local generator to judge with (default:
    strongest installed)."""
    judge_samples: int = 30
    """Judged answers per (task, model), a seeded sample."""
    profile_prompts: int = 20
    """Prompts timed at batch 1 per generator after 3 warm-ups (the paper used 100 on a GPU)."""
    stages: tuple[str, ...] = field(default=STAGES)

    def __post_init__(self) -> None:
        for name in ("n_squad", "n_cnndm", "heavy_subset", "judge_samples"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("batch_size", "max_new_tokens", "profile_prompts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        parse_stages(self.stages)

    def path(self, name: str) -> Path:
        return self.run_dir / name


def installed_generators() -> list[str]:
    """Packaged generators whose weights are installed — the default node set."""
    from offchain.models import GENERATORS
    from offchain.models.packages import is_installed

    return [s.name for s in GENERATORS if s.package and is_installed(s.package)]


def installed_evaluators() -> list[str]:
    from offchain.models import EVALUATORS
    from offchain.models.packages import is_installed

    return [s.name for s in EVALUATORS if s.package and is_installed(s.package)]


def model_names(given: Sequence[str], family: str) -> list[str]:
    """``given`` with pool names (``paper``, ``packaged``) expanded in place and every reference checked
    (one-line ConfigError); empty: the installed packaged models of ``family``."""
    from offchain.models import EVALUATORS, GENERATORS, check_model
    from offchain.models.catalog import POOLS

    if not given:
        return installed_generators() if family == "generator" else installed_evaluators()
    registry = GENERATORS if family == "generator" else EVALUATORS
    names: list[str] = []
    for name in given:
        for each in registry.names(name) if name in POOLS else [name]:
            check_model(each, family)
            if each not in names:
                names.append(each)
    return names


def default_local_judge() -> str:
    """The strongest installed local generator: qwen2.5-coder-1.5b, else -0.5b, else any."""
    installed = installed_generators()
    for name in ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"):
        if name in installed:
            return name
    if not installed:
        raise ConfigError("no generator installed to judge with: run `poq models install` "
                          "or pass --judge-endpoint")
    return installed[-1]
