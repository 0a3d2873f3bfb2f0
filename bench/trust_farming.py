"""How often fair panels let trust farming look like it pays: the game of
tests/contract/test_mechanism_pools_exit.py::test_trust_whitewash_and_farming_do_not_pay, replayed
many times through offchain.protocol's draw (Sampling.pickPanel) and trust update (Trust.next).

Five evaluators of equal stake, K = 3, aggregation = trust with the robust per-task rule (the default
informative rule moves nobody in this game: agreeing on a constant carries no information); the first
two collude and always score 10, the other three score 5. On chain the panels come from block hashes,
so each test run is one sample of this game; here every seed is one. For each claim the test could
make, the share of seeds where it fails: the test asserts the one that never failed.

    .venv/bin/python bench/trust_farming.py [--batches 4] [--size 64] [--seeds 10000]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_abi import encode  # noqa: E402
from eth_utils import keccak  # noqa: E402

from offchain.protocol import Params, wad  # noqa: E402
from offchain.protocol.draw import pick_panel  # noqa: E402

EVALUATORS, COLLUDERS = 5, 2


def final_weights(params: Params, batches: int, size: int, seed: int) -> list[int]:
    """Every evaluator's trust weight after `batches` batches of `size` tasks drawn from `seed`."""
    weights = [params.trustInitial] * EVALUATORS
    for b in range(batches):
        batch_seed = keccak(encode(["uint256", "uint256"], [seed, b]))
        for t in range(size):
            word = int.from_bytes(keccak(encode(["bytes32", "uint256"], [batch_seed, t])), "big")
            seats = pick_panel([1] * EVALUATORS, EVALUATORS, params.k, word)
            scores = [10_000 if i < COLLUDERS else 5_000 for i in seats]
            moved = wad.trust_next(scores, [weights[i] for i in seats], 0, 1, params.trustRule,
                                   params.trustLambda, params.trustMin, params.trustMax)
            for i, weight in zip(seats, moved, strict=True):
                weights[i] = weight
    return weights


CLAIMS = {
    "each colluder below every honest node": lambda c, h: max(c) < min(h),
    "each colluder below the honest mean": lambda c, h: all(len(h) * x < sum(h) for x in c),
    "colluders' mean below the honest mean (asserted)": lambda c, h: len(h) * sum(c) < len(c) * sum(h),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=10_000)
    args = parser.parse_args()
    params = Params(k=3, aggregation=wad.TRUST, trustRule=wad.ROBUST)  # the per-task rule this game is about
    failed: Counter[str] = Counter()
    for seed in range(args.seeds):
        weights = final_weights(params, args.batches, args.size, seed)
        colluders, honest = weights[:COLLUDERS], weights[COLLUDERS:]
        for claim, holds in CLAIMS.items():
            failed[claim] += not holds(colluders, honest)
    print(f"{args.batches} batches x {args.size} tasks, {args.seeds} seeds:")
    for claim in CLAIMS:
        print(f"  {claim}: fails in {failed[claim]} ({100 * failed[claim] / args.seeds:.2f} %)")


if __name__ == "__main__":
    main()
