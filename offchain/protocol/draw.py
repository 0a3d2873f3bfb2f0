"""A batch's draw, exactly as PoQDraw computes it: stake-weighted nodes and panels from one seed.

Given the seed (keccak of the draw block's hash, the contract and the batch id) and the pools as the
batch saw them (node id and stake units per entry, inference entries first), `draw_batch` returns
what the contract records: each participant once (inference first, in pool order) and, per task,
the node's and the panel's participant indices. Tests check the two agree entry for entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_canonical_address

_U64 = 2**64 - 1


@dataclass(frozen=True)
class Draw:
    participants: tuple[int, ...]  # node ids, inference nodes first
    inference_count: int
    tasks: tuple[tuple[int, tuple[int, ...]], ...]  # per task: (node participant, seat participants)

    def items(self) -> list[int]:
        """Tasks (inference) or seats (evaluators) per participant."""
        counts = [0] * len(self.participants)
        for node, seats in self.tasks:
            counts[node] += 1
            for seat in seats:
                counts[seat] += 1
        return counts


def draw_seed(block_hash: bytes, contract: str, batch_id: int) -> bytes:
    """The seed of a batch's draw (ProofOfQuality._randomness)."""
    return keccak(encode(["bytes32", "address", "uint256"], [block_hash, to_canonical_address(contract), batch_id]))


def pick(units: Sequence[int], total: int, r: int) -> int:
    """The index whose running sum of `units` first exceeds r mod total (Sampling.pick)."""
    x, acc = r % total, 0
    for i, u in enumerate(units):
        acc += u
        if x < acc:
            return i
    raise AssertionError("units do not sum to total")


def pick_panel(units: Sequence[int], total: int, k: int, word: int) -> list[int]:
    """K distinct indices, index i with probability min(1, k * units[i] / total) (Sampling.pickPanel):
    certain ones first, then randomized systematic sampling proportional to size."""
    n = len(units)
    taken = [False] * n
    seats: list[int] = []
    found = True
    while found and len(seats) < k:
        found = False
        for i in range(n):
            if not taken[i] and units[i] * (k - len(seats)) >= total:
                taken[i] = True
                seats.append(i)
                total -= units[i]
                found = True
                break
    if len(seats) == k:
        return seats
    order = shuffled(n, int.from_bytes(keccak(encode(["uint256"], [word])), "big"))
    left = k - len(seats)
    point = ((word >> 64) & _U64) % total
    acc = 0
    for i in order:
        if len(seats) == k:
            break
        if taken[i]:
            continue
        acc += units[i] * left
        if point < acc:
            seats.append(i)
            point += total
    return seats


def inclusion(units: Sequence[int], k: int) -> list[float]:
    """Each evaluator's chance to sit on a task's panel under `pick_panel`: min(1, k u / W), the certain
    ones taken out first and the rest scaled to the seats left (what the draw is built to give)."""
    share = [0.0] * len(units)
    left, total, free = k, sum(units), set(range(len(units)))
    changed = True
    while changed and left:
        changed = False
        for i in sorted(free):
            if units[i] * left >= total:
                share[i], left, total, changed = 1.0, left - 1, total - units[i], True
                free.discard(i)
                break
    for i in free:
        share[i] = units[i] * left / total if left else 0.0
    return share


def shuffled(n: int, r: int) -> list[int]:
    """A uniform permutation of range(n): Fisher-Yates, each swap a mixed-radix digit of r."""
    order = list(range(n))
    for i in range(n, 1, -1):
        j = r % i
        r //= i
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


def draw_batch(
    seed: bytes, size: int, k: int, inference: Sequence[tuple[int, int]], evaluators: Sequence[tuple[int, int]]
) -> Draw:
    """Nodes and panels of `size` tasks from the pools (node id, units) the batch saw."""
    inference_units = [u for _, u in inference]
    evaluator_units = [u for _, u in evaluators]
    entries = [*inference, *evaluators]
    drawn = []
    for t in range(size):
        word = int.from_bytes(keccak(encode(["bytes32", "uint256"], [seed, t])), "big")
        node = pick(inference_units, sum(inference_units), word & _U64)
        seats = [len(inference) + i for i in pick_panel(evaluator_units, sum(evaluator_units), k, word)]
        drawn.append((node, seats))
    used = sorted({node for node, _ in drawn} | {s for _, seats in drawn for s in seats})
    index = {entry: p for p, entry in enumerate(used)}
    return Draw(
        participants=tuple(entries[i][0] for i in used),
        inference_count=sum(1 for i in used if i < len(inference)),
        tasks=tuple((index[node], tuple(index[s] for s in seats)) for node, seats in drawn),
    )


def decode_seats(words: Sequence[int], k: int, size: int | None = None) -> list[tuple[int, tuple[int, ...]]]:
    """The BatchDrawn event's `seats` words (8 tasks a word, 32 bits a task: the node's participant index,
    then the panel's) as (node participant, seat participants) per task. Without `size`, trailing empty
    lanes of the last word are dropped."""
    lanes = [(int(words[t // 8]) >> (32 * (t % 8))) & 0xFFFFFFFF for t in range(8 * len(words))]
    if size is None:
        while lanes and lanes[-1] == 0:  # a task lane is never 0: its seats past K are 0xff
            lanes.pop()
    else:
        lanes = lanes[:size]
    return [(lane & 0xFF, tuple((lane >> (8 * (j + 1))) & 0xFF for j in range(k))) for lane in lanes]


def tasks_of(tasks: Sequence[tuple[int, tuple[int, ...]]], participant: int) -> list[int]:
    """A node participant's task indices, in the order its outputs are submitted."""
    return [t for t, (node, _) in enumerate(tasks) if node == participant]


def seats_of(tasks: Sequence[tuple[int, tuple[int, ...]]], participant: int) -> list[tuple[int, int]]:
    """An evaluator participant's (task index, seat) pairs, in the order its scores are committed."""
    return [(t, j) for t, (_, panel) in enumerate(tasks) for j, p in enumerate(panel) if p == participant]
