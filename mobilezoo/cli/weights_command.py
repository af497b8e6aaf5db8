"""``mobilezoo weights``: list weight entries and their local state; import hand-downloaded checkpoints."""

from __future__ import annotations

import argparse
from typing import Any


def add_weights(verbs: Any) -> None:
    p = verbs.add_parser(
        "weights",
        help="list pretrained weights and where they are; import a downloaded checkpoint",
        description="Pretrained weights: 'list' shows every weight entry and whether it is packaged, cached or "
        "missing; 'import FILE --model NAME.TAG' checks a hand-downloaded checkpoint against the model (strictly, "
        "without unpickling code) and stores it in the cache ($MOBILEZOO_HOME).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    listing = actions.add_parser("list", help="weight entries and their local state")
    listing.add_argument("pattern", nargs="?", default="*")
    listing.set_defaults(run=run_list)
    importing = actions.add_parser("import", help="import a downloaded checkpoint into the cache")
    importing.add_argument("file", help="checkpoint (.pth/.pt weights-only, or .safetensors)")
    importing.add_argument("--model", required=True, help="NAME.TAG the weights are for, e.g. fbnetv2_f1.mv_in1k")
    importing.set_defaults(run=run_import)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..errors import CheckpointError
    from ..registry import get_model_entry, list_models, split_name
    from ..weights.hub import locate

    table = Table(title="pretrained weights")
    for column in ("name", "source", "dataset", "classes", "top-1", "where"):
        table.add_column(column)
    for name in list_models(args.pattern, pretrained=True):
        entry = get_model_entry(name)
        tag = split_name(name)[1]
        weight = entry.weights[tag]
        try:
            where = str(locate(entry, tag, allow_download=False))
        except CheckpointError:
            where = "not downloaded: " + (weight.url or "")
        top1 = weight.metrics.get("top1")
        table.add_row(name, weight.source, weight.dataset, str(weight.num_classes), f"{top1:.2f}" if top1 else "-", where)
    Console(width=170).print(table)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from ..weights.hub import import_weights

    path = import_weights(args.file, args.model)
    print(f"imported {args.file} as {args.model}: {path}")
    return 0
