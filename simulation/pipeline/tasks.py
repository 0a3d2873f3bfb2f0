"""Stage ``tasks``: a seeded sample of SQuAD and CNN/DailyMail records in the unified schema."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from offchain.data import Record, load, load_records, sample
from offchain.errors import ConfigError
from simulation.pipeline.config import TASKS_FILE, PipelineConfig
from simulation.pipeline.progress import Reporter
from simulation.pipeline.store import write_jsonl


def draw_tasks(squad: list[Record], cnndm: list[Record], n_squad: int, n_cnndm: int,
               seed: int) -> list[Record]:
    """``n_squad`` + ``n_cnndm`` records drawn with ``seed`` (each kept in source order)."""
    picked = sample(squad, n_squad, seed) + sample(cnndm, n_cnndm, seed)
    dupes = [rid for rid, count in Counter(r.id for r in picked).items() if count > 1]
    if dupes:
        raise ConfigError(f"record id {dupes[0]!r} occurs more than once in the sample")
    return picked


def run_tasks(config: PipelineConfig, reporter: Reporter) -> list[Record]:
    """Write ``tasks.jsonl`` unless present; a present one must match the requested sizes."""
    path = config.path(TASKS_FILE)
    if path.is_file():
        tasks = load_tasks(config.run_dir)
        counts: Counter[str] = Counter(r.task for r in tasks)
        want: dict[str, int] = {"extractive_qa": config.n_squad, "summarization": config.n_cnndm}
        if any(counts.get(task, 0) != n for task, n in want.items()):
            raise ConfigError(
                f"{path} holds {counts.get('extractive_qa', 0)} SQuAD and "
                f"{counts.get('summarization', 0)} CNN/DM records, not {config.n_squad} and "
                f"{config.n_cnndm}: use another RUN_DIR for other sizes")
        reporter.note(f"tasks: {len(tasks)} records already in {path.name}")
        return tasks
    squad = load(config.squad, task="extractive_qa") if config.n_squad else []
    cnndm = load(config.cnndm, task="summarization") if config.n_cnndm else []
    tasks = draw_tasks(squad, cnndm, config.n_squad, config.n_cnndm, config.seed)
    write_jsonl(path, (r.to_dict() for r in tasks))
    reporter.note(f"tasks: wrote {len(tasks)} records to {path.name}")
    return tasks


def load_tasks(run_dir: str | Path) -> list[Record]:
    """The records of a run directory's ``tasks.jsonl``."""
    path = Path(run_dir) / TASKS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: run the 'tasks' stage first")
    return load_records(path)
