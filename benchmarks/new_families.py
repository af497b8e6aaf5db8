#!/usr/bin/env python
"""The families added with the search and design-space issues go through the zoo's path like the old ones:
profile, export verified in each runtime against eager PyTorch, benchmark; all under the latency weights rule
(seeded synthetic weights with re-estimated batch norm, no all-zero tensor; trained weights where the zoo has them).

    python benchmarks/new_families.py [--models darts_v2,...] [--formats onnx,executorch,tflite] [--iters 30]
Writes benchmarks/results/new_families/{records.jsonl, README table rows in summary.md}. Run on an idle machine:
the latencies are measured side by side, 1 thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time

from mobilezoo.bench.runtimes import benchmark, host_cpu
from mobilezoo.bench.weights import representative_model, zero_tensors
from mobilezoo.errors import MobileZooError
from mobilezoo.export import export
from mobilezoo.fileio import atomic_path
from mobilezoo.profile import profile_model

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "new_families")
DEFAULT = ("darts_v2,unnas_imagenet_jig,relgraph_mlp_best,relgraph_resnet34_best,"
           "benchmarks/results/lanas_fmnist/best.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT)
    parser.add_argument("--formats", default="onnx,executorch,tflite")
    parser.add_argument("--runtimes", default="eager,onnxruntime,executorch,tflite")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--redo", action="store_true", help="measure the named models again, replacing their records")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    records = os.path.join(OUT, "records.jsonl")
    rows = [json.loads(line) for line in open(records)] if os.path.exists(records) else []
    done = {r["model"] for r in rows}
    for name in args.models.split(","):
        if args.redo and name in done:
            rows = [r for r in rows if r["model"] != name]
            done.discard(name)
        if name in done:  # resumable: one record per model
            continue
        started = time.perf_counter()
        model = representative_model(os.path.join(os.path.dirname(HERE), name) if name.endswith(".yaml") else name)
        assert not zero_tensors(model), zero_tensors(model)[:3]
        shape = tuple(model.pretrained_cfg.input_size)
        counts = profile_model(model, shape, name=name)
        exports = {}
        with tempfile.TemporaryDirectory() as folder:
            for fmt in args.formats.split(","):
                try:
                    result = export(model, fmt, folder, seed=0)
                except (MobileZooError, RuntimeError, ValueError) as exc:  # a failed verification is a finding: recorded
                    exports[fmt] = {"status": "failed", "error": str(exc)}
                    continue
                worst = max(c["max_rel"] for c in result.checks) if result.checks else None
                widened = [c for c in result.checks if c.get("eager_fp32_vs_fp64") is not None]
                exports[fmt] = {"status": result.entry["status"], "checks": len(result.checks), "worst_max_rel": worst,
                                "size_bytes": result.entry.get("size_bytes")}
                if widened:  # held to 4x eager's own fp32-vs-fp64 error instead of 1e-4 (mobilezoo/export/verify.py)
                    exports[fmt]["widened_tolerance"] = [[c["name"], c["tolerance"], c["eager_fp32_vs_fp64"]] for c in widened]
        timings = {}
        for runtime in args.runtimes.split(","):
            try:  # a runtime whose artifact fails verification has no latency to report
                record = benchmark(model, runtime, shape, threads=1, iters=args.iters, name=name,
                                   macs=counts.macs_without_bn, params=counts.params)
            except (MobileZooError, RuntimeError, ValueError):
                timings[runtime] = None
                continue
            timings[runtime] = round(record["p50_ms"], 4)
        rows.append({"model": name, "input": list(shape), "params": counts.params, "macs": counts.macs_without_bn,
                     "effective_macs": counts.effective_macs_without_bn, "weights": model.pretrained_cfg.weights,
                     "exports": exports, "p50_ms_1thread": timings, "host_cpu": host_cpu(),
                     "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "wall_seconds": round(time.perf_counter() - started, 1)})
        print(json.dumps(rows[-1]), flush=True)
        with atomic_path(records) as temporary:
            temporary.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = ["| model | input | params | MACs (M) | exports verified | p50 ms, 1 thread: " + " / ".join(args.runtimes.split(",")) + " |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        macs = f"{r['macs'] / 1e6:.1f}" + (f" (effective {r['effective_macs'] / 1e6:.2f})" if r["effective_macs"] else "")
        verified = ", ".join(f"{f} ({e['worst_max_rel']:.0e})" if e["status"] == "verified" else f"{f} FAILED"
                             for f, e in r["exports"].items())
        lines.append(f"| {r['model']} | {'x'.join(map(str, r['input']))} | {r['params']:,} | {macs} | {verified} | "
                     + " / ".join("-" if v is None else f"{v:.3f}" for v in r["p50_ms_1thread"].values()) + " |")
    with atomic_path(os.path.join(OUT, "summary.md")) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
