"""A pure-Python model of ProofOfQuality for the stateful test (tests/contract/test_stateful.py).

The model keeps what the contract should know (registry, cost reports, tasks, escrow, the clock)
and answers, for a transaction sent at block time `now`, either "it succeeds and changes the state
like this" or "it reverts with this named error and these arguments" (`ModelRevert`). Task phases
are derived from a timeline (when the task was opened, answered, the reference revealed, each seat
committed and revealed) rather than from a stored phase, so the contract's lazy `_phase` is checked
against an independent description of the same rules. The numbers come from `offchain.protocol`
(settle_round, wad.normalized_cost, wad.cost_range, wad.to_wei): the math is never re-derived here.

The chain's randomness (which inference node, which evaluators) is not modelled: the test reads
the choice from the receipt's events and the model checks that it was a legal one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.protocol import Params, expiry_penalty, settle_round, wad
from offchain.protocol.types import Phase, Role, Status

# labels by enum value, from the one Python mirror of the contract's types
PHASES = tuple(p.label for p in Phase)
STATUSES = tuple(s.label for s in Status)
ROLES = tuple(r.label for r in Role)
INFERENCE, EVALUATOR = 1, 2
NONE, ACTIVE, SUSPENDED, EXITING, EXITED = range(5)
MAX_SCORE = wad.MAX_SCORE


class ModelRevert(Exception):
    """The model's verdict: the contract must revert with custom error `name(**args)`."""

    def __init__(self, name: str, **args: object) -> None:
        super().__init__(f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})")
        self.name = name
        self.args_by_name = args


@dataclass
class NodeModel:
    address: str
    role: int = 0
    status: int = NONE
    id: int = 0
    open_assignments: int = 0
    stake: int = 0
    balance: int = 0
    latency: int = 0  # latest revealed latency; 0 = never reported
    unbonding_ends: int = 0
    cost_commit: tuple[int, int, bytes] | None = None  # (epoch, latency, salt) pending reveal
    cost_epoch: int = 0  # epoch of the latest cost commitment (kept after its reveal)
    trust: int = 0  # trust weight, 0 = never moved = params.trustInitial (survives exit and re-registration)


@dataclass
class Commit:
    at: int
    score: int
    salt: bytes


@dataclass
class TaskModel:
    id: int
    requester: str
    node: str
    fee: int
    reference: tuple[str, bytes] | None
    opened_at: int
    answered_at: int | None = None
    reference_at: int | None = None
    seats: list[str] = field(default_factory=list)
    commits: dict[int, Commit] = field(default_factory=dict)
    reveals: dict[int, int] = field(default_factory=dict)  # seat -> time revealed
    settled: str | None = None  # "Finalized" or "Expired"


@dataclass(frozen=True)
class Settled:
    """What finalize must emit, in order: one (account, rewardWad, amountWei) per participant."""

    rewards: list[tuple[str, int, int]]
    refund: int
    quality: int | None  # None for an expiry
    revealed: int


