"""Decoupling (arXiv 1910.09217) on Fashion-MNIST-LT: the paper's two tables, measured, three seeds each.

Stage 1 is the sweep ``configs/sweeps/long_tail_fmnist.yaml`` (run it first; it resumes):

    mobilezoo sweep run --config configs/sweeps/long_tail_fmnist.yaml --out runs/long_tail_fmnist --workers 1
    python benchmarks/long_tail_study.py                      # stage 2 of every finished trial (resumes), tables, plots
    python benchmarks/long_tail_study.py --package            # also package the best rho=100 classifier

Stage 2 (``mobilezoo.train.decoupling.stage_two``) fits joint / NCM / cRT / tau-norm / LWS on each frozen stage-1
network; one JSON line per trial in ``stage2.jsonl``. Tables: ``summary.md``; bar plots: ``bars_rho*.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "results" / "long_tail"
SWEEP = ROOT / "runs" / "long_tail_fmnist"
METHODS = ("joint", "ncm", "crt", "tau_norm", "lws")
SAMPLERS = ("instance", "class", "sqrt", "progressive")
GROUPS = ("many", "medium", "few", "overall")
PAPER = {  # ImageNet-LT, ResNeXt-50 (the paper's repository README): many / medium / few / all
    "sampler": {"instance": (65.9, 37.5, 7.7, 44.4), "class": (61.8, 40.1, 15.5, 45.1), "sqrt": (64.3, 41.2, 17.0, 46.8),
                "progressive": (61.9, 43.2, 19.4, 47.2)},
    "classifier": {"joint": (65.9, 37.5, 7.7, 44.4), "ncm": (56.6, 45.3, 28.1, 47.3), "crt": (61.8, 46.2, 27.4, 49.6),
                   "tau_norm": (59.1, 46.9, 30.7, 49.4), "lws": (60.2, 47.2, 30.3, 49.9)},
}


def stage_two_all() -> list[dict]:
    from mobilezoo.train.decoupling import stage_two

    rows = [json.loads(line) for line in open(OUT / "stage2.jsonl")] if (OUT / "stage2.jsonl").exists() else []
    done = {r["id"] for r in rows}
    results = [json.loads(line) for line in open(SWEEP / "results.jsonl")]
    for trial in results:
        checkpoint = SWEEP / "trials" / trial["id"] / "last.pt"
        if trial["id"] in done or trial.get("status") != "ok" or not checkpoint.exists():
            continue
        started = time.perf_counter()
        result = stage_two(str(checkpoint), crt_epochs=10, lws_epochs=5, seed=trial["seed"])
        row = {"id": trial["id"], "seed": trial["seed"], "rho": result.config["imbalance_ratio"],
               "sampler": result.config["sampler"], "train_counts": result.train_counts, "tau": result.tau.tau,
               "tau_validation_top1": result.tau.validation_top1, "validation_top1": result.validation_top1,
               "best_on_validation": result.best, "thresholds": result.reports["joint"].thresholds,
               "groups": result.reports["joint"].groups,
               "test": {m: {g: getattr(r, g) for g in GROUPS} | {"per_class": r.per_class} for m, r in result.reports.items()},
               "stage2_seconds": round(time.perf_counter() - started, 1)}
        rows.append(row)
        from mobilezoo.fileio import atomic_path

        with atomic_path(OUT / "stage2.jsonl") as temporary:  # one line per trial, rewritten whole: never half a line
            temporary.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{row['id']}: " + ", ".join(f"{m} {row['test'][m]['overall']:.2f}" for m in METHODS), flush=True)
    return rows


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def tables(rows: list[dict]) -> str:
    lines = []
    for rho in sorted({r["rho"] for r in rows}, reverse=True):
        at = [r for r in rows if r["rho"] == rho]
        example = at[0]
        lines += [f"### rho = {rho:g}: train counts {example['train_counts']}", "",
                  f"Groups: {example['thresholds']}; many = classes {example['groups']['many']}, medium = "
                  f"{example['groups']['medium']}, few = {example['groups']['few']}. Test split balanced (1000 per class).",
                  "", "Stage-1 sampler, joint classifier (test top-1 %, mean ± std over seeds; paper: ImageNet-LT):", "",
                  "| sampler | seeds | many | medium | few | all | paper many / med / few / all |", "|---|---|---|---|---|---|---|"]
        for sampler in SAMPLERS:
            runs = [r for r in at if r["sampler"] == sampler]
            cells = [mean_std([r["test"]["joint"][g] for r in runs if r["test"]["joint"][g] is not None]) for g in GROUPS]
            lines.append(f"| {sampler} | {len(runs)} | " + " | ".join(cells) + " | " +
                         " / ".join(f"{v}" for v in PAPER["sampler"][sampler]) + " |")
        lines += ["", "Classifier on instance-balanced features (test top-1 %, mean ± std over seeds):", "",
                  "| classifier | many | medium | few | all | validation all | paper many / med / few / all |",
                  "|---|---|---|---|---|---|---|"]
        runs = [r for r in at if r["sampler"] == "instance"]
        for method in METHODS:
            cells = [mean_std([r["test"][method][g] for r in runs if r["test"][method][g] is not None]) for g in GROUPS]
            validation = mean_std([r["validation_top1"][method] for r in runs])
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {validation} | " +
                         " / ".join(f"{v}" for v in PAPER["classifier"][method]) + " |")
        taus = [r["tau"] for r in runs]
        lines += ["", f"tau picked on validation: {taus}", ""]
    return "\n".join(lines)


def plots(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from mobilezoo.fileio import save_png

    for rho in sorted({r["rho"] for r in rows}, reverse=True):
        at = [r for r in rows if r["rho"] == rho]
        figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
        for axis, series, title in ((left, [(s, [r for r in at if r["sampler"] == s], "joint") for s in SAMPLERS],
                                     "stage-1 sampler (joint classifier)"),
                                    (right, [(m, [r for r in at if r["sampler"] == "instance"], m) for m in METHODS],
                                     "classifier on instance-balanced features")):
            width = 0.8 / len(series)
            for i, (label, runs, method) in enumerate(series):
                means, stds = [], []
                for g in GROUPS:
                    values = [r["test"][method][g] for r in runs if r["test"][method][g] is not None]
                    means.append(statistics.mean(values) if values else 0.0)
                    stds.append(statistics.stdev(values) if len(values) > 1 else 0.0)
                axis.bar(np.arange(len(GROUPS)) + i * width, means, width, yerr=stds, capsize=2, label=label)
            axis.set_xticks(np.arange(len(GROUPS)) + 0.4 - width / 2, GROUPS)
            axis.set_ylabel("test top-1 (%)")
            axis.set_title(title)
            axis.legend(fontsize=8)
        figure.suptitle(f"Fashion-MNIST-LT, rho = {rho:g}, dmaskingnas_s600k, mean ± std over seeds")
        figure.tight_layout()
        save_png(figure, OUT / f"bars_rho{rho:g}.png")
        plt.close(figure)


def package(rows: list[dict]) -> None:
    """The rho=100 instance-balanced trial and classifier with the best validation top-1, into the zoo's files."""
    candidates = [r for r in rows if r["rho"] == 100 and r["sampler"] == "instance"]
    best = max(candidates, key=lambda r: r["validation_top1"][r["best_on_validation"]])
    checkpoint = SWEEP / "trials" / best["id"] / "last.pt"
    files = ROOT / "mobilezoo" / "weights" / "files"
    subprocess.run([sys.executable, "-m", "mobilezoo", "evaluate", os.path.relpath(checkpoint, ROOT), "--protocol", "rebalance",
                    "--seed", str(best["seed"]), "--release", "dmaskingnas_s600k.fmnist_lt100",
                    "--out", str(ROOT / "runs" / "long_tail_package")],
                   check=True, cwd=ROOT)
    for suffix in (".safetensors", ".json"):
        name = f"dmaskingnas_s600k.fmnist_lt100{suffix}"
        shutil.copyfile(ROOT / "runs" / "long_tail_package" / name, files / name)
    shutil.copyfile(ROOT / "runs" / "long_tail_package" / "result.json", OUT / "package_result.json")  # the evaluation behind it
    print(f"packaged {best['id']} with {best['best_on_validation']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="store_true")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    shutil.copy(SWEEP / "results.jsonl", OUT / "stage1.jsonl")  # the sweep's raw per-trial records
    rows = stage_two_all()
    (OUT / "summary.md").write_text(tables(rows) + "\n")
    plots(rows)
    print(tables(rows))
    if args.package:
        package(rows)


if __name__ == "__main__":
    main()
