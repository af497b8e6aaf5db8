#!/usr/bin/env python
"""Sample efficiency of LaNAS against random search and regularized evolution on the NAS-Bench-201 table.

Each algorithm runs --seeds times (seeds 0..N-1) on the 15,625 cells of NAS-Bench-201 (clean test accuracy from
analog-nasbench, as a fraction in [0, 1]) until it evaluates the global optimum. Recorded: the number of evaluated
architectures each run needed (median and quartiles; the ratio of medians against random search, the paper's
measure) and the best-so-far curves, plotted as the mean regret (optimum - best so far) against evaluations with
a 25-75% band. LaNAS runs with the paper's NAS-Bench-101 settings (height 5, Cp 0.1, 10 initial samples, batch
20); --ablation adds LaNAS runs that change one of them (a sensitivity check chosen after the fact, reported as such).

    pip install 'analog-nasbench==0.1.3'
    python benchmarks/lanas_nasbench201.py [--seeds 20] [--ablation]
Writes benchmarks/results/lanas_nasbench201/{runs.jsonl, summary.json, README table rows, regret.png}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time

import numpy as np
from tqdm import tqdm

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import atomic_path, save_png, write_json_atomic
from mobilezoo.nas.lanas import LaNAS
from mobilezoo.nas.searchers import RandomSearch, RegularizedEvolution, SearchResult, run_search
from mobilezoo.nas.tabular import load_nasbench201

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "lanas_nasbench201")
BASE = {"random": (RandomSearch, {}), "evolution": (RegularizedEvolution, {"population_size": 10, "sample_size": 3}),
        "lanas": (LaNAS, {"height": 5, "cp": 0.1, "init_samples": 10, "batch": 20})}
ABLATION = {"lanas_cp0.05": {"cp": 0.05}, "lanas_cp0.2": {"cp": 0.2}, "lanas_h4": {"height": 4},
            "lanas_h6": {"height": 6}, "lanas_batch10": {"batch": 10}}


def improvements(result: SearchResult) -> list[list[float]]:
    """[evaluation, best so far] at each improvement: the whole best-so-far curve, compactly."""
    points, top = [], float("-inf")
    for index, evaluation in enumerate(result.history):
        if evaluation.score > top:
            top = evaluation.score
            points.append([index + 1, round(top, 6)])
    return points


def curve(points: list[list[float]], length: int) -> np.ndarray:
    values = np.full(length, np.nan)
    for (start, value), nxt in zip(points, points[1:] + [[length + 1, None]]):
        values[int(start) - 1:int(nxt[0]) - 1] = value
    return values


def quartiles(values: list[int]) -> list[float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return [q1, q2, q3]


def plot(runs: list[dict], optimum: float, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.2))
    length = 15_625
    x = np.arange(1, length + 1)
    for name in ("random", "evolution", "lanas"):
        rows = [r for r in runs if r["algorithm"] == name]
        # after a run stops (it found the optimum) its regret stays 0
        regrets = np.stack([np.nan_to_num(optimum - curve(r["improvements"], length), nan=0.0) * 100 for r in rows])
        mean = regrets.mean(axis=0)
        low, high = np.percentile(regrets, [25, 75], axis=0)
        axis.plot(x, mean, label=f"{name} (mean of {len(rows)})")
        axis.fill_between(x, low, high, alpha=0.2)
    axis.set_xscale("log")
    axis.set_yscale("symlog", linthresh=0.01)
    axis.set_ylim(bottom=0)
    axis.set_xlabel("evaluated architectures")
    axis.set_ylabel("regret: optimum - best so far (test accuracy points)")
    axis.set_title("NAS-Bench-201 (analog-nasbench): mean regret, 25-75% band")
    axis.legend()
    figure.tight_layout()
    save_png(figure, path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--ablation", action="store_true", help="also LaNAS with one setting changed")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    bench = load_nasbench201()
    optimum = bench.best_score  # scores are fractions in [0, 1]
    objective = bench.score

    variants = {name: spec for name, spec in BASE.items()}
    if args.ablation:
        variants.update({name: (LaNAS, {**BASE["lanas"][1], **change}) for name, change in ABLATION.items()})
    runs = []
    for name, (cls, settings) in variants.items():
        for seed in tqdm(range(args.seeds), desc=name):
            t0 = time.perf_counter()
            result = run_search(cls(bench.space, seed, **settings), objective, bench.space.size, stop_at=optimum)
            runs.append({"algorithm": name, "settings": settings, "seed": seed,
                         "evaluations_to_optimum": result.evaluations_to_reach(optimum),
                         "best_arch": list(result.best.arch), "seconds": round(time.perf_counter() - t0, 3),
                         "improvements": improvements(result)})
    with atomic_path(os.path.join(args.out, "runs.jsonl")) as temporary:
        temporary.write_text("".join(json.dumps(r) + "\n" for r in runs))
    summary = {}
    for name in variants:
        counts = [r["evaluations_to_optimum"] for r in runs if r["algorithm"] == name]
        summary[name] = {"settings": variants[name][1], "runs": len(counts), "found_optimum": sum(c is not None for c in counts),
                         "quartiles": quartiles([c for c in counts if c is not None]),
                         "min": min(c for c in counts if c is not None), "max": max(c for c in counts if c is not None)}
        for budget in (100, 300, 1000):
            best = [curve(r["improvements"], budget)[-1] for r in runs if r["algorithm"] == name]
            summary[name][f"mean_best_test_acc_at_{budget}"] = round(float(np.mean(np.nan_to_num(best, nan=optimum))) * 100, 3)
    random_median = summary["random"]["quartiles"][1]
    for name in summary:
        summary[name]["random_median_over_median"] = round(random_median / summary[name]["quartiles"][1], 2)
    record = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": host_cpu(),
              "python": platform.python_version(), "table": bench.description, "optimum_test_acc": bench.best_score * 100,
              "optimum_arch": [list(a) for a in bench.optima], "seeds": list(range(args.seeds)),
              "command": f"python benchmarks/lanas_nasbench201.py --seeds {args.seeds}" + (" --ablation" if args.ablation else ""),
              "wall_seconds": round(time.perf_counter() - started, 1), "summary": summary}
    write_json_atomic(os.path.join(args.out, "summary.json"), record)
    plot([r for r in runs if r["algorithm"] in BASE], optimum, os.path.join(args.out, "regret.png"))
    print(f"{'algorithm':16} {'median':>8} {'q1':>8} {'q3':>8} {'random/this':>12}")
    for name, row in summary.items():
        q1, q2, q3 = row["quartiles"]
        print(f"{name:16} {q2:8.1f} {q1:8.1f} {q3:8.1f} {row['random_median_over_median']:12.2f}")


if __name__ == "__main__":
    main()
