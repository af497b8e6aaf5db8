#!/usr/bin/env python
"""Extend the shipped latency table to every FBNet-family model at its native resolution, then check it.

1. Load the table `lut_validation.py` built over the search space (results/lut_<runtime>_1t.json).
2. For each registered FBNet-family model: build it, re-estimate its BN statistics on random input (so no
   layer is degenerate), and measure every block the table lacks (--runtime, --threads).
3. Measure each whole model in that runtime and compare with the table's prediction (the blocks of a zoo
   model are measured in isolation, the model as a whole: the same check as the held-out validation).

    python benchmarks/lut_zoo_coverage.py [--threads 1]
Writes the extended table in place and results/lut_zoo_coverage.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time

from tqdm import tqdm

import mobilezoo
from mobilezoo.bench.block_timing import TABLE_RUNTIMES, measure_in_runtime
from mobilezoo.nas.latency_table import LatencyTable, fbnet_blocks, prediction_quality
from mobilezoo.bench.weights import representative_model

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runtime", default="onnxruntime", choices=TABLE_RUNTIMES)
    args = parser.parse_args()
    path = os.path.join(HERE, "results", f"lut_{args.runtime}_{args.threads}t.json")
    table = LatencyTable.load(path)
    before = len(table.entries)
    started = time.perf_counter()
    names = [n for n in mobilezoo.list_models() if mobilezoo.get_pretrained_cfg(n).family == "fbnet"]
    models = {}
    for name in tqdm(names, desc="measuring zoo blocks"):
        model = representative_model(name)  # the latency rule: trained weights, else synthetic without zero layers
        shape = tuple(model.pretrained_cfg.input_size)
        table.add(fbnet_blocks(model, shape))
        models[name] = (model, shape)
    table.save(path)
    rows, predicted, measured = [], [], []
    for name, (model, shape) in tqdm(models.items(), desc="whole models"):
        p = table.predict(fbnet_blocks(model, shape))
        m = measure_in_runtime(model, (1, *shape), args.runtime, args.threads, warmup=10, iters=40)
        predicted.append(p)
        measured.append(m)
        rows.append({"model": name, "input": [1, *shape], "predicted_ms": round(p, 4), "measured_ms": round(m, 4),
                     "error_pct": round(100 * (p - m) / m, 2)})
    quality = prediction_quality(predicted, measured)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": table.host_cpu,
              "runtime": table.runtime, "threads": args.threads, "entries_before": before,
              "entries_after": len(table.entries), "wall_seconds": round(time.perf_counter() - started, 1),
              "weights": "mobilezoo.bench.weights rule: synthetic, seed 0 (no zoo model has trained weights at its native size)",
              "command": f"python benchmarks/lut_zoo_coverage.py --runtime {args.runtime} --threads {args.threads}", "quality": quality, "models": rows}
    with open(os.path.join(HERE, "results", f"lut_zoo_coverage{'' if args.runtime == 'onnxruntime' else '_' + args.runtime}.json"), "w") as handle:
        json.dump(record, handle, indent=2)
    lines = ["# Latency table coverage of the zoo", "",
             f"{record['date']}; {record['host_cpu']}; {args.runtime}, {args.threads} thread(s); each model at its native size.",
             f"Table entries: {before} (search space) -> {len(table.entries)} (with every FBNet-family model's blocks).", "",
             f"Whole-model check ({len(rows)} models): Spearman {quality['spearman']:.4f}, RMSPE {quality['rmspe_pct']:.2f}%, "
             f"{quality['within_10pct']:.0%} within ±10%.", "",
             "| model | input | predicted ms | measured ms | error |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {'x'.join(map(str, r['input']))} | {r['predicted_ms']:.3f} | {r['measured_ms']:.3f} | "
              f"{r['error_pct']:+.1f}% |" for r in rows]
    with open(os.path.join(HERE, "results", f"lut_zoo_coverage{'' if args.runtime == 'onnxruntime' else '_' + args.runtime}.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(json.dumps(quality))


if __name__ == "__main__":
    main()
