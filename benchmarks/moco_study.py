"""MoCo v2 on Fashion-MNIST: does a label-free pretrained FBNetV2-F1 beat random init and supervised training on few labels?

    mobilezoo train --config configs/train/fbnetv2_f1_moco_fmnist.yaml --resume       # pretraining, 10 epochs
    mobilezoo train --config configs/train/fbnetv2_f1_moco_fmnist_30ep.yaml --resume  # 20 more (30 in all)
    python benchmarks/moco_study.py                    # evaluations (resumable: one JSON line each), table, plot
    python benchmarks/moco_study.py --package          # also package fbnetv2_f1.fmnist_moco from the longest run

Evaluations, each on the full 10k test split, with 1 %, 10 % and 100 % of the 60k training labels (class-stratified,
seed 0, the same images for every method):
- ``moco linear`` / ``moco knn``: the MoCo query encoder's backbone, frozen (``mobilezoo evaluate`` protocols), after
  each finished pretraining run (10 and 30 epochs; rows carry ``pretrain_epochs``);
- ``random linear`` / ``random knn``: the same architecture randomly initialised (seed 0), frozen;
- ``supervised``: FBNetV2-F1 trained from scratch on the same labelled images with the zoo's Fashion-MNIST recipe
  (configs/train/fbnetv2_f1_fmnist.yaml), epochs raised on the small subsets so every run takes >= ~900 steps; at 100 %
  the packaged fbnetv2_f1.fmnist weights (that same recipe, 8 epochs) are evaluated.

The 1 % comparison is repeated with label draws 1 and 2 (``SEED_REPEATS``; the seed draws the 600 images and seeds
the probe, the kNN bank and the supervised run alike; rows carry ``seed``), so the goal "MoCo beats supervised at 1 %"
is read over three paired draws, not one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "results" / "moco"
#: pretraining epochs -> run folder (the 30-epoch run continues the 10-epoch one; see its config)
RUNS = {10: ROOT / "runs" / "fbnetv2_f1_moco_fmnist", 30: ROOT / "runs" / "fbnetv2_f1_moco_fmnist_30ep"}
FRACTIONS = (0.01, 0.1, 1.0)
SUPERVISED_EPOCHS = {0.01: 200, 0.1: 20}  # 600 images x 200 / 128 = 937 steps; 6000 x 20 / 128 = 937 steps
SEED_REPEATS = (1, 2)  # further label draws for the 1 % comparison (seed 0 is the main table)


def _frozen(source: str, protocol: str, fraction: float, seed: int = 0) -> dict:
    from mobilezoo.evaluation.backbones import load_backbone
    from mobilezoo.evaluation.protocols import evaluate_frozen
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import build_data, data_cfg

    import torch

    torch.manual_seed(0)  # the random-init backbone is the same one every time
    loaded = load_backbone(source)
    config = TrainConfig.from_dict({"model": loaded.architecture, "input_size": 32, "label_fraction": fraction, "seed": seed})
    cfg = data_cfg(config, loaded.model.pretrained_cfg)
    train, test = build_data(config, cfg)
    result = evaluate_frozen(loaded.model, protocol, train, test, 10, seed=seed)
    return {"top1": result.top1, "train_samples": result.train_samples, "test_samples": result.test_samples,
            "details": result.details, "source": loaded.source}


def _supervised(fraction: float, seed: int = 0) -> dict:
    import torch

    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import Trainer

    if fraction == 1.0:  # the packaged weights of the zoo's recipe on all labels
        import mobilezoo
        from mobilezoo.data.fashion_mnist import fashion_mnist

        model = mobilezoo.create_model("fbnetv2_f1.fmnist", pretrained=True).eval()
        data = fashion_mnist("test", model.pretrained_cfg)
        with torch.no_grad():
            correct = sum((model(x).argmax(1) == y).sum().item() for x, y in torch.utils.data.DataLoader(data, batch_size=500))
        return {"top1": 100.0 * correct / len(data), "train_samples": 60000, "test_samples": len(data),
                "details": {"weights": "fbnetv2_f1.fmnist (configs/train/fbnetv2_f1_fmnist.yaml, 8 epochs)"}}
    epochs = SUPERVISED_EPOCHS[fraction]
    config = TrainConfig.from_file(ROOT / "configs" / "train" / "fbnetv2_f1_fmnist.yaml",
                                   [f"label_fraction={fraction}", f"epochs={epochs}", "threads=1", "eval_every=1000",
                                    f"seed={seed}", f"out_dir={ROOT / 'runs' / supervised_run_name(fraction, seed)}"])
    trainer = Trainer(config, show_progress=False)
    history = trainer.fit()
    return {"top1": history[-1]["eval_top1"], "train_samples": len(trainer.train_set),
            "test_samples": history[-1]["eval_samples"],
            "details": {"epochs": epochs, "steps": epochs * trainer.steps_per_epoch, "recipe": "fbnetv2_f1_fmnist.yaml"}}


def supervised_run_name(fraction: float, seed: int) -> str:
    return f"moco_study_supervised_{fraction:g}" + (f"_seed{seed}" if seed else "")


def finished_runs() -> dict[int, Path]:
    """The pretraining runs whose last epoch is done (their metrics list every epoch of their config)."""
    finished = {}
    for epochs, run in RUNS.items():
        metrics = run / "metrics.jsonl"
        if metrics.exists() and (run / "last.pt").exists():
            config_epochs = epochs - sum(e for e in RUNS if e < epochs)  # a continuation trains the difference
            if sum(1 for line in open(metrics) if line.strip()) == config_epochs:
                finished[epochs] = run
    return finished


def evaluate_all(only: tuple[str, ...] = ()) -> list[dict]:
    from mobilezoo.fileio import atomic_path

    path = OUT / "results.jsonl"
    rows = [json.loads(line) for line in open(path)] if path.exists() else []
    for row in rows:  # rows recorded before the 30-epoch run came from the 10-epoch one
        if row["method"].startswith("moco"):
            row.setdefault("pretrain_epochs", 10)
    done = {(r["method"], r["label_fraction"], r.get("pretrain_epochs"), r.get("seed", 0)) for r in rows}
    finished = finished_runs()
    jobs = [(f"random {protocol}", fraction, "fbnetv2_f1", protocol, None, 0)
            for fraction in FRACTIONS for protocol in ("linear", "knn")]
    jobs += [(f"moco {protocol}", fraction, str(run / "last.pt"), protocol, epochs, 0)
             for epochs, run in finished.items() for fraction in FRACTIONS for protocol in ("linear", "knn")]
    jobs += [("supervised", fraction, None, None, None, 0) for fraction in FRACTIONS]
    if finished:  # the 1 % comparison again on other label draws, with the longest pretraining
        epochs, run = max(finished.items())
        for seed in SEED_REPEATS:
            jobs += [(f"moco {protocol}", 0.01, str(run / "last.pt"), protocol, epochs, seed) for protocol in ("linear", "knn")]
            jobs += [("random linear", 0.01, "fbnetv2_f1", "linear", None, seed), ("supervised", 0.01, None, None, None, seed)]
    for method, fraction, source, protocol, epochs, seed in jobs:
        if (method, fraction, epochs, seed) in done or (only and method.split()[0] not in only):
            continue
        started = time.perf_counter()
        result = _supervised(fraction, seed) if source is None else _frozen(source, protocol, fraction, seed)
        rows.append({"method": method, "label_fraction": fraction, **({"pretrain_epochs": epochs} if epochs else {}),
                     **({"seed": seed} if seed else {}), **result, "wall_seconds": round(time.perf_counter() - started, 1)})
        with atomic_path(path) as temporary:
            temporary.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{label(rows[-1])} @ {fraction:g} (seed {seed}): {result['top1']:.2f}%", flush=True)
    return rows


def label(row: dict) -> str:
    """``moco linear`` -> ``moco (30 ep) linear``; other methods as they are."""
    who, _, protocol = row["method"].partition(" ")
    return f"{who} ({row['pretrain_epochs']} ep) {protocol}" if "pretrain_epochs" in row else row["method"]


def table(rows: list[dict]) -> str:
    methods = sorted({label(r) for r in rows if r["method"].startswith("moco")}, key=lambda m: (m.split()[-1] != "linear", m))
    methods += ["random linear", "random knn", "supervised"]
    lines = ["| method | 1 % labels (600) | 10 % (6,000) | 100 % (60,000) |", "|---|---|---|---|"]
    for method in methods:
        cells = []
        for fraction in FRACTIONS:
            match = [r for r in rows if label(r) == method and r["label_fraction"] == fraction and not r.get("seed")]
            cells.append(f"{match[0]['top1']:.2f}" if match else "-")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + seeds_table(rows)


def seeds_table(rows: list[dict]) -> str:
    """The 1 % comparison over every label draw recorded: per draw, mean and the paired gap to supervised."""
    seeds = sorted({r.get("seed", 0) for r in rows if r.get("seed")} | {0})
    by = {(label(r), r.get("seed", 0)): r["top1"] for r in rows if r["label_fraction"] == 0.01}
    methods = [m for m in dict.fromkeys(label(r) for r in rows if r.get("seed")) if m != "supervised"] + ["supervised"]
    lines = ["| 1 % labels, draw | " + " | ".join(map(str, seeds)) + " | mean | mean gap to supervised |",
             "|---|" + "---|" * (len(seeds) + 2)]
    for method in methods:
        values = [by.get((method, seed)) for seed in seeds]
        complete = None not in values and None not in [by.get(("supervised", seed)) for seed in seeds]
        mean = f"{sum(values) / len(values):.2f}" if None not in values else "-"
        gap = (f"{sum(v - by[('supervised', s)] for v, s in zip(values, seeds)) / len(seeds):+.2f}"
               if complete and method != "supervised" else "")
        lines.append(f"| {method} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in values) + f" | {mean} | {gap} |")
    return "\n".join(lines)


def curves() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mobilezoo.fileio import save_png

    history = []
    for epochs_before, name in enumerate_metrics():  # a continuation's epochs count on from the run it continues
        history += [{**r, "epoch": r["epoch"] + epochs_before} for r in map(json.loads, open(OUT / name))]
    epochs = [r["epoch"] for r in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for axis in (left, right):
        for start in [before for before, _ in enumerate_metrics()][1:]:
            axis.axvline(start + 0.5, color="grey", lw=0.8, ls=":")  # a new cosine schedule starts here
    left.plot(epochs, [r["train_loss"] for r in history], marker="o")
    left.set_xlabel("epoch")
    left.set_ylabel("InfoNCE loss (K = 4096)")
    right.plot(epochs, [r["eval_top1"] for r in history], marker="o", color="tab:green")
    right.set_xlabel("epoch")
    right.set_ylabel("kNN top-1 (%), bank 10k train images")
    figure.suptitle("MoCo v2 pretraining of FBNetV2-F1 on Fashion-MNIST (no labels)")
    figure.tight_layout()
    save_png(figure, OUT / "curves.png")


def metrics_name(epochs: int) -> str:
    return "pretrain_metrics.jsonl" if epochs == min(RUNS) else f"pretrain_metrics_{epochs}ep.jsonl"


def enumerate_metrics() -> list[tuple[int, str]]:
    """(epochs before this run, its copied metrics file) for every pretraining run recorded here, in order."""
    return [(max([e for e in RUNS if e < epochs], default=0), metrics_name(epochs)) for epochs in sorted(RUNS)
            if (OUT / metrics_name(epochs)).exists()]


def package() -> None:
    files = ROOT / "mobilezoo" / "weights" / "files"
    epochs, run = max(finished_runs().items())
    subprocess.run([sys.executable, "-m", "mobilezoo", "evaluate", os.path.relpath(run / "last.pt", ROOT), "--protocol",
                    "linear", "--release", "fbnetv2_f1.fmnist_moco", "--out", str(ROOT / "runs" / "moco_package")], check=True, cwd=ROOT)
    for suffix in (".safetensors", ".json"):
        name = f"fbnetv2_f1.fmnist_moco{suffix}"
        shutil.copyfile(ROOT / "runs" / "moco_package" / name, files / name)
    shutil.copyfile(ROOT / "runs" / "moco_package" / "result.json", OUT / "package_result.json")  # the evaluation behind it
    annotate_record(files / "fbnetv2_f1.fmnist_moco.json", epochs)


def annotate_record(path: Path, epochs: int) -> None:
    """Add the study's figures (every method at every label fraction) to the packaged weights' record."""
    from mobilezoo.fileio import write_json_atomic

    record = json.loads(path.read_text())
    rows = [json.loads(line) for line in open(OUT / "results.jsonl")]
    record["metrics"]["pretrain_epochs"] = epochs
    record["metrics"]["study"] = {
        "test_top1_by_label_fraction": {label(r): {} for r in rows},
        "where": f"benchmarks/results/moco/ (MoCo v2 pretraining, 10 and 30 epochs; these weights: {epochs}; "
                 "10k test images)"}
    for r in rows:
        if not r.get("seed"):  # the main table (label draw 0); the further 1 % draws are in results.jsonl
            record["metrics"]["study"]["test_top1_by_label_fraction"][label(r)][f"{r['label_fraction']:g}"] = round(r["top1"], 2)
    write_json_atomic(path, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="store_true")
    parser.add_argument("--annotate", action="store_true", help="only add the study's figures to the packaged record")
    parser.add_argument("--only", default="", help="comma list of moco, random, supervised (default: all)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.annotate:
        return annotate_record(ROOT / "mobilezoo" / "weights" / "files" / "fbnetv2_f1.fmnist_moco.json",
                               max(finished_runs()))
    for epochs, run in RUNS.items():  # finished or still running: the curves show how far it got
        if (run / "metrics.jsonl").exists():
            shutil.copy(run / "metrics.jsonl", OUT / metrics_name(epochs))
    curves()
    rows = evaluate_all(tuple(filter(None, args.only.split(","))))
    (OUT / "summary.md").write_text(table(rows) + "\n")
    print(table(rows))
    if args.package:
        package()


if __name__ == "__main__":
    main()
