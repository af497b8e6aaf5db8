#!/usr/bin/env python
"""UnNAS's search-based experiment on a CPU (issue 30): do cells searched without labels match the label-searched one?

Phases, each resumable (rerun the same command after a kill), in this order:

    bash benchmarks/unnas_search_searches.sh        # DARTS x {classification, rotation, jigsaw, colorization} x 2 seeds
    python benchmarks/unnas_search_study.py nets    # the 8 derived cells + DARTS_V2 + 5 cells of the reference sampler
    python benchmarks/unnas_search_study.py train [--workers 2]   # each cell x 3 seeds, one classification recipe, Ray
    python benchmarks/unnas_search_study.py report  # study.json, study.md, cells.png

Searches (``mobilezoo search darts``): supernet width 8, 5 cells, 16 px, 1,000 Fashion-MNIST training images cut in
halves (colorization: colour crops of the bundled photos and clips, as it needs colour), 10 epochs (the first
weights-only), the reference's per-task batch and learning rates, seeds 0 and 1. Evaluation: every cell in the same
CIFAR-layout network (8 channels, 5 cells, 16 px), trained with one classification recipe on the first 50,000
training images (``limit_train`` of them), 3 seeds, validation = the last 10,000 training images, the test split read
once per training at its end. No choice in this study looks at test numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from mobilezoo.fileio import atomic_path, save_png, write_json_atomic
from study_record import git_commit, machine

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "unnas_search"
TASKS = {"cls": "classification", "rot": "rotation", "jig": "jigsaw", "col": "colorization"}
SEARCH_SEEDS = (0, 1)
SEEDS = 3
RANDOM_CELLS = 5
NET = {"channels": 8, "layers": 5, "layout": "cifar"}
RECIPE = {"dataset": "fashion_mnist", "eval_split": "val", "input_size": 16, "num_classes": 10, "epochs": 3,
          "batch_size": 64, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5.0e-4,
          "warmup_epochs": 0.2, "label_smoothing": 0.0, "limit_train": 5000, "limit_eval": 0}


def phase_nets(args: argparse.Namespace) -> None:
    from mobilezoo.designspace.nas_cells import SPACES
    from mobilezoo.models.darts import Genotype

    nets = []
    for short in TASKS:
        for seed in SEARCH_SEEDS:
            found = OUT / "searches" / f"{short}_s{seed}" / "genotype.json"
            if not found.exists():
                raise SystemExit(f"{found} is missing: run benchmarks/unnas_search_searches.sh first")
            nets.append({"net": f"{short}_s{seed}", "kind": short, "genotype": json.loads(found.read_text())["genotype"]})
    nets.append({"net": "darts_v2", "kind": "published", "genotype": Genotype.coerce("darts_v2").to_dict()})
    rng = random.Random("unnas_search:random")
    for index in range(RANDOM_CELLS):
        nets.append({"net": f"random_{index}", "kind": "random", "genotype": SPACES["darts"].draw(rng).to_dict()})
    write_json_atomic(OUT / "nets.json", {"nets": nets, "net": NET, "recipe": RECIPE, "git_commit": git_commit(),
                                          "machine": machine()})
    print(f"{len(nets)} cells -> {OUT / 'nets.json'}")


def sweep_config():
    from mobilezoo.sweep import SweepConfig

    nets = json.loads((OUT / "nets.json").read_text())["nets"]
    trials = [{"id": f"{net['net']}-s{seed}", "model": "darts_net", "seed": seed,
               "model_kwargs": {"genotype": net["genotype"], **NET}}
              for seed in range(SEEDS) for net in nets]  # seed-major: a partial run has every cell once first
    return SweepConfig.from_dict({"name": "unnas_search", "seed": 0, "recipe": RECIPE, "trials": trials,
                                  "threads_per_trial": 1})


def phase_train(args: argparse.Namespace) -> None:
    from mobilezoo.sweep import run_sweep

    outcome = run_sweep(sweep_config(), OUT / "trainings", workers=args.workers, max_trials=args.max_trials)
    print(f"ran {outcome.ran} ({outcome.ok} ok, {outcome.failed} failed) in {outcome.wall_seconds:.0f} s; "
          f"{outcome.skipped} already recorded")


def trained() -> dict[str, dict[str, list[float]]]:
    found: dict[str, dict[str, list[float]]] = {}
    path = OUT / "trainings" / "results.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        record = json.loads(line)
        if record.get("status") == "ok":
            entry = found.setdefault(record["id"].rsplit("-s", 1)[0], {"val": [], "test": []})
            entry["val"].append(record["top1"])
            entry["test"].append(record["test_top1"])
    return found


def compare(a: list[float], b: list[float]) -> dict[str, Any]:
    """Two-sided Welch t-test and a bootstrap 95% CI of the difference of means (a - b)."""
    from scipy import stats

    t, p = stats.ttest_ind(a, b, equal_var=False)
    rng = np.random.default_rng(0)
    diffs = [np.mean(rng.choice(a, len(a))) - np.mean(rng.choice(b, len(b))) for _ in range(10_000)]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"n": [len(a), len(b)], "difference": round(float(np.mean(a) - np.mean(b)), 3), "welch_p": float(p),
            "bootstrap_ci95": [round(float(low), 3), round(float(high), 3)]}


def phase_report(args: argparse.Namespace) -> None:
    meta = json.loads((OUT / "nets.json").read_text())
    scores = trained()
    rows = []
    for net in meta["nets"]:
        s = scores.get(net["net"], {"val": [], "test": []})
        search = OUT / "searches" / net["net"] / "search_log.jsonl"
        log = [json.loads(line) for line in search.read_text().splitlines()] if search.exists() else []
        rows.append({**net, "seeds": len(s["test"]), "val": s["val"], "test": s["test"],
                     "val_mean": float(np.mean(s["val"])) if s["val"] else None,
                     "test_mean": float(np.mean(s["test"])) if s["test"] else None,
                     "test_std": float(np.std(s["test"], ddof=1)) if len(s["test"]) > 1 else None,
                     "search_minutes": round(sum(r["seconds"] for r in log) / 60, 1) if log else None,
                     "search_final_accuracy": log[-1]["accuracy"] if log else None})
    by_kind = {kind: [t for r in rows if r["kind"] == kind for t in r["test"]] for kind in
               (*TASKS, "published", "random")}
    comparisons = {}
    for short in ("rot", "jig", "col"):  # the paper's question: does a pretext-searched cell match the label-searched?
        if len(by_kind[short]) > 1 and len(by_kind["cls"]) > 1:
            comparisons[f"{short}_vs_cls"] = compare(by_kind[short], by_kind["cls"])
    for short in TASKS:
        if len(by_kind[short]) > 1 and len(by_kind["random"]) > 1:
            comparisons[f"{short}_vs_random"] = compare(by_kind[short], by_kind["random"])
    study = {"command": "see the module docstring of benchmarks/unnas_search_study.py", "net": NET, "recipe": RECIPE,
             "seeds": SEEDS, "search_seeds": list(SEARCH_SEEDS), "rows": rows,
             "per_kind": {k: {"n": len(v), "mean": float(np.mean(v)) if v else None,
                              "std": float(np.std(v, ddof=1)) if len(v) > 1 else None} for k, v in by_kind.items()},
             "comparisons": comparisons, "git_commit": git_commit(), "machine": machine(),
             "nets_commit": meta.get("git_commit")}
    write_json_atomic(OUT / "study.json", study)
    with atomic_path(OUT / "study.md") as temporary:
        temporary.write_text(markdown(study))
    plot(rows)
    print(json.dumps({"per_kind": study["per_kind"], "comparisons": comparisons}, indent=1))


def markdown(study: dict[str, Any]) -> str:
    lines = ["# unnas_search: tables (generated by `python benchmarks/unnas_search_study.py report`)", "",
             "| cell | searched with | search min | val top-1 (mean) | test top-1 (mean ± s.d.) | seeds |",
             "|---|---|---|---|---|---|"]
    for r in study["rows"]:
        kind = TASKS.get(r["kind"], r["kind"])
        val = f"{r['val_mean']:.2f}" if r["val_mean"] is not None else "-"
        test = f"{r['test_mean']:.2f} ± {r['test_std'] or 0:.2f}" if r["test_mean"] is not None else "-"
        lines.append(f"| {r['net']} | {kind} | {r['search_minutes'] or '-'} | {val} | {test} | {r['seeds']} |")
    lines += ["", "| group | n (trainings) | test top-1 mean ± s.d. |", "|---|---|---|"]
    for kind, v in study["per_kind"].items():
        if v["n"]:
            lines.append(f"| {TASKS.get(kind, kind)} | {v['n']} | {v['mean']:.2f} ± {v['std'] or 0:.2f} |")
    lines += ["", "| comparison | n | difference | 95% CI (bootstrap) | Welch p (two-sided) |", "|---|---|---|---|---|"]
    for name, c in study["comparisons"].items():
        lines.append(f"| {name} | {c['n'][0]} vs {c['n'][1]} | {c['difference']:+.2f} | "
                     f"[{c['bootstrap_ci95'][0]:+.2f}, {c['bootstrap_ci95'][1]:+.2f}] | {c['welch_p']:.3g} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 4))
    kinds = [*TASKS, "published", "random"]
    for position, kind in enumerate(kinds):
        values = [t for r in rows if r["kind"] == kind for t in r["test"]]
        axis.scatter([position + random.Random(v).uniform(-0.15, 0.15) for v in values], values, s=14, alpha=0.7)
        if values:
            axis.hlines(np.mean(values), position - 0.3, position + 0.3, color="black")
    axis.set_xticks(range(len(kinds)), [TASKS.get(k, k) for k in kinds], rotation=15)
    axis.set_ylabel("Fashion-MNIST test top-1 (%)")
    axis.set_title("DARTS cells searched with labels vs pretext tasks (each dot: one training)")
    axis.grid(alpha=0.3)
    save_png(figure, OUT / "cells.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("nets", "train", "report"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-trials", type=int, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    {"nets": phase_nets, "train": phase_train, "report": phase_report}[args.phase](args)
    print(f"{args.phase}: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
