"""Run the stages in order (`run_pipeline`) and say how far a run directory got (`run_status`).

Every stage reads the files the previous ones wrote, so ``--stages`` can re-run any suffix. The
models are injected (`Backends`), so tests can drive the whole pipeline with fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError
from simulation.pipeline import analysis, generate, judge, profile, quality
from simulation.pipeline.config import F1_FILE, JUDGE_FILE, SCORES_FILE, STAGE_FILES, STAGES, PipelineConfig
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import JsonlStore, field_key, read_json, write_json
from simulation.pipeline.tasks import load_tasks, run_tasks

RUN_FILE = "run.json"


@dataclass
class Backends:
    """Where models come from (real ones by default; fakes in tests)."""

    load_generator: generate.GeneratorLoader = generate.load_real_generator
    load_evaluator: quality.EvaluatorLoader = quality.load_real_evaluator
    gpu: Callable[[], bool] = generate.has_gpu
    judge: judge.JudgeBackend | None = None
    gen_profiler: profile.GeneratorProfiler = profile.profile_generator_isolated
    eval_profiler: profile.EvaluatorProfiler = profile.profile_evaluator


@dataclass
class RunSummary:
    """What one `run_pipeline` call did."""

    stages: list[str] = field(default_factory=list)
    grid_records: int = 0
    generated: int = 0
    scored: int = 0
    judged: int = 0
    judge_failures: int = 0


def _rows(config: PipelineConfig, name: str, *keys: str) -> list[dict[str, Any]]:
    return JsonlStore(config.path(name), field_key(*keys)).rows()


def run_pipeline(config: PipelineConfig, reporter: Reporter,
                 backends: Backends | None = None) -> RunSummary:
    """Run ``config.stages`` in order on ``config.run_dir``, skipping work already on disk."""
    backends = backends or Backends()
    config.run_dir.mkdir(parents=True, exist_ok=True)
    stages, summary = config.stages, RunSummary(stages=list(config.stages))
    tasks = run_tasks(config, reporter) if "tasks" in stages else load_tasks(config.run_dir)
    nodes, evaluators = generate.node_names(config), quality.evaluator_names(config)
    _write_run_file(config, nodes, evaluators)
    if "generations" in stages:
        summary.generated = generate.run_generations(config, reporter, tasks,
                                                     load=backends.load_generator, gpu=backends.gpu)
    if not set(stages) - {"tasks", "generations"}:
        return summary
    rows = generate.generations_store(config).rows()
    answers, grid = generate.answers(rows), generate.grid(tasks, rows, nodes)
    pairs = generate.answered_pairs(tasks, rows, nodes)
    summary.grid_records = len(grid)
    if not grid:
        raise ConfigError("no record is answered by every generator: run the 'generations' stage")
    if len(grid) < len(tasks):
        reporter.note(f"grid: {len(grid)} of {len(tasks)} records answered by every node; "
                      f"quality stages use all {len(pairs)} answers")
    if "f1" in stages:
        quality.run_f1(config, reporter, pairs, answers)
    if "scores" in stages:
        summary.scored = quality.run_scores(config, reporter, pairs, answers,
                                            load=backends.load_evaluator)
    if "judge" in stages:
        summary.judged, summary.judge_failures = judge.run_judge(
            config, reporter, pairs, answers, backend=backends.judge)
    if "correlations" in stages:
        judged = _rows(config, JUDGE_FILE, "record", "node") if config.path(JUDGE_FILE).is_file() else []
        if not judged:
            reporter.note("correlations: no judge.jsonl, judge correlations left empty")
        analysis.run_correlations(config, reporter, _need(config, SCORES_FILE, "evaluator"),
                                  _need(config, F1_FILE), judged)
    if "efficiency" in stages:
        profile.run_efficiency(config, reporter, grid, answers, nodes, evaluators, rows, answered=pairs,
                               gen_profiler=backends.gen_profiler, eval_profiler=backends.eval_profiler)
    if "costs" in stages:
        profile.run_costs(config, reporter, nodes, evaluators)
    return summary


def _need(config: PipelineConfig, name: str, *extra: str) -> list[dict[str, Any]]:
    if not config.path(name).is_file():
        raise ConfigError(f"{config.path(name)} does not exist: run its stage first")
    return _rows(config, name, "record", "node", *extra)


def _write_run_file(config: PipelineConfig, nodes: list[str], evaluators: list[str]) -> None:
    """``run.json``: the configuration of the latest run (read by the report's Table 1)."""
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    data.update(generators=nodes, evaluators=evaluators, stages=list(config.stages))
    write_json(config.path(RUN_FILE), data)


def run_status(run_dir: str | Path) -> list[tuple[str, str, str]]:
    """(stage, file, state) per stage: ``missing``, or the line count / keys of the file."""
    base = Path(run_dir)
    out = []
    for stage in STAGES:
        name = STAGE_FILES[stage]
        path = base / name
        if not path.is_file():
            out.append((stage, name, "missing"))
        elif name.endswith(".jsonl"):
            out.append((stage, name, f"{_line_count(path)} rows"))
        else:
            data = read_json(path)
            parts = [f"{len(v)} {k}" for k, v in data.items() if isinstance(v, dict)] \
                if isinstance(data, dict) else []
            out.append((stage, name, ", ".join(parts) or "present"))
    return out


def _line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())
