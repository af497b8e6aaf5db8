#!/usr/bin/env python
"""Validate the latency lookup table of each runtime on whole networks that were not used to build it.

For each runtime (ONNX Runtime, ExecuTorch/XNNPACK, LiteRT; --threads threads):
1. Build the table: measure every (layer, candidate block) of the search space in
   mobilezoo.bench.search_space once, in that runtime.
2. Calibrate: measure --calibration other whole networks (their own seed, none of them held out) and fit each
   block's cost as scale * (entry - overhead) + shift (mobilezoo.nas.latency_table.Calibration).
3. Sample --networks random architectures from the space (seeded, the same for every runtime); measure each
   whole network in that runtime and predict it from the table without running it.
4. Report Spearman rank correlation, RMSPE and the share within +-10%, plus a scatter plot.
Goal per runtime on this CPU, 1 thread: Spearman >= 0.95 and >= 80% within +-10%.
Every network runs with the latency weights rule (seeded synthetic weights, no all-zero layer).

    python benchmarks/lut_validation.py [--runtime onnxruntime --runtime executorch ...] [--networks 40] [--threads 1]
Writes benchmarks/results/lut_<runtime>_<threads>t.json (the table), lut_validation_<runtime>.{json,png} and the
summary lut_validation.md. A runtime whose results exist is skipped unless --force: the script resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import subprocess
import os
import random
import time

from tqdm import tqdm

from mobilezoo.bench.block_timing import ROUNDS, TABLE_RUNTIMES, measure_in_runtime
from mobilezoo.nas.latency_table import LatencyTable, fbnet_blocks, prediction_quality
from mobilezoo.bench.runtimes import _version, host_cpu
from mobilezoo.nas.validation_space import all_blocks_archs, sample
from mobilezoo.bench.weights import synthetic_weights
from mobilezoo.export.formats import RUNTIMES
from mobilezoo.fileio import atomic_path, write_json_atomic
from mobilezoo.models.fbnet import build_fbnet

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
CALIBRATION_SEED = 1000  # calibration networks: sample stream seed + 1000, weights seed 1000 + i
NAMES = {"onnxruntime": "ONNX Runtime", "executorch": "ExecuTorch (XNNPACK)", "tflite": "LiteRT"}


def validate(runtime: str, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    shape = (3, args.size, args.size)
    table = LatencyTable(runtime=runtime, threads=args.threads, host_cpu=host_cpu())
    for arch in tqdm(all_blocks_archs(args.size), desc=f"{runtime}: measuring blocks"):
        model = synthetic_weights(build_fbnet(arch), shape, seed=0)
        table.add(fbnet_blocks(model, shape))
    path = os.path.join(RESULTS, f"lut_{runtime}_{args.threads}t.json")
    if os.path.exists(path):  # keep the entries lut_zoo_coverage.py added for the zoo's models
        previous = LatencyTable.load(path)
        if (previous.runtime, previous.threads) == (table.runtime, table.threads):
            table.entries = {**previous.entries, **table.entries}
    table.save(path)
    rng = random.Random(args.seed)
    held_out = [sample(rng, args.size) for _ in range(args.networks)]
    calibration_rows = []
    if args.calibration:
        networks, times = [], []
        for index, arch in enumerate(tqdm(calibration_archs(args, held_out), desc=f"{runtime}: calibration networks")):
            model = synthetic_weights(build_fbnet(arch), shape, seed=CALIBRATION_SEED + index)
            networks.append(fbnet_blocks(model, shape))
            times.append(measure_in_runtime(model, (1, *shape), runtime, args.threads, warmup=10, iters=40))
            calibration_rows.append({"network": index, "blocks": len(networks[-1]), "measured_ms": round(times[-1], 4),
                                     "uncalibrated_ms": round(table.predict(networks[-1]), 4)})
        table.calibrate(networks, times)
        table.save(path)
    predicted, uncalibrated, measured, rows = [], [], [], []
    for index, arch in enumerate(tqdm(held_out, desc=f"{runtime}: held-out networks")):
        model = synthetic_weights(build_fbnet(arch), shape, seed=index)
        blocks = fbnet_blocks(model, shape)
        p = table.predict(blocks)
        raw = table.overhead_ms + table.block_sum(blocks)
        m = measure_in_runtime(model, (1, *shape), runtime, args.threads, warmup=10, iters=40)
        predicted.append(p)
        uncalibrated.append(raw)
        measured.append(m)
        rows.append({"network": index, "blocks": len(blocks), "predicted_ms": round(p, 4), "measured_ms": round(m, 4),
                     "error_pct": round(100 * (p - m) / m, 2), "uncalibrated_ms": round(raw, 4)})
    package = RUNTIMES[runtime].runtime_package
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": table.host_cpu,
              "runtime": runtime, "runtime_version": f"{package} {_version(package)}", "threads": args.threads,
              "input": [1, *shape], "table_entries": len(table.entries), "overhead_ms": table.overhead_ms,
              "weights": "synthetic (mobilezoo.bench.weights): seed 0 for the table's networks, seed i for held-out network i, "
                         f"seed {CALIBRATION_SEED} + i for calibration network i",
              "estimator": f"lowest median of {ROUNDS} rounds x 40 calls (after 10 warm-up calls)",
              "sample_seed": args.seed, "calibration": dataclasses.asdict(table.calibration),
              "calibration_networks": calibration_rows, "wall_seconds": round(time.perf_counter() - started, 1),
              "command": f"python benchmarks/lut_validation.py --runtime {runtime} --networks {args.networks} "
                         f"--threads {args.threads} --size {args.size} --seed {args.seed} --calibration {args.calibration}",
              "quality": prediction_quality(predicted, measured),
              "quality_uncalibrated": prediction_quality(uncalibrated, measured), "networks": rows}
    write_json_atomic(os.path.join(RESULTS, f"lut_validation_{runtime}.json"), record)
    plot(record)
    return record


FRESH = os.path.join(RESULTS, "lut_validation_fresh_registration.json")


def fresh(runtime: str, args: argparse.Namespace) -> dict:
    """The frozen method on a fresh held-out set: the table and its calibration as recorded (only blocks the new
    networks need are measured into it), networks drawn with the seed registered in ``FRESH`` before any was
    measured, none of them a network of the first validation or of the calibration."""
    started = time.perf_counter()
    with open(FRESH) as handle:
        registration = json.load(handle)
    shape = (3, args.size, args.size)
    path = os.path.join(RESULTS, f"lut_{runtime}_{args.threads}t.json")
    table = LatencyTable.load(path)
    first_rng = random.Random(args.seed)
    used = [sample(first_rng, args.size) for _ in range(args.networks)]
    used += calibration_archs(args, used)
    rng, held_out = random.Random(registration["seed"]), []
    while len(held_out) < registration["networks"]:
        arch = sample(rng, args.size)
        if arch not in used and arch not in held_out:
            held_out.append(arch)
    weights_seed = registration["weights_seed"]
    added = 0
    for index, arch in enumerate(held_out):  # blocks the fresh networks need (the table's own rule: seed 0 weights)
        added += table.add(fbnet_blocks(synthetic_weights(build_fbnet(arch), shape, seed=0), shape))
    if added:
        table.save(path)  # entries only: the calibration is the recorded one
    predicted, measured, rows = [], [], []
    for index, arch in enumerate(tqdm(held_out, desc=f"{runtime}: fresh held-out networks")):
        model = synthetic_weights(build_fbnet(arch), shape, seed=weights_seed + index)
        blocks = fbnet_blocks(model, shape)
        p = table.predict(blocks)
        m = measure_in_runtime(model, (1, *shape), runtime, args.threads, warmup=10, iters=40)
        predicted.append(p)
        measured.append(m)
        rows.append({"network": index, "blocks": len(blocks), "predicted_ms": round(p, 4), "measured_ms": round(m, 4),
                     "error_pct": round(100 * (p - m) / m, 2)})
    package = RUNTIMES[runtime].runtime_package
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": host_cpu(),
              "runtime": runtime, "runtime_version": f"{package} {_version(package)}", "threads": args.threads,
              "registration": registration, "blocks_added": added, "calibration": dataclasses.asdict(table.calibration),
              "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True,
                                           text=True).stdout.strip(),
              "command": f"python benchmarks/lut_validation.py --fresh --runtime {runtime}",
              "wall_seconds": round(time.perf_counter() - started, 1),
              "quality": prediction_quality(predicted, measured), "networks": rows}
    write_json_atomic(os.path.join(RESULTS, f"lut_validation_{runtime}_fresh.json"), record)
    return record


def calibration_archs(args: argparse.Namespace, held_out: list[dict]) -> list[dict]:
    """--calibration architectures from their own seeded stream, none equal to a held-out one."""
    rng, archs = random.Random(args.seed + CALIBRATION_SEED), []
    while len(archs) < args.calibration:
        arch = sample(rng, args.size)
        if arch not in held_out and arch not in archs:
            archs.append(arch)
    return archs


def plot(record: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r["measured_ms"] for r in record["networks"]]
    predicted = [r["predicted_ms"] for r in record["networks"]]
    quality = record["quality"]
    figure, axis = plt.subplots(figsize=(5, 5))
    if all("uncalibrated_ms" in r for r in record["networks"]) and record.get("calibration", {}).get("networks"):
        axis.scatter(measured, [r["uncalibrated_ms"] for r in record["networks"]], s=18, facecolors="none",
                     edgecolors="tab:grey", label="exact sums (uncalibrated)")
    axis.scatter(measured, predicted, s=18, label="table prediction")
    low, high = min(measured + predicted) * 0.9, max(measured + predicted) * 1.1
    axis.plot([low, high], [low, high], "k--", lw=0.8, label="y = x")
    axis.fill_between([low, high], [low * 0.9, high * 0.9], [low * 1.1, high * 1.1], alpha=0.15, label="±10%")
    axis.set_xlabel("measured latency (ms)")
    axis.set_ylabel("predicted from table (ms)")
    axis.set_title(f"{NAMES[record['runtime']]}\nSpearman {quality['spearman']:.3f}, "
                   f"{quality['within_10pct']:.0%} within ±10%")
    axis.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(RESULTS, f"lut_validation_{record['runtime']}.png"), dpi=110)
    plt.close(figure)


def summarize() -> None:
    """lut_validation.md from every runtime's recorded results."""
    lines = ["# Latency lookup tables: validation on held-out networks", "",
             "Per runtime: a table of every (layer, candidate block) of the search space measured once, then whole "
             "networks sampled from the space (none used to build the table) measured and predicted. "
             "Goal: Spearman ≥ 0.95 and ≥ 80% within ±10%.", "",
             "| runtime | version | threads | input | table entries | calibration | held-out networks | Spearman | RMSPE "
             "| within ±10% | uncalibrated: Spearman / within ±10% | goal | date | wall |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for runtime in TABLE_RUNTIMES:
        path = os.path.join(RESULTS, f"lut_validation_{runtime}.json")
        if not os.path.exists(path):
            lines.append(f"| {NAMES[runtime]} | not recorded yet: `python benchmarks/lut_validation.py --runtime {runtime}` "
                         "|  |  |  |  |  |  |  |  |  |  |  |  |")
            continue
        with open(path) as handle:
            r = json.load(handle)
        q = r["quality"]
        goal = q["spearman"] >= 0.95 and q["within_10pct"] >= 0.80
        c, raw = r.get("calibration") or {}, r.get("quality_uncalibrated")
        fitted = (f"block = {c['scale']:.3f} x (entry - overhead) {c['shift_ms']:+.4f} ms; fitted on {c['networks']} networks"
                  if c.get("networks") else "none (exact sums)")
        before = f"{raw['spearman']:.4f} / {raw['within_10pct']:.0%}" if raw else "-"
        lines.append(f"| {NAMES[runtime]} | {r['runtime_version']} | {r['threads']} | {'x'.join(map(str, r['input']))} "
                     f"| {r['table_entries']} | {fitted} | {q['networks']} | {q['spearman']:.4f} | {q['rmspe_pct']:.2f}% "
                     f"| {q['within_10pct']:.0%} | {before} | {'met' if goal else 'NOT met'} | {r['date'][:10]} "
                     f"| {r['wall_seconds']:.0f} s |")
    fresh_rows = []
    for runtime in TABLE_RUNTIMES:
        path = os.path.join(RESULTS, f"lut_validation_{runtime}_fresh.json")
        if os.path.exists(path):
            with open(path) as handle:
                r = json.load(handle)
            q = r["quality"]
            goal = q["spearman"] >= 0.95 and q["within_10pct"] >= 0.80
            fresh_rows.append(f"| {NAMES[runtime]} | {q['networks']} | {r['registration']['seed']} | {q['spearman']:.4f} "
                              f"| {q['rmspe_pct']:.2f}% | {q['within_10pct']:.0%} | {'met' if goal else 'NOT met'} "
                              f"| {r['date'][:10]} | {r['git_commit'][:10]} |")
    if fresh_rows:
        lines += ["", "**Fresh held-out set** (issue 31: the set above was re-validated while the estimator, calibration "
                  "and fade were added, so it is spent). The method frozen as recorded above; new networks drawn with "
                  "the seed registered in `lut_validation_fresh_registration.json` before any was measured, none of "
                  "them a network of the first set or of the calibration (`--fresh`):", "",
                  "| runtime | networks | seed | Spearman | RMSPE | within ±10% | goal | date | commit |",
                  "|---|---|---|---|---|---|---|---|---|", *fresh_rows]
    lines += ["", "Machine: the host CPU named in each JSON record. Raw per-network figures: `lut_validation_<runtime>.json`; "
              "scatter plots: `lut_validation_<runtime>.png`; the tables: `lut_<runtime>_1t.json`."]
    notes = os.path.join(RESULTS, "lut_validation_notes.md")  # the hand-written account of the runs, kept across reruns
    if os.path.exists(notes):
        with open(notes) as handle:
            lines += ["", handle.read().strip()]
    with atomic_path(os.path.join(RESULTS, "lut_validation.md")) as temporary:
        temporary.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", action="append", choices=TABLE_RUNTIMES,
                        help="runtime to validate (repeatable; default: all three)")
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration", type=int, default=8,
                        help="whole networks (not held out) to fit the table's calibration on; 0: exact sums")
    parser.add_argument("--force", action="store_true", help="re-measure runtimes that already have results")
    parser.add_argument("--fresh", action="store_true",
                        help="validate the recorded tables, unchanged, on the fresh held-out set registered in "
                             "results/lut_validation_fresh_registration.json (issue 31)")
    args = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    if args.fresh:
        for runtime in args.runtime or TABLE_RUNTIMES:
            if os.path.exists(os.path.join(RESULTS, f"lut_validation_{runtime}_fresh.json")) and not args.force:
                print(f"{runtime}: fresh set measured already")
                continue
            print(runtime, json.dumps(fresh(runtime, args)["quality"]))
        summarize()
        return
    for runtime in args.runtime or TABLE_RUNTIMES:
        if os.path.exists(os.path.join(RESULTS, f"lut_validation_{runtime}.json")) and not args.force:
            print(f"{runtime}: recorded already (pass --force to measure again)")
            continue
        record = validate(runtime, args)
        print(runtime, json.dumps(record["quality"]))
        summarize()
    summarize()


if __name__ == "__main__":
    main()
