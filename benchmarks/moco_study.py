"""MoCo v2 on Fashion-MNIST: does a label-free pretrained FBNetV2-F1 beat random init and supervised training on few labels?

    mobilezoo train --config configs/train/fbnetv2_f1_moco_fmnist.yaml --resume     # pretraining (resumable)
    python benchmarks/moco_study.py                    # evaluations (resumable: one JSON line each), table, plot
    python benchmarks/moco_study.py --package          # also package fbnetv2_f1.fmnist_moco (probe on 100 % labels)

Evaluations, each on the full 10k test split, with 1 %, 10 % and 100 % of the 60k training labels (class-stratified,
seed 0, the same images for every method):
- ``moco linear`` / ``moco knn``: the MoCo query encoder's backbone, frozen (``mobilezoo evaluate`` protocols);
- ``random linear`` / ``random knn``: the same architecture randomly initialised (seed 0), frozen;
- ``supervised``: FBNetV2-F1 trained from scratch on the same labelled images with the zoo's Fashion-MNIST recipe
  (configs/train/fbnetv2_f1_fmnist.yaml), epochs raised on the small subsets so every run takes >= ~900 steps; at 100 %
  the packaged fbnetv2_f1.fmnist weights (that same recipe, 8 epochs) are evaluated.
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
RUN = ROOT / "runs" / "fbnetv2_f1_moco_fmnist"
FRACTIONS = (0.01, 0.1, 1.0)
SUPERVISED_EPOCHS = {0.01: 200, 0.1: 20}  # 600 images x 200 / 128 = 937 steps; 6000 x 20 / 128 = 937 steps


def _frozen(source: str, protocol: str, fraction: float) -> dict:
    from mobilezoo.evaluation.backbones import load_backbone
    from mobilezoo.evaluation.protocols import evaluate_frozen
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import build_data, data_cfg

    import torch

    torch.manual_seed(0)  # the random-init backbone is the same one every time
    loaded = load_backbone(source)
    config = TrainConfig.from_dict({"model": loaded.architecture, "input_size": 32, "label_fraction": fraction, "seed": 0})
    cfg = data_cfg(config, loaded.model.pretrained_cfg)
    train, test = build_data(config, cfg)
    result = evaluate_frozen(loaded.model, protocol, train, test, 10, seed=0)
    return {"top1": result.top1, "train_samples": result.train_samples, "test_samples": result.test_samples,
            "details": result.details, "source": loaded.source}


def _supervised(fraction: float) -> dict:
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
                                    f"out_dir={ROOT / 'runs' / f'moco_study_supervised_{fraction:g}'}"])
    trainer = Trainer(config, show_progress=False)
    history = trainer.fit()
    return {"top1": history[-1]["eval_top1"], "train_samples": len(trainer.train_set),
            "test_samples": history[-1]["eval_samples"],
            "details": {"epochs": epochs, "steps": epochs * trainer.steps_per_epoch, "recipe": "fbnetv2_f1_fmnist.yaml"}}


def evaluate_all(only: tuple[str, ...] = ()) -> list[dict]:
    from mobilezoo.fileio import atomic_path

    path = OUT / "results.jsonl"
    rows = [json.loads(line) for line in open(path)] if path.exists() else []
    done = {(r["method"], r["label_fraction"]) for r in rows}
    jobs = [(f"{who} {protocol}", fraction, source, protocol)
            for fraction in FRACTIONS for who, source in (("moco", str(RUN / "last.pt")), ("random", "fbnetv2_f1"))
            for protocol in ("linear", "knn")]
    jobs += [("supervised", fraction, None, None) for fraction in FRACTIONS]
    for method, fraction, source, protocol in jobs:
        if (method, fraction) in done or (only and method.split()[0] not in only):
            continue
        started = time.perf_counter()
        result = _supervised(fraction) if source is None else _frozen(source, protocol, fraction)
        rows.append({"method": method, "label_fraction": fraction, **result,
                     "wall_seconds": round(time.perf_counter() - started, 1)})
        with atomic_path(path) as temporary:
            temporary.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{method} @ {fraction:g}: {result['top1']:.2f}%", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    methods = ("moco linear", "moco knn", "random linear", "random knn", "supervised")
    lines = ["| method | 1 % labels (600) | 10 % (6,000) | 100 % (60,000) |", "|---|---|---|---|"]
    for method in methods:
        cells = []
        for fraction in FRACTIONS:
            match = [r for r in rows if r["method"] == method and r["label_fraction"] == fraction]
            cells.append(f"{match[0]['top1']:.2f}" if match else "-")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mobilezoo.fileio import save_png

    history = [json.loads(line) for line in open(OUT / "pretrain_metrics.jsonl")]
    epochs = [r["epoch"] for r in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [r["train_loss"] for r in history], marker="o")
    left.set_xlabel("epoch")
    left.set_ylabel("InfoNCE loss (K = 4096)")
    right.plot(epochs, [r["eval_top1"] for r in history], marker="o", color="tab:green")
    right.set_xlabel("epoch")
    right.set_ylabel("kNN top-1 (%), bank 10k train images")
    figure.suptitle("MoCo v2 pretraining of FBNetV2-F1 on Fashion-MNIST (no labels)")
    figure.tight_layout()
    save_png(figure, OUT / "curves.png")


def package() -> None:
    files = ROOT / "mobilezoo" / "weights" / "files"
    subprocess.run([sys.executable, "-m", "mobilezoo", "evaluate", os.path.relpath(RUN / "last.pt", ROOT), "--protocol",
                    "linear", "--release", "fbnetv2_f1.fmnist_moco", "--out", str(ROOT / "runs" / "moco_package")], check=True, cwd=ROOT)
    for suffix in (".safetensors", ".json"):
        name = f"fbnetv2_f1.fmnist_moco{suffix}"
        shutil.copyfile(ROOT / "runs" / "moco_package" / name, files / name)
    shutil.copyfile(ROOT / "runs" / "moco_package" / "result.json", OUT / "package_result.json")  # the evaluation behind it
    annotate_record(files / "fbnetv2_f1.fmnist_moco.json")


def annotate_record(path: Path) -> None:
    """Add the study's figures (every method at every label fraction) to the packaged weights' record."""
    from mobilezoo.fileio import write_json_atomic

    record = json.loads(path.read_text())
    rows = [json.loads(line) for line in open(OUT / "results.jsonl")]
    record["metrics"]["study"] = {
        "test_top1_by_label_fraction": {r["method"]: {} for r in rows},
        "where": "benchmarks/results/moco/ (10-epoch MoCo v2 pretraining; 10k test images)"}
    for r in rows:
        record["metrics"]["study"]["test_top1_by_label_fraction"][r["method"]][f"{r['label_fraction']:g}"] = round(r["top1"], 2)
    write_json_atomic(path, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", action="store_true")
    parser.add_argument("--annotate", action="store_true", help="only add the study's figures to the packaged record")
    parser.add_argument("--only", default="", help="comma list of moco, random, supervised (default: all)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.annotate:
        return annotate_record(ROOT / "mobilezoo" / "weights" / "files" / "fbnetv2_f1.fmnist_moco.json")
    shutil.copy(RUN / "metrics.jsonl", OUT / "pretrain_metrics.jsonl")
    curves()
    rows = evaluate_all(tuple(filter(None, args.only.split(","))))
    (OUT / "summary.md").write_text(table(rows) + "\n")
    print(table(rows))
    if args.package:
        package()


if __name__ == "__main__":
    main()
