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


def pick_distinct(units: Sequence[int], total: int, k: int, word: int) -> list[int]:
    """K distinct indices, each in proportion to the units not yet drawn (Sampling.pickDistinct)."""
    seats: list[int] = []
    remaining = total
    for j in range(k):
        x = ((word >> (64 * (j + 1))) & _U64) % remaining
        acc = 0
        for i, u in enumerate(units):
            if i in seats:
                continue
            acc += u
            if x < acc:
                seats.append(i)
                remaining -= u
                break
    return seats


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
        seats = [len(inference) + i for i in pick_distinct(evaluator_units, sum(evaluator_units), k, word)]
        drawn.append((node, seats))
    used = sorted({node for node, _ in drawn} | {s for _, seats in drawn for s in seats})
    index = {entry: p for p, entry in enumerate(used)}
    return Draw(
        participants=tuple(entries[i][0] for i in used),
        inference_count=sum(1 for i in used if i < len(inference)),
        tasks=tuple((index[node], tuple(index[s] for s in seats)) for node, seats in drawn),
    )


def decode_seats(packed: bytes, k: int) -> list[tuple[int, tuple[int, ...]]]:
    """The BatchDrawn event's `seats` bytes (4 per task) as (node participant, seat participants) per task."""
    return [(packed[i], tuple(packed[i + 1 + j] for j in range(k))) for i in range(0, len(packed), 4)]
