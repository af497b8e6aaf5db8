#!/usr/bin/env python
"""Extend the shipped latency table to every FBNet-family model at its native resolution, then check it.

1. Load the table `lut_validation.py` built over the search space (results/lut_<runtime>_1t.json), with its
   calibration (fitted on whole networks of the search space, none of them a zoo model).
2. For each registered FBNet-family model: build it with the latency weights rule (no all-zero layer) and
   measure every block the table lacks (--runtime, --threads). --remeasure first drops the zoo blocks outside
   the search space, so they are measured again with the current estimator (mobilezoo.bench.block_timing).
3. Measure each whole model in that runtime and compare with the table's prediction, calibrated and as the
   exact sum (the blocks of a zoo model are measured in isolation, the model as a whole: the same check as
   the held-out validation).

    python benchmarks/lut_zoo_coverage.py [--threads 1] [--remeasure]
Writes the extended table in place and results/lut_zoo_coverage.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import time

from tqdm import tqdm

import mobilezoo
from mobilezoo.bench.block_timing import ROUNDS, TABLE_RUNTIMES, measure_in_runtime
from mobilezoo.nas.latency_table import LatencyTable, fbnet_blocks, prediction_quality
from mobilezoo.nas.validation_space import all_blocks_archs
from mobilezoo.bench.weights import representative_model, synthetic_weights
from mobilezoo.models.fbnet import build_fbnet
from mobilezoo.fileio import atomic_path, write_json_atomic

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runtime", default="onnxruntime", choices=TABLE_RUNTIMES)
    parser.add_argument("--remeasure", action="store_true",
                        help="measure the zoo's blocks again (those outside the search space)")
    parser.add_argument("--space-size", type=int, default=128, help="the input size lut_validation.py built the table at")
    args = parser.parse_args()
    path = os.path.join(HERE, "results", f"lut_{args.runtime}_{args.threads}t.json")
    table = LatencyTable.load(path)
    before = len(table.entries)
    started = time.perf_counter()
    names = [n for n in mobilezoo.list_models() if mobilezoo.get_pretrained_cfg(n).family == "fbnet"]
    models = {}
    for name in names:
        model = representative_model(name)  # the latency rule: trained weights, else synthetic without zero layers
        models[name] = (model, tuple(model.pretrained_cfg.input_size))
    space_keys, dropped = search_space_keys(args.space_size), 0
    if args.remeasure:
        stale = {b.key for model, shape in models.values() for b in fbnet_blocks(model, shape)} - space_keys
        dropped = sum(table.entries.pop(key, None) is not None for key in stale)
    for name, (model, shape) in tqdm(models.items(), desc="measuring zoo blocks"):
        table.add(fbnet_blocks(model, shape))
    table.save(path)
    rows, predicted, uncalibrated, measured = [], [], [], []
    for name, (model, shape) in tqdm(models.items(), desc="whole models"):
        blocks = fbnet_blocks(model, shape)
        p = table.predict(blocks)
        raw = table.overhead_ms + table.block_sum(blocks)
        m = measure_in_runtime(model, (1, *shape), args.runtime, args.threads, warmup=10, iters=40)
        predicted.append(p)
        uncalibrated.append(raw)
        measured.append(m)
        rows.append({"model": name, "input": [1, *shape], "predicted_ms": round(p, 4), "measured_ms": round(m, 4),
                     "error_pct": round(100 * (p - m) / m, 2), "uncalibrated_ms": round(raw, 4)})
    quality = prediction_quality(predicted, measured)
    quality_raw = prediction_quality(uncalibrated, measured)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": table.host_cpu,
              "runtime": table.runtime, "threads": args.threads, "entries_before": before,
              "entries_after": len(table.entries), "entries_remeasured": dropped,
              "estimator": f"lowest median of {ROUNDS} rounds x 40 calls (after 10 warm-up calls)",
              "calibration": dataclasses.asdict(table.calibration),
              "quality_uncalibrated": quality_raw, "wall_seconds": round(time.perf_counter() - started, 1),
              "weights": "mobilezoo.bench.weights rule: synthetic, seed 0 (no zoo model has trained weights at its native size)",
              "command": f"python benchmarks/lut_zoo_coverage.py --runtime {args.runtime} --threads {args.threads}"
                         f"{' --remeasure' if args.remeasure else ''}", "quality": quality, "models": rows}
    stem = os.path.join(HERE, "results", f"lut_zoo_coverage{'' if args.runtime == 'onnxruntime' else '_' + args.runtime}")
    write_json_atomic(stem + ".json", record)
    lines = ["# Latency table coverage of the zoo", "",
             f"{record['date']}; {record['host_cpu']}; {args.runtime}, {args.threads} thread(s); each model at its native size.",
             f"Table entries: {before} -> {len(table.entries)} (the search space's {len(space_keys)} and every "
             f"FBNet-family model's blocks; {dropped} zoo entries dropped and measured again).", "",
             f"Whole-model check ({len(rows)} models): Spearman {quality['spearman']:.4f}, RMSPE {quality['rmspe_pct']:.2f}%, "
             f"{quality['within_10pct']:.0%} within ±10% (calibration {table.calibration.scale:.3f} x entry "
             f"{table.calibration.shift_ms:+.4f} ms, fitted on {table.calibration.networks} search-space networks); "
             f"exact sums: Spearman {quality_raw['spearman']:.4f}, RMSPE {quality_raw['rmspe_pct']:.2f}%, "
             f"{quality_raw['within_10pct']:.0%} within ±10%.", "",
             f"Every entry and whole model: {record['estimator']}.", "",
             "| model | input | predicted ms | exact sum ms | measured ms | error |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {'x'.join(map(str, r['input']))} | {r['predicted_ms']:.3f} | {r['uncalibrated_ms']:.3f} | "
              f"{r['measured_ms']:.3f} | {r['error_pct']:+.1f}% |" for r in rows]
    with atomic_path(stem + ".md") as tmp:
        with open(tmp, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    print(json.dumps(quality))


def search_space_keys(size: int) -> set[str]:
    """The keys of every block lut_validation.py measured for the search space (built, not measured)."""
    shape = (3, size, size)
    return {b.key for arch in all_blocks_archs(size)
            for b in fbnet_blocks(synthetic_weights(build_fbnet(arch), shape, seed=0), shape)}


if __name__ == "__main__":
    main()
