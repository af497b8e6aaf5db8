#!/usr/bin/env python
"""Why width-divisor-1 networks ran 2x slower in ONNX Runtime, and the fix: ONNX Runtime's per-op profile, before/after.

For each model (the latency rule's synthetic weights, seed 0), the same export path as `mobilezoo export --format
onnx` is run twice: without channel padding ("before") and with the exact zero padding to multiples of 8 that the
exporter now applies ("after"). Each graph runs in ONNX Runtime (1 thread, all graph optimisations) with its
profiler on; per-op-type kernel times are summed over the timed runs and divided by their count. Latency is
measured side by side with interleaved runs and profiling off.

    python benchmarks/ort_channel_padding.py [--models dmasking_f4,fbnetv2_f4,dmasking_f1] [--iters 50]
Writes benchmarks/results/ort_channel_padding/{results.json,results.md,per_op.png}.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort
import torch

import mobilezoo
from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.bench.timing import measure_interleaved
from mobilezoo.bench.weights import representative_model
from mobilezoo.export.channel_padding import PAD_MULTIPLE, pad_channels

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "ort_channel_padding")


def session(path: str, profile_prefix: str | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def per_op_profile(path: str, x: np.ndarray, iters: int, work: str) -> dict[str, float]:
    """ms per run, by operator type, from ONNX Runtime's profiler (warm-up runs excluded)."""
    probe = session(path, os.path.join(work, "profile"))
    name = probe.get_inputs()[0].name
    for _ in range(5 + iters):
        probe.run(None, {name: x})
    trace = json.load(open(probe.end_profiling()))
    runs = sorted(e["ts"] for e in trace if e.get("name") == "model_run")
    cutoff = runs[5]  # the first five runs are warm-up
    totals: dict[str, float] = collections.defaultdict(float)
    for event in trace:
        if event.get("cat") == "Node" and event["ts"] >= cutoff and event.get("name", "").endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"] / 1000.0
    return {op: round(ms / iters, 4) for op, ms in sorted(totals.items(), key=lambda kv: -kv[1])}


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, dynamo=True, external_data=False, verbose=False, opset_version=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="dmasking_f4,fbnetv2_f4,dmasking_f1")
    parser.add_argument("--iters", type=int, default=50)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.models.split(","):
            model = representative_model(name)
            shape = tuple(model.pretrained_cfg.input_size)
            x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
            paths = {"before": os.path.join(work, f"{name}_before.onnx"), "after": os.path.join(work, f"{name}_after.onnx")}
            export_onnx(model, x, paths["before"])
            export_onnx(pad_channels(model, PAD_MULTIPLE), x, paths["after"])
            feed = x.numpy()
            sessions = {k: session(p) for k, p in paths.items()}
            outputs = {k: s.run(None, {s.get_inputs()[0].name: feed})[0] for k, s in sessions.items()}
            rel = float(np.abs(outputs["after"] - outputs["before"]).max() / np.abs(outputs["before"]).max())
            runs = {k: (lambda s=s: s.run(None, {s.get_inputs()[0].name: feed})) for k, s in sessions.items()}
            stats = measure_interleaved(runs, warmup=10, iters=args.iters)
            profiles = {k: per_op_profile(p, feed, args.iters, work) for k, p in paths.items()}
            rows.append({"model": name, "input": [1, *shape], "weights": model.pretrained_cfg.weights,
                         "p50_ms": {k: round(v.p50_ms, 3) for k, v in stats.items()},
                         "speedup": round(stats["before"].p50_ms / stats["after"].p50_ms, 3),
                         "max_rel_diff_after_vs_before": rel, "per_op_ms": profiles})
            print(f"{name:14s} before {stats['before'].p50_ms:7.2f} ms  after {stats['after'].p50_ms:7.2f} ms  "
                  f"x{rows[-1]['speedup']:.2f}  rel diff {rel:.1e}")
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": host_cpu(),
              "onnxruntime": ort.__version__, "threads": 1, "command": "python benchmarks/ort_channel_padding.py",
              "wall_seconds": round(time.perf_counter() - started, 1), "pad_multiple": PAD_MULTIPLE, "models": rows}
    with open(os.path.join(OUT, "results.json"), "w") as handle:
        json.dump(record, handle, indent=2)
    write_markdown(record)
    plot(rows)


def write_markdown(record: dict) -> None:
    lines = ["# ONNX Runtime on width-divisor-1 networks: per-op profile before and after channel padding", "",
             f"{record['date']}; {record['host_cpu']}; ONNX Runtime {record['onnxruntime']}, 1 thread, all graph "
             f"optimisations; `{record['command']}` ({record['wall_seconds']} s).", "",
             "| model | input | p50 before (ms) | p50 after (ms) | speed-up | max rel. diff |", "|---|---|---|---|---|---|"]
    for r in record["models"]:
        lines.append(f"| {r['model']} | {'x'.join(map(str, r['input']))} | {r['p50_ms']['before']:.2f} | "
                     f"{r['p50_ms']['after']:.2f} | {r['speedup']:.2f}x | {r['max_rel_diff_after_vs_before']:.1e} |")
    for r in record["models"]:
        before, after = r["per_op_ms"]["before"], r["per_op_ms"]["after"]
        ops = sorted(set(before) | set(after), key=lambda op: -max(before.get(op, 0), after.get(op, 0)))[:10]
        lines += ["", f"## {r['model']}: kernel time per run by operator (ms)", "", "| operator | before | after |",
                  "|---|---|---|"]
        lines += [f"| {op} | {before.get(op, 0):.3f} | {after.get(op, 0):.3f} |" for op in ops]
    with open(os.path.join(OUT, "results.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(rows), figsize=(5 * len(rows), 4), squeeze=False)
    for axis, r in zip(axes[0], rows):
        before, after = r["per_op_ms"]["before"], r["per_op_ms"]["after"]
        ops = sorted(set(before) | set(after), key=lambda op: -max(before.get(op, 0), after.get(op, 0)))[:6]
        positions = np.arange(len(ops))
        axis.barh(positions - 0.2, [before.get(op, 0) for op in ops], 0.4, label="before")
        axis.barh(positions + 0.2, [after.get(op, 0) for op in ops], 0.4, label="after (padded)")
        axis.set_yticks(positions, ops)
        axis.invert_yaxis()
        axis.set_xlabel("kernel ms per run")
        axis.set_title(f"{r['model']}: {r['p50_ms']['before']:.1f} -> {r['p50_ms']['after']:.1f} ms")
        axis.legend()
    figure.tight_layout()
    figure.savefig(os.path.join(OUT, "per_op.png"), dpi=100)


if __name__ == "__main__":
    main()
