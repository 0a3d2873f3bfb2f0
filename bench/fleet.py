"""Settled tasks per second on anvil for a fleet of replaying agents (3 inference nodes, 3 evaluators,
K = 3), with events polled over HTTP and pushed over a websocket, and a stress run whose every
settlement is audited against offchain.protocol.

Replaying agents answer and score from the logs of the 400-task reproduction run
(docs/results/run-400: every generator's answer to every record, every evaluator's score of each), so
the figures are the chain part of the protocol (transactions, events, agents), not model time.

    .venv/bin/python bench/fleet.py [--tasks 1280] [--batch-size 64] [--in-flight 16] [--stress 10000]
    .venv/bin/python bench/fleet.py --live 9     # also the demo pool with real models, for comparison
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.localchain import chain_down  # noqa: E402
from offchain.data import load  # noqa: E402
from poq.fleet.audit import audit  # noqa: E402
from poq.fleet.config import FleetConfig, NodeSpec, load_config  # noqa: E402
from poq.fleet.run import run_fleet  # noqa: E402
from simulation.pipeline.replay_logs import write_replay_logs  # noqa: E402

RUN_400 = Path(__file__).resolve().parents[1] / "docs" / "results" / "run-400"
GENERATORS = ("smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b")
EVALUATORS = ("minilm-l6", "mpnet-base", "ce-minilm-l12")


def replay_config(work: Path, port: int, transport: str, batch_size: int, in_flight: int) -> FleetConfig:
    generations, scores, _ = write_replay_logs(RUN_400, work / "replay-logs")
    config = load_config(None, {"port": port, "transport": transport, "batch_size": batch_size,
                                "max_in_flight": in_flight, "params": {"k": 3, "maxBatchSize": batch_size}})
    config.inference = [NodeSpec(model=f"replay:{generations}#{m}") for m in GENERATORS]
    config.evaluators = [NodeSpec(model=f"replay:{scores}#{m}") for m in EVALUATORS]
    return config


def run(label: str, config: FleetConfig, records: list[Any], work: Path, *, check: bool = False) -> None:
    started = time.monotonic()
    result = run_fleet(config, work / label, deployments_dir=work / "deployments", records=records)
    settled, seconds = len(result.tasks), result.timings["workload_s"]
    print(f"{label:<28} {settled:6d} tasks in {seconds:7.1f} s = {settled / seconds:7.1f} tasks/s "
          f"(batches of {config.batch_size}, {config.max_in_flight} in flight; agents ready in "
          f"{result.timings['agents_ready_s']:.0f} s)", flush=True)
    if check:
        report = audit(result.client)
        print(f"{'':<28} {report.summary()} ({time.monotonic() - started:.0f} s in all)", flush=True)
        if not report.ok or report.tasks != len(records):
            raise SystemExit(f"stress run failed: {report.tasks} of {len(records)} tasks audited")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1280, help="tasks per throughput run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--in-flight", type=int, default=16, help="batches the requester keeps open")
    parser.add_argument("--stress", type=int, default=0, help="also a run of this many tasks, audited")
    parser.add_argument("--live", type=int, default=0, help="also the demo pool with real models, N tasks")
    parser.add_argument("--port", type=int, default=8599)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="poq-bench-fleet-"))
    records = load(RUN_400 / "tasks.jsonl")

    def repeat(n: int) -> list[Any]:
        return (records * (n // len(records) + 1))[:n]

    print(f"anvil, 3 replaying inference nodes + 3 replaying evaluators, K = 3; work dir {work}")
    try:
        _runs(args, work, repeat)
    finally:  # the runs share one anvil on the port; leave none behind
        chain_down(args.port)


def _runs(args: argparse.Namespace, work: Path, repeat: Any) -> None:
    for transport in ("http", "ws"):
        config = replay_config(work, args.port, transport, args.batch_size, args.in_flight)
        run(f"replay, events over {transport}", config, repeat(args.tasks), work, check=True)
    if args.stress:
        config = replay_config(work, args.port, "ws", args.batch_size, args.in_flight)
        run(f"stress, {args.stress} tasks", config, repeat(args.stress), work, check=True)
    if args.live:
        live = load_config(None, {"port": args.port})
        run("demo pool, real models", live, _live_records(live, args.live), work)


def _live_records(config: FleetConfig, n: int) -> list[Any]:
    from poq.fleet.run import load_workload

    return load_workload(config, n)


if __name__ == "__main__":
    main()
