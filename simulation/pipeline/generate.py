"""Stage ``generations``: every inference node answers the tasks, in batches, resumably.

One row per (record, node) in ``generations.jsonl``: ``{record, task, node, output, latency_s,
prompt_tokens, new_tokens, batch_size}``; ``latency_s`` is the batch's wall time over its size.
A heavy generator (``ModelSpec.heavy``) answers only a seeded ``heavy_subset`` of each task's
records when no GPU is present. The later stages work on the *grid*: the records every node
answered, so the simulator gets the complete (record, node, evaluator) table it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from offchain.data import TASKS, Record, sample
from simulation.pipeline.config import GENERATIONS_FILE, PipelineConfig, model_names
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import JsonlStore, Row, field_key

GeneratorLoader = Callable[..., Any]
"""``load(name, decoding, device=None) -> Generator`` (anything with ``generate_records``)."""


def generations_store(config: PipelineConfig) -> JsonlStore:
    return JsonlStore(config.path(GENERATIONS_FILE), field_key("record", "node"))


def load_real_generator(name: str, decoding: Any, device: str | None = None) -> Any:
    """`offchain.models.load_generator` (after applying POQ_TORCH_THREADS, for in-process models)."""
    from offchain.models import load_generator
    from simulation.pipeline.config import set_torch_threads

    if not name.startswith("openai:"):
        set_torch_threads()
    return load_generator(name, decoding=decoding, device=device, progress=False)


def has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def node_names(config: PipelineConfig) -> list[str]:
    """The run's inference nodes: ``--generators`` (pools expanded) or every installed generator."""
    return model_names(config.generators, "generator")


def is_heavy(name: str) -> bool:
    """Catalogued as heavy (answers a subset on CPU); references outside the catalog are not."""
    from offchain.models import GENERATORS

    return name in GENERATORS and GENERATORS.get(name).heavy


def planned_records(tasks: Sequence[Record], heavy: bool, gpu: bool, subset: int,
                    seed: int) -> list[Record]:
    """The records a node answers: all of them, or for a heavy node without GPU a seeded subset
    of ``subset`` records per task (in task-file order)."""
    if not heavy or gpu:
        return list(tasks)
    keep = {r.id for task in TASKS for r in sample([t for t in tasks if t.task == task], subset, seed)}
    return [r for r in tasks if r.id in keep]


def batches(records: Sequence[Record], size: int) -> list[list[Record]]:
    """Batches of one task each, records of similar length together (less padding)."""
    ordered = sorted(records, key=lambda r: (TASKS.index(r.task), len(r.input)))
    out: list[list[Record]] = []
    for record in ordered:
        if out and len(out[-1]) < size and out[-1][0].task == record.task:
            out[-1].append(record)
        else:
            out.append([record])
    return out


def generation_row(record: Record, node: str, gen: Any) -> Row:
    return {"record": record.id, "task": record.task, "node": node, "output": gen.text,
            "latency_s": gen.latency_s, "prompt_tokens": gen.prompt_tokens,
            "new_tokens": gen.new_tokens, "batch_size": gen.batch_size}


def run_generations(config: PipelineConfig, reporter: Reporter, tasks: Sequence[Record], *,
                    load: GeneratorLoader = load_real_generator,
                    gpu: Callable[[], bool] = has_gpu) -> int:
    """Generate the missing (record, node) answers; returns how many were produced."""
    from offchain.models.generators import DecodingConfig

    store = generations_store(config)
    done = store.done()
    decoding = DecodingConfig(max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
                              seed=config.seed)
    produced = 0
    for name in node_names(config):
        heavy = is_heavy(name)
        planned = planned_records(tasks, heavy, heavy and gpu(), config.heavy_subset, config.seed)
        todo = [r for r in planned if (r.id, name) not in done]
        if not todo:
            reporter.note(f"generations: {name} has all {len(planned)} answers")
            continue
        generator = load(name, decoding, config.device) if config.device else load(name, decoding)
        with reporter.bar(f"generate {name}", len(planned), len(planned) - len(todo)) as advance:
            for batch in batches(todo, config.batch_size):
                outs = generator.generate_records(batch)
                produced += store.append(generation_row(r, name, g)
                                         for r, g in zip(batch, outs, strict=True))
                advance(len(batch))
        del generator
    return produced


def grid(tasks: Sequence[Record], rows: Sequence[Row], nodes: Sequence[str]) -> list[Record]:
    """The records (in task order) that every node in ``nodes`` answered."""
    answered: dict[str, set[str]] = {}
    for row in rows:
        answered.setdefault(row["record"], set()).add(row["node"])
    need = set(nodes)
    return [r for r in tasks if need <= answered.get(r.id, set())]


def answered_pairs(tasks: Sequence[Record], rows: Sequence[Row],
                   nodes: Sequence[str]) -> list[tuple[Record, str]]:
    """Every (record, node) answer in task order, then node order.

    Unlike `grid`, a heavy node that answered only its seeded subset keeps those answers, so the
    quality stages see every answer there is.
    """
    answered = {(row["record"], row["node"]) for row in rows}
    return [(r, n) for r in tasks for n in nodes if (r.id, n) in answered]


def answers(rows: Sequence[Row]) -> dict[tuple[str, str], Row]:
    """Generation rows by (record, node)."""
    return {(row["record"], row["node"]): row for row in rows}
