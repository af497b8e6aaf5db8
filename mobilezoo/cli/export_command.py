"""``mobilezoo export``: export a model to phone/server formats, each artifact verified in its runtime."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .numbers import THREADS

from ..errors import InvalidInputError


def add_export(verbs: Any) -> None:
    from ..export.formats import FORMATS

    p = verbs.add_parser(
        "export",
        help="export to torchscript/ptl/onnx/coreml/executorch/tflite, verified against eager",
        description="Export a model and verify each artifact in its own runtime against eager PyTorch "
        "(random and real inputs; batch 1 and 3 when the batch is dynamic). Writes ARTIFACT files and "
        "manifest.json into --out; a failed check leaves no file behind.",
        epilog="formats: " + "; ".join(f"{n} ({s.suffix}): {s.description}" for n, s in FORMATS.items()),
    )
    p.add_argument("name", help="model name, name.tag or definition file")
    p.add_argument("--format", required=True, help="one format, a comma list, or 'all'")
    p.add_argument("--int8", action="store_true", help="post-training static int8 (onnx, executorch), calibrated on real data")
    p.add_argument("--input-size", help="224, 160x128, 3,224,224 or for video 3,16,112,112")
    p.add_argument("--batch", help="'dynamic' (default where supported) or a fixed N")
    p.add_argument("--out", default="export_out", help="output folder (default: export_out)")
    p.add_argument("--pretrained", action="store_true",
                   help="load the default pretrained weights first (implied by a tagged NAME.TAG)")
    p.add_argument("--checkpoint", help="load this local checkpoint first")
    p.add_argument("--threads", type=THREADS, default=1, help="runtime threads during verification")
    p.add_argument("--json", action="store_true", help="print the manifest entries as JSON")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    import torch

    from ..export import export
    from ..export.formats import FORMATS, get_format
    from ..factory import create_model
    from ..pretrained_cfg import WeightsSource
    from ..progress import status
    from ..registry import names_weights

    formats = list(FORMATS) if args.format == "all" else [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats:
        raise InvalidInputError("--format is empty; give e.g. onnx or onnx,executorch or all")
    for fmt in formats:
        get_format(fmt)  # unknown names fail before any work
    torch.manual_seed(0)  # a network without weights gets a reproducible random init, recorded as such
    model = create_model(args.name, pretrained=args.pretrained or names_weights(args.name), checkpoint_path=args.checkpoint)
    if model.pretrained_cfg.weights.is_random:
        model.pretrained_cfg.weights = WeightsSource.random(seed=0)
    entries = []
    for fmt in formats:
        with status(f"exporting {args.name} to {fmt} and verifying...", quiet=args.json):
            result = export(model, fmt, args.out, int8=args.int8, input_size=args.input_size, batch=args.batch,
                            threads=args.threads)
        entries.append(result.entry)
    if args.json:
        print(json.dumps([entry.to_dict() for entry in entries], indent=2, default=str))
        return 0
    table = Table(title=f"{args.name}: exported to {args.out}", caption=f"weights: {model.pretrained_cfg.weights}"
                  + ("; give NAME.TAG, --pretrained or --checkpoint for trained ones"
                     if model.pretrained_cfg.weights.is_random else ""))
    for column in ("format", "file", "MB", "status", "checks", "worst rel. error", "top-1 agree", "notes"):
        table.add_column(column)
    for entry in entries:
        worst, agree = entry.worst_rel_error, entry.min_top1_agreement
        notes = []
        if "delegated_share" in entry.export_info:
            notes.append(f"XNNPACK {entry.export_info['delegated_share']:.0%} of nodes")
        notes.extend(w for w in entry.warnings if "not run" in w or "XNNPACK" in w)
        table.add_row(entry.format + (" int8" if entry.precision == "int8" else ""), entry.file,
                      f"{entry.size_bytes / 1e6:.1f}", entry.status, str(len(entry.checks)),
                      f"{worst:.1e}" if worst is not None else "-", f"{agree:.0%}" if agree is not None else "-",
                      "; ".join(notes))
    Console(width=160).print(table)
    print(f"manifest: {args.out}/manifest.json")
    return 0
