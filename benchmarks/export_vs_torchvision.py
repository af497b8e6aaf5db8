#!/usr/bin/env python
"""Exported latency: mobilezoo's ONNX export vs torchvision's same network exported the plain way.

Both networks get the same weights (torchvision's, BN statistics re-estimated), are exported to ONNX
(ours through mobilezoo.export, torchvision's with a bare torch.onnx.export) and timed round-robin in
ONNX Runtime with the same session options, in one run. Goal: ours / torchvision <= 1.0.

    python benchmarks/export_vs_torchvision.py [--threads 1] [--iters 30]

Writes benchmarks/results/export_vs_torchvision.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import warnings

import onnxruntime as ort
import torch
import torchvision

import mobilezoo
from mobilezoo.bench import measure_interleaved
from mobilezoo.bench.weights import synthetic_weights

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "resnext50_32x4d": (torchvision.models.resnext50_32x4d, (3, 224, 224)),
    "s3d": (torchvision.models.video.s3d, (3, 16, 224, 224)),
}


def session(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name, (tv_builder, shape) in CASES.items():
            torch.manual_seed(0)
            reference = synthetic_weights(tv_builder(), shape, seed=0)  # the latency rule: no all-zero layer
            ours = mobilezoo.create_model(name)
            ours.load_state_dict(reference.state_dict())
            ours.eval()
            ours_path = mobilezoo.export(ours, "onnx", work, name=f"ours_{name}", batch=1, seed=0).path
            plain_path = os.path.join(work, f"torchvision_{name}.onnx")
            x = torch.randn(1, *shape)
            torch.onnx.export(reference, (x,), plain_path, dynamo=True, external_data=False, verbose=False)
            feeds = {"ours": (session(str(ours_path), args.threads), x.numpy()),
                     "torchvision": (session(plain_path, args.threads), x.numpy())}
            runs = {k: (lambda s=s, v=v: s.run(None, {s.get_inputs()[0].name: v})) for k, (s, v) in feeds.items()}
            stats = measure_interleaved(runs, warmup=args.warmup, iters=args.iters)
            ratio = stats["ours"].p50_ms / stats["torchvision"].p50_ms
            rows.append({"model": name, "input": [1, *shape], "ours_p50_ms": stats["ours"].p50_ms,
                         "torchvision_p50_ms": stats["torchvision"].p50_ms, "ratio_ours_over_torchvision": ratio,
                         "ours": stats["ours"].to_dict(), "torchvision": stats["torchvision"].to_dict()})
            print(f"{name}: ours p50 {stats['ours'].p50_ms:.1f} ms, torchvision p50 {stats['torchvision'].p50_ms:.1f} ms, "
                  f"ratio {ratio:.3f} (goal <= 1.0)")
    record = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "runtime": f"onnxruntime {ort.__version__}, CPUExecutionProvider, {args.threads} thread(s)",
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "system": platform.platform()},
        "iters": args.iters, "warmup": args.warmup, "rows": rows,
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "export_vs_torchvision.json"), "w") as handle:
        json.dump(record, handle, indent=2)
    lines = ["# Exported latency: mobilezoo vs torchvision (ONNX Runtime)", "",
             f"{record['date']}; {record['runtime']}; {record['machine']['system']}, {record['machine']['cores']} cores; "
             f"{args.iters} interleaved iterations after {args.warmup} warm-up.", "",
             "| model | input | ours p50 (ms) | torchvision p50 (ms) | ours / torchvision |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {'x'.join(map(str, row['input']))} | {row['ours_p50_ms']:.1f} | "
                     f"{row['torchvision_p50_ms']:.1f} | {row['ratio_ours_over_torchvision']:.3f} |")
    with open(os.path.join(HERE, "results", "export_vs_torchvision.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
