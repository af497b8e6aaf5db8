#!/usr/bin/env python
"""UnNAS's sample-based experiment, scaled to a CPU: do pretext-task accuracies rank architectures as labels do?

1. ``--write-config``: ``--networks`` random DARTS-space genotypes (mobilezoo.models.darts.random_genotype, seeds
   0..N-1) as small CIFAR-layout networks (8 channels, 5 cells), each trained ``--seeds`` times on each task:
   Fashion-MNIST classification, rotation and jigsaw (2x2, 24 permutations), and colorization on colour crops of the
   bundled photos and video frames (no labels anywhere but classification). One recipe for all: 16 px, 1,000
   training images, 3 epochs, SGD 0.05. Writes configs/sweeps/unnas_rank_fmnist.yaml and networks.json.
2. ``mobilezoo sweep run --config configs/sweeps/unnas_rank_fmnist.yaml --out benchmarks/results/unnas/sweep --workers 2``
   (resumable).
3. ``--analyze``: per network and task the mean accuracy over seeds; Spearman rank correlation of each pretext
   task's accuracy with classification accuracy (and between seeds of classification, the noise ceiling); a
   scatter plot per task. Writes study.json and rank_correlation.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
from pathlib import Path

import yaml

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import atomic_path, save_png, write_json_atomic
from mobilezoo.models.darts import random_genotype
from mobilezoo.sweep.store import ResultStore

ROOT = Path(__file__).resolve().parent.parent
NET = {"channels": 8, "layers": 5, "layout": "cifar"}
RECIPE = {"input_size": 16, "num_classes": 10, "epochs": 3, "batch_size": 64, "optimizer": "sgd", "lr": 0.05,
          "momentum": 0.9, "weight_decay": 5.0e-4, "warmup_epochs": 0.2, "label_smoothing": 0.0, "limit_train": 1000,
          "limit_eval": 500}
TASKS = {"cls": ("classification", "fashion_mnist"), "rot": ("rotation", "fashion_mnist"),
         "jig": ("jigsaw", "fashion_mnist"), "col": ("colorization", "colour_crops")}
# version 2 (issue 30): the reference's sampler (mobilezoo.designspace.nas_cells, none and repeated inputs, its
# parameter band) and its per-task recipes: rotation and jigsaw at a quarter of the batch and learning rate of
# classification and colorization (the reference: 32 / 0.025 vs 128 / 0.1, the same lr per image), jigsaw at 32 px
# (16 px cells, 12 px tiles as the reference's CIFAR jigsaw); the pretext tasks as the reference defines them.
TASK_RECIPES_V2 = {"cls": {}, "col": {}, "rot": {"batch_size": 16, "lr": 0.0125},
                   "jig": {"batch_size": 16, "lr": 0.0125, "input_size": 32}}
VERSIONS = {1: ("unnas", "unnas_rank_fmnist"), 2: ("unnas_rank_v2", "unnas_rank_v2_fmnist")}
OUT = ROOT / "benchmarks" / "results" / "unnas"
CONFIG = ROOT / "configs" / "sweeps" / "unnas_rank_fmnist.yaml"


def use_version(version: int) -> None:
    global OUT, CONFIG
    folder, config = VERSIONS[version]
    OUT = ROOT / "benchmarks" / "results" / folder
    CONFIG = ROOT / "configs" / "sweeps" / f"{config}.yaml"


def genotypes(networks: int, version: int) -> list[dict]:
    if version == 1:
        return [{"id": f"n{i:02d}", "genotype_seed": i, "genotype": random_genotype(i).to_dict()} for i in range(networks)]
    from mobilezoo.designspace.nas_cells import SPACES

    rng = random.Random("unnas_rank_v2")
    return [{"id": f"n{i:02d}", "sampler": "nas_cells darts (reference)", "genotype": SPACES["darts"].draw(rng).to_dict()}
            for i in range(networks)]


def write_config(networks: int, seeds: int, version: int = 1) -> None:
    nets = genotypes(networks, version)
    lines = []
    for net in nets:
        for short, (task, dataset) in TASKS.items():
            for replicate in range(seeds):
                recipe = {"task": task, "dataset": dataset, **(TASK_RECIPES_V2[short] if version == 2 else {})}
                trial = {"id": f"{net['id']}_{short}_r{replicate}", "model": "darts_net",
                         "model_kwargs": {"genotype": net["genotype"], **NET}, "recipe": recipe}
                lines.append(f"  - {yaml.safe_dump(trial, default_flow_style=True, sort_keys=False, width=100_000).strip()}")
    config_name = CONFIG.stem
    out = OUT.relative_to(ROOT)
    header = ("# UnNAS (arXiv 2003.12056) sample-based study on a CPU: random DARTS-space networks trained on\n"
              "# classification and on the rotation, jigsaw and colorization pretext tasks, several seeds each.\n"
              f"# Written by: python benchmarks/unnas_rank_study.py --version {version} --write-config\n"
              f"# Run: mobilezoo sweep run --config configs/sweeps/{config_name}.yaml --out {out}/sweep --workers 2\n")
    body = yaml.safe_dump({"name": config_name, "seed": 1, "recipe": {"dataset": "fashion_mnist", **RECIPE},
                           "threads_per_trial": 1}, sort_keys=False)
    with atomic_path(CONFIG) as temporary:
        temporary.write_text(header + body + "trials:\n" + "\n".join(lines) + "\n")
    OUT.mkdir(parents=True, exist_ok=True)
    extra = {"task_recipes": TASK_RECIPES_V2, "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT,
             capture_output=True, text=True).stdout.strip()} if version == 2 else {}
    write_json_atomic(OUT / "networks.json", {"net": NET, "recipe": RECIPE, "tasks": TASKS, "networks": nets, **extra})
    print(f"{networks} networks x {len(TASKS)} tasks x {seeds} seeds = {len(lines)} trials -> {CONFIG.relative_to(ROOT)}")


def analyze() -> None:
    from scipy import stats

    nets = json.loads((OUT / "networks.json").read_text())["networks"]
    records = ResultStore(OUT / "sweep").records()
    table: dict[str, dict[str, list[float]]] = {}
    for key, record in records.items():
        if record.get("status") != "ok":
            continue
        net, short, _ = key.split("_")
        table.setdefault(net, {}).setdefault(short, []).append(record["top1"])
    complete = [n["id"] for n in nets if n["id"] in table and all(t in table[n["id"]] for t in TASKS)]
    means = {t: [statistics.fmean(table[n][t]) for n in complete] for t in TASKS}
    correlations = {t: float(stats.spearmanr(means[t], means["cls"])[0]) for t in ("rot", "jig", "col")}
    rng = random.Random(0)
    intervals = {}
    for t in ("rot", "jig", "col"):  # bootstrap over networks: 95% CI of each Spearman
        draws = []
        for _ in range(2000):
            pick = [rng.randrange(len(complete)) for _ in complete]
            value = stats.spearmanr([means[t][i] for i in pick], [means["cls"][i] for i in pick])[0]
            if value == value:  # a resample of ties only has no rank correlation
                draws.append(value)
        draws.sort()
        intervals[t] = [round(draws[int(0.025 * len(draws))], 3), round(draws[int(0.975 * len(draws)) - 1], 3)]
    ceiling = None
    paired = [n for n in complete if len(table[n]["cls"]) >= 2]
    if len(paired) >= 3:  # how well one classification seed ranks like another: the noise ceiling
        ceiling = float(stats.spearmanr([table[n]["cls"][0] for n in paired], [table[n]["cls"][1] for n in paired])[0])
    summary = {"networks": len(complete), "seeds": sorted({len(v) for n in complete for v in table[n].values()}),
               "spearman_with_classification": correlations, "spearman_bootstrap_ci95": intervals,
               "classification_seed_to_seed_spearman": ceiling,
               "mean_accuracy": {t: round(statistics.fmean(means[t]), 2) for t in TASKS},
               "accuracy_range": {t: [round(min(means[t]), 2), round(max(means[t]), 2)] for t in TASKS},
               "trials_ok": sum(1 for r in records.values() if r.get("status") == "ok"),
               "trials_failed": sum(1 for r in records.values() if r.get("status") != "ok"),
               "wall_seconds_total": round(sum(r.get("wall_seconds", 0) for r in records.values()), 1),
               "host_cpu": host_cpu(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True).stdout.strip()}
    write_json_atomic(OUT / "study.json", {"summary": summary, "per_network": {n: table[n] for n in complete}})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for axis, short in zip(axes, ("rot", "jig", "col")):
        axis.scatter(means[short], means["cls"], s=18)
        axis.set(xlabel=f"{TASKS[short][0]} accuracy (%)", ylabel="classification top-1 (%)",
                 title=f"{TASKS[short][0]}: Spearman {correlations[short]:.2f}")
    figure.suptitle(f"{len(complete)} random DARTS-space networks (Fashion-MNIST / colour crops, mean of seeds)")
    figure.tight_layout()
    save_png(figure, OUT / "rank_correlation.png", dpi=110)
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--write-config", action="store_true")
    parser.add_argument("--networks", type=int, default=24)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument("--version", type=int, choices=sorted(VERSIONS), default=1,
                        help="1: the first study (zoo sampler, one recipe); 2: the reference's sampler, tasks and "
                             "per-task recipes (benchmarks/results/unnas_rank_v2/)")
    args = parser.parse_args()
    use_version(args.version)
    if args.write_config:
        write_config(args.networks, args.seeds, args.version)
    if args.analyze:
        analyze()


if __name__ == "__main__":
    main()
