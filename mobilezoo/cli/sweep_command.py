"""``mobilezoo sweep``: run many short trainings on Ray, see how far a sweep got, compare design spaces."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .numbers import Count, Real


def add_sweep(verbs: Any) -> None:
    p = verbs.add_parser(
        "sweep",
        help="many short trainings on Ray (sampled design spaces or listed models); status; design-space analysis",
        description="Sweeps: 'run' trains every trial of a sweep file that --out has no record of, on a local Ray "
        "(default) or the cluster at --address; rerun the same command to resume. 'status' summarises a sweep "
        "folder. 'analyze' compares the design spaces of one or more sweep folders (error EDFs, complexity-"
        "normalized EDFs, KS tests, random-search efficiency) as in 'On Network Design Spaces' (1905.13214).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    run = actions.add_parser("run", help="run (or resume) a sweep")
    run.add_argument("--config", required=True, help="sweep file (YAML), e.g. configs/sweeps/resnet_vs_vanilla.yaml")
    run.add_argument("--out", required=True, help="sweep folder: results.jsonl, sweep.json, trials/")
    run.add_argument("--address", help="Ray cluster (host:port, ray://host:port or auto); default: a local Ray")
    run.add_argument("--workers", type=Count(1, 1024), default=1, help="trials in parallel (default 1)")
    run.add_argument("--max-trials", type=Count(1, 10**7), help="stop after this many trials (run the sweep in chunks)")
    run.set_defaults(run=run_run)
    status = actions.add_parser("status", help="what a sweep folder holds: done, failed, missing, errors")
    status.add_argument("folder")
    status.set_defaults(run=run_status)
    analyze = actions.add_parser("analyze", help="compare design spaces: EDF plots, KS tests, search efficiency")
    analyze.add_argument("folders", nargs="+", help="sweep folders (their design-space trials are pooled by space)")
    analyze.add_argument("--out", required=True, help="folder for the PNG plots, summary.md and analysis.json")
    analyze.add_argument("--metric", default="params", choices=("params", "macs"), help="complexity to normalize by")
    analyze.add_argument("--bins", type=Count(1, 1000), default=10, help="equal-width complexity bins (default 10)")
    analyze.add_argument("--range", nargs=2, type=Real(0, 1e15), metavar=("LOW", "HIGH"),
                         help="complexity range (default: shared by every space)")
    analyze.set_defaults(run=run_analyze)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_run(args: argparse.Namespace) -> int:
    from ..sweep import SweepConfig, run_sweep

    config = SweepConfig.from_file(args.config)
    outcome = run_sweep(config, args.out, address=args.address, workers=args.workers, max_trials=args.max_trials)
    print(f"sweep {config.name}: ran {outcome.ran} trial(s) ({outcome.ok} ok, {outcome.failed} failed), "
          f"{outcome.skipped} already recorded; {outcome.wall_seconds:.1f} s with {outcome.workers} worker(s)")
    code = _print_status(args.out)
    if outcome.ran and not outcome.ok:  # a sweep in which nothing trained is a failure, not a result
        print(f"mobilezoo: error: all {outcome.ran} trial(s) of this run failed; their errors are in "
              f"{args.out}/results.jsonl (`mobilezoo sweep status {args.out}`)", file=sys.stderr)
        return 1
    return code


def run_status(args: argparse.Namespace) -> int:
    return _print_status(args.folder)


def _print_status(folder: str) -> int:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ..sweep.store import ResultStore

    store = ResultStore(folder)
    meta = store.meta()
    summary = store.summary(meta.get("trial_ids"))
    table = Table(title=f"sweep {meta['name']}: {summary['done']}/{summary['trials']} done, {summary['failed']} failed, "
                        f"{len(summary['missing'])} missing")
    for column in ("space", "ok", "failed", "min error %", "median error %", "train time"):
        table.add_column(column, justify="left" if column == "space" else "right")
    for space, group in sorted(summary["by_space"].items()):
        errors = group["errors"]
        table.add_row(space, str(group["ok"]), str(group["failed"]), f"{min(errors):.2f}" if errors else "-",
                      f"{np.median(errors):.2f}" if errors else "-", f"{group['wall_seconds'] / 60:.1f} min")
    Console(width=120).print(table)
    if summary["nodes"]:
        print("ran on: " + ", ".join(f"{node} {count} trial(s)" for node, count in summary["nodes"].items()))
    if summary["missing"]:
        print(f"missing: {', '.join(summary['missing'][:8])}{' ...' if len(summary['missing']) > 8 else ''}")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from ..designspace.report import AnalysisOptions, analyze, summary_markdown
    from ..sweep.store import design_samples

    low, high = args.range if args.range else (None, None)
    result = analyze(design_samples(args.folders), args.out, AnalysisOptions(args.metric, args.bins, low, high))
    print(summary_markdown(result))
    print(f"wrote {args.out}/summary.md, analysis.json and 4 PNG plots")
    return 0
