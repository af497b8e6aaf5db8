"""Sub-commands about the zoo itself: ``list``, ``info``, ``profile``.

Each ``add_*`` function adds one verb to the parser; ``REGISTRARS`` is the order ``--help`` shows.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .numbers import Count

from rich.console import Console
from rich.table import Table

from ..profile.result import human


def _console() -> Console:
    import sys

    # piped output (CI logs, files) gets a fixed width so tables keep whole column headers
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 140)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# --- list ----------------------------------------------------------------------------------------


def add_list(verbs: Any) -> None:
    p = verbs.add_parser(
        "list",
        help="list registered models (fnmatch wildcards)",
        description="List registered models. PATTERN is an fnmatch wildcard such as 'fbnetv2_*'.",
        formatter_class=_formatter,
    )
    p.add_argument("pattern", nargs="?", default="*", help="wildcard on model names and aliases (default: all)")
    p.add_argument("--pretrained", action="store_true", help="list weight entries (name.tag) instead")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    from ..registry import get_model_entry, get_pretrained_cfg, list_models, split_name

    names = list_models(args.pattern, pretrained=args.pretrained)
    if args.json:
        print(json.dumps(names))
        return 0
    table = Table(
        title=f"mobilezoo models matching '{args.pattern}' ({len(names)})",
        caption="architecture rows: published figures (* = Conv/Linear weights only, mobile-vision params_m; GMACs "
        "without BN at the native size); weight rows (name.tag): the data set the weights were trained on, the input "
        "they take, and their top-1 on that data set's test split",
    )
    for column in ("name", "family", "input", "params", "GMACs", "weights: data set", "top-1"):
        table.add_column(column, justify="right" if column in ("params", "GMACs", "top-1") else "left")
    rows: list[tuple[str, bool]] = []  # (name, shown under its architecture row)
    for name in names:  # each architecture, then one row per weight tag
        entry = get_model_entry(name)
        if split_name(name)[1] is None:
            rows.append((entry.name, False))
            rows.extend((f"{entry.name}.{tag}", True) for tag in entry.weights)
        else:  # --pretrained lists weight entries alone: each row names its architecture
            rows.append((name, False))
    for name, nested in rows:
        entry = get_model_entry(name)
        tag = split_name(name)[1]
        cfg = get_pretrained_cfg(name)
        size = "x".join(str(s) for s in cfg.input_size[1:])
        if tag is None:
            published = entry.published
            params = published.get("params")
            params_text = human(params) if params else "-"
            if not params and published.get("weight_params"):
                params_text = human(published["weight_params"]) + "*"
            gmacs = published.get("gmacs")
            table.add_row(name, entry.family, size, params_text, f"{gmacs:.3f}" if gmacs else "-",
                          ", ".join(entry.weights) or "-", "")
        else:
            weight = entry.weights[tag]
            top1 = weight.metrics.get("top1")
            table.add_row(f"  .{tag}" if nested else name, "" if nested else entry.family, size, "", "", weight.dataset,
                          f"{top1:.2f}" if top1 else "-")
    _console().print(table)
    return 0


# --- info ----------------------------------------------------------------------------------------


def add_info(verbs: Any) -> None:
    p = verbs.add_parser(
        "info",
        help="show a model's pretrained cfg, published figures and weights",
        description="Show everything known about a model: input size, preprocessing, published "
        "params/MACs/accuracy, paper, aliases and weight entries.",
        formatter_class=_formatter,
    )
    p.add_argument("name", help="model name, name.tag or alias")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_info)


def run_info(args: argparse.Namespace) -> int:
    from ..registry import get_model_info

    info = get_model_info(args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    table = Table(title=f"{info['architecture']}", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in info.items():
        if key in ("weights", "published", "class_names"):
            continue
        table.add_row(key, str(value))
    for key, value in info["published"].items():
        table.add_row(f"published {key}", f"{value:,}" if isinstance(value, int) else str(value))
    for tag, weight in info["weights"].items():
        metrics = ", ".join(f"{k} {v}" for k, v in weight["metrics"].items())
        table.add_row(f"weights .{tag}", f"{weight['source']}; {metrics}; {weight['url'] or weight['file']}")
    _console().print(table)
    return 0


# --- profile -------------------------------------------------------------------------------------


def add_profile(verbs: Any) -> None:
    p = verbs.add_parser(
        "profile",
        help="count parameters, multiply-adds and activations (fvcore)",
        description="Count parameters (all, and Conv/Linear weights only), multiply-adds with and "
        "without batch-norm, elementwise ops and activations, with a per-block table.\n"
        "MACs without BN is the published convention (torchvision _ops, mobile-vision flops_m).",
        formatter_class=_formatter,
    )
    p.add_argument("name", help="model name, alias or definition file")
    p.add_argument("--input-size", help="224, 160x128, or a full shape 3,224,224 (video 3,16,224,224)")
    p.add_argument("--depth", type=Count(1, 64), help="table rows N module levels deep (default: one per block)")
    p.add_argument("--num-classes", type=Count(1, 100_000), metavar="N",
                   help="classifier size (default: the model's own; a searched definition file carries it)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--thop", action="store_true",
                   help="also the count thop logs (BN at 2 per element, pooling at 1; what UnNAS / DARTS code printed)")
    p.set_defaults(run=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    from ..profile import profile

    build = {} if args.num_classes is None else {"num_classes": args.num_classes}
    result = profile(args.name, input_size=args.input_size, depth=args.depth, **build)
    if args.json:
        print(result.to_json())
        return 0
    console = _console()
    table = Table(title=f"{result.model} at input {tuple(result.input_shape)}")
    for column in ("module", "type", "params", "MACs (no BN)", "BN", "elementwise", "activations"):
        table.add_column(column, justify="left" if column in ("module", "type") else "right")
    for row in result.modules:
        table.add_row(
            row.name,
            row.type,
            f"{row.params:,}",
            human(row.macs_without_bn),
            human(row.batch_norm_macs),
            human(row.elementwise_ops),
            human(row.activations),
        )
    console.print(table)
    console.print(f"parameters:          {result.params:,}")
    console.print(f"weight parameters:   {result.params_conv_linear_weights:,} (Conv/Linear weights only)")
    console.print(f"MACs (without BN):   {human(result.macs_without_bn)} ({result.macs_without_bn:,})")
    if result.effective_macs_without_bn is not None:
        console.print(f"effective MACs:      {human(result.effective_macs_without_bn)} ({result.effective_macs_without_bn:,}; "
                      "relational layers at their mask density)")
    console.print(f"MACs (with BN):      {human(result.macs)} ({result.macs:,})")
    console.print(f"elementwise ops:     {human(result.elementwise_ops)} (not in MACs)")
    console.print(f"activations:         {human(result.activations)}")
    if args.thop:
        from ..factory import create_model
        from ..profile.thop_style import thop_style_macs

        thop = thop_style_macs(create_model(args.name, **build), result.input_shape[1:])
        console.print(f"thop-style MACs:     {human(thop)} ({thop:,}; conv + fc + BN at 2/element + pooling, eval mode)")
    for note in result.notes:
        console.print(f"note: {note}", style="dim")
    return 0


# --- demo ----------------------------------------------------------------------------------------


def add_demo(verbs: Any) -> None:
    from ..demo import DEMO_MIN_SAMPLES, DEMO_MODEL

    p = verbs.add_parser(
        "demo",
        help="the offline end-to-end demo: classify, export, verify, benchmark, report",
        description="Load a packaged pretrained model, classify real Fashion-MNIST test images, export it to every "
        "available format (each verified in its runtime), time the runtimes, and write report.md + report.png. "
        "Offline; needs the Debian package dataset-fashion-mnist.",
        formatter_class=_formatter,
    )
    p.add_argument("--model", default=DEMO_MODEL, help=f"packaged weights to use (default: {DEMO_MODEL})")
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--samples", type=Count(DEMO_MIN_SAMPLES, 10_000), default=2000, help="test images to classify (default 2000)")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo as demo

    demo(args.out, args.model, args.samples)
    return 0


from .bench_command import add_bench  # noqa: E402  (each larger verb has its own module)
from .export_command import add_export  # noqa: E402
from .graph_command import add_graph  # noqa: E402
from .latency_command import add_latency  # noqa: E402
from .search_command import add_search  # noqa: E402
from .sweep_command import add_sweep  # noqa: E402
from .train_command import add_train  # noqa: E402
from .evaluate_command import add_evaluate  # noqa: E402
from .weights_command import add_weights  # noqa: E402

REGISTRARS = [add_list, add_info, add_profile, add_export, add_bench, add_latency, add_train, add_evaluate, add_sweep,
              add_search, add_weights, add_graph, add_demo]
