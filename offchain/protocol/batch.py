"""Settlement of a finalized batch, exactly as PoQSettlement computes it.

Each task settles as a round of its own (`settle_round`: Eqs. 1-2 for the node; Eqs. 3-5 or the peer
rule for the seats, in WAD), in task order, with the costs read when the batch closed and, in trust
mode, the weights the tasks before it left (per-task rules) or the batch's starting weights (the
informative rule, which moves them once at the end). The peer rule's signs split each evaluator's
revealed scores at its own batch median. A participant's rewards are then summed: under the refund fee
rule each reward's wei is credited or debited on its own (debits capped by the contract at the stake,
the capped wei going to the treasury); under the fixed fee rule slashes are debited on their own and
the rewards for work are netted, a positive net credited and a negative one waived.
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
    earned_wad: int = 0  # fixed fee rule: rewards for work, netted over the batch
    information: int = 0  # an evaluator's summed seat informativeness (WAD)
    informed_seats: int = 0

    def book(self, reward_wad: int, amount_wei: int, *, netted: bool = False) -> None:
        self.jobs += 1
        self.reward_wad += reward_wad
        if netted:
            self.earned_wad += reward_wad
        elif amount_wei > 0:
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
    refund: int = 0  # wei back to the requester
    retained: int = 0  # fixed fee rule: wei of the price not paid out, to the treasury (FeeRetained)
    rounds: list[RoundSettlement | None] = field(default_factory=list)


def settle_batch(
    params: Params,
    fee: int,
    tasks: Sequence[tuple[int, Sequence[int]]],
    answered: Sequence[bool],
    revealed: Sequence[Sequence[int] | None],
    costs: Sequence[int],
    weights: Sequence[int] | None = None,
    *,
    references_withheld: bool = False,
) -> BatchSettlement:
    """Settle a batch.

    `tasks[t]` is (node participant, seat participants); `answered[p]` whether inference participant p
    answered; `revealed[p]` evaluator participant p's scores in seat order (None: never revealed);
    `costs[p]` its normalized cost (WAD) and `weights[p]` its trust weight before the batch.
    `references_withheld`: the batch committed to references that the requester never revealed.
    """
    n = len(costs)
    parties = [PartyTotals() for _ in range(n)]
    current = list(weights) if weights is not None else [params.trustInitial] * n
    informed = params.informed
    median2 = [wad.doubled_median(r) if informed and r is not None else 0 for r in revealed]
    netted = params.feeRule == wad.FIXED
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
        signs = [wad.split_sign(e, median2[s]) for s, e in zip(seats, seat_scores, strict=True) if e is not None]
        result = settle_round(params, 0, seat_scores, costs[node], [costs[s] for s in seats],
                              [current[s] for s in seats], signs)
        parties[node].book(result.node_reward, result.node_wei, netted=netted)
        for s, e, reward, amount, info in zip(seats, seat_scores, result.evaluator_rewards, result.evaluator_wei,
                                              result.information, strict=True):
            parties[s].book(reward, amount, netted=netted and e is not None)
            if info is not None:
                parties[s].information += info
                parties[s].informed_seats += 1
        for s, weight in zip(seats, result.trust_weights, strict=False):
            if weight is not None:
                current[s] = weight
        out.quality.append(result.quality)
        out.rewards.append([result.node_reward, *result.evaluator_rewards])
        out.rounds.append(result)
    for party in parties:
        if party.earned_wad > 0:
            party.credit += wad.to_wei(party.earned_wad, params.rewardUnit)
    if params.aggregation == wad.TRUST and params.trustRule == wad.INFORMATIVE:
        for p in range(n):
            if revealed[p] is not None:
                current[p] = wad.trust_informed(current[p], parties[p].information, parties[p].informed_seats,
                                                params.trustLambda, params.trustMin, params.trustMax)
    out.paid = sum(p.credit for p in parties)
    out.refund = fee - out.paid
    if netted:
        answered_tasks = len(tasks) - bin(out.expired_mask).count("1")
        charged = answered_tasks * wad.max_payout(params.alphaF, params.alphaM, params.k, params.rewardUnit)
        if references_withheld and answered_tasks:
            charged += len(tasks) * params.referenceBond
        out.refund, out.retained = fee - charged, charged - out.paid
    if params.aggregation == wad.TRUST:  # the contract writes (and announces) every revealer's weight
        out.weights = [current[p] if revealed[p] is not None else None for p in range(n)]
    return out
