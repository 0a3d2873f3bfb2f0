"""Where a round's normalized costs C come from: the nodes' claims (the old contract) or the chain's clock.

Rule "claimed" (the contract before 38108dd, and the paper): every node reports its latency and C is
the min-max normalization of the reports over the role's pool. An honest node reports its profiled
latency, so with no liar this is the paper's Table 4. A `Liar` reports `claim_us` instead (default
1 µs, the smallest report the old contract accepted), which moves its own C to 0 and stretches the
range under everyone else: the deviation `simulation.lying` prices.

Rule "measured" (the contract now, libraries/Costs.sol): C comes from response times the contract
reads off block timestamps; a claim is only checked against them, so a liar's report changes nothing.
The model, per batch of `batch_size` consecutive rounds (a round is one task; the last batch may be
shorter), for each participant with n items in the batch (tasks answered, or seats held), true
latency L seconds per item (costs.json) and a common inclusion delay D seconds:

    elapsed = floor(u + n L + D)            whole seconds between the two block timestamps
    observed = wad.per_item_us(elapsed, n)  microseconds per item (Costs.perItemUs)
    cost = wad.smooth_cost(cost, measured, observed, costSmoothing)   (Costs.smooth)

u ~ U[0, 1) is where the start instant falls within its second, fresh per observation: the
contract's own premise that averaging resolves sub-second costs ("the open and commit instants fall
anywhere within a second"). With u fixed instead (perfectly aligned one-second blocks), an
evaluator's 15-98 ms per seat would never move the count at all. D stands for the transaction's
inclusion (and, for answers, the draw that sits between the open and the answer). In a batch of one
it is common to every node of a role and cancels in the min-max normalization; with larger batches a
node holding fewer items carries more of it per item, as on chain. A batch settles with C =
wad.normalized_cost over the role's measured nodes after the batch's own observations, as
PoQSettlement reads them. All of it is integer arithmetic on the contract's units; only u is random,
drawn from its own Generator, so the rounds sampled are the same under either rule.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError, closest
from offchain.protocol import floats, wad

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CLAIMED, MEASURED = "claimed", "measured"
COST_RULES = (CLAIMED, MEASURED)
MIN_CLAIM_US, MAX_CLAIM_US = 1, wad.MAX_COST_US  # revealCost's range: 0 reverts, uint32 above
DEFAULT_CLAIM_US = MIN_CLAIM_US


@dataclass(frozen=True)
class Liar:
    """A node (inference node or evaluator, by its name in the run) that reports `claim_us` as its latency.

    A name that is both an inference node and an evaluator lies in both roles.
    """

    name: str
    claim_us: int = DEFAULT_CLAIM_US


@dataclass(frozen=True)
class CostConfig:
    """The cost rule, its liars and the measured model's chain (see the module docstring)."""

    rule: str = CLAIMED
    liars: tuple[Liar, ...] = ()
    inclusion_delay_s: float = 1.0  # D: seconds a transaction takes to land, common to every node
    batch_size: int = 1  # rounds per batch, so per observation window
    smoothing: float = 0.2  # costSmoothing: weight of a new observation (the contract's default WAD / 5)

    def smoothing_wad(self) -> int:
        """costSmoothing in WAD, the decimal read exactly (0.2 -> 2e17)."""
        from decimal import Decimal

        return int(Decimal(repr(float(self.smoothing))) * wad.WAD)


def parse_liar(spec: str, names: Collection[str]) -> Liar:
    """`NAME` or `NAME:CLAIM_US`; a spec that is a known name as a whole is a name (names may hold ':')."""
    spec = spec.strip()
    name, claim = spec, str(DEFAULT_CLAIM_US)
    if spec not in names and ":" in spec:
        name, claim = spec.rsplit(":", 1)
    if name not in names:
        hint = closest(name, sorted(names))
        raise ConfigError(f"--liar: unknown node {name!r}" + (f"; did you mean {hint!r}?" if hint else
                                                              f"; choose one of {', '.join(sorted(names))}"))
    try:
        value = int(claim)
    except ValueError:
        value = None
    if value is None or not MIN_CLAIM_US <= value <= MAX_CLAIM_US:
        raise ConfigError(f"--liar {name}: the claim must be whole microseconds in [{MIN_CLAIM_US}, "
                          f"{MAX_CLAIM_US}] (the contract's uint32 report), got {claim!r}")
    return Liar(name, value)


def check_costs(config: CostConfig, nodes: Sequence[str], evaluators: Sequence[str]) -> None:
    """ConfigError for a bad rule, liar or model setting (one line each)."""
    if config.rule not in COST_RULES:
        raise ConfigError(f"unknown cost rule {config.rule!r}; choose one of {', '.join(COST_RULES)}")
    known = set(nodes) | set(evaluators)
    for liar in config.liars:
        parse_liar(f"{liar.name}:{liar.claim_us}", known)
    if not (math.isfinite(config.inclusion_delay_s) and 0 <= config.inclusion_delay_s <= 3600):
        raise ConfigError(f"inclusion delay must be in [0, 3600] seconds, got {config.inclusion_delay_s:g}")
    if not 1 <= config.batch_size <= 256:
        raise ConfigError(f"batch size must be in [1, 256] (the contract's MAX_BATCH), got {config.batch_size}")
    if not 0 < config.smoothing <= 1 or config.smoothing_wad() == 0:
        raise ConfigError(f"cost smoothing must be in (0, 1], got {config.smoothing:g}")


def normalized_costs(latency_ms: FloatArray) -> FloatArray:
    """Min-max normalized cost per node of one role's pool (floats.normalized_cost)."""
    if len(latency_ms) == 0:
        return np.zeros(0)
    lo, hi = float(latency_ms.min()), float(latency_ms.max())
    return np.array([floats.normalized_cost(float(x), lo, hi) for x in latency_ms], dtype=np.float64)


