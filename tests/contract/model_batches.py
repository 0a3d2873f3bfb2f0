"""The batch part of the stateful test's model (tests/contract/model.py): open, draw, answers,
references, score commit-reveal and finalize.

A batch's stage is derived from its timeline (when it was drawn, each answer, the reference reveal,
each commit and reveal) by `stage_at`, an independent description of the rules the contract keeps
as a stored stage moved forward by the clock (PoQBase._stage). The draw is predicted with
offchain.protocol.draw over the pools the batch saw when it was opened (copied at the open, so a
later change of the pools cannot reach it), from the draw block's hash the test reads off the chain;
measured costs with wad.per_item_us/smooth_cost; settlement with batch.settle_batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eth_utils import to_checksum_address

from offchain.protocol import settle_batch, wad
from offchain.protocol.draw import draw_batch, draw_seed
from offchain.protocol.types import ANSWERED, COMMITTED, MAX_SCORE, REVEALED, Stage
from tests.contract.model_registry import EVALUATOR, INFERENCE, ModelRevert, NodeModel, RegistryModel

U16_MAX = 2**16 - 1
BLOCKHASH_WINDOW = 256  # blockhash(n) is 0 unless block.number - 256 <= n < block.number


@dataclass
class BatchModel:
    id: int
    requester: str
    size: int
    first_task: int
    fee: int
    opened_at: int
    draw_block: int
    reference: tuple[list[str], bytes] | None  # (references, salt); None: scored against the inputs
    pools: tuple[list[tuple[int, int]], list[tuple[int, int]]]  # (id, units) per entry, as at the open
    drawn_at: int | None = None
    participants: list[str] = field(default_factory=list)  # inference first, in pool order
    inference_count: int = 0
    tasks: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (node, seats) participant indices
    items: list[int] = field(default_factory=list)  # tasks or seats per participant
    answers: dict[int, int] = field(default_factory=dict)  # participant -> time
    reference_at: int | None = None
    commits: dict[int, tuple[int, list[int], bytes]] = field(default_factory=dict)  # p -> (time, scores, salt)
    reveals: dict[int, int] = field(default_factory=dict)  # p -> time
    finalized: bool = False

    def flags(self, p: int) -> int:
        return ((ANSWERED if p in self.answers else 0) | (COMMITTED if p in self.commits else 0)
                | (REVEALED if p in self.reveals else 0))

    @property
    def evaluators(self) -> range:
        return range(self.inference_count, len(self.participants))

    def index(self, caller: str, among: range) -> int | None:
        key = caller.lower()
        return next((p for p in among if self.participants[p] == key), None)


@dataclass(frozen=True)
class StageAt:
    stage: Stage
    start: int  # when the stage began (a commit's cost is measured from the start of Committing)
    deadline: int | None  # None once Finalized: the stored deadline is moot then


@dataclass(frozen=True)
class Drawn:
    seed: bytes
    participants: list[str]
    inference_count: int
    tasks: list[tuple[int, tuple[int, ...]]]


@dataclass
class Settlement:
    """What finalize must emit."""

    expired_mask: int
    quality: list[int]
    rewards: list[int]  # per task: the node's reward, then one per seat
    paid: int
    refund: int
    settled: list[tuple[str, int, int, int]]  # per participant: account, jobs, rewardWad, amountWei
    trust: list[tuple[str, int]]  # (evaluator, weight) in participant order, trust mode only
    treasury: int  # wei debited from stakes
    suspended: list[str]
    capped: int  # participants whose debit exceeded their stake
    retained: int = 0  # fixed fee rule: the price not paid out, to the treasury
    informed: list[tuple[str, int, int]] = field(default_factory=list)  # revealers: (evaluator, seats, information)


class BatchesModel(RegistryModel):
    batches: dict[int, BatchModel]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.batches = {}
        self.task_count = 0

    def batch(self, batch_id: int) -> BatchModel:
        if batch_id not in self.batches:
            raise ModelRevert("UnknownBatch", batchId=batch_id)
        return self.batches[batch_id]

    # ------------------------------------------------------------------ stages (the timeline)

    def stage_at(self, b: BatchModel, now: int) -> StageAt:
        """The batch's stage at block time `now`, when it began and its deadline."""
        p = self.p
        if b.finalized:
            return StageAt(Stage.FINALIZED, 0, None)
        if b.drawn_at is None:
            return StageAt(Stage.OPENED, 0, 0)
        answer_deadline = b.drawn_at + p.answerWindow
        if len(b.answers) < b.inference_count:
            if now <= answer_deadline:
                return StageAt(Stage.ANSWERING, b.drawn_at, answer_deadline)
            if not b.answers:  # nobody answered: nothing to score
                return StageAt(Stage.CLOSED, answer_deadline, answer_deadline)
            answered = answer_deadline
        else:
            answered = max(b.answers.values())  # the last answer ended the stage early
        if b.reference is not None and b.reference_at is None:
            reference_deadline = answered + p.referenceWindow
            if now <= reference_deadline:
                return StageAt(Stage.REFERENCING, answered, reference_deadline)
            commit_start = reference_deadline  # no references in time: scored against the inputs
        else:
            commit_start = answered if b.reference_at is None else b.reference_at
        commit_deadline = commit_start + p.commitWindow
        if len(b.commits) < len(b.evaluators):
            if now <= commit_deadline:
                return StageAt(Stage.COMMITTING, commit_start, commit_deadline)
            reveal_start = commit_deadline
        else:
            reveal_start = max(at for at, _, _ in b.commits.values())  # the last commit ended it early
        reveal_deadline = reveal_start + p.revealWindow
        if b.commits and len(b.reveals) == len(b.commits):  # the last reveal closed the batch
            last = max(b.reveals.values())
            return StageAt(Stage.CLOSED, last, last)
        if not b.commits:
            return StageAt(Stage.CLOSED, reveal_start, reveal_deadline)
        if now > reveal_deadline:
            return StageAt(Stage.CLOSED, reveal_deadline, reveal_deadline)
        return StageAt(Stage.REVEALING, reveal_start, reveal_deadline)

    def stage(self, b: BatchModel) -> StageAt:
        """The stage the next transaction sees."""
        return self.stage_at(b, self.tx_time)

    def _require(self, b: BatchModel, expected: Stage) -> StageAt:
        at = self.stage(b)
        if at.stage != expected:
            raise ModelRevert("WrongStage", batchId=b.id, expected=expected.label, actual=at.stage.label)
        return at

    def _measure(self, n: NodeModel, elapsed: int, items: int) -> tuple[int, int]:
        """Fold one observation into a node's measured cost: (observedUs, costUs) as CostMeasured says."""
        observed = wad.per_item_us(elapsed, items)
        n.cost_us = wad.smooth_cost(n.cost_us, n.cost_samples != 0, observed, self.p.costSmoothing)
        n.cost_samples = min(n.cost_samples + 1, U16_MAX)
        return observed, n.cost_us

    # ------------------------------------------------------------------ open and draw

    def open_batch(self, requester: str, size: int, kinds: int, fee: int,
                   reference: tuple[list[str], bytes] | None) -> BatchModel:
        p = self.p
        if size == 0 or size > p.maxBatchSize:
            raise ModelRevert("InvalidBatchSize", size=size, maxBatchSize=p.maxBatchSize)
        if kinds != size:
            raise ModelRevert("LengthMismatch", expected=size, actual=kinds)
        required = self.required_fee(size, reference is not None)
        if fee < required:
            raise ModelRevert("FeeBelowMaxPayout", fee=fee, required=required)
        if not self.pools[INFERENCE]:
            raise ModelRevert("NoInferenceNodes")
        if len(self.pools[EVALUATOR]) < p.k:
            raise ModelRevert("NotEnoughEvaluators", needed=p.k, available=len(self.pools[EVALUATOR]))
        self.batch_count += 1
        b = BatchModel(self.batch_count, requester.lower(), size, self.task_count + 1, fee, self.tx_time,
                       self.tx_block + 1, reference, (self.pool_entries(INFERENCE), self.pool_entries(EVALUATOR)))
        self.batches[b.id] = b
        self.task_count += size
        return b

    def draw(self, batch_id: int, block_hash: Callable[[int], bytes], contract: str) -> Drawn | None:
        """Draw the batch (None: its draw block's hash had expired and the draw was re-armed)."""
        b = self.batch(batch_id)
        stage = self.stage(b).stage
        if stage != Stage.OPENED:
            raise ModelRevert("WrongStage", batchId=batch_id, expected=Stage.OPENED.label, actual=stage.label)
        if batch_id != self.drawn_count + 1:
            raise ModelRevert("DrawOutOfOrder", batchId=batch_id, next=self.drawn_count + 1)
        if self.tx_block <= b.draw_block:
            raise ModelRevert("DrawTooEarly", batchId=batch_id, drawBlock=b.draw_block)
        if self.tx_block - b.draw_block > BLOCKHASH_WINDOW:
            b.draw_block = self.tx_block + 1
            return None
        seed = draw_seed(block_hash(b.draw_block), to_checksum_address(contract), batch_id)
        drawn = draw_batch(seed, b.size, self.p.k, *b.pools)
        self.drawn_count = batch_id
        b.drawn_at = self.tx_time
        b.participants = [self.by_id[i] for i in drawn.participants]
        b.inference_count, b.tasks, b.items = drawn.inference_count, list(drawn.tasks), drawn.items()
        for address in b.participants:
            self.nodes[address].open_batches += 1
        return Drawn(seed, b.participants, b.inference_count, b.tasks)

    # ------------------------------------------------------------------ answers and references

    def submit_answers(self, batch_id: int, caller: str, outputs: int) -> tuple[int, int]:
        """An answer: returns the CostMeasured (observedUs, costUs)."""
        b = self.batch(batch_id)
        self._require(b, Stage.ANSWERING)
        p = b.index(caller, range(b.inference_count))
        if p is None:
            raise ModelRevert("NotAssigned", batchId=batch_id, caller=caller.lower())
        if p in b.answers:
            raise ModelRevert("AlreadyAnswered", batchId=batch_id, node=caller.lower())
        if outputs != b.items[p]:
            raise ModelRevert("LengthMismatch", expected=b.items[p], actual=outputs)
        b.answers[p] = self.tx_time
        return self._measure(self.node(caller), self.tx_time - b.opened_at, b.items[p])

    def reveal_references(self, batch_id: int, caller: str, references: list[str], salt: bytes) -> None:
        b = self.batch(batch_id)
        if caller.lower() != b.requester:
            raise ModelRevert("NotRequester", batchId=batch_id, caller=caller.lower())
        if b.reference is None:
            raise ModelRevert("NoReference", batchId=batch_id)
        self._require(b, Stage.REFERENCING)
        if len(references) != b.size:
            raise ModelRevert("LengthMismatch", expected=b.size, actual=len(references))
        if (list(references), salt) != (b.reference[0], b.reference[1]):
            raise ModelRevert("ReferenceMismatch", batchId=batch_id)
        b.reference_at = self.tx_time

    # ------------------------------------------------------------------ scores

    def _evaluator(self, b: BatchModel, caller: str) -> int:
        p = b.index(caller, b.evaluators)
        if p is None:
            raise ModelRevert("NotAssigned", batchId=b.id, caller=caller.lower())
        return p

    def commit_scores(self, batch_id: int, caller: str, scores: list[int], salt: bytes) -> tuple[int, int]:
        """A commitment to `scores` under `salt`: returns the CostMeasured (observedUs, costUs)."""
        b = self.batch(batch_id)
        start = self._require(b, Stage.COMMITTING).start
        p = self._evaluator(b, caller)
        if p in b.commits:
            raise ModelRevert("AlreadyCommitted", batchId=batch_id, evaluator=caller.lower())
        b.commits[p] = (self.tx_time, list(scores), salt)
        return self._measure(self.node(caller), self.tx_time - start, b.items[p])

    def reveal_scores(self, batch_id: int, caller: str, scores: list[int], salt: bytes) -> None:
        b = self.batch(batch_id)
        self._require(b, Stage.REVEALING)
        p = self._evaluator(b, caller)
        if p not in b.commits:
            raise ModelRevert("NotCommitted", batchId=batch_id, evaluator=caller.lower())
        if p in b.reveals:
            raise ModelRevert("AlreadyRevealed", batchId=batch_id, evaluator=caller.lower())
        if len(scores) != b.items[p]:
            raise ModelRevert("LengthMismatch", expected=b.items[p], actual=len(scores))
        for score in scores:
            if score > MAX_SCORE:
                raise ModelRevert("ScoreOutOfRange", score=score, maxScore=MAX_SCORE)
        if (list(scores), salt) != tuple(b.commits[p][1:]):
            raise ModelRevert("CommitmentMismatch", batchId=batch_id, evaluator=caller.lower())
        b.reveals[p] = self.tx_time

    # ------------------------------------------------------------------ settlement

    def revealed_scores(self, batch_id: int) -> list[list[int]]:
        """What finalize takes: each evaluator participant's revealed scores in participant order, [] for
        one that never revealed."""
        b = self.batches.get(batch_id)
        return [list(b.commits[p][1]) if p in b.reveals else [] for p in b.evaluators] if b else []

    def finalize(self, batch_id: int, revealed: list[list[int]], middles: list[list[int]]) -> Settlement:
        """Settle a Closed batch, given `revealed` (checked against the scores each evaluator revealed)
        and, when settlement measures informativeness, each one's two middle scores."""
        b = self.batch(batch_id)
        self._require(b, Stage.CLOSED)
        if len(revealed) != len(b.evaluators):
            raise ModelRevert("LengthMismatch", expected=len(b.evaluators), actual=len(revealed))
        if self.p.informed and len(middles) != len(revealed):
            raise ModelRevert("LengthMismatch", expected=len(revealed), actual=len(middles))
        for i, (p, given, expected) in enumerate(zip(b.evaluators, revealed, self.revealed_scores(batch_id),
                                                     strict=True)):
            if list(given) != expected:  # a silent evaluator's entry must be empty
                raise ModelRevert("RevealedScoresMismatch", batchId=batch_id, evaluator=b.participants[p])
            if self.p.informed and p in b.reveals and tuple(middles[i]) != wad.middles(expected):
                raise ModelRevert("MiddlesMismatch", batchId=batch_id, evaluator=b.participants[p],
                                  lower=middles[i][0], upper=middles[i][1])
        n = len(b.participants)
        nodes = [self.nodes[a] for a in b.participants]
        # costs and weights are read before anyone is settled (a suspension cannot move the range)
        costs = [self.normalized_cost(nd, INFERENCE if p < b.inference_count else EVALUATOR)
                 for p, nd in enumerate(nodes)]
        weights = [self.trust(a) for a in b.participants]
        revealed = [b.commits[p][1] if p in b.reveals else None for p in range(n)]
        withheld = b.reference is not None and b.reference_at is None and bool(b.answers)
        result = settle_batch(self.p, b.fee, b.tasks, [p in b.answers for p in range(n)], revealed, costs, weights,
                              references_withheld=withheld)
        assert result.paid <= b.fee, f"batch {batch_id} pays {result.paid} out of a fee of {b.fee}"
        settled, trust, slashed, capped = [], [], 0, 0
        for p, (nd, party) in enumerate(zip(nodes, result.parties, strict=True)):
            nd.open_batches -= 1
            debited = min(party.debit, nd.stake)  # the rest of the debit is forgone
            capped += party.debit > nd.stake
            nd.balance += party.credit
            nd.stake -= debited
            slashed += debited
            if result.weights and result.weights[p] is not None:
                nd.trust = result.weights[p]
                trust.append((nd.address, nd.trust))
            if debited:
                self.after_debit(nd)
            settled.append((nd.address, party.jobs, party.reward_wad, party.credit - debited))
        self.node(self.treasury).balance += slashed + result.retained
        self.node(b.requester).balance += result.refund
        b.finalized = True
        rewards = [r for row in result.rewards for r in row]
        informed = [(b.participants[p], result.parties[p].informed_seats, result.parties[p].information)
                    for p in range(n) if revealed[p] is not None and self.p.informed]
        return Settlement(result.expired_mask, result.quality, rewards, result.paid, result.refund, settled, trust,
                          slashed, list(self.events.suspended), capped, result.retained, informed)
