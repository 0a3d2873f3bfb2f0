"""Evaluation data: SQuAD v1.1 and CNN/DailyMail in one `Record` schema."""

from offchain.data.loaders import NAMED_DATASETS, load, load_named, load_records, parse_row
from offchain.data.schema import TASKS, Record, Task, qa_input, sample, split_qa_input

__all__ = [
    "NAMED_DATASETS", "TASKS", "Record", "Task", "load", "load_named", "load_records",
    "parse_row", "qa_input", "sample", "split_qa_input",
]
