"""Fault injection at full size (issue 19): each case a fleet of replaying agents (2 inference nodes, 3
evaluators, K = 3, batches of 8) on its own anvil, settling 24 tasks through one fault:

    reorg           anvil_reorg of depth 2, 3, 4, 5 during the workload (orphaned txs lost / resent)
    reorg-commit    a depth-2 reorg right after an evaluator's commitScores lands
    reorg-finalize  a depth-2 reorg right after the requester's finalize lands
    drop            anvil --no-mining, a block a second, anvil_dropAllTransactions 6 times
    outage          anvil stopped (SIGTERM, --state dumped) for 20 s, restarted on its port
    fee-spike       base fee 20 gwei, then 500 gwei held 45 s
    interval-2      anvil --block-time 2
    interval-12     anvil --block-time 12

Every case must settle every task, end with 0 in escrow, pass the exact audit (poq.fleet.audit), and
no agent may exit or log a traceback. Per case it prints the seconds from the fault's end to the last
settlement (on the canonical chain). Agents replay docs/results/run-400, so no model time is involved.

    .venv/bin/python bench/faults.py                       # every case, 24 tasks each
    .venv/bin/python bench/faults.py --case outage --case drop --tasks 24
    .venv/bin/python bench/faults.py --size small --tasks 8  # what CI runs (tests/integration/test_faults.py)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poq.fleet.faults import ALL_CASES, IN_FLIGHT, PACE, CaseResult, fault_cases, run_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = list(fault_cases("full"))
    parser.add_argument("--case", action="append", choices=names, help="run only this case (repeatable); "
                        "`none` is a control run without a fault")
    parser.add_argument("--tasks", type=int, default=24, help="tasks per case (default 24)")
    parser.add_argument("--size", choices=("full", "small"), default="full",
                        help="the faults' size: full (20 s outage, 45 s spike, ...) or CI's small one")
    parser.add_argument("--pace", type=float, default=PACE,
                        help=f"generators answer in this fraction of the logged time (default {PACE:g}; 0: at once)")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT, help="batches the requester keeps open")
    parser.add_argument("--limit", type=float, default=None, help="seconds per case (default: the case's own)")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a new temp dir)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print what each injector did")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = args.work or Path(tempfile.mkdtemp(prefix="poq-bench-faults-"))
    cases = fault_cases(args.size)
    selected = args.case or list(ALL_CASES)
    print(f"fault injection ({args.size} size), {args.tasks} tasks per case, 2 replaying inference nodes + "
          f"3 replaying evaluators, K = 3, batches of 8; work dir {work}", flush=True)
    results: list[CaseResult] = []
    started = time.monotonic()
    for name in selected:
        result = run_case(cases[name], work, n_tasks=args.tasks, limit_s=args.limit, pace=args.pace,
                          in_flight=args.in_flight)
        results.append(result)
        print(result.line(), flush=True)
        if args.verbose or not result.ok:
            print(f"    plan: {result.plan}")
            for note in result.notes:
                print(f"    {note}")
            print(f"    logs: {result.run_dir}", flush=True)
    passed = [r.name for r in results if r.ok]
    failed = [r.name for r in results if not r.ok]
    print(f"summary: {len(passed)}/{len(results)} cases passed in {time.monotonic() - started:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
