"""The registry part of the stateful test's model (tests/contract/model.py): the clock, accounts,
the two ranked pools, registration, stake, exits, declared costs and withdrawals.

Every check happens before the first change, so a ModelRevert leaves the model untouched. The next
transaction runs in block `block + 1` at time `now + 1` (the chain is ahead of the wall clock, so
each block is its parent plus one second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.protocol import Params, wad
from offchain.protocol.types import Role, Status

INFERENCE, EVALUATOR = int(Role.INFERENCE), int(Role.EVALUATOR)
ROLES = (INFERENCE, EVALUATOR)
STAKED = (Status.ACTIVE, Status.SUSPENDED, Status.STANDBY)  # may add stake or ask to exit
U32_MAX = 2**32 - 1


class ModelRevert(Exception):
    """The model's verdict: the contract must revert with custom error `name(**args)`."""

    def __init__(self, name: str, **args: object) -> None:
        super().__init__(f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})")
        self.name = name
        self.args_by_name = args


@dataclass
class NodeModel:
    """An account as getNode shows it: a node, a requester or the treasury (balance only)."""

    address: str
    role: int = 0
    status: Status = Status.NONE
    id: int = 0
    open_batches: int = 0
    stake: int = 0
    balance: int = 0
    cost_us: int = 0  # measured cost (moving average of microseconds per item)
    cost_samples: int = 0
    declared_us: int = 0
    unbonding_ends: int = 0
    exit_batch: int = 0
    cost_commit: tuple[int, int, bytes] | None = None  # pending declared cost: (epoch, latency, salt)
    cost_epoch: int = 0  # epoch of the latest commitment (kept after its reveal)
    model: str = ""
    trust: int = 0  # stored trust weight; 0 = never moved = trustInitial (kept across re-registration)


@dataclass
class Events:
    """Registry events a transaction must emit besides its own (evictions, suspensions)."""

    evicted: list[tuple[str, str]] = field(default_factory=list)  # (evicted node, by)
    suspended: list[str] = field(default_factory=list)


