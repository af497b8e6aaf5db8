"""``mobilezoo bench``: latency of a model in each runtime (load, first run, statistics, peak RSS)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .numbers import BATCH, ITERATIONS, THREADS, WARMUP


def add_bench(verbs: Any) -> None:
    from ..export.formats import RUNTIMES

    p = verbs.add_parser(
        "bench",
        help="measure latency in eager/torchscript/ptl/onnxruntime/executorch/tflite",
        description="Benchmark a model: each runtime gets a verified export of it, then load time, first "
        "inference, and mean/std/min/p50/p90/p99/max over --iters timed runs after --warmup. "
        "One JSON record per runtime with --json.",
    )
    p.add_argument("name", help="model name, name.tag or definition file")
    p.add_argument("--runtime", default="eager", help=f"one of {', '.join(RUNTIMES)}, a comma list, or all")
    p.add_argument("--threads", type=THREADS, default=1, help="threads, applied in each runtime (default 1)")
    p.add_argument("--batch", type=BATCH, default=1)
    p.add_argument("--input-size", help="224, 160x128, 3,224,224 (video 3,16,112,112)")
    p.add_argument("--warmup", type=WARMUP, default=10)
    p.add_argument("--iters", type=ITERATIONS, default=50)
    p.add_argument("--int8", action="store_true", help="benchmark the int8 export (onnxruntime, executorch)")
    p.add_argument("--json", action="store_true", help="print one JSON record per runtime")
    p.set_defaults(run=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..bench.runtimes import benchmark
    from ..export.formats import RUNTIMES
    from ..errors import InvalidInputError
    from ..inputs import resolve_input_shape
    from ..profile import profile_model
    from ..progress import status

    runtimes = list(RUNTIMES) if args.runtime == "all" else [r.strip() for r in args.runtime.split(",")]
    for runtime in runtimes:
        if runtime not in RUNTIMES:
            raise InvalidInputError(f"unknown runtime '{runtime}'; use one of {', '.join(RUNTIMES)} or all")
    from ..bench.weights import representative_model

    # the latency rule: the tag's trained weights, else seeded synthetic ones without all-zero layers
    model = representative_model(args.name, seed=0)
    shape = resolve_input_shape(model, args.input_size, args.name)
    counts = profile_model(model, shape, name=args.name)
    records = []
    for runtime in runtimes:
        with status(f"{args.name}: {runtime}...", quiet=args.json):
            records.append(benchmark(model, runtime, shape, threads=args.threads, batch=args.batch, warmup=args.warmup,
                                     iters=args.iters, name=args.name, macs=counts.macs_without_bn,
                                     params=counts.params, int8=args.int8))
    if args.json:
        for record in records:
            print(json.dumps(record))
        return 0
    table = Table(title=f"{args.name} {tuple(records[0]['input_shape'])}, {args.threads} thread(s), {args.iters} iters",
                  caption=f"weights: {records[0]['weights']}")
    for column in ("runtime", "version", "threads", "load ms", "first ms", "mean", "p50", "p90", "p99", "min", "max", "peak RSS MB"):
        table.add_column(column, justify="left" if column in ("runtime", "version") else "right")
    for r in records:
        table.add_row(r["runtime"] + (" int8" if r["precision"] == "int8" else ""), r["runtime_version"], str(r["threads_used"]),
                      f"{r['load_ms']:.1f}", f"{r['first_ms']:.2f}", f"{r['mean_ms']:.2f}", f"{r['p50_ms']:.2f}",
                      f"{r['p90_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['min_ms']:.2f}", f"{r['max_ms']:.2f}", f"{r['peak_rss_mb']:.0f}")
    Console(width=160).print(table)
    print("latency in ms; peak RSS is this process's peak so far (includes export and earlier runtimes)")
    return 0
