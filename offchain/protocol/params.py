"""Deployment parameters of the PoQ contract, validated once.

Field order and names equal the Solidity struct `IProofOfQuality.Params`, so a Params converts to
the constructor's ABI tuple by position. Reward weights are WAD fixed point (1e18 = 1.0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from eth_utils import to_checksum_address

from offchain.errors import ConfigError, closest
from offchain.protocol import wad
from offchain.protocol.wad import WAD

MAX_K = 3  # the contract stores at most three evaluators per task
MAX_POOL = 32  # active nodes per role the contract can hold (PoQBase.MAX_POOL)
MAX_BATCH = 256  # tasks per batch the contract can hold (PoQBase.MAX_BATCH)
AGGREGATIONS = ("mean", "median", "trimmed", "trust")  # index = the contract's aggregation id
CENTER_MODES = AGGREGATIONS[:3]  # the modes whose center needs no state (no trust weights)
TRUST_RULES = ("published", "robust")  # the per-task trust rules (the simulation's float trust runs these)
CHAIN_TRUST_RULES = (*TRUST_RULES, "informative")  # index = the contract's trustRule id
EVALUATOR_REWARDS = ("paper", "peer")  # index = the contract's evaluatorReward id
COST_RULES = ("minmax", "quantile")  # index = the contract's costRule id
FEE_RULES = ("refund", "fixed")  # index = the contract's feeRule id
MAX_BOND = 2**88 - 1  # wei: balances live in 88 bits
MAX_TRUST = 18 * WAD  # trust weights live in a uint64 slot


@dataclass(frozen=True)
class Params:
    alphaF: int = WAD  # inference reward weight on consensus quality Q (WAD)
    betaF: int = WAD // 2  # inference penalty weight on normalized cost C_F (WAD)
    alphaM: int = WAD  # evaluator reward weight on closeness 1 - d (WAD)
    betaM: int = 3 * WAD // 10  # evaluator penalty weight on normalized cost C_M (WAD)
    slashPenalty: int = WAD  # reward units debited from stake per missed answer or reveal (WAD)
    rewardUnit: int = 10**16  # wei paid per 1.0 of reward
    minStake: int = 10**18  # wei a node must stake to register; also the unit of sampling weight
    k: int = 3  # evaluators sampled per task, without replacement (1..3)
    aggregation: int = 0  # consensus: 0 mean, 1 median, 2 trimmed mean
    maxPoolSize: int = 32  # bound on active nodes per role (<= 32), so loops stay bounded
    answerWindow: int = 600  # seconds the assigned node has to answer
    referenceWindow: int = 120  # seconds the requester has to reveal the reference after the answer
    commitWindow: int = 300  # seconds evaluators have to commit (closes early when all did)
    revealWindow: int = 300  # seconds evaluators have to reveal (closes early when all did)
    unbondingDelay: int = 3600  # seconds between an exit request and the stake's release
    epochLength: int = 600  # seconds per declared-cost epoch (commit in e, reveal in e+1)
    trustRule: int = 2  # trust update when aggregation is trust: 0 published, 1 robust, 2 informative
    trustLambda: int = WAD // 2  # trust learning rate (WAD, <= 1)
    trustMin: int = WAD // 10  # lowest trust weight (WAD, in (0, 1])
    trustMax: int = 2 * WAD  # highest trust weight (WAD, in [1, 18])
    trustInitial: int = WAD // 10  # weight of an evaluator no trust round moved yet: trustMin, so a fresh
    # key gains nothing over one whose weight fell (WAD, in [trustMin, trustMax])
    costSmoothing: int = WAD // 5  # weight of a new observation in a node's measured cost (WAD, in (0, 1])
    maxBatchSize: int = 64  # tasks per batch (1..256)
    treasury: int = 0  # address (as an integer) receiving slashed stake; 0 = the deployer
    evaluatorReward: int = 1  # 0 paper (Eqs. 3-5, closeness to the centre), 1 peer (informativeness; k >= 2)
    costRule: int = 1  # 0 minmax (the paper's), 1 quantile (C over twice a stake-weighted quantile of the pool)
    costQuantile: int = WAD // 2  # the quantile of the quantile cost rule (WAD, in (0, 1)): the median
    feeRule: int = 1  # 0 refund (the unpaid fee back to the requester), 1 fixed (a fixed price per answered task)
    referenceBond: int = 10**16  # wei per task a requester with references escrows, forfeited if it withholds them

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"parameter {f.name} must be a non-negative integer, got {value!r}")
        if not 1 <= self.k <= MAX_K:
            raise ConfigError(f"parameter k must be between 1 and {MAX_K}, got {self.k}")
        if self.aggregation >= len(AGGREGATIONS):
            raise ConfigError(
                f"parameter aggregation must be one of {', '.join(AGGREGATIONS)}, got {self.aggregation}"
            )
        if not self.k <= self.maxPoolSize <= MAX_POOL:
            raise ConfigError(f"parameter maxPoolSize must be in [k, {MAX_POOL}], got {self.maxPoolSize}")
        if not 1 <= self.maxBatchSize <= MAX_BATCH:
            raise ConfigError(f"parameter maxBatchSize must be in [1, {MAX_BATCH}], got {self.maxBatchSize}")
        if not 0 < self.costSmoothing <= WAD:
            raise ConfigError(f"parameter costSmoothing must be in (0, 1] (in WAD), got {self.costSmoothing}")
        if self.treasury >= 2**160:
            raise ConfigError(f"parameter treasury must be an address, got {self.treasury}")
        for name in (
            "answerWindow",
            "referenceWindow",
            "commitWindow",
            "revealWindow",
            "unbondingDelay",
            "epochLength",
        ):
            if getattr(self, name) >= 2**32:
                raise ConfigError(f"parameter {name} must fit in uint32 seconds")
        if self.epochLength == 0:
            raise ConfigError("parameter epochLength must be at least 1 second")
        for name in ("alphaF", "betaF", "alphaM", "betaM", "slashPenalty"):
            if getattr(self, name) > 10**6 * WAD:
                raise ConfigError(f"parameter {name} must be at most 1e6 (in WAD), got {getattr(self, name)}")
        if self.trustRule >= len(CHAIN_TRUST_RULES):
            raise ConfigError(f"parameter trustRule must be one of {', '.join(CHAIN_TRUST_RULES)}, "
                              f"got {self.trustRule}")
        for name, names in (("evaluatorReward", EVALUATOR_REWARDS), ("costRule", COST_RULES), ("feeRule", FEE_RULES)):
            if getattr(self, name) >= len(names):
                raise ConfigError(f"parameter {name} must be one of {', '.join(names)}, got {getattr(self, name)}")
        if self.evaluatorReward == wad.PEER and self.k < 2:
            raise ConfigError("parameter evaluatorReward=peer needs k >= 2 (a seat's peers are the other seats of "
                              "its task); use evaluatorReward=paper with k=1")
        if not 0 < self.costQuantile < WAD:
            raise ConfigError(f"parameter costQuantile must be in (0, 1) (in WAD), got {self.costQuantile}")
        if self.referenceBond > MAX_BOND:
            raise ConfigError(f"parameter referenceBond must be at most 2^88 - 1 wei, got {self.referenceBond}")
        if self.trustLambda > WAD:
            raise ConfigError(f"parameter trustLambda must be at most 1 (in WAD), got {self.trustLambda}")
        if not 0 < self.trustMin <= WAD <= self.trustMax <= MAX_TRUST:
            raise ConfigError("parameters trustMin/trustMax need 0 < trustMin <= 1 <= trustMax <= 18 (in WAD), "
                              f"got {self.trustMin}, {self.trustMax}")
        if not self.trustMin <= self.trustInitial <= self.trustMax:
            raise ConfigError(f"parameter trustInitial must be in [trustMin, trustMax] = [{self.trustMin}, "
                              f"{self.trustMax}] (in WAD), got {self.trustInitial}")
        if self.rewardUnit > 10**30 or not 0 < self.minStake < 2**88:
            raise ConfigError("parameters rewardUnit/minStake are out of range (minStake must be above 0)")

    def as_tuple(self) -> tuple[Any, ...]:
        """The constructor's ABI tuple, in struct order (the treasury as a 0x address)."""
        return tuple(
            to_checksum_address(self.treasury.to_bytes(20, "big")) if f.name == "treasury" else getattr(self, f.name)
            for f in fields(self)
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def informed(self) -> bool:
        """Whether settlement measures informativeness (PoQBase.INFORMED): the peer rule pays it, the
        informative trust rule moves on it; only then does finalize check middles and emit EvaluatorInformed."""
        return self.evaluatorReward == wad.PEER or (self.aggregation == wad.TRUST and self.trustRule == wad.INFORMATIVE)

    @property
    def aggregation_name(self) -> str:
        return AGGREGATIONS[self.aggregation]

    def with_overrides(self, overrides: dict[str, Any]) -> Params:
        """Apply NAME=VALUE overrides; values may be ints, decimal reward weights or mode names."""
        known = {f.name for f in fields(self)}
        changes: dict[str, int] = {}
        for name, raw in overrides.items():
            if name not in known:
                close = closest(name, sorted(known))
                hint = f"; did you mean {close!r}?" if close else ""
                raise ConfigError(f"unknown parameter {name!r}{hint}")
            changes[name] = _parse_value(name, raw)
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Params:
        """From a manifest or the contract's `params()`: integers, and the treasury as an int or 0x address."""
        return cls(**{f.name: _as_int(data[f.name]) for f in fields(cls) if f.name in data})


WAD_FIELDS = frozenset(
    {"alphaF", "betaF", "alphaM", "betaM", "slashPenalty", "trustLambda", "trustMin", "trustMax", "trustInitial",
     "costSmoothing", "costQuantile"}
)
NAMED_FIELDS = {"aggregation": AGGREGATIONS, "trustRule": CHAIN_TRUST_RULES, "evaluatorReward": EVALUATOR_REWARDS,
                 "costRule": COST_RULES, "feeRule": FEE_RULES}


RAW_WAD_FROM = 10**6  # a WAD weight given as a number below this is a decimal (1 -> 1.0), not raw WAD


def _parse_value(name: str, raw: Any) -> int:
    """Integers, or an aggregation / trustRule name. WAD weights read a number below one million as a
    decimal ("1" -> 1.0, "0.5" -> 5e17: no meaningful weight is below 1e-12) and a larger integer as
    raw WAD ("500000000000000000", as `poq params` prints it)."""
    if isinstance(raw, bool):
        raise ConfigError(f"parameter {name}: expected a number, got {raw!r}")
    text = str(raw).strip()
    if name == "treasury":
        return _address_value(text)
    if text in NAMED_FIELDS.get(name, ()):
        return NAMED_FIELDS[name].index(text)
    if name in NAMED_FIELDS and not text.isdigit():
        raise ConfigError(f"parameter {name} must be one of {', '.join(NAMED_FIELDS[name])}, got {text!r}")
    if name in WAD_FIELDS:
        return _wad_value(name, text)
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"parameter {name}: expected an integer, got {text!r}") from None


def _as_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) and value.startswith("0x") else int(value)


def _address_value(text: str) -> int:
    """A 0x-prefixed 20-byte address (or 0 for the deployer) as an integer."""
    try:
        value = int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        raise ConfigError(f"parameter treasury: expected a 0x address, got {text!r}") from None
    if value < 0 or value >= 2**160 or (text.startswith("0x") and len(text) != 42):
        raise ConfigError(f"parameter treasury: expected a 0x address of 40 hex digits, got {text!r}")
    return value


def _wad_value(name: str, text: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"parameter {name}: cannot parse {text!r} as a number") from None
    if not number.is_finite():
        raise ConfigError(f"parameter {name}: cannot parse {text!r} as a number")
    scaled = number * WAD if abs(number) < RAW_WAD_FROM else number
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"parameter {name}: {text!r} has more than 18 decimals")
    return int(scaled)
