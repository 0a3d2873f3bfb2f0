"""Gas per task and per evaluation (seat) of a batch, for K = 1, 2, 3 and batch sizes 1, 16, 64, on the
real contract (embedded EVM), with the pool of the benchmarks (3 inference nodes, 3 evaluators).

Texts are excluded (one-character inputs, outputs and references) and their cost is measured apart,
per byte of text. Every row is a steady-state batch (every participant already has a balance).

- per task: the gas of all the batch's transactions (open, draw, answers, references, commits,
  reveals, finalize) divided by its tasks;
- per seat: the evaluators' own transactions (commits and reveals) divided by the seats, and, the
  stricter figure, the whole batch divided by its seats (tasks x K).

The deployment's rules are the defaults (the peer evaluator rule, quantile costs, the fixed fee) or,
with --rules paper, the paper's (Eqs. 3-5, min-max costs, the unpaid fee refunded); at K = 1 the peer
rule has no peer, so that row always runs the paper's evaluator rule.

    .venv/bin/python bench/gas.py [--json] [--aggregation trust] [--rules paper]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.compiler import compile_contracts  # noqa: E402
from deploy.devnet import Devnet  # noqa: E402
from offchain.chain.connect import embedded_web3  # noqa: E402
from offchain.protocol import AGGREGATIONS, Params  # noqa: E402

STEPS = ("open", "draw", "answer", "reference", "commit", "reveal", "finalize")
SIZES = (1, 16, 64)


def _gas(receipts: dict[str, Any]) -> dict[str, int]:
    out = {}
    for step in STEPS:
        value = receipts.get(step)
        if value is not None:
            out[step] = sum(r["gasUsed"] for r in value) if isinstance(value, list) else int(value["gasUsed"])
    return out


def _batch(net: Devnet, size: int, text: str = "x") -> dict[str, int]:
    result = net.play_batch(size, lambda t, j, e: 5_000 + 1_000 * j + t % 7, inputs=[text] * size,
                            outputs=text, references=[text] * size)
    return _gas(result["receipts"])


PAPER_RULES = {"evaluatorReward": "paper", "costRule": "minmax", "feeRule": "refund"}


def measure(k: int, size: int, artifacts: Any, aggregation: str, rules: str) -> dict[str, Any]:
    overrides = {"aggregation": aggregation, **(PAPER_RULES if rules == "paper" else {})}
    if k == 1:
        overrides["evaluatorReward"] = "paper"  # a seat without a peer: the peer rule needs k >= 2
    params = Params(k=k, maxBatchSize=max(SIZES), evaluatorReward=int(k > 1)).with_overrides(overrides)
    net = Devnet.create(embedded_web3(), params, n_inference=3, n_evaluators=3,
                        deployments_dir=Path(tempfile.mkdtemp()), artifacts=artifacts, stake=50 * 10**18)
    for _ in range(2):  # warm every participant's balance slot
        _batch(net, size)
    steady = _batch(net, size)
    long_text = _batch(net, size, text="x" * 1_024)
    text_bytes = 3 * 1_023 * size  # input, output, reference per task, above the one-byte baseline
    per_byte = (sum(long_text.values()) - sum(steady.values())) / text_bytes
    total = sum(steady.values())
    seats = size * k
    return {"k": k, "size": size, "steps": steady, "total": total, "per_task": total / size,
            "per_seat_evaluator_txs": (steady["commit"] + steady["reveal"]) / seats,
            "per_seat_all": total / seats, "text_gas_per_byte": round(per_byte, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="mean",
                        help="consensus mode; trust adds the weight updates to finalize")
    parser.add_argument("--rules", choices=("default", "paper"), default="default",
                        help="the default rules (peer, quantile, fixed) or the paper's")
    args = parser.parse_args()
    artifacts = compile_contracts()
    results = [measure(k, size, artifacts, args.aggregation, args.rules) for k in (1, 2, 3) for size in SIZES]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"aggregation {args.aggregation}, {args.rules} rules; 3 inference nodes, 3 evaluators; texts excluded")
    print(f"{'K':>2}{'batch':>6}" + "".join(f"{s:>11}" for s in STEPS)
          + f"{'per task':>10}{'per seat':>10}{'(all/seat)':>11}")
    for r in results:
        cells = "".join(f"{r['steps'].get(s, 0):>11,}" for s in STEPS)
        print(f"{r['k']:>2}{r['size']:>6}{cells}{r['per_task']:>10,.0f}{r['per_seat_evaluator_txs']:>10,.0f}"
              f"{r['per_seat_all']:>11,.0f}")
    by_byte = [r["text_gas_per_byte"] for r in results if r["size"] == max(SIZES)]
    print(f"texts (calldata + event data): ~{max(by_byte)} gas per byte of input, output and reference")
    print("per seat: the evaluators' commits and reveals per seat; (all/seat): the whole batch per seat; "
          "each transaction pays the 21,000-gas base fee")


if __name__ == "__main__":
    main()
