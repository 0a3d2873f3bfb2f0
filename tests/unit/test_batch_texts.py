"""BatchTexts (offchain.agents.texts): an evaluator keeps the texts of the batches it sits on, and
nothing of the others however many events they bring; after a restart it reads a batch's texts
from the logs. Against a fake client that serves `events` from a list (no chain)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from offchain.agents.texts import BatchTexts
from offchain.chain.events import Event

K = 2
PARTICIPANTS = ["0xN1", "0xN2", "0xE1", "0xE2", "0xE3"]  # two nodes, then three evaluators
TASKS = [(0, (2, 3)), (1, (3, 4)), (0, (4, 2))]  # per task: the node's and the panel's participant indices


def seats_words(tasks: list[tuple[int, tuple[int, ...]]]) -> list[int]:
    """BatchDrawn's packing: 8 tasks a word, 32 bits a task: the node's byte, then one per seat."""
    words = [0] * ((len(tasks) + 7) // 8)
    for t, (node, panel) in enumerate(tasks):
        lane = node | sum(p << (8 * (j + 1)) for j, p in enumerate(panel)) | 0xFF << (8 * (len(panel) + 1))
        words[t // 8] |= lane << (32 * (t % 8))
    return words


def batch_events(batch_id: int) -> list[Event]:
    """A batch's events in chain order: opened, drawn, both nodes' answers, the references."""
    args: list[tuple[str, dict[str, Any]]] = [
        ("BatchOpened", {"kinds": [0, 1, 0], "inputs": ["in 0", "in 1", "in 2"]}),
        ("BatchDrawn", {"participants": PARTICIPANTS, "inferenceCount": 2, "seats": seats_words(TASKS)}),
        ("AnswersSubmitted", {"node": PARTICIPANTS[0], "outputs": ["out 0", "out 2"]}),
        ("AnswersSubmitted", {"node": PARTICIPANTS[1], "outputs": ["out 1"]}),
        ("ReferencesRevealed", {"references": ["ref 0", "ref 1", "ref 2"]}),
    ]
    return [Event(name, {"batchId": batch_id, **a}, 10 + i, 0, b"") for i, (name, a) in enumerate(args)]


class FakeLogClient:
    """A fake PoQClient for this unit test: `events(name, from_block, batchId=…)` from a list, counted."""

    def __init__(self, events: list[Event]) -> None:
        self.manifest = SimpleNamespace(block_number=1)
        self.on_chain = events
        self.reads = 0

    def events(self, name: str, from_block: int = 0, **filters: Any) -> list[dict[str, Any]]:
        self.reads += 1
        return [{"event": e.name, "args": e.args, "blockNumber": e.block} for e in self.on_chain
                if e.name == name and e.block >= from_block and e.args["batchId"] == filters["batchId"]]


MY_SEATS = [(0, 0), (2, 1)]  # 0xE1's seats: (task, seat)
MY_ITEMS = [{"kind": 0, "input": "in 0", "output": "out 0", "reference": "ref 0"},
            {"kind": 0, "input": "in 2", "output": "out 2", "reference": "ref 2"}]


def test_a_batch_it_sits_on_is_scored_from_the_events_alone() -> None:
    events = batch_events(7)
    client = FakeLogClient(events)
    texts = BatchTexts(client, K)  # type: ignore[arg-type]
    for event in events:
        texts.on_event(event)
    assert texts.items(7, MY_SEATS) == MY_ITEMS
    assert client.reads == 0


def test_a_batch_drawn_without_it_costs_no_reads_and_keeps_no_text() -> None:
    """The evaluator forgets a batch whose panel it is not on when it is drawn. Each later answer of
    that batch used to read the batch's draw, answers and references again from the logs, and keep
    them for good: three eth_getLogs per answer of every batch of a large pool, and a growing cache."""
    events = batch_events(7)
    client = FakeLogClient(events)
    texts = BatchTexts(client, K)  # type: ignore[arg-type]
    texts.on_event(events[0])
    texts.on_event(events[1])
    texts.forget(7)
    for event in events[2:]:
        texts.on_event(event)
    assert client.reads == 0
    assert not texts.holds(7)


def test_after_a_restart_a_batch_is_read_again_from_the_logs() -> None:
    client = FakeLogClient(batch_events(7))
    texts = BatchTexts(client, K)  # type: ignore[arg-type]  # a fresh agent: it saw none of the events
    assert texts.items(7, MY_SEATS) == MY_ITEMS
    assert client.reads > 0
