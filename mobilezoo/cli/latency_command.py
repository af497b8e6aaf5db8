"""``mobilezoo latency``: predict a network's latency from a lookup table, without running it."""

from __future__ import annotations

import argparse
from typing import Any

from .numbers import THREADS


def add_latency(verbs: Any) -> None:
    p = verbs.add_parser(
        "latency",
        help="predict latency from a block lookup table (FBNet-style); --build-lut measures blocks",
        description="Predict a network's latency in one runtime (ONNX Runtime, ExecuTorch or LiteRT) as the sum of "
        "its blocks' entries in a lookup table built for that runtime, without running the network. --build-lut "
        "measures the blocks the table lacks (with the latency weights rule: trained weights, else synthetic ones "
        "without all-zero layers) and saves it.",
    )
    p.add_argument("name", help="an FBNet-family model (or definition file)")
    p.add_argument("--lut", required=True, help="latency table JSON (read; written with --build-lut)")
    p.add_argument("--build-lut", action="store_true", help="measure this network's missing blocks into --lut first")
    p.add_argument("--threads", type=THREADS, default=1, help="threads for new measurements (default 1)")
    p.add_argument("--runtime", default="onnxruntime",
                   help="onnxruntime, executorch or tflite: the runtime to predict for (and to measure new blocks in); "
                   "a table built for another runtime is refused (default onnxruntime)")
    p.add_argument("--input-size", help="input size (default: the model's native one)")
    p.set_defaults(run=run_latency)


def run_latency(args: argparse.Namespace) -> int:
    import os

    from rich.console import Console
    from rich.table import Table

    from ..bench.block_timing import check_table_runtime
    from ..nas.latency_table import LatencyTable, fbnet_blocks
    from ..bench.runtimes import host_cpu
    from ..bench.weights import representative_model
    from ..errors import InvalidInputError
    from ..factory import create_model
    from ..inputs import resolve_input_shape

    check_table_runtime(args.runtime)
    shape = resolve_input_shape(create_model(args.name), args.input_size, args.name)
    model = representative_model(args.name, shape)
    blocks = fbnet_blocks(model, shape)
    if args.build_lut:
        table = (LatencyTable.load(args.lut) if os.path.exists(args.lut)
                 else LatencyTable(runtime=args.runtime, threads=args.threads, host_cpu=host_cpu()))
        if table.runtime != args.runtime:
            raise InvalidInputError(f"latency table '{args.lut}' was measured in {table.runtime}, not {args.runtime}; "
                                    f"give another --lut file or --runtime {table.runtime}")
        measured = table.add(blocks)
        table.save(args.lut)
        print(f"measured {measured} new block(s); table has {len(table.entries)} entries")
    table = LatencyTable.load(args.lut)
    if table.runtime != args.runtime:
        raise InvalidInputError(f"latency table '{args.lut}' was measured in {table.runtime}, not {args.runtime}; "
                                f"give a {args.runtime} table or --runtime {table.runtime}")
    shares = table.block_shares(blocks, model=args.name, path=args.lut)
    total = table.overhead_ms + sum(shares)  # what LatencyTable.predict returns
    rows = Table(title=f"{args.name} at {tuple(shape)}: predicted {total:.3f} ms ({table.runtime}, {table.threads} thread(s))")
    for column in ("block", "key", "ms"):
        rows.add_column(column, justify="right" if column == "ms" else "left")
    for block, share in zip(blocks, shares):
        rows.add_row(block.name, block.key, f"{share:.4f}")
    rows.add_row("(session call)", "overhead, counted once", f"{table.overhead_ms:.4f}")
    calibration = table.calibration
    if calibration.networks:
        rows.caption = (f"each block: {calibration.scale:.3f} x (entry - overhead) {calibration.shift_ms:+.4f} ms "
                        f"(calibrated on {calibration.networks} whole networks)")
        weight = calibration.weight(table.block_sum(blocks))
        if weight < 1:
            rows.caption += f"; this network is smaller than any of them: {weight:.0%} calibration, the rest exact sum"
    Console(width=160).print(rows)
    print(f"predicted latency: {total:.3f} ms")
    return 0
