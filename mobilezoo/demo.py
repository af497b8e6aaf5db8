"""``mobilezoo demo``: the offline end-to-end run behind the README's main command.

Loads a packaged pretrained model by name, classifies real Fashion-MNIST test images, exports it to
every format whose packages are installed (each artifact verified in its runtime), times each runtime,
and writes ``report.md`` and ``report.png``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from .bench.timing import measure
from .errors import MobileZooError
from .export.api import open_artifact
from .export.formats import FORMATS, require
from .fileio import atomic_path, ensure_writable_dir
from .progress import status

DEMO_MODEL = "fbnetv2_f1.fmnist"
DEMO_MIN_SAMPLES = 8  # the report shows eight images


def _classify(model: torch.nn.Module, samples: int) -> dict[str, Any]:
    from .data.fashion_mnist import fashion_mnist

    data = fashion_mnist("test", model.pretrained_cfg, limit=samples)
    images = torch.stack([data[i][0] for i in range(len(data))])
    labels = data.labels[: len(data)]
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(1) for chunk in images.split(256)])
    return {"images": images, "labels": labels, "predicted": predicted,
            "accuracy": 100.0 * (predicted == labels).float().mean().item(), "count": len(labels)}


def _export_all(model: torch.nn.Module, out: Path) -> list[dict[str, Any]]:
    from .export import export

    rows = []
    for index, (name, spec) in enumerate(FORMATS.items(), 1):
        with status(f"[{index}/{len(FORMATS)}] exporting to {name} and verifying"):
            try:
                require(spec)
                result = export(model, name, out / "exports", batch=None if spec.dynamic_batch else 1)
                rows.append({"format": name, "entry": result.entry, "path": result.path})
            except MobileZooError as exc:
                rows.append({"format": name, "error": str(exc)})
    return rows


def _time_runtimes(model: torch.nn.Module, exports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shape = tuple(model.pretrained_cfg["input_size"])
    x = torch.randn(1, *shape)
    timings = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def eager() -> Any:
            with torch.no_grad():
                return model(x)

        with status("timing eager PyTorch (1 thread)"):
            timings.append({"runtime": "eager PyTorch", "format": "eager", **measure(eager, warmup=5, iters=30).to_dict()})
        for row in exports:
            spec = FORMATS[row["format"]]
            runner = None if "error" in row else open_artifact(row["path"], row["format"], threads=1)
            if runner is not None:
                with status(f"timing {spec.runtime} (1 thread)"):
                    timings.append({"runtime": spec.runtime, "format": row["format"],
                                    **measure(lambda: runner(x), warmup=5, iters=30).to_dict()})
    finally:
        torch.set_num_threads(threads)
    return timings


def _figure(result: dict[str, Any], timings: list[dict[str, Any]], class_names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(12, 4.6))
    grid = figure.add_gridspec(2, 9)
    for index in range(8):
        axis = figure.add_subplot(grid[index // 4, index % 4])
        axis.imshow(result["images"][index][0].numpy(), cmap="gray")
        right = result["predicted"][index] == result["labels"][index]
        axis.set_title(class_names[int(result["predicted"][index])], fontsize=8, color="tab:green" if right else "tab:red")
        axis.axis("off")
    axis = figure.add_subplot(grid[:, 6:])
    names = [t["format"] for t in timings]
    axis.barh(names, [t["p50_ms"] for t in timings], color="tab:blue")
    axis.set_xlabel("p50 latency, batch 1, 1 thread (ms)")
    axis.invert_yaxis()
    figure.suptitle(f"{DEMO_MODEL}: {result['accuracy']:.2f}% on {result['count']} Fashion-MNIST test images")
    figure.subplots_adjust(left=0.02, right=0.98, wspace=0.3)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)


def run_demo(out_dir: str = "demo_out", model_name: str = DEMO_MODEL, samples: int = 2000) -> Path:
    """Run the demo and return the report path."""
    from .factory import create_model

    from .inputs import check_count

    check_count(samples, "--samples", DEMO_MIN_SAMPLES, 10_000)
    console = Console()
    out = ensure_writable_dir(out_dir)
    model = create_model(model_name, pretrained=True).eval()
    cfg = model.pretrained_cfg
    class_names = cfg.get("class_names") or [str(i) for i in range(model.num_classes)]
    console.print(f"[bold]{model_name}[/]: {cfg.get('input_adaptation', '')}")
    result = _classify(model, samples)
    from .registry import get_model_info, split_name

    registered = get_model_info(model_name)["weights"].get(split_name(model_name)[1] or "", {}).get("metrics", {})
    console.print(f"accuracy on the first {result['count']} Fashion-MNIST test images: [bold]{result['accuracy']:.2f}%[/] "
                  f"(registered, full 10k test set: {registered.get('top1', '-')}%)")
    table = Table(title="a few predictions")
    for column in ("image", "true", "predicted"):
        table.add_column(column)
    for index in range(5):
        table.add_row(str(index), class_names[int(result["labels"][index])], class_names[int(result["predicted"][index])])
    console.print(table)
    exports = _export_all(model, out)
    timings = _time_runtimes(model, [e for e in exports if "error" not in e])
    exports_table = Table(title="exports (each verified in its own runtime against eager PyTorch)")
    for column in ("format", "status", "MB", "worst rel. error"):
        exports_table.add_column(column)
    for row in exports:
        if "error" in row:
            exports_table.add_row(row["format"], "not exported: " + row["error"][:90], "-", "-")
            continue
        entry, worst = row["entry"], row["entry"].worst_rel_error
        exports_table.add_row(row["format"], entry.status, f"{entry.size_bytes / 1e6:.1f}", f"{worst:.1e}" if worst is not None else "-")
    console.print(exports_table)
    timing_table = Table(title="latency, batch 1, 1 thread (30 runs after 5 warm-up)")
    for column in ("runtime", "p50 ms", "mean ms", "p90 ms"):
        timing_table.add_column(column)
    for timing in timings:
        timing_table.add_row(timing["runtime"], f"{timing['p50_ms']:.3f}", f"{timing['mean_ms']:.3f}", f"{timing['p90_ms']:.3f}")
    console.print(timing_table)
    _figure(result, timings, class_names, out / "report.png")
    report = _report(model_name, cfg, result, class_names, exports, timings)
    with atomic_path(out / "report.md") as temporary:
        temporary.write_text(report)
    console.print(f"report: {out / 'report.md'} and {out / 'report.png'}; artifacts and manifest.json in {out / 'exports'}")
    return out / "report.md"


def _report(name: str, cfg: dict[str, Any], result: dict[str, Any], class_names: list[str],
            exports: list[dict[str, Any]], timings: list[dict[str, Any]]) -> str:
    lines = [f"# mobilezoo demo: {name}", "", f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPU cores.", "",
             f"- Weights: {cfg.weights}",
             f"- Input adaptation (from the pretrained cfg): {cfg.get('input_adaptation', '-')}",
             f"- Accuracy on the first {result['count']} Fashion-MNIST test images: **{result['accuracy']:.2f}%**", "",
             "![report](report.png)", "", "## Exports", "", "| format | status | size (MB) | worst relative error vs eager |", "|---|---|---|---|"]
    for row in exports:
        if "error" in row:
            lines.append(f"| {row['format']} | not exported: {row['error']} | - | - |")
        else:
            entry, worst = row["entry"], row["entry"].worst_rel_error
            lines.append(f"| {row['format']} | {entry.status} | {entry.size_bytes / 1e6:.1f} | {f'{worst:.1e}' if worst is not None else '-'} |")
    lines += ["", "## Latency (batch 1, 1 thread, p50 of 30 runs)", "", "| runtime | p50 ms | mean ms | p90 ms |", "|---|---|---|---|"]
    lines += [f"| {t['runtime']} | {t['p50_ms']:.3f} | {t['mean_ms']:.3f} | {t['p90_ms']:.3f} |" for t in timings]
    return "\n".join(lines) + "\n"
