"""Settlement of a finalized batch, exactly as PoQSettlement computes it.

Each task settles as a round of its own (`settle_round`, the paper's Eqs. 1-5 in WAD), in task
order, with the costs read when the batch closed and, in trust mode, the weights the tasks before it
left. A participant's rewards are then summed: credits to its balance, debits from its stake (capped
by the contract at the stake, the capped wei going to the treasury).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from offchain.protocol import wad
from offchain.protocol.params import Params
from offchain.protocol.settlement import RoundSettlement, expiry_penalty, settle_round


@dataclass
class PartyTotals:
    jobs: int = 0
    reward_wad: int = 0
    credit: int = 0  # wei to the balance
    debit: int = 0  # wei from the stake, before the cap

    def book(self, reward_wad: int, amount_wei: int) -> None:
        self.jobs += 1
        self.reward_wad += reward_wad
        if amount_wei > 0:
            self.credit += amount_wei
        else:
            self.debit -= amount_wei


@dataclass
class BatchSettlement:
    quality: list[int]  # per task, WAD (0 for an expired task)
    rewards: list[list[int]]  # per task: node reward then one per seat (0 for a void seat), WAD
    expired_mask: int
    parties: list[PartyTotals]
    weights: list[int | None] = field(default_factory=list)  # trust mode: each revealer's weight after the batch
    paid: int = 0
    refund: int = 0
    rounds: list[RoundSettlement | None] = field(default_factory=list)


def settle_batch(
    params: Params,
    fee: int,
    tasks: Sequence[tuple[int, Sequence[int]]],
    answered: Sequence[bool],
    revealed: Sequence[Sequence[int] | None],
    costs: Sequence[int],
    weights: Sequence[int] | None = None,
) -> BatchSettlement:
    """Settle a batch.

    `tasks[t]` is (node participant, seat participants); `answered[p]` whether inference participant p
    answered; `revealed[p]` evaluator participant p's scores in seat order (None: never revealed);
    `costs[p]` its normalized cost (WAD) and `weights[p]` its trust weight before the batch.
    """
    n = len(costs)
    parties = [PartyTotals() for _ in range(n)]
    current = list(weights) if weights is not None else [params.trustInitial] * n
    cursor = [0] * n
    out = BatchSettlement([], [], 0, parties)
    for t, (node, seats) in enumerate(tasks):
        if not answered[node]:
            penalty, penalty_wei = expiry_penalty(params)
            parties[node].book(penalty, penalty_wei)
            for s in seats:
                cursor[s] += 1  # a void seat: its score is skipped
            out.expired_mask |= 1 << t
            out.quality.append(0)
            out.rewards.append([penalty] + [0] * len(seats))
            out.rounds.append(None)
            continue
        seat_scores: list[int | None] = []
        for s in seats:
            scores = revealed[s]
            seat_scores.append(None if scores is None else scores[cursor[s]])
            cursor[s] += 1
        result = settle_round(
            params, 0, seat_scores, costs[node], [costs[s] for s in seats], [current[s] for s in seats]
        )
        parties[node].book(result.node_reward, result.node_wei)
        for s, reward, amount in zip(seats, result.evaluator_rewards, result.evaluator_wei, strict=True):
            parties[s].book(reward, amount)
        for s, weight in zip(seats, result.trust_weights, strict=False):
            if weight is not None:
                current[s] = weight
        out.quality.append(result.quality)
        out.rewards.append([result.node_reward, *result.evaluator_rewards])
        out.rounds.append(result)
    out.paid = sum(p.credit for p in parties)
    out.refund = fee - out.paid
    if params.aggregation == wad.TRUST:  # the contract writes (and announces) every revealer's weight
        out.weights = [current[p] if revealed[p] is not None else None for p in range(n)]
    return out
