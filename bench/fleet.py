"""Finalized PoQ rounds per second on anvil: (a) the demo pool with real models, (b) the same pool
replaying the outputs and scores logged by (a) instead of running models (the paper's own method).

The chain part's share of a demo round is estimated as (replay seconds per round) / (demo seconds
per round): what is left of a round when model time is taken out.

    .venv/bin/python bench/fleet.py [--tasks 6] [--repeat 10] [--port 8599]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offchain.fleet.config import NodeSpec, load_config  # noqa: E402
from offchain.fleet.run import load_workload, run_fleet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=6, help="tasks for the live demo pool")
    parser.add_argument("--repeat", type=int, default=10, help="replay the logged tasks this many times")
    parser.add_argument("--port", type=int, default=8599)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="poq-bench-fleet-"))

    live_config = load_config(None, {"port": args.port})
    live = run_fleet(live_config, work / "live", deployments_dir=work / "deployments", n_tasks=args.tasks)
    live_rounds, live_s = len(live.tasks), live.timings["workload_s"]

    replay_config = load_config(None, {"port": args.port, "max_in_flight": 32})
    replay_config.inference = [
        NodeSpec(model=f"replay:{work / 'live' / 'generations.jsonl'}#{s.model}")
        for s in live_config.inference
    ]
    replay_config.evaluators = [
        NodeSpec(model=f"replay:{work / 'live' / 'scores.jsonl'}#{s.model}") for s in live_config.evaluators
    ]
    from offchain.fleet.report import write_report

    write_report(live)  # the logs the replay reads
    records = load_workload(live_config, args.tasks) * args.repeat
    replay = run_fleet(replay_config, work / "replay", deployments_dir=work / "deployments", records=records)
    replay_rounds, replay_s = len(replay.tasks), replay.timings["workload_s"]

    print(
        f"(a) demo pool, real models : {live_rounds:4d} rounds in {live_s:7.1f} s = {live_rounds / live_s:.3f} rounds/s"
    )
    print(
        f"(b) replayed outputs/scores: {replay_rounds:4d} rounds in {replay_s:7.1f} s = "
        f"{replay_rounds / replay_s:.3f} rounds/s"
    )
    share = (replay_s / replay_rounds) / (live_s / live_rounds)
    print(f"chain part of a demo round: {100 * share:.1f} % of its time (replay s/round over demo s/round)")
    print(
        f"agents ready: demo {live.timings['agents_ready_s']:.0f} s (model loading), "
        f"replay {replay.timings['agents_ready_s']:.0f} s; logs in {work}"
    )


if __name__ == "__main__":
    main()