class RegistryModel:
    def __init__(self, params: Params, treasury: str, now: int, block: int) -> None:
        self.p = params
        self.treasury = treasury.lower()
        self.now, self.block = now, block  # the latest block
        self.nodes: dict[str, NodeModel] = {}
        self.by_id: dict[int, str] = {}
        self.pools: dict[int, list[str]] = {INFERENCE: [], EVALUATOR: []}  # entry order, as the contract keeps it
        self.node_count = 0
        self.events = Events()
        self.batch_count = self.drawn_count = 0  # the batch lifecycle moves them (model_batches.py)

    # ------------------------------------------------------------------ clock

    @property
    def tx_time(self) -> int:
        """Block time of the next transaction."""
        return self.now + 1

    @property
    def tx_block(self) -> int:
        return self.block + 1

    def mined(self) -> None:
        """The next transaction was mined (successful or not)."""
        self.now, self.block = self.now + 1, self.block + 1

    def advance(self, seconds: int, blocks: int) -> None:
        """Time travel: `blocks` blocks, the last one `seconds` later."""
        self.now, self.block = self.now + seconds, self.block + blocks

    def mine(self, blocks: int) -> None:
        """Empty blocks, one second apart."""
        self.now, self.block = self.now + blocks, self.block + blocks

    # ------------------------------------------------------------------ lookups

    def node(self, address: str) -> NodeModel:
        key = address.lower()
        if key not in self.nodes:
            self.nodes[key] = NodeModel(key)
        return self.nodes[key]

    def units(self, stake: int) -> int:
        return min(stake // self.p.minStake, U32_MAX)

    def trust(self, address: str) -> int:
        """The effective trust weight: the stored one, or trustInitial while none was stored."""
        return self.node(address).trust or self.p.trustInitial

    def pool(self, role: int) -> list[NodeModel]:
        return [self.nodes[a] for a in self.pools[role]]

    def pool_entries(self, role: int) -> list[tuple[int, int]]:
        """(node id, units) per entry, as a draw reads them."""
        return [(n.id, self.units(n.stake)) for n in self.pool(role)]

    def cost_range(self, role: int) -> tuple[int, int]:
        entries = [(n.cost_us if n.cost_samples else None, self.units(n.stake)) for n in self.pool(role)]
        return wad.pool_cost_range(entries, self.p.costRule, self.p.costQuantile)

    def normalized_cost(self, n: NodeModel, role: int) -> int:
        return wad.normalized_cost(n.cost_samples != 0, n.cost_us, *self.cost_range(role))

    def max_payout(self) -> int:
        return wad.max_payout(self.p.alphaF, self.p.alphaM, self.p.k, self.p.rewardUnit)

    def required_fee(self, size: int, with_references: bool) -> int:
        bond = self.p.referenceBond if with_references and self.p.feeRule == wad.FIXED else 0
        return size * (self.max_payout() + bond)

    def epoch(self) -> int:
        """The declared-cost epoch of the next transaction."""
        return self.tx_time // self.p.epochLength

    # ------------------------------------------------------------------ pools

    def lowest(self, role: int) -> tuple[int, int]:
        """The lowest stake in a pool and its entry index (ties: the earliest entry)."""
        pool = self.pool(role)
        at = min(range(len(pool)), key=lambda i: (pool[i].stake, i))
        return pool[at].stake, at

    def admits(self, role: int, stake: int) -> bool:
        """Whether a pool takes a node with this stake (evicting its lowest stake when full)."""
        return len(self.pools[role]) < self.p.maxPoolSize or stake > self.lowest(role)[0]

    def _enter_pool(self, n: NodeModel) -> None:
        pool = self.pools[n.role]
        if len(pool) >= self.p.maxPoolSize:
            evicted = self.nodes[pool[self.lowest(n.role)[1]]]
            self._leave_pool(evicted)
            evicted.status = Status.STANDBY
            self.events.evicted.append((evicted.address, n.address))
        pool.append(n.address)
        n.status = Status.ACTIVE

    def _leave_pool(self, n: NodeModel) -> None:
        """Swap-and-pop: the last entry takes the leaving node's place."""
        pool = self.pools[n.role]
        index, last = pool.index(n.address), pool.pop()
        if index < len(pool):
            pool[index] = last

    def after_debit(self, n: NodeModel) -> None:
        """An Active node whose stake fell below minStake leaves its pool, Suspended."""
        if n.status == Status.ACTIVE and n.stake < self.p.minStake:
            self._leave_pool(n)
            n.status = Status.SUSPENDED
            self.events.suspended.append(n.address)

    # ------------------------------------------------------------------ registry

    def register(self, address: str, role: int, value: int, model: str) -> None:
        n = self.node(address)
        if role not in ROLES:
            raise ModelRevert("InvalidRole", role=role)
        if n.status not in (Status.NONE, Status.EXITED):
            raise ModelRevert("AlreadyRegistered", node=n.address)
        if value < self.p.minStake:
            raise ModelRevert("StakeBelowMinimum", stake=value, minStake=self.p.minStake)
        if not self.admits(role, value):
            raise ModelRevert("PoolFull", role=Role(role).label, maxPoolSize=self.p.maxPoolSize,
                              lowestStake=self.lowest(role)[0])
        if n.id == 0:
            self.node_count += 1
            n.id = self.node_count
            self.by_id[n.id] = n.address
        n.role, n.stake, n.model = role, value, model
        n.cost_us = n.cost_samples = n.declared_us = 0  # measured afresh; the cost commitment stays
        self._enter_pool(n)

    def add_stake(self, address: str, value: int) -> None:
        n = self.node(address)
        if n.status not in STAKED:
            raise ModelRevert("NotActive", node=n.address)
        n.stake += value
        if n.status == Status.ACTIVE or n.stake < self.p.minStake:
            return
        if self.admits(n.role, n.stake):
            self._enter_pool(n)
        else:
            n.status = Status.STANDBY  # topped up, but the full pool's lowest stake is still larger

    def request_exit(self, address: str) -> None:
        n = self.node(address)
        if n.status not in STAKED:
            raise ModelRevert("NotActive", node=n.address)
        if n.status == Status.ACTIVE:
            self._leave_pool(n)
        n.status = Status.EXITING
        n.unbonding_ends = self.tx_time + self.p.unbondingDelay
        n.exit_batch = self.batch_count

    def release_stake(self, address: str) -> None:
        n = self.node(address)
        if n.status != Status.EXITING:
            raise ModelRevert("NotExiting", node=n.address)
        if self.tx_time < n.unbonding_ends:
            raise ModelRevert("UnbondingNotOver", node=n.address, unbondingEnds=n.unbonding_ends)
        if self.drawn_count < n.exit_batch:
            raise ModelRevert("DrawsPending", node=n.address, exitBatch=n.exit_batch, drawnBatches=self.drawn_count)
        if n.open_batches:
            raise ModelRevert("NodeHasOpenBatches", node=n.address, openBatches=n.open_batches)
        n.balance += n.stake
        n.stake = 0
        n.status = Status.EXITED

    def withdraw(self, address: str, amount: int) -> None:
        n = self.node(address)
        if amount > n.balance:
            raise ModelRevert("InsufficientBalance", account=n.address, requested=amount, available=n.balance)
        n.balance -= amount

    # ------------------------------------------------------------------ declared costs

    def commit_cost(self, address: str, latency: int, salt: bytes) -> None:
        n = self.node(address)
        if n.status != Status.ACTIVE:
            raise ModelRevert("NotActive", node=n.address)
        epoch = self.epoch()
        if n.cost_commit is not None and n.cost_epoch == epoch:
            raise ModelRevert("CostAlreadyCommitted", node=n.address, epoch=epoch)
        n.cost_commit = (epoch, latency, salt)
        n.cost_epoch = epoch

    def reveal_cost(self, address: str, latency: int, salt: bytes) -> None:
        n = self.node(address)
        if n.status != Status.ACTIVE:
            raise ModelRevert("NotActive", node=n.address)
        if n.cost_commit is None:
            raise ModelRevert("NoCostCommitment", node=n.address)
        if self.epoch() != n.cost_epoch + 1:
            raise ModelRevert("CostRevealOutsideEpoch", node=n.address, commitEpoch=n.cost_epoch,
                              currentEpoch=self.epoch())
        if latency == 0:
            raise ModelRevert("LatencyOutOfRange", latencyUs=latency)
        if (latency, salt) != n.cost_commit[1:]:
            raise ModelRevert("CostCommitmentMismatch", node=n.address)
        n.cost_commit = None
        n.declared_us = latency  # a claim beside the measured cost: it never enters a reward
