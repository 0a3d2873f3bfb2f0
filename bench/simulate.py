"""Monte Carlo simulation speed: rounds per second of simulation.montecarlo.simulate.

Synthetic inputs shaped like the paper's study (200 records, 5 inference nodes, 3 evaluators, K = 3);
the best of a few repeats per aggregation mode. Prints figures; asserts nothing. The trust-weighted
modes loop over rounds (their weights are sequential), so they run fewer rounds (--trust-rounds), and so
does the measured cost rule (mean aggregation; its moving averages are integer loops over each node's
observations).

    .venv/bin/python bench/simulate.py [--rounds 1000000] [--trust-rounds 100000] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.protocol import AGGREGATIONS  # noqa: E402
from simulation.costs import MEASURED, CostConfig  # noqa: E402
from simulation.inputs import SimInputs  # noqa: E402
from simulation.montecarlo import TRUST_RULES, SimConfig, TrustConfig, simulate  # noqa: E402

NODE_MS = [1108.0, 1077.7, 2409.3, 2320.6, 1470.1]  # the paper's Table 4 latencies
EVALUATOR_MS = [1.0, 5.9, 0.9]


def synthetic_inputs(n_records: int = 200, seed: int = 0) -> SimInputs:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n_records, len(NODE_MS), len(EVALUATOR_MS))) * 10, 3)
    return SimInputs([f"r{i}" for i in range(n_records)], [f"node{i}" for i in range(len(NODE_MS))],
                     [f"eval{i}" for i in range(len(EVALUATOR_MS))], scores,
                     np.array(NODE_MS), np.array(EVALUATOR_MS))


def rounds_per_second(inputs: SimInputs, config: SimConfig, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        simulate(inputs, config)
        best = min(best, time.perf_counter() - began)
    return config.rounds / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--trust-rounds", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    inputs = synthetic_inputs()
    simulate(inputs, SimConfig(rounds=1000, k=args.k))  # warm-up
    figures = {mode: rounds_per_second(inputs, SimConfig(rounds=args.rounds, k=args.k, aggregation=mode),
                                       args.repeats) for mode in AGGREGATIONS}
    for rule in TRUST_RULES:
        config = SimConfig(rounds=args.trust_rounds, k=args.k, aggregation="trust", trust=TrustConfig(rule=rule))
        figures[f"trust-{rule}"] = rounds_per_second(inputs, config, args.repeats)
    measured = SimConfig(rounds=args.trust_rounds, k=args.k, costs=CostConfig(rule=MEASURED))
    figures["mean, measured"] = rounds_per_second(inputs, measured, args.repeats)
    if args.json:
        print(json.dumps({"rounds": args.rounds, "trust_rounds": args.trust_rounds, "k": args.k,
                          "rounds_per_s": figures}))
        return
    print(f"Monte Carlo, {args.rounds:,} rounds, K = {args.k}, 200 records x 5 nodes x 3 evaluators "
          f"(best of {args.repeats}):")
    for mode, rate in figures.items():
        print(f"  {mode:<16} {rate:>14,.0f} rounds/s")


if __name__ == "__main__":
    main()
