"""Adversarial evaluator strategies (adaptive robust PoQ, arXiv 2601.21189): pure score maps.

Live evaluator agents apply them to their honest scores (`poq agent run --strategy`), and the
Monte Carlo and the robustness sweep (simulation/) apply the same maps to arrays of logged scores.

Each attack turns honest scores on the [0, 10] scale into reported ones and always stays in [0, 10]:

``noise:sigma=S``
    e + N(0, S), clipped to [0, 10] (default S = 2).
``boost:b=B``
    min(10, e + B): inflate every answer (default B = 3).
``sabotage:b=B`` or ``sabotage:const=C``
    max(0, e - B) (default B = 4), or the constant C whatever the answer.
``intermittent:p=P,inner=SPEC``
    with probability P the inner attack SPEC, else the honest score (default P = 0.3, inner boost:b=3).
    ``inner`` takes the rest of the spec, so it comes last and may itself be any spec.
``honest``
    the identity (no attack).

Everything works on numpy arrays of any shape at once; randomness comes only from the explicit
numpy Generator passed in, so a seed reproduces an attack. No I/O here: values in, values out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from offchain.errors import ConfigError
from offchain.protocol.types import SCORE_SCALE

FloatArray = npt.NDArray[np.float64]
STRATEGIES = ("honest", "noise", "boost", "sabotage", "intermittent")
ATTACKS = STRATEGIES[1:]


def noise(scores: FloatArray, rng: np.random.Generator, sigma: float = 2.0) -> FloatArray:
    """e + N(0, sigma), clipped to [0, 10]."""
    values = np.asarray(scores, dtype=np.float64)
    return np.clip(values + rng.normal(0.0, sigma, values.shape), 0.0, SCORE_SCALE)


def boost(scores: FloatArray, b: float = 3.0) -> FloatArray:
    """min(10, e + b)."""
    return np.minimum(SCORE_SCALE, np.asarray(scores, dtype=np.float64) + b)


def sabotage(scores: FloatArray, b: float = 4.0, const: float | None = None) -> FloatArray:
    """max(0, e - b), or the constant `const` (in [0, 10]) for every score when given."""
    values = np.asarray(scores, dtype=np.float64)
    if const is not None:
        return np.full(values.shape, float(const))
    return np.maximum(0.0, values - b)


def intermittent(scores: FloatArray, rng: np.random.Generator, p: float,
                 inner: Callable[[FloatArray, np.random.Generator], FloatArray]) -> FloatArray:
    """Each score independently: inner(e) with probability p, else e."""
    values = np.asarray(scores, dtype=np.float64)
    attack = rng.random(values.shape) < p
    return np.where(attack, inner(values, rng), values)


@dataclass(frozen=True)
class Strategy:
    """A parsed attack: `strategy(scores, rng)` gives the reported scores (same shape, in [0, 10])."""

    name: str
    params: dict[str, float] = field(default_factory=dict)
    inner: Strategy | None = None

    def __call__(self, scores: FloatArray, rng: np.random.Generator) -> FloatArray:
        if self.name == "noise":
            return noise(scores, rng, self.params["sigma"])
        if self.name == "boost":
            return boost(scores, self.params["b"])
        if self.name == "sabotage":
            return sabotage(scores, self.params.get("b", 0.0), self.params.get("const"))
        if self.name == "intermittent" and self.inner is not None:
            return intermittent(scores, rng, self.params["p"], self.inner)
        return np.asarray(scores, dtype=np.float64).copy()

    @property
    def spec(self) -> str:
        """The canonical spec string, which parse_strategy reads back to an equal Strategy."""
        parts = [f"{key}={value:g}" for key, value in self.params.items()]
        if self.inner is not None:
            parts.append(f"inner={self.inner.spec}")
        return self.name + (":" + ",".join(parts) if parts else "")


# name -> {parameter: (default, lo, hi)}; sabotage's b and const are exclusive (checked below)
_PARAMS: dict[str, dict[str, tuple[float | None, float, float]]] = {
    "honest": {},
    "noise": {"sigma": (2.0, 0.0, math.inf)},
    "boost": {"b": (3.0, 0.0, SCORE_SCALE)},
    "sabotage": {"b": (4.0, 0.0, SCORE_SCALE), "const": (None, 0.0, SCORE_SCALE)},
    "intermittent": {"p": (0.3, 0.0, 1.0)},
}
_DEFAULT_INNER = "boost:b=3"


def parse_strategy(spec: str) -> Strategy:
    """Parse ``name[:key=value,...]`` (see the module docstring); ConfigError with one line if bad."""
    text = spec.strip()
    name, _, rest = text.partition(":")
    name = name.strip()
    if name not in _PARAMS:
        raise ConfigError(f"unknown attack strategy {name!r} in {spec!r}; choose one of {', '.join(STRATEGIES)}")
    allowed = _PARAMS[name]
    given: dict[str, float] = {}
    inner: Strategy | None = None
    parts = rest.split(",") if rest.strip() else []
    for i, part in enumerate(parts):
        key, eq, value = part.partition("=")
        key = key.strip()
        if name == "intermittent" and key == "inner" and eq:
            inner_spec = ",".join([value, *parts[i + 1 :]])
            if not inner_spec.strip():
                raise ConfigError(f"empty inner strategy in {spec!r}")
            inner = parse_strategy(inner_spec)
            break
        if not eq or not key:
            raise ConfigError(f"bad parameter {part.strip()!r} in strategy {spec!r}; expected key=value")
        if key not in allowed:
            known = ", ".join([*allowed, *(["inner"] if name == "intermittent" else [])]) or "none"
            raise ConfigError(f"unknown parameter {key!r} for {name} in {spec!r}; known: {known}")
        if key in given:
            raise ConfigError(f"parameter {key!r} given twice in strategy {spec!r}")
        given[key] = _value(spec, key, value, *allowed[key][1:])
    if name == "sabotage" and "b" in given and "const" in given:
        raise ConfigError(f"sabotage takes b or const, not both, in {spec!r}")
    params: dict[str, float] = {}
    for key, (default, _, _) in allowed.items():
        if key in given:
            params[key] = given[key]
        elif default is not None and not (name == "sabotage" and key == "b" and "const" in given):
            params[key] = default
    if name == "intermittent" and inner is None:
        inner = parse_strategy(_DEFAULT_INNER)
    return Strategy(name, params, inner)


def _value(spec: str, key: str, text: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"parameter {key}={text.strip()!r} in strategy {spec!r} is not a number") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(f"parameter {key} in strategy {spec!r} must be in [{lo:g}, {hi:g}], got {text.strip()}")
    return value


def make_scalar_strategy(spec: str, seed: int | None = None) -> Callable[[float], float]:
    """A one-score-at-a-time attack for a live evaluator agent: `attack(score) -> reported score`.

    Parses `spec` now (ConfigError if bad); the returned function draws from its own Generator seeded
    with `seed`, so the same seed and the same score sequence reproduce the same reports.
    """
    strategy = parse_strategy(spec)
    rng = np.random.default_rng(seed)

    def attack(score: float) -> float:
        return float(strategy(np.array([float(score)]), rng)[0])

    return attack
