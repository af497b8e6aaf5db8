#!/usr/bin/env python
"""Speed-up of a sweep with 2 Ray workers over 1 on this machine: the same first --trials trials, timed side by side.

Each run starts its own local Ray (the start is part of the wall time a user sees, so it is counted) and trains
into a fresh temporary folder. Trials pin one thread each, so 2 workers use the 2 cores of this machine.

    python benchmarks/sweep_speedup.py [--config configs/sweeps/resnet_vs_vanilla_fmnist.yaml] [--trials 16]
Writes benchmarks/results/design_spaces/speedup.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import tempfile
import time

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import write_json_atomic
from mobilezoo.sweep import SweepConfig, run_sweep

HERE = os.path.dirname(os.path.abspath(__file__))


def timed_run(config: SweepConfig, workers: int, trials: int) -> dict:
    import ray

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        outcome = run_sweep(config, folder, workers=workers, progress=False, max_trials=trials)
        wall = time.perf_counter() - started
    ray.shutdown()
    return {"workers": workers, "trials": outcome.ran, "ok": outcome.ok, "wall_seconds": round(wall, 2),
            "seconds_per_trial": round(wall / outcome.ran, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.path.join(HERE, "..", "configs", "sweeps", "resnet_vs_vanilla_fmnist.yaml"))
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    config = SweepConfig.from_file(args.config)
    # interleave the spaces so both runs see the same mix of small and large networks
    config = dataclasses.replace(config, samples=args.trials // len(config.spaces))
    runs = [timed_run(config, workers, args.trials) for workers in (1, 2)]
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": host_cpu(),
              "cpus": os.cpu_count(), "config": os.path.relpath(args.config, os.path.join(HERE, "..")),
              "command": f"python benchmarks/sweep_speedup.py --trials {args.trials}", "runs": runs,
              "speedup_2_vs_1": round(runs[0]["wall_seconds"] / runs[1]["wall_seconds"], 3)}
    out = os.path.join(HERE, "results", "design_spaces", "speedup.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json_atomic(out, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
