"""Gas per step and per full PoQ round for K = 1, 2, 3, on the real contract (embedded EVM).

Prints the first round on a fresh deployment (storage slots written for the first time) and a
steady-state round (every participant already has a balance), with empty input/output texts so
the figures exclude text calldata and log data; the marginal cost per text byte is printed apart.

    .venv/bin/python bench/gas.py [--json]
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

STEPS = ("open", "answer", "reference", "commit", "reveal", "finalize")


def _gas(receipts: dict[str, Any]) -> dict[str, int]:
    out = {}
    for step in STEPS:
        value = receipts.get(step)
        if value is None:
            continue
        out[step] = sum(r["gasUsed"] for r in value) if isinstance(value, list) else int(value["gasUsed"])
    return out


def _round(net: Devnet, k: int, reference: str | None, text: str = "") -> dict[str, int]:
    task_id, _, open_receipt = net.open_task(task_input=text, reference=reference)
    evaluators, answer_receipt = net.answer(task_id, output=text)
    receipts: dict[str, Any] = {"open": open_receipt, "answer": answer_receipt, "commit": [], "reveal": []}
    if reference is not None:
        receipts["reference"] = net.reveal_reference(task_id)
    for seat, evaluator in enumerate(evaluators):
        receipts["commit"].append(net.commit(task_id, evaluator, 6_000 + 1_000 * seat))
    for evaluator in evaluators:
        receipts["reveal"].append(net.reveal(task_id, evaluator))
    receipts["finalize"] = net.finalize(task_id)
    return _gas(receipts)


def measure(k: int, artifacts: Any, aggregation: str = "mean") -> dict[str, Any]:
    params = Params(k=k).with_overrides({"aggregation": aggregation})
    net = Devnet.create(
        embedded_web3(), params, n_inference=2, n_evaluators=3, deployments_dir=Path(tempfile.mkdtemp()),
        artifacts=artifacts, stake=5 * 10**18,
    )
    latencies = {c.sender: 1_000 * (i + 1) for i, c in enumerate(net.inference + net.evaluators)}
    net.report_costs(latencies)
    first = _round(net, k, reference=None)
    for _ in range(2):  # warm every participant's balance slot
        _round(net, k, reference="r")
    steady = _round(net, k, reference=None)
    steady_ref = _round(net, k, reference="r")
    kb = _round(net, k, reference=None, text="x" * 1024)
    per_byte = (kb["open"] + kb["answer"] - steady["open"] - steady["answer"]) / 2048
    return {"k": k, "first": first, "steady": steady, "steady_with_reference": steady_ref,
            "text_gas_per_byte": round(per_byte, 1), "transactions": 3 + 2 * k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="mean",
                        help="consensus mode; trust adds the weight updates to finalize")
    args = parser.parse_args()
    artifacts = compile_contracts()
    results = [measure(k, artifacts, args.aggregation) for k in (1, 2, 3)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'K':>2} {'round':<22}" + "".join(f"{s:>10}" for s in STEPS) + f"{'total':>10}{'txs':>5}")
    for r in results:
        for label in ("first", "steady", "steady_with_reference"):
            row = r[label]
            txs = r["transactions"] + (1 if "reference" in row else 0)
            cells = "".join(f"{row.get(s, 0):>10,}" for s in STEPS)
            print(f"{r['k']:>2} {label:<22}{cells}{sum(row.values()):>10,}{txs:>5}")
    print(f"text calldata + event data: ~{results[-1]['text_gas_per_byte']} gas per byte of input/output")
    print("base fee per transaction is 21,000 gas; 'first' writes fresh storage slots (22.1k gas each)")


if __name__ == "__main__":
    main()
