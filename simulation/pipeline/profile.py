"""Stages ``efficiency`` (latency, throughput, memory per model) and ``costs`` (what the simulator
charges).

Generators: mean latency at batch 1 over K seeded prompts after 3 warm-ups, timed in a fresh
spawned process so that the peak memory is the model's own (CUDA peak allocation on a GPU, else
the process's peak RSS; both at batch 1, `offchain.models.device.peak_memory_mb`); then throughput
(samples/s) over the same prompts at the generation batch size, after one warm-up batch. The rate the
``generations`` stage itself achieved is kept beside it (``generation_sps``): that stage may run
for hours on a shared machine, the profile is short and meant to run on an idle one. Evaluators: pairs/s at batch 32
(cross-encoders) or 64 (bi-encoders) over distinct (reference, output) pairs after a warm-up.
``costs.json``: generator latency ms at batch 1 and evaluator ms per pair (1000 / pairs per s).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from offchain.data import Record
from simulation.pipeline.config import COSTS_FILE, EFFICIENCY_FILE, EVALUATOR_BATCH, PipelineConfig
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import Row, read_json, write_json

WARMUPS = 3
EVAL_PAIRS = 256

GeneratorProfiler = Callable[..., dict[str, Any]]
"""``profile(name, records, max_new_tokens, batch_size, device=None)``."""
EvaluatorProfiler = Callable[..., dict[str, Any]]
"""``profile(name, pairs, device=None)``."""


def profile_generator(name: str, records: list[Record], max_new_tokens: int, batch_size: int,
                      device: str | None = None) -> dict[str, Any]:
    """Load ``name`` and time ``records[WARMUPS:]`` one at a time, then ``batch_size`` at a time
    (in this process). An ``openai:`` node is timed end to end; its memory is the server's, not ours."""
    from offchain.models import load_generator
    from offchain.models.device import peak_memory_mb, reset_peak_memory
    from offchain.models.generators import DecodingConfig
    from simulation.pipeline.config import set_torch_threads

    endpoint = name.startswith("openai:")
    threads = None if endpoint else set_torch_threads()
    generator: Any = load_generator(  # Any: Record is frozen, PromptRecord's attributes settable
        name, decoding=DecodingConfig(batch_size=batch_size, max_new_tokens=max_new_tokens), device=device,
        progress=False)
    choice = getattr(generator, "device", None)
    if choice is not None:
        reset_peak_memory(choice)
    for record in records[:WARMUPS]:
        generator.generate_records([record])
    timed = records[WARMUPS:]
    latencies = [generator.generate_records([r])[0].latency_s for r in timed]
    peak_mb, memory = peak_memory_mb(choice) if choice is not None else (None, "server (not measured)")
    generator.generate_records(records[:WARMUPS])  # one warm-up batch: batched shapes, padding
    began = time.perf_counter()
    generator.generate_records(timed)  # sorted by length and cut into batch_size batches
    batched_s = time.perf_counter() - began
    model: Any = getattr(generator, "model", None)
    return {"latency_ms": 1000 * statistics.mean(latencies),
            "latency_ms_std": 1000 * statistics.pstdev(latencies), "prompts": len(timed),
            "warmups": WARMUPS, "peak_mb": peak_mb, "memory": memory,
            "device": choice.name if choice is not None else "endpoint", "torch_threads": threads,
            "dtype": choice.dtype if choice is not None else None,
            "params": sum(p.numel() for p in model.parameters()) if hasattr(model, "parameters") else None,
            "throughput_sps": len(timed) / batched_s if batched_s > 0 else None, "batch_size": batch_size}


