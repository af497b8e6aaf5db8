#!/usr/bin/env python
"""Relational graphs on Fashion-MNIST: the 5-layer relational MLP over graphs covering the (C, L) plane.

1. ``--write-config``: sample WS-flex graphs of 64 nodes, one per cell of a 15 x 15 grid over clustering C in [0, 1]
   and average path length L in [1, 4.5] (mobilezoo.graphs.relational_sampling), plus the complete graph; write the
   sweep file configs/sweeps/relgraph_mlp_fmnist.yaml (every graph x --seeds explicit trials of ``relgraph_mlp`` with
   ``width: match``: widened until its effective MACs reach the dense 512-d MLP's) and graphs.json.
2. Run the sweep on Ray (resumable; each trial records its seed):
   ``mobilezoo sweep run --config configs/sweeps/relgraph_mlp_fmnist.yaml --out benchmarks/results/relational_graphs/sweep --workers 2``
3. ``--analyze``: per graph mean +- std error; heatmap of mean error over the (C, L) cells; the sweet spot by the
   paper's rule (cells not significantly worse than the best cell: one-sided Welch t-test, p >= 0.05); best graph vs
   the complete graph; Pearson and Spearman correlation of error with C and with L. Writes study.json, study.md,
   heatmap.png, error_vs_c_l.png.

The first sweep picked its best graph on the same 5,000 test images it reported it on (issue 31). The re-selection:

4. ``--register-val``: write the same sweep with ``eval_split: val`` (the same first 10,000 training images, the same
   seeds; validation = 5,000 of the last 10,000 training images, never trained on) and ``val/registration.json``: the
   selection rule, the fresh test images (5,000-9,999, which no selection ever read) and the git commit, before any
   measurement. Then ``mobilezoo sweep run --config configs/sweeps/relgraph_mlp_fmnist_val.yaml --out
   benchmarks/results/relational_graphs/val/sweep --workers 2``.
5. ``--report-val``: pick the graph with the lowest mean validation error; retrain it and the complete graph with the
   recorded seeds (the retrained validation error must equal the sweep's: the same training) and test both once on
   the fresh test images. Writes val/study.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from pathlib import Path

import numpy as np
import yaml

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import save_png, write_json_atomic
from mobilezoo.graphs.relational_sampling import sample_relational_graphs
from mobilezoo.models.relgraph import RelationalGraph, mlp_macs
from mobilezoo.sweep.store import ResultStore
from study_record import bootstrap_ci95, git_commit, write_sweep_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "relational_graphs"
CONFIG = ROOT / "configs" / "sweeps" / "relgraph_mlp_fmnist.yaml"
VAL_CONFIG = ROOT / "configs" / "sweeps" / "relgraph_mlp_fmnist_val.yaml"
VAL = OUT / "val"
FRESH_TEST = (5000, 10000)  # test images the first sweep never read (it evaluated on the first 5,000)
INPUT = 28  # Fashion-MNIST, replicated to 3 channels: 2,352 inputs
RECIPE = {"dataset": "fashion_mnist", "input_size": INPUT, "num_classes": 10, "epochs": 3, "batch_size": 128,
          "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 5.0e-4, "warmup_epochs": 0.2,
          "label_smoothing": 0.0, "limit_train": 10000, "limit_eval": 5000}
C_BINS, L_BINS, L_RANGE = 15, 15, (1.0, 4.5)


def write_config(seeds: int) -> None:
    from tqdm import tqdm

    bar = tqdm(desc="measuring candidate graphs (C, L)", unit="graph")
    sampled = sample_relational_graphs(c_bins=C_BINS, l_bins=L_BINS, l_range=L_RANGE, progress=lambda: bar.update(1))
    bar.close()
    inputs = 3 * INPUT * INPUT
    graphs = [{"id": f"g{index:03d}", "graph": {"nodes": g.nodes, "sparsity": round(g.sparsity, 6), "p": round(g.p, 6),
                                                 "seed": g.seed},
               "C": g.clustering, "L": g.path_length, "cell": list(g.cell)} for index, g in enumerate(sampled)]
    graphs.append({"id": "complete", "graph": {"nodes": 64, "sparsity": 1.0, "p": 0.0, "seed": 1}, "C": 1.0, "L": 1.0,
                   "cell": None})
    for g in graphs:
        from mobilezoo.models.relgraph import RelGraphMLP

        spec = RelationalGraph(**g["graph"])
        g["width"] = RelGraphMLP(spec, "match", input_size=INPUT).width
        g["effective_macs"] = mlp_macs(spec, g["width"], inputs)
    trials = [{"id": f"{g['id']}_r{r}", "model": "relgraph_mlp",
               "model_kwargs": {"graph": g["graph"], "width": g["width"], "input_size": INPUT}}
              for g in graphs for r in range(seeds)]
    header = ("# Relational graphs (arXiv 2007.06559) on Fashion-MNIST: the 5-layer relational MLP over WS-flex graphs\n"
              "# covering the (C, L) plane plus the complete graph, each MAC-matched to the dense 512-d MLP, "
              f"{seeds} seeds each.\n# Written by: python benchmarks/relgraph_fmnist_study.py --write-config\n"
              "# Run: mobilezoo sweep run --config configs/sweeps/relgraph_mlp_fmnist.yaml "
              "--out benchmarks/results/relational_graphs/sweep --workers 2\n")
    write_sweep_file(CONFIG, header, {"name": "relgraph_mlp_fmnist", "seed": 1, "recipe": RECIPE, "threads_per_trial": 1},
                     trials)
    OUT.mkdir(parents=True, exist_ok=True)
    write_json_atomic(OUT / "graphs.json", {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                            "bins": {"C": C_BINS, "L": L_BINS, "L_range": L_RANGE}, "graphs": graphs})
    print(f"{len(graphs)} graphs x {seeds} seeds = {len(trials)} trials -> {CONFIG.relative_to(ROOT)}")


def analyze() -> None:
    from scipy import stats

    graphs = json.loads((OUT / "graphs.json").read_text())["graphs"]
    records = ResultStore(OUT / "sweep").records()
    rows = []
    for g in graphs:
        errors = [records[k]["error"] for k in records if k.rsplit("_r", 1)[0] == g["id"] and records[k].get("status") == "ok"]
        if errors:
            rows.append({**g, "errors": errors, "mean": statistics.fmean(errors),
                         "std": statistics.stdev(errors) if len(errors) > 1 else 0.0})  # sample s.d.
    complete = next((r for r in rows if r["id"] == "complete"), None)
    if complete is None:
        raise SystemExit("the complete graph's trials have not run yet: finish the sweep first")
    relational = [r for r in rows if r["id"] != "complete"]
    best = min(relational, key=lambda r: r["mean"])
    sweet = []
    for r in relational:
        if r is best:
            sweet.append(r)
            continue
        test = stats.ttest_ind(r["errors"], best["errors"], equal_var=False, alternative="greater")
        r["p_worse_than_best"] = float(test.pvalue)
        if not test.pvalue < 0.05:
            sweet.append(r)
    cs, ls, means = (np.array([r[k] for r in relational]) for k in ("C", "L", "mean"))
    correlations = {f"{name}_{axis}": float(fn(values, means)[0]) for axis, values in (("C", cs), ("L", ls))
                    for name, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr))}
    summary = {
        "graphs": len(relational), "seeds_per_graph": sorted({len(r["errors"]) for r in rows}),
        "trials_ok": sum(len(r["errors"]) for r in rows), "recipe": RECIPE,
        "complete": {"mean": complete["mean"], "std": complete["std"], "width": complete["width"]},
        "best": {k: best[k] for k in ("id", "graph", "C", "L", "width", "mean", "std")},
        "sweet_spot": {"cells": len(sweet), "C": [min(r["C"] for r in sweet), max(r["C"] for r in sweet)],
                       "L": [min(r["L"] for r in sweet), max(r["L"] for r in sweet)]},
        "graphs_better_than_complete": sum(r["mean"] < complete["mean"] for r in relational),
        "correlations_error_with": correlations,
        "wall_seconds_total": round(sum(records[k].get("wall_seconds", 0) for k in records), 1),
        "host_cpu": host_cpu(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json_atomic(OUT / "study.json", {"summary": summary, "rows": rows})
    plot(relational, complete, best, sweet)
    print(json.dumps(summary, indent=1))


def register_val() -> None:
    """The validation sweep (the first sweep's trials, evaluated on validation) and its registration, before any run."""
    if (VAL / "registration.json").exists():
        raise SystemExit(f"{VAL / 'registration.json'} exists: a registration is written once, before measuring")
    text = CONFIG.read_text()
    data = yaml.safe_load(text)
    data["name"] = "relgraph_mlp_fmnist_val"
    data["recipe"]["eval_split"] = "val"
    header = ("# The relational-graph sweep (relgraph_mlp_fmnist.yaml: the same trials, seeds and recipe) evaluated on\n"
              "# validation: 5,000 of the last 10,000 training images; the test split is read once per trial, never to choose.\n"
              "# Written by: python benchmarks/relgraph_fmnist_study.py --register-val\n"
              "# Run: mobilezoo sweep run --config configs/sweeps/relgraph_mlp_fmnist_val.yaml "
              "--out benchmarks/results/relational_graphs/val/sweep --workers 2\n")
    write_sweep_file(VAL_CONFIG, header, {k: v for k, v in data.items() if k != "trials"}, data["trials"])
    VAL.mkdir(parents=True, exist_ok=True)
    write_json_atomic(VAL / "registration.json", {
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
        "sweep": str(VAL_CONFIG.relative_to(ROOT)),
        "selection": "the relational graph (not the complete one) with the lowest mean validation error over its 3 "
                     "seeds; validation = Fashion-MNIST training images 50,000-54,999, never trained on",
        "report": "the selected graph and the complete graph, retrained with their recorded seeds, tested once on "
                  f"test images {FRESH_TEST[0]}-{FRESH_TEST[1] - 1} (never read by any selection); one-sided Welch "
                  "t-test (selected < complete) and a bootstrap 95% CI of the difference of means",
        "fresh_test_images": list(FRESH_TEST),
    })
    print(f"registered -> {(VAL / 'registration.json').relative_to(ROOT)}; sweep -> {VAL_CONFIG.relative_to(ROOT)}")


def _retrain_on_fresh_test(trial) -> dict:
    """Train one trial again (its recorded seed and recipe) and test it once on the fresh test images."""
    import tempfile

    import torch
    from torch.utils.data import Subset

    from mobilezoo.data.fashion_mnist import fashion_mnist
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import Trainer

    with tempfile.TemporaryDirectory() as scratch:
        torch.set_num_threads(trial.threads)
        config = TrainConfig.from_dict({**trial.recipe, "model": trial.model, "model_kwargs": trial.model_kwargs,
                                        "seed": trial.seed, "threads": trial.threads, "out_dir": scratch})
        trainer = Trainer(config, show_progress=False)
        last = trainer.fit()[-1]
        fresh = Subset(fashion_mnist("test", trainer.cfg), range(*FRESH_TEST))
        tested = trainer.evaluate(dataset=fresh)
    return {"id": trial.id, "seed": trial.seed, "val_error": round(100.0 - last["eval_top1"], 4),
            "fresh_test_error": round(100.0 - tested["eval_top1"], 4), "fresh_test_samples": tested["eval_samples"]}


def report_val() -> None:
    from scipy import stats

    from mobilezoo.sweep.config import SweepConfig
    from mobilezoo.sweep.trials import make_trials

    registration = json.loads((VAL / "registration.json").read_text())
    graphs = {g["id"]: g for g in json.loads((OUT / "graphs.json").read_text())["graphs"]}
    records = ResultStore(VAL / "sweep").records()
    first = ResultStore(OUT / "sweep").records()
    by_graph: dict[str, list[str]] = {}
    for key, record in records.items():
        if record.get("status") == "ok":
            by_graph.setdefault(key.rsplit("_r", 1)[0], []).append(key)
    if len(by_graph) < len(graphs) or any(len(keys) < 3 for keys in by_graph.values()):
        raise SystemExit("the validation sweep has not finished: run it (it resumes) first")
    val_mean = {g: statistics.fmean(records[k]["error"] for k in keys) for g, keys in by_graph.items()}
    chosen = min((g for g in val_mean if g != "complete"), key=val_mean.get)
    trials = {t.id: t for t in make_trials(SweepConfig.from_file(VAL_CONFIG))}
    from tqdm import tqdm

    runs = {g: [_retrain_on_fresh_test(trials[k]) for k in tqdm(sorted(by_graph[g]), desc=f"retraining {g}")]
            for g in (chosen, "complete")}
    for g, rows in runs.items():  # the retrained networks are the sweep's: the same seeds, data and recipe
        for row in rows:
            row["sweep_val_error"] = records[row["id"]]["error"]
            row["same_as_sweep"] = abs(row["val_error"] - row["sweep_val_error"]) < 1e-6
    a = np.array([r["fresh_test_error"] for r in runs[chosen]])
    b = np.array([r["fresh_test_error"] for r in runs["complete"]])
    ranks = sorted(val_mean, key=val_mean.get)
    first_test_mean = {g: statistics.fmean(first[k]["error"] for k in by_graph[g]) for g in by_graph}
    summary = {
        "registration": registration, "git_commit": git_commit(),
        "chosen": {"id": chosen, **{k: graphs[chosen][k] for k in ("C", "L", "width")},
                   "val_error_mean": val_mean[chosen], "val_rank_of_first_sweeps_test_pick": None},
        "complete_val_error_mean": val_mean["complete"],
        "relational_graphs_below_complete_on_val": sum(v < val_mean["complete"] for g, v in val_mean.items()
                                                        if g != "complete"),
        "first_sweep_test_pick": min((g for g in first_test_mean if g != "complete"), key=first_test_mean.get),
        "spearman_val_vs_first_test": float(stats.spearmanr([val_mean[g] for g in by_graph],
                                                            [first_test_mean[g] for g in by_graph])[0]),
        "fresh_test": {
            "n_per_group": len(a), "chosen_mean": float(a.mean()), "chosen_std": float(a.std(ddof=1)),
            "complete_mean": float(b.mean()), "complete_std": float(b.std(ddof=1)),
            "difference": float(a.mean() - b.mean()),
            "bootstrap_ci95": bootstrap_ci95(a, b),
            "welch_p_chosen_lower": float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue),
        },
        "retrained_equal_sweep": all(r["same_as_sweep"] for rows in runs.values() for r in rows),
        "wall_seconds_sweep": round(sum(r.get("wall_seconds", 0) for r in records.values()), 1),
        "host_cpu": host_cpu(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    summary["chosen"]["val_rank_of_first_sweeps_test_pick"] = ranks.index(summary["first_sweep_test_pick"]) + 1
    write_json_atomic(VAL / "study.json", {"summary": summary, "runs": runs,
                                           "val_error_mean": dict(sorted(val_mean.items(), key=lambda kv: kv[1]))})
    print(json.dumps(summary, indent=1))


def plot(relational: list[dict], complete: dict, best: dict, sweet: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    grid = np.full((L_BINS, C_BINS), np.nan)
    for r in relational:
        grid[r["cell"][1], r["cell"][0]] = r["mean"]
    figure, axis = plt.subplots(figsize=(6.4, 4.8))
    extent = (0, 1, L_RANGE[0], L_RANGE[1])
    image = axis.imshow(grid, origin="lower", extent=extent, aspect="auto", cmap="viridis_r")
    figure.colorbar(image, label="top-1 error (%), mean of seeds")
    c_step, l_step = 1 / C_BINS, (L_RANGE[1] - L_RANGE[0]) / L_BINS
    for r in sweet:
        axis.add_patch(Rectangle((r["cell"][0] * c_step, L_RANGE[0] + r["cell"][1] * l_step), c_step, l_step,
                                 fill=False, edgecolor="red", linewidth=1.2))
    axis.plot(best["C"], best["L"], "r*", markersize=14, label=f"best graph {best['mean']:.2f} +- {best['std']:.2f}")
    axis.plot(1.0, 1.0, "s", color="white", markeredgecolor="black", markersize=9, clip_on=False,
              label=f"complete graph (C 1, L 1) {complete['mean']:.2f} +- {complete['std']:.2f}")
    axis.set(xlabel="clustering C", ylabel="average path length L",
             title="Relational 5-layer MLP on Fashion-MNIST (MAC-matched)\nred boxes: sweet spot (not worse than best, p<0.05)")
    axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    save_png(figure, OUT / "heatmap.png", dpi=110)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for axis, key in zip(axes, ("C", "L")):
        axis.errorbar([r[key] for r in relational], [r["mean"] for r in relational], [r["std"] for r in relational],
                      fmt="o", markersize=3, alpha=0.7)
        axis.axhline(complete["mean"], color="k", linestyle="--", label="complete graph")
        axis.set(xlabel=key, ylabel="top-1 error (%)")
    axes[0].legend()
    figure.tight_layout()
    save_png(figure, OUT / "error_vs_c_l.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--write-config", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument("--register-val", action="store_true", help="write the validation sweep and its registration")
    parser.add_argument("--report-val", action="store_true", help="select on validation, test once on fresh images")
    args = parser.parse_args()
    if args.register_val:
        register_val()
    if args.report_val:
        report_val()
    if args.write_config:
        write_config(args.seeds)
    if args.analyze:
        analyze()


if __name__ == "__main__":
    main()