class PoQModel:
    def __init__(self, params: Params, now: int) -> None:
        self.p = params
        self.now = now
        self.nodes: dict[str, NodeModel] = {}
        self.tasks: dict[int, TaskModel] = {}
        self.node_count = 0
        self.slashed = 0

    # ------------------------------------------------------------------ lookups

    def node(self, address: str) -> NodeModel:
        key = address.lower()
        if key not in self.nodes:
            self.nodes[key] = NodeModel(key)
        return self.nodes[key]

    def trust(self, address: str) -> int:
        """The effective trust weight: the stored one, or trustInitial while none was stored."""
        return self.node(address).trust or self.p.trustInitial

    def pool(self, role: int) -> list[NodeModel]:
        return [n for n in self.nodes.values() if n.status == ACTIVE and n.role == role]

    def cost_range(self, role: int) -> tuple[int, int]:
        return wad.cost_range([n.latency or None for n in self.pool(role)])

    def cost(self, n: NodeModel) -> int:
        return wad.normalized_cost(n.latency != 0, n.latency, *self.cost_range(n.role))

    def max_payout(self) -> int:
        return wad.max_payout(self.p.alphaF, self.p.alphaM, self.p.k, self.p.rewardUnit)

    def escrow(self) -> int:
        return sum(t.fee for t in self.tasks.values() if t.settled is None)

    def epoch(self, now: int) -> int:
        return now // self.p.epochLength

    # ------------------------------------------------------------------ task phases (the timeline)

    def phase(self, t: TaskModel, now: int) -> tuple[str, int | None]:
        """Effective phase at block time `now` and the deadline of that phase (None when moot)."""
        p = self.p
        if t.settled is not None:
            return t.settled, None
        answer_deadline = t.opened_at + p.answerWindow
        if t.answered_at is None:
            return ("Lapsed" if now > answer_deadline else "Open"), answer_deadline
        if t.reference is not None and t.reference_at is None:
            reference_deadline = t.answered_at + p.referenceWindow
            if now <= reference_deadline:
                return "Answered", reference_deadline
            commit_start = reference_deadline  # no reference in time: score against the input
        else:
            commit_start = t.answered_at if t.reference_at is None else t.reference_at
        commit_deadline = commit_start + p.commitWindow
        all_committed = len(t.commits) == len(t.seats)
        if not all_committed and now <= commit_deadline:
            return "Commit", commit_deadline
        if all_committed and t.seats:  # the last commit opened the reveal phase early
            reveal_deadline = max(c.at for c in t.commits.values()) + p.revealWindow
        else:
            reveal_deadline = commit_deadline + p.revealWindow
        if now > reveal_deadline or set(t.reveals) == set(t.commits):
            return "Closed", None
        return "Reveal", reveal_deadline

    def _task_phase(self, t: TaskModel, now: int) -> str:
        return self.phase(t, now)[0]

    def _require_phase(self, t: TaskModel, now: int, expected: str) -> None:
        actual = self._task_phase(t, now)
        if actual != expected:
            raise ModelRevert("WrongPhase", taskId=t.id, expected=expected, actual=actual)

    # ------------------------------------------------------------------ registry

    def register(self, now: int, address: str, role: int, value: int) -> None:
        n = self.node(address)
        if role not in (INFERENCE, EVALUATOR):
            raise ModelRevert("InvalidRole", role=role)
        if n.status not in (NONE, EXITED):
            raise ModelRevert("AlreadyRegistered", node=n.address)
        if value < self.p.minStake:
            raise ModelRevert("StakeBelowMinimum", stake=value, minStake=self.p.minStake)
        if len(self.pool(role)) >= self.p.maxPoolSize:
            raise ModelRevert("PoolFull", role=ROLES[role], maxPoolSize=self.p.maxPoolSize)
        if n.id == 0:
            self.node_count += 1
            n.id = self.node_count
        n.role, n.stake, n.latency, n.status = role, value, 0, ACTIVE

    def add_stake(self, now: int, address: str, value: int) -> None:
        n = self.node(address)
        if n.status not in (ACTIVE, SUSPENDED):
            raise ModelRevert("NotActive", node=n.address)
        if n.status == SUSPENDED and n.stake + value >= self.p.minStake:
            if len(self.pool(n.role)) >= self.p.maxPoolSize:
                raise ModelRevert("PoolFull", role=ROLES[n.role], maxPoolSize=self.p.maxPoolSize)
            n.status = ACTIVE
        n.stake += value

    def request_exit(self, now: int, address: str) -> None:
        n = self.node(address)
        if n.status not in (ACTIVE, SUSPENDED):
            raise ModelRevert("NotActive", node=n.address)
        if n.open_assignments:
            raise ModelRevert("NodeHasOpenAssignments", node=n.address, openAssignments=n.open_assignments)
        n.status = EXITING
        n.unbonding_ends = now + self.p.unbondingDelay

    def release_stake(self, now: int, address: str) -> None:
        n = self.node(address)
        if n.status != EXITING:
            raise ModelRevert("NotExiting", node=n.address)
        if now < n.unbonding_ends:
            raise ModelRevert("UnbondingNotOver", node=n.address, unbondingEnds=n.unbonding_ends)
        n.balance += n.stake
        n.stake = 0
        n.status = EXITED

    def withdraw(self, now: int, address: str, amount: int) -> None:
        n = self.node(address)
        if amount > n.balance:
            raise ModelRevert("InsufficientBalance", account=n.address, requested=amount, available=n.balance)
        n.balance -= amount

    # ------------------------------------------------------------------ cost reports

    def commit_cost(self, now: int, address: str, latency: int, salt: bytes) -> None:
        n = self.node(address)
        if n.status != ACTIVE:
            raise ModelRevert("NotActive", node=n.address)
        epoch = self.epoch(now)
        if n.cost_commit is not None and n.cost_commit[0] == epoch:
            raise ModelRevert("CostAlreadyCommitted", node=n.address, epoch=epoch)
        n.cost_commit = (epoch, latency, salt)
        n.cost_epoch = epoch

    def reveal_cost(self, now: int, address: str, latency: int, salt: bytes) -> None:
        n = self.node(address)
        if n.status != ACTIVE:
            raise ModelRevert("NotActive", node=n.address)
        if n.cost_commit is None:
            raise ModelRevert("NoCostCommitment", node=n.address)
        commit_epoch, committed_latency, committed_salt = n.cost_commit
        if self.epoch(now) != commit_epoch + 1:
            raise ModelRevert(
                "CostRevealOutsideEpoch", node=n.address, commitEpoch=commit_epoch, currentEpoch=self.epoch(now)
            )
        if latency == 0:
            raise ModelRevert("LatencyOutOfRange", latencyUs=latency)
        if (latency, salt) != (committed_latency, committed_salt):
            raise ModelRevert("CostCommitmentMismatch", node=n.address)
        n.latency = latency
        n.cost_commit = None

    # ------------------------------------------------------------------ tasks

    def check_open(self, now: int, fee: int) -> None:
        if fee < self.max_payout():
            raise ModelRevert("FeeBelowMaxPayout", fee=fee, maxPayout=self.max_payout())
        if not self.pool(INFERENCE):
            raise ModelRevert("NoInferenceNodes")
        available = len(self.pool(EVALUATOR))
        if available < self.p.k:
            raise ModelRevert("NotEnoughEvaluators", needed=self.p.k, available=available)

    def apply_open(
        self, now: int, requester: str, fee: int, reference: tuple[str, bytes] | None, node: str
    ) -> TaskModel:
        """Record a task whose node the chain drew; the draw must be from the inference pool."""
        self.check_open(now, fee)
        n = self.node(node)
        assert n in self.pool(INFERENCE), f"task assigned to {node}, not in the inference pool"
        n.open_assignments += 1
        t = TaskModel(len(self.tasks) + 1, requester.lower(), n.address, fee, reference, now)
        self.tasks[t.id] = t
        return t

    def check_answer(self, now: int, t: TaskModel, caller: str) -> None:
        self._require_phase(t, now, "Open")
        if caller.lower() != t.node:
            raise ModelRevert("NotAssignedNode", taskId=t.id, caller=caller.lower(), assigned=t.node)

    def apply_answer(self, now: int, t: TaskModel, caller: str, seats: list[str]) -> None:
        """Record an answer and the panel the chain drew: K (or all, if fewer) distinct evaluators."""
        self.check_answer(now, t, caller)
        pool = {n.address for n in self.pool(EVALUATOR)}
        seats = [s.lower() for s in seats]
        assert len(set(seats)) == len(seats), f"evaluators drawn twice: {seats}"
        assert set(seats) <= pool, f"evaluators {seats} not all in the pool {pool}"
        assert len(seats) == min(self.p.k, len(pool)), f"{len(seats)} seats from a pool of {len(pool)}"
        for s in seats:
            self.node(s).open_assignments += 1
        t.answered_at = now
        t.seats = seats

    def reveal_reference(self, now: int, t: TaskModel, caller: str, text: str, salt: bytes) -> None:
        if caller.lower() != t.requester:
            raise ModelRevert("NotRequester", taskId=t.id, caller=caller.lower())
        phase = self._task_phase(t, now)
        if phase == "Open" and t.reference is None:
            raise ModelRevert("NoReference", taskId=t.id)
        self._require_phase(t, now, "Answered")
        if (text, salt) != t.reference:
            raise ModelRevert("ReferenceMismatch", taskId=t.id)
        t.reference_at = now

    def _seat(self, t: TaskModel, caller: str) -> int:
        key = caller.lower()
        if key in t.seats:
            return t.seats.index(key)
        raise ModelRevert("NotSelectedEvaluator", taskId=t.id, evaluator=key)

    def commit_score(self, now: int, t: TaskModel, caller: str, score: int, salt: bytes) -> None:
        self._require_phase(t, now, "Commit")
        seat = self._seat(t, caller)
        if seat in t.commits:
            raise ModelRevert("AlreadyCommitted", taskId=t.id, evaluator=caller.lower())
        t.commits[seat] = Commit(now, score, salt)

    def reveal_score(self, now: int, t: TaskModel, caller: str, score: int, salt: bytes) -> None:
        self._require_phase(t, now, "Reveal")
        seat = self._seat(t, caller)
        if seat not in t.commits:
            raise ModelRevert("NotCommitted", taskId=t.id, evaluator=caller.lower())
        if seat in t.reveals:
            raise ModelRevert("AlreadyRevealed", taskId=t.id, evaluator=caller.lower())
        if score > MAX_SCORE:
            raise ModelRevert("ScoreOutOfRange", score=score, maxScore=MAX_SCORE)
        if (score, salt) != (t.commits[seat].score, t.commits[seat].salt):
            raise ModelRevert("CommitmentMismatch", taskId=t.id, evaluator=caller.lower())
        t.reveals[seat] = now

    # ------------------------------------------------------------------ settlement

    def finalize(self, now: int, t: TaskModel) -> Settled:
        phase = self._task_phase(t, now)
        if phase == "Lapsed":
            t.settled = "Expired"
            reward, amount = expiry_penalty(self.p)
            rewards = [(t.node, reward, self._settle(t.node, amount))]
            return Settled(rewards, self._refund(t, t.fee), None, 0)
        if phase != "Closed":
            raise ModelRevert("WrongPhase", taskId=t.id, expected="Closed", actual=phase)
        t.settled = "Finalized"
        scores = [t.commits[j].score if j in t.reveals else None for j in range(len(t.seats))]
        # Every cost is read before anyone settles (as the contract does), so one settle_round call
        # gives every participant's reward; debits are then applied node first, capped at stake.
        node_cost = self.cost(self.node(t.node))
        costs = [self.cost(self.node(seat)) for seat in t.seats]
        first = settle_round(self.p, t.fee, scores, node_cost, costs, [self.trust(seat) for seat in t.seats])
        paid = 0
        amount = self._settle(t.node, first.node_wei)
        rewards = [(t.node, first.node_reward, amount)]
        paid += max(amount, 0)
        for j, seat in enumerate(t.seats):
            amount = self._settle(seat, first.evaluator_wei[j])
            rewards.append((seat, first.evaluator_rewards[j], amount))
            paid += max(amount, 0)
        assert paid <= t.fee, f"paid {paid} out of a fee of {t.fee}"
        for seat, weight in zip(t.seats, first.trust_weights, strict=False):
            if weight is not None:
                self.node(seat).trust = weight
        revealed = sum(s is not None for s in scores)
        return Settled(rewards, self._refund(t, t.fee - paid), first.quality, revealed)

    def _settle(self, address: str, amount: int) -> int:
        """Credit a positive wei amount; debit a negative one from stake, capped at the stake."""
        n = self.node(address)
        n.open_assignments -= 1
        if amount > 0:
            n.balance += amount
            return amount
        if amount < 0:
            debited = min(-amount, n.stake)
            n.stake -= debited
            self.slashed += debited
            if n.status == ACTIVE and n.stake < self.p.minStake:
                n.status = SUSPENDED
            return -debited
        return 0

    def _refund(self, t: TaskModel, amount: int) -> int:
        self.node(t.requester).balance += amount
        return amount