def profile_generator_isolated(name: str, records: list[Record], max_new_tokens: int,
                               batch_size: int, device: str | None = None) -> dict[str, Any]:
    """`profile_generator` in a fresh spawned process (its own peak memory)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(profile_generator, name, records, max_new_tokens, batch_size, device).result()


def profile_evaluator(name: str, pairs: list[tuple[str, str]], device: str | None = None) -> dict[str, Any]:
    """Pairs per second of ``name`` at the paper's batch size for its kind over ``pairs`` (after one
    warm-up batch)."""
    from offchain.models.loading import kind_of
    from simulation.pipeline.quality import load_real_evaluator

    batch = EVALUATOR_BATCH[kind_of(name, "evaluator")]
    evaluator = load_real_evaluator(name, batch, device)
    evaluator.score([(f"warm-up {i}", "warm-up") for i in range(batch)])
    began = time.perf_counter()
    evaluator.score(pairs)
    rate = len(pairs) / max(time.perf_counter() - began, 1e-9)
    return {"batch_size": batch, "pairs": len(pairs), "pairs_per_s": rate, "latency_ms": 1000 / rate}


def generation_rate(rows: Sequence[Row], node: str) -> dict[str, Any]:
    """Samples/s of ``node`` over the whole generations stage (batched), and how many it made."""
    mine = [r for r in rows if r["node"] == node]
    seconds = sum(float(r["latency_s"]) for r in mine)
    return {"generation_sps": len(mine) / seconds if seconds > 0 else None, "generated": len(mine)}


def profile_prompts(grid: Sequence[Record], k: int, seed: int) -> list[Record]:
    """WARMUPS + k grid records in a seeded shuffled order (tasks mixed; repeats if too few)."""
    if not grid:
        return []
    pool = list(grid)
    random.Random(seed).shuffle(pool)
    need = WARMUPS + k
    return (pool * (need // len(pool) + 1))[:need]


def run_efficiency(config: PipelineConfig, reporter: Reporter, grid: Sequence[Record],
                   answers: dict[tuple[str, str], Row], nodes: Sequence[str],
                   evaluators: Sequence[str], generations: Sequence[Row], *,
                   answered: Sequence[tuple[Record, str]],
                   gen_profiler: GeneratorProfiler = profile_generator_isolated,
                   eval_profiler: EvaluatorProfiler = profile_evaluator) -> dict[str, Any]:
    """Profile the models not yet in ``efficiency.json``; rewrite it after each model.

    Generators are timed on prompts every node answered (``grid``); evaluators on a seeded sample
    of every answer (``answered``).
    """
    path = config.path(EFFICIENCY_FILE)
    eff: dict[str, Any] = read_json(path) if path.is_file() else {}
    eff.setdefault("generators", {})
    eff.setdefault("evaluators", {})
    prompts = profile_prompts(grid, config.profile_prompts, config.seed)
    todo = [n for n in nodes if n not in eff["generators"]]
    with reporter.bar("profile generators", len(nodes), len(nodes) - len(todo)) as advance:
        for node in todo:
            args = (node, prompts, config.max_new_tokens, config.batch_size)
            entry = gen_profiler(*args, config.device) if config.device else gen_profiler(*args)
            eff["generators"][node] = {**entry, **generation_rate(generations, node)}
            write_json(path, eff)
            advance(1)
    pool = list(answered)
    random.Random(config.seed).shuffle(pool)
    pairs = [(r.reference, answers[(r.id, n)]["output"]) for r, n in pool[:EVAL_PAIRS]]
    todo = [e for e in evaluators if e not in eff["evaluators"]]
    with reporter.bar("profile evaluators", len(evaluators), len(evaluators) - len(todo)) as advance:
        for name in todo:
            eff["evaluators"][name] = eval_profiler(name, pairs, config.device) if config.device \
                else eval_profiler(name, pairs)
            write_json(path, eff)
            advance(1)
    write_json(path, eff)
    return eff


def costs_from_efficiency(eff: dict[str, Any], nodes: Sequence[str],
                          evaluators: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{"inference": {node: ms}, "evaluator": {name: ms}}`` for the simulator (pure)."""
    return {"inference": {n: float(eff["generators"][n]["latency_ms"]) for n in nodes},
            "evaluator": {e: float(eff["evaluators"][e]["latency_ms"]) for e in evaluators}}


def run_costs(config: PipelineConfig, reporter: Reporter, nodes: Sequence[str],
              evaluators: Sequence[str]) -> dict[str, dict[str, float]]:
    from offchain.errors import ConfigError

    path = config.path(EFFICIENCY_FILE)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: run the 'efficiency' stage first")
    eff = read_json(path)
    missing = [n for n in nodes if n not in eff.get("generators", {})] + \
        [e for e in evaluators if e not in eff.get("evaluators", {})]
    if missing:
        raise ConfigError(f"{path} has no profile of {', '.join(missing)}: run the 'efficiency' stage")
    costs = costs_from_efficiency(eff, nodes, evaluators)
    write_json(config.path(COSTS_FILE), costs)
    reporter.note(f"costs: {len(nodes)} nodes and {len(evaluators)} evaluators in {COSTS_FILE}")
    return costs