def normalize(us: npt.NDArray[np.int64], lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> FloatArray:
    """floats.normalized_cost elementwise (broadcasting), on integer microseconds."""
    x, a, b = (np.asarray(v, dtype=np.float64) for v in (us, lo, hi))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.minimum(1.0, np.maximum(0.0, (x - a) / (b - a)))
    return np.where(b <= a, 0.0, c)


def liar_claims(liars: Sequence[Liar], names: Sequence[str]) -> dict[int, int]:
    """{index in `names`: claim in µs} for the liars of one role (the last spec of a name wins)."""
    index = {name: i for i, name in enumerate(names)}
    return {index[liar.name]: liar.claim_us for liar in liars if liar.name in index}


def latency_us(latency_ms: FloatArray) -> IntArray:
    """Latencies in ms as whole microseconds, the unit of the contract's costs (uint32)."""
    values = np.rint(np.asarray(latency_ms, dtype=np.float64) * 1000.0)
    if len(values) and not (values.min() >= 0 and values.max() <= MAX_CLAIM_US):
        raise ConfigError(f"latency {values.max():.0f} us does not fit the contract's uint32 costs")
    return values.astype(np.int64)


@dataclass(frozen=True)
class RoleCosts:
    """One role's costs: C per job, and in the contract's units for the exact settlement."""

    c: FloatArray  # shaped like `who`: C of each job
    us: IntArray  # shaped like `who`: the cost (µs) the job was priced at
    lo: IntArray  # (R,) the role's range at the job's settlement
    hi: IntArray
    norm: FloatArray  # (n,) per node: its C (claimed) or the mean C over its jobs (measured; NaN: none)
    basis_ms: FloatArray  # (n,) what was priced: the claim, or the mean measured cost over its jobs

    def wad(self, index: tuple[int, ...]) -> int:
        """The normalized WAD cost of one job, as the contract computes it."""
        return wad.normalized_cost(True, int(self.us[index]), int(self.lo[index[-1]]), int(self.hi[index[-1]]))


def claimed_costs(latency_ms: FloatArray, claims: dict[int, int], who: IntArray) -> RoleCosts:
    """Costs from reports: honest nodes report their latency, liars their claim."""
    reported_ms = np.asarray(latency_ms, dtype=np.float64).copy()
    reported_us = latency_us(latency_ms)
    for i, claim in claims.items():
        reported_ms[i], reported_us[i] = claim / 1000.0, claim
    norm = normalized_costs(reported_ms)
    rounds = who.shape[-1]
    lo = np.full(rounds, reported_us.min() if len(reported_us) else 0, dtype=np.int64)
    hi = np.full(rounds, reported_us.max() if len(reported_us) else 0, dtype=np.int64)
    return RoleCosts(norm[who], reported_us[who], lo, hi, norm, reported_ms)


def measured_costs(latency_ms: FloatArray, who: IntArray, config: CostConfig, rng: np.random.Generator) -> RoleCosts:
    """Costs the contract measures (module docstring): `who` is (R,) or (K, R) node indices per round."""
    n = len(latency_ms)
    rounds = who.shape[-1]
    batch_of = np.arange(rounds, dtype=np.int64) // config.batch_size
    n_batches = int(batch_of[-1]) + 1
    items = np.bincount((np.broadcast_to(batch_of, who.shape) * n + who).ravel(),
                        minlength=n_batches * n).reshape(n_batches, n)
    acted = items > 0
    n_items = items[acted]  # batch-major: every batch's observations before the next batch's
    seconds = np.asarray(latency_ms, dtype=np.float64) / 1000.0
    node_of = np.broadcast_to(np.arange(n), items.shape)[acted]
    elapsed = np.floor(rng.random(len(n_items)) + n_items * seconds[node_of] + config.inclusion_delay_s)
    observed = np.minimum(elapsed.astype(np.int64) * 10**6 // n_items, wad.MAX_COST_US)
    cost = np.full(items.shape, -1, dtype=np.int64)  # -1: not measured in this batch
    alpha = config.smoothing_wad()
    for f in range(n):
        rows = np.flatnonzero(acted[:, f])
        current, smoothed = 0, []
        for k, value in enumerate(observed[node_of == f].tolist()):
            current = wad.smooth_cost(current, k > 0, value, alpha)
            smoothed.append(current)
        cost[rows, f] = smoothed
    last = np.maximum.accumulate(np.where(acted, np.arange(n_batches)[:, None], -1), axis=0)
    cost = np.where(last >= 0, np.take_along_axis(cost, np.maximum(last, 0), axis=0), -1)  # carried forward
    measured = cost >= 0
    lo_b = np.where(measured, cost, np.iinfo(np.int64).max).min(axis=1)
    hi_b = cost.max(axis=1)
    lo, hi = lo_b[batch_of], hi_b[batch_of]
    us = cost[batch_of, who]
    c = normalize(us, lo, hi)
    jobs = np.bincount(who.ravel(), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.bincount(who.ravel(), weights=c.ravel(), minlength=n) / jobs
        basis = np.bincount(who.ravel(), weights=us.ravel().astype(np.float64), minlength=n) / jobs / 1000.0
    return RoleCosts(c, us, lo, hi, norm, basis)


def role_costs(config: CostConfig, latency_ms: FloatArray, names: Sequence[str], who: IntArray,
               rng: np.random.Generator) -> RoleCosts:
    """One role's costs under `config.rule` (`who`: the node of each job, (R,) or (K, R))."""
    if config.rule == MEASURED:
        return measured_costs(latency_ms, who, config, rng)
    return claimed_costs(latency_ms, liar_claims(config.liars, names), who)
