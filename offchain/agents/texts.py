"""Task texts as agents see them: on-chain task kinds and the prompt records rebuilt from inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offchain.chain.client import PoQClient
from offchain.data import split_qa_input

TASK_KINDS = ("extractive_qa", "summarization")  # index = the contract's taskKind


@dataclass(frozen=True)
class ChainRecord:
    """What a prompt template needs, rebuilt from a task's on-chain input (fits PromptRecord)."""

    task: str
    input: str
    context: str | None
    question: str | None


def task_kind(task: str) -> int:
    return TASK_KINDS.index(task)


def prompt_record(kind: int, text: str) -> ChainRecord:
    """QA inputs are `qa_input(context, question)`; split them back so the template can be applied."""
    task = TASK_KINDS[kind] if kind < len(TASK_KINDS) else "summarization"
    parts = split_qa_input(text) if task == "extractive_qa" else None
    if parts is not None:
        return ChainRecord(task, text, parts[0], parts[1])
    return ChainRecord("summarization", text, text, None)


def task_texts(client: PoQClient, task_id: int) -> dict[str, Any]:
    """Input, kind, output and (if revealed) reference of a task, from its events."""
    start = client.manifest.block_number
    opened = client.events("TaskOpened", from_block=start, taskId=task_id)
    answered = client.events("TaskAnswered", from_block=start, taskId=task_id)
    reference = client.events("ReferenceRevealed", from_block=start, taskId=task_id)
    return {
        "input": str(opened[0]["args"]["input"]) if opened else None,
        "kind": int(opened[0]["args"]["taskKind"]) if opened else 0,
        "output": str(answered[0]["args"]["output"]) if answered else None,
        "reference": str(reference[0]["args"]["referenceText"]) if reference else None,
    }
