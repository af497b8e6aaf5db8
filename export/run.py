#!/usr/bin/env python
"""Export a list of zoo models with a deployment profile into one bundle with one manifest.json.

    python export/run.py --profile android --models fbnetv2_f1,resnext50_32x4d --out bundles/android
    python export/run.py --profile configs/export/server.yaml --models fbnetv2_f1 --input-size 160

Profiles live in configs/export/ (android: .pte + .ptl + .tflite; ios: Core ML; server: ONNX).
Every artifact is verified in its own runtime; see manifest.json for the figures.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mobilezoo.errors import MobileZooError
from mobilezoo.export.bundle import export_bundle, load_profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True, help="profile name in configs/export/ or a YAML path")
    parser.add_argument("--models", required=True, help="comma-separated model names")
    parser.add_argument("--out", required=True, help="bundle folder")
    parser.add_argument("--input-size", help="override the models' native input size")
    parser.add_argument("--pretrained", action="store_true", help="load default pretrained weights")
    args = parser.parse_args(argv)
    try:
        profile = load_profile(args.profile)
        if args.input_size:
            profile["input_size"] = args.input_size
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        total = len(models) * (len(profile["formats"]) + len(profile.get("int8") or []))
        with Progress(transient=True) as progress:
            task = progress.add_task("exporting", total=total)

            def step(label: str) -> None:
                progress.update(task, advance=0, description=label)

            entries = []
            for model in models:
                for entry in export_bundle([model], profile, args.out, progress=step, pretrained=args.pretrained):
                    entries.append(entry)
                    progress.advance(task)
    except MobileZooError as exc:
        print(f"export/run.py: error: {exc}", file=sys.stderr)
        return 2
    table = Table(title=f"bundle '{profile.get('name', args.profile)}' in {args.out}")
    for column in ("model", "format", "precision", "file", "status", "worst rel. error"):
        table.add_column(column)
    for entry in entries:
        worst = entry.worst_rel_error
        table.add_row(entry.model, entry.format, entry.precision, entry.file, entry.status,
                      f"{worst:.1e}" if worst is not None else "-")
    Console(width=150).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
