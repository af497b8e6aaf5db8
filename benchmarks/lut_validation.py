#!/usr/bin/env python
"""Validate the latency lookup table on whole networks that were not used to build it.

1. Build the table: measure every (layer, candidate block) of the search space in
   mobilezoo.bench.search_space once (ONNX Runtime, --threads threads).
2. Sample --networks random architectures from the space (seeded); measure each whole network in
   ONNX Runtime and predict it from the table without running it.
3. Report Spearman rank correlation, RMSPE and the share within +-10%, plus a scatter plot.
Goal on this CPU, ONNX Runtime, 1 thread: Spearman >= 0.95 and >= 80% within +-10%.

    python benchmarks/lut_validation.py [--networks 40] [--threads 1]
Writes benchmarks/results/lut_validation.{json,md,png} and the table itself (lut_onnxruntime_1t.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random

from tqdm import tqdm

from mobilezoo.bench.lut import LatencyTable, fbnet_blocks, measure_onnxruntime, prediction_quality
from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.bench.search_space import all_blocks_archs, sample
from mobilezoo.bench.weights import synthetic_weights
from mobilezoo.models.fbnet import build_fbnet

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shape = (3, args.size, args.size)
    table = LatencyTable(threads=args.threads, host_cpu=host_cpu())
    builders = all_blocks_archs(args.size)
    for arch in tqdm(builders, desc="measuring blocks"):
        model = synthetic_weights(build_fbnet(arch), shape, seed=0)
        table.add(fbnet_blocks(model, shape))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    table.save(os.path.join(HERE, "results", f"lut_onnxruntime_{args.threads}t.json"))
    rng = random.Random(args.seed)
    predicted, measured, rows = [], [], []
    for index in tqdm(range(args.networks), desc="held-out networks"):
        model = synthetic_weights(build_fbnet(sample(rng, args.size)), shape, seed=index)
        blocks = fbnet_blocks(model, shape)
        p = table.predict(blocks)
        m = measure_onnxruntime(model, (1, *shape), args.threads, warmup=10, iters=40)
        predicted.append(p)
        measured.append(m)
        rows.append({"network": index, "blocks": len(blocks), "predicted_ms": p, "measured_ms": m})
    quality = prediction_quality(predicted, measured)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": table.host_cpu,
              "runtime": "onnxruntime", "threads": args.threads, "input": [1, *shape], "table_entries": len(table.entries),
              "overhead_ms": table.overhead_ms, "quality": quality, "networks": rows}
    with open(os.path.join(HERE, "results", "lut_validation.json"), "w") as handle:
        json.dump(record, handle, indent=2)
    goal = quality["spearman"] >= 0.95 and quality["within_10pct"] >= 0.80
    lines = ["# Latency lookup table: validation on held-out networks", "",
             f"{record['date']}; {record['host_cpu']}; ONNX Runtime, {args.threads} thread(s); input 1x3x{args.size}x{args.size}.",
             f"Table: {len(table.entries)} block entries measured once; session overhead {table.overhead_ms:.4f} ms.",
             f"Held-out: {args.networks} networks sampled (seed {args.seed}) from the search space, none used to build the table.", "",
             "| Spearman | RMSPE | within ±10% | goal (Spearman ≥ 0.95, ≥ 80% within ±10%) |", "|---|---|---|---|",
             f"| {quality['spearman']:.4f} | {quality['rmspe_pct']:.2f}% | {quality['within_10pct']:.0%} | {'met' if goal else 'NOT met'} |"]
    with open(os.path.join(HERE, "results", "lut_validation.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(measured, predicted, s=18)
    low, high = min(measured + predicted) * 0.9, max(measured + predicted) * 1.1
    axis.plot([low, high], [low, high], "k--", lw=0.8, label="y = x")
    axis.fill_between([low, high], [low * 0.9, high * 0.9], [low * 1.1, high * 1.1], alpha=0.15, label="±10%")
    axis.set_xlabel("measured latency (ms)")
    axis.set_ylabel("predicted from table (ms)")
    axis.set_title(f"LUT: Spearman {quality['spearman']:.3f}, {quality['within_10pct']:.0%} within ±10%")
    axis.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(HERE, "results", "lut_validation.png"), dpi=110)
    print(json.dumps(quality))


if __name__ == "__main__":
    main()
