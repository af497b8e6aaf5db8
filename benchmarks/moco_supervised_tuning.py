#!/usr/bin/env python
"""MoCo study, issue 31: the supervised baseline tuned as the linear probe is, then compared again at 1 % labels.

The probe picks its learning rate from ``LR_GRID`` on a seeded fifth of the labelled images (then retrains on all of
them); the supervised baseline ran the zoo recipe's lr untuned. Here the baseline gets the same grid and the very same
validation images (``eval_split: probe_fifth``), on each of the three 1 % label draws of the study:

    python benchmarks/moco_supervised_tuning.py --register      # sweep file + registration.json (before any run)
    mobilezoo sweep run --config configs/sweeps/moco_supervised_lr_fmnist.yaml \\
        --out benchmarks/results/moco/supervised_tuning/sweep --workers 2      # 3 draws x 10 lrs (resumable)
    python benchmarks/moco_supervised_tuning.py --report        # pick per draw, retrain on all 600, test once
                                                                # (a draw whose tuning is done runs its final at once)

The MoCo side is the study's recorded ``moco linear`` rows of the 30-epoch backbone (results.jsonl), whose lr was
picked by the same rule on the same images.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import yaml

from mobilezoo.evaluation.linear_probe import LR_GRID
from mobilezoo.fileio import atomic_path, save_png, write_json_atomic
from study_record import bootstrap_ci95, git_commit, machine, write_sweep_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "moco" / "supervised_tuning"
SWEEP = ROOT / "configs" / "sweeps" / "moco_supervised_lr_fmnist.yaml"
RECIPE_FILE = ROOT / "configs" / "train" / "fbnetv2_f1_fmnist.yaml"
DRAWS = (0, 1, 2)  # the study's 1 % label draws (seed s draws the 600 images and seeds the run)
FRACTION, EPOCHS = 0.01, 200  # as the study's untuned supervised rows


def recipe() -> dict:
    data = yaml.safe_load(RECIPE_FILE.read_text())
    for key in ("model", "seed", "threads", "out_dir"):
        data.pop(key)
    return {**data, "label_fraction": FRACTION, "epochs": EPOCHS, "eval_every": 1000}


def register() -> None:
    if (OUT / "registration.json").exists():
        raise SystemExit(f"{OUT / 'registration.json'} exists: a registration is written once, before measuring")
    trials = [{"id": f"d{draw}_lr{lr:g}", "model": "fbnetv2_f1", "seed": draw, "recipe": {"lr": lr}}
              for draw in DRAWS for lr in LR_GRID]
    header = ("# MoCo study (issue 31): the supervised 1 % baseline tuned over the linear probe's lr grid, on the probe's\n"
              "# validation fifth of each label draw (eval_split: probe_fifth); the test split is never read here.\n"
              "# Written by: python benchmarks/moco_supervised_tuning.py --register\n"
              "# Run: mobilezoo sweep run --config configs/sweeps/moco_supervised_lr_fmnist.yaml "
              "--out benchmarks/results/moco/supervised_tuning/sweep --workers 2\n")
    write_sweep_file(SWEEP, header, {"name": "moco_supervised_lr_fmnist", "seed": 0,
                                     "recipe": {**recipe(), "eval_split": "probe_fifth"}, "threads_per_trial": 1}, trials)
    OUT.mkdir(parents=True, exist_ok=True)
    write_json_atomic(OUT / "registration.json", {
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(),
        "grid": list(LR_GRID), "draws": list(DRAWS), "sweep": str(SWEEP.relative_to(ROOT)),
        "selection": "per draw, the lr with the best top-1 on the probe's validation fifth (120 images; ties: the "
                     "smaller lr, as the probe); a run that diverges is out",
        "report": "per draw, the zoo recipe with that lr retrained on all 600 labelled images and tested once on the "
                  "10,000 test images; against the MoCo 30-epoch linear probe of the same draw: paired differences, "
                  "n = 3, mean +- sample std, paired t-test and a bootstrap 95% CI",
    })
    print(f"registered -> {(OUT / 'registration.json').relative_to(ROOT)}; sweep -> {SWEEP.relative_to(ROOT)}")


def pick(scores: dict[float, float]) -> float:
    """The probe's rule: the best validation top-1, the smaller lr on a tie."""
    return max(scores, key=lambda lr: (scores[lr], -lr))


def final_run(draw: int, lr: float) -> dict:
    """The recipe with the chosen lr on all 600 labelled images of the draw; the test split read once."""
    from mobilezoo.train.config import TrainConfig
    from mobilezoo.train.engine import Trainer

    overrides = [f"{key}={value}" for key, value in recipe().items()]
    config = TrainConfig.from_file(RECIPE_FILE, overrides + [f"lr={lr}", f"seed={draw}", "threads=2",
                                                             f"out_dir={ROOT / 'runs' / f'moco_tuned_supervised_d{draw}'}"])
    started = time.perf_counter()
    last = Trainer(config, show_progress=False).fit()[-1]
    return {"draw": draw, "lr": lr, "test_top1": last["eval_top1"], "test_samples": last["eval_samples"],
            "wall_seconds": round(time.perf_counter() - started, 1)}


