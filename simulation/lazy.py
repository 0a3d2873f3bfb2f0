"""Lazy evaluators added to a run: they report without looking at the answer.

``constant:VALUE[@MS]``
    reports VALUE (in [0, 10]) on every seat; named ``constant-VALUE`` (e.g. ``constant-5.8``).
``random[@MS]``
    reports a fresh uniform score in [0, 10] on every seat, in the contract's 0.001 units, drawn from
    its own Generator seeded by the run's seed (numpy.random.default_rng([seed, 4])); named ``random``.

``@MS`` is the latency in milliseconds the cost rule prices (default: the mean of the run's
evaluators' latencies). A second evaluator of the same name is numbered (``random-2``). They are
appended to the run's evaluators as extra columns (simulation.montecarlo.simulate does it for
`SimConfig.lazy`); a constant's column holds its value, a random one's is NaN: it has no score of
an answer, only of a seat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError
from offchain.protocol.types import SCORE_SCALE
from simulation.inputs import SimInputs

CONSTANT, RANDOM = "constant", "random"
KINDS = (CONSTANT, RANDOM)
SPEC_HELP = "constant:VALUE[@MS] or random[@MS]"
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LazyEvaluator:
    """One lazy evaluator: `kind` constant (reporting `value`) or random; `latency_ms` None: the mean."""

    name: str
    kind: str
    value: float | None = None
    latency_ms: float | None = None


def parse_lazy(spec: str, taken: Sequence[str] = ()) -> LazyEvaluator:
    """Read one spec (module docstring); `taken`: names already used, so a repeat gets numbered."""
    text = spec.strip()
    body, at, latency_text = text.partition("@")
    latency = None
    if at:
        try:
            latency = float(latency_text)
        except ValueError:
            latency = math.nan
        if not (math.isfinite(latency) and latency >= 0):
            raise ConfigError(f"{spec!r}: the latency after '@' must be milliseconds >= 0, got {latency_text!r}")
    kind, colon, value_text = body.strip().partition(":")
    kind = kind.strip()
    if kind == RANDOM and not colon:
        base, value = RANDOM, None
    elif kind == CONSTANT and colon:
        try:
            value = float(value_text)
        except ValueError:
            value = math.nan
        if not 0.0 <= value <= SCORE_SCALE:  # NaN fails too
            raise ConfigError(f"{spec!r}: the constant must be a score in [0, {SCORE_SCALE:g}], got {value_text!r}")
        base = f"{CONSTANT}-{value:g}"
    else:
        raise ConfigError(f"bad lazy evaluator {spec!r}; expected {SPEC_HELP}")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return LazyEvaluator(name, kind, value, latency)


def parse_lazies(specs: Sequence[str], taken: Sequence[str] = ()) -> tuple[LazyEvaluator, ...]:
    """Every spec in order, numbering repeats; `taken` (the run's evaluators) may not be reused."""
    out: list[LazyEvaluator] = []
    for spec in specs:
        out.append(parse_lazy(spec, [*taken, *(x.name for x in out)]))
    return tuple(out)


def with_lazy(inputs: SimInputs, lazy: Sequence[LazyEvaluator]) -> SimInputs:
    """The inputs with one evaluator column per lazy evaluator appended (their order kept)."""
    if not lazy:
        return inputs
    names = [x.name for x in lazy]
    clash = sorted(set(names) & set(inputs.evaluators)) or sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(f"lazy evaluator name {clash[0]!r} is already taken; give it another spec")
    mean_ms = float(np.mean(inputs.evaluator_latency_ms))
    answered = inputs.answered
    columns = [np.where(answered, np.nan if x.value is None else x.value, np.nan) for x in lazy]
    latency = [mean_ms if x.latency_ms is None else x.latency_ms for x in lazy]
    return SimInputs(inputs.records, inputs.nodes, [*inputs.evaluators, *names],
                     np.concatenate([inputs.scores, np.stack(columns, axis=2)], axis=2),
                     inputs.node_latency_ms, np.append(inputs.evaluator_latency_ms, latency), inputs.f1)


def random_indices(extended: SimInputs, lazy: Sequence[LazyEvaluator]) -> list[int]:
    """The evaluator indices of the random lazy evaluators in `extended = with_lazy(inputs, lazy)`."""
    first = len(extended.evaluators) - len(lazy)
    return [first + i for i, x in enumerate(lazy) if x.kind == RANDOM]


def draw_random_seats(scores: FloatArray, seats: IntArray, indices: Sequence[int], seed: int) -> None:
    """Overwrite, in place, the seats (K, R) of the random evaluators with fresh uniform scores."""
    rng = np.random.default_rng([seed, 4])
    for m in indices:
        mine = seats == m
        scores[mine] = np.round(rng.random(int(mine.sum())) * SCORE_SCALE, 3)