def spread(values: np.ndarray) -> dict:
    """Per draw, mean and sample std."""
    return {"per_draw": values.tolist(), "mean": float(values.mean()), "std": float(values.std(ddof=1))}


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """a - b over the draws: n, per draw, mean +- sample std, two-sided paired t p and a bootstrap 95% CI."""
    from scipy import stats

    gaps = a - b
    return {"n": len(gaps), **spread(gaps), "paired_t_p_two_sided": float(stats.ttest_rel(a, b).pvalue), "bootstrap_ci95": bootstrap_ci95(gaps)}


def plot_tuning(chosen: dict[int, dict]) -> None:
    """Validation top-1 against lr, one line per draw, the pick circled: where the supervised run's lr was chosen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6))
    for draw, tuning in sorted(chosen.items()):
        lrs = sorted(tuning["scores"])
        line, = axis.plot(lrs, [tuning["scores"][lr] for lr in lrs], marker=".", label=f"draw {draw}")
        axis.plot([tuning["lr"]], [tuning["scores"][tuning["lr"]]], "o", mfc="none", ms=10, color=line.get_color())
    axis.set(xscale="log", xlabel="lr", ylabel="validation top-1 (%, 120 images)",
             title="supervised 1 % labels: lr tuned on the probe's validation fifth")
    axis.legend()
    figure.tight_layout()
    save_png(figure, OUT / "validation_top1_by_lr.png")


def report() -> None:
    from mobilezoo.sweep.store import ResultStore

    records = ResultStore(OUT / "sweep").records()
    chosen = {}
    for draw in DRAWS:
        rows = {lr: records.get(f"d{draw}_lr{lr:g}") for lr in LR_GRID}
        if any(r is None for r in rows.values()):
            continue  # its tuning is still running: its final waits
        chosen[draw] = {"scores": {lr: r["top1"] for lr, r in rows.items() if r["status"] == "ok"},
                        "diverged": [lr for lr, r in rows.items() if r["status"] != "ok"]}
        chosen[draw]["lr"] = pick(chosen[draw]["scores"])
    finals_path = OUT / "final.jsonl"
    finals = {r["draw"]: r for r in map(json.loads, finals_path.read_text().splitlines())} if finals_path.exists() else {}
    for draw in sorted(chosen):  # resumable: one line per finished draw, each as soon as its tuning is complete
        if draw not in finals:
            finals[draw] = final_run(draw, chosen[draw]["lr"])
            with atomic_path(finals_path) as temporary:
                temporary.write_text("".join(json.dumps(finals[d]) + "\n" for d in sorted(finals)))
    if len(finals) < len(DRAWS):
        raise SystemExit(f"finals of draws {sorted(finals)} done; the others wait for their tuning (run --report again)")
    study = [json.loads(line) for line in (ROOT / "benchmarks" / "results" / "moco" / "results.jsonl").read_text().splitlines()]
    moco = {r.get("seed", 0): r["top1"] for r in study
            if r["method"] == "moco linear" and r.get("pretrain_epochs") == 30 and r["label_fraction"] == FRACTION}
    untuned = {r.get("seed", 0): r["top1"] for r in study if r["method"] == "supervised" and r["label_fraction"] == FRACTION}
    tuned = np.array([finals[d]["test_top1"] for d in DRAWS])
    probe = np.array([moco[d] for d in DRAWS])
    baseline = np.array([untuned[d] for d in DRAWS])
    summary = {
        "git_commit": git_commit(), "machine": machine(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "chosen_lr": {d: chosen[d]["lr"] for d in DRAWS},
        "supervised_tuned": spread(tuned), "supervised_untuned": spread(baseline), "moco_30ep_linear": spread(probe),
        "moco_minus_tuned": paired(probe, tuned),
        "moco_minus_untuned": paired(probe, baseline),  # the comparison the README made before this study
        "tuned_minus_untuned": paired(tuned, baseline),
        "sweep_wall_seconds": round(sum(r.get("wall_seconds", 0) for r in records.values()), 1),
    }
    plot_tuning(chosen)
    write_json_atomic(OUT / "study.json", {"summary": summary, "tuning": {str(d): chosen[d] for d in DRAWS}})
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--register", action="store_true", help="write the tuning sweep and its registration")
    parser.add_argument("--report", action="store_true", help="pick, retrain on all labels, test once, compare")
    args = parser.parse_args()
    if args.register:
        register()
    if args.report:
        report()


if __name__ == "__main__":
    main()
