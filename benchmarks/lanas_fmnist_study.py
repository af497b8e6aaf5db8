#!/usr/bin/env python
"""LaNAS vs random search on the zoo's own space, under a latency budget, scored one-shot by a trained supernet.

1. search: for each algorithm (lanas, random) and seed, --evaluations networks of configs/search/fmnist_small.yaml
   whose latency (from the lookup table --lut) is within --budget-ms, each scored by the trained DMaskingNAS
   supernet (inherited weights, batch norm re-estimated on 500 images, top-1 on 1,000 held-out training images).
   Scores are deterministic, so one cache serves every run. One JSON line per finished run: resumable.
2. train: the best network of every run (its FBNet definition in nets/) trained with one recipe on a local Ray
   sweep (explicit trials, resumable), to check that one-shot gains hold after training.
3. report: study.json, study.md, best_so_far.png; the best LaNAS network as best.yaml.

    python benchmarks/lanas_fmnist_study.py --supernet benchmarks/results/lanas_fmnist/supernet/search.pt \
        --lut benchmarks/results/lanas_fmnist/lut_onnxruntime_1t.json --budget-ms 0.30 [--seeds 5] [--evaluations 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from mobilezoo.bench.runtimes import host_cpu
from mobilezoo.fileio import save_png, write_json_atomic
from mobilezoo.nas.derive import derive_definition, write_definition
from mobilezoo.nas.latency_table import LatencyTable
from mobilezoo.nas.lut_tables import latency_tables, measure_space
from mobilezoo.nas.oneshot import OneShotEvaluator, budget_space, choice_of
from mobilezoo.nas.algorithms import make_searcher
from mobilezoo.nas.searchers import run_search
from mobilezoo.nas.space import SearchSpace
from mobilezoo.sweep import SweepConfig, run_sweep
from mobilezoo.sweep.store import ResultStore
from study_record import bootstrap_ci95

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "lanas_fmnist"
SPACE = HERE.parent / "configs" / "search" / "fmnist_small.yaml"
ALGORITHMS = {"lanas": {"height": 5, "cp": 0.1, "batch": 20}, "random": {}}
RECIPE = {"dataset": "fashion_mnist", "input_size": 32, "num_classes": 10, "epochs": 3, "batch_size": 64, "lr": 0.1,
          "momentum": 0.9, "weight_decay": 4.0e-5, "warmup_epochs": 0.3, "label_smoothing": 0.1,
          "limit_train": 10000, "limit_eval": 2000}


def read_runs(path: Path) -> list[dict]:
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut by a kill: that run is redone
    return runs


def append_run(path: Path, run: dict) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(run) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def search_phase(args: argparse.Namespace, space: SearchSpace, latency) -> list[dict]:
    runs_path = OUT / "runs.jsonl"
    done = {(r["algorithm"], r["seed"]) for r in read_runs(runs_path)}
    todo = [(a, s) for a in ALGORITHMS for s in range(args.seeds) if (a, s) not in done]
    if todo:
        torch.set_num_threads(args.threads)
        evaluator = OneShotEvaluator.from_search(args.supernet, space)
        cache: dict[tuple, float] = {}

        def score(arch: tuple) -> float:
            if arch not in cache:
                cache[arch] = evaluator(space, arch)
            return cache[arch]

        candidates = budget_space(space, latency, args.budget_ms)
        for algorithm, seed in todo:
            started = time.perf_counter()
            result = run_search(make_searcher(algorithm, candidates, seed, **ALGORITHMS[algorithm]), score, args.evaluations)
            history = [{"arch": list(e.arch), "score": e.score,
                        "latency_ms": round(latency.exact(choice_of(space, e.arch)), 5)} for e in result.history]
            append_run(runs_path, {"algorithm": algorithm, "seed": seed, "settings": ALGORITHMS[algorithm],
                                   "budget_ms": args.budget_ms, "evaluations": len(history),
                                   "wall_seconds": round(time.perf_counter() - started, 1), "history": history})
            print(f"{algorithm} seed {seed}: best one-shot {result.best.score:.4f} ({time.perf_counter() - started:.0f} s)")
    return read_runs(runs_path)


def best_of(run: dict) -> dict:
    return max(run["history"], key=lambda h: h["score"])


def train_phase(args: argparse.Namespace, space: SearchSpace, runs: list[dict]) -> dict:
    nets = OUT / "nets"
    nets.mkdir(exist_ok=True)
    trials = []
    for run in runs:
        best = best_of(run)
        name = f"{run['algorithm']}_s{run['seed']}"
        choice = choice_of(space, tuple(best["arch"]))
        path = write_definition(derive_definition(space, choice, name), nets / f"{name}.yaml",
                                f"best of {run['algorithm']} seed {run['seed']}: one-shot {best['score']:.4f}, "
                                f"{best['latency_ms']:.4g} ms predicted")
        trials.append({"id": name, "model": str(path.relative_to(HERE.parent)),
                       "recipe": {"input_size": space.resolutions[choice["res"]]}})
    sweep = {"name": "lanas_fmnist_study", "seed": 0, "recipe": RECIPE, "trials": trials}
    (OUT / "sweep.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    run_sweep(SweepConfig.from_dict(sweep), OUT / "trainings", workers=args.workers)
    return ResultStore(OUT / "trainings").records()


def curve(run: dict, length: int) -> np.ndarray:
    scores = [h["score"] for h in run["history"]][:length]
    return np.maximum.accumulate(np.array(scores + [scores[-1]] * (length - len(scores))))


def compare(oneshot: dict[str, list[float]], trained: dict[str, list]) -> dict:
    """LaNAS against random search, on the best one-shot top-1 (%) after every evaluation and on the trained top-1 of
    each run's best: n, difference of means, Welch's t-test (two-sided) and a bootstrap 95% CI of the difference."""
    from scipy import stats

    rng = np.random.default_rng(0)
    result = {}
    for name, values in (("oneshot_after_all", oneshot), ("trained", trained)):
        a, b = (np.array([v for v in values[k] if v is not None], float) for k in ("lanas", "random"))
        if len(a) < 2 or len(b) < 2:
            continue
        result[name] = {"n": [len(a), len(b)], "lanas": [round(a.mean(), 3), round(a.std(ddof=1), 3)],
                        "random": [round(b.mean(), 3), round(b.std(ddof=1), 3)],
                        "difference": round(float(a.mean() - b.mean()), 3),
                        "welch_p": round(float(stats.ttest_ind(a, b, equal_var=False).pvalue), 3),
                        "bootstrap_ci95": [round(x, 3) for x in bootstrap_ci95(a, b, rng)]}
    return result


def report(args: argparse.Namespace, space: SearchSpace, runs: list[dict], trained: dict) -> None:
    length = args.evaluations
    rows, summary = [], {}
    for algorithm in ALGORITHMS:
        mine = [r for r in runs if r["algorithm"] == algorithm]
        curves = np.stack([curve(r, length) for r in mine])
        tops = [trained.get(f"{algorithm}_s{r['seed']}", {}).get("top1") for r in mine]
        summary[algorithm] = {
            "runs": len(mine), "settings": ALGORITHMS[algorithm],
            **{f"best_oneshot_at_{n}": [round(float(curves[:, n - 1].mean()), 4), round(float(curves[:, n - 1].std(ddof=1)), 4)]  # sample s.d.
               for n in (20, 50, length) if n <= length},
            "trained_top1_of_run_best": tops,
            "trained_top1_mean": round(statistics.fmean([t for t in tops if t is not None]), 3) if any(t is not None for t in tops) else None}
        for r, top in zip(mine, tops):
            best = best_of(r)
            rows.append({"run": f"{algorithm}_s{r['seed']}", "oneshot": best["score"], "latency_ms": best["latency_ms"],
                         "trained_top1": top, "wall_seconds": r["wall_seconds"]})
    summary["lanas_vs_random"] = compare(
        {a: [float(curve(r, length)[-1]) * 100 for r in runs if r["algorithm"] == a] for a in ALGORITHMS},
        {a: summary[a]["trained_top1_of_run_best"] for a in ALGORITHMS})
    lanas_best = max((r for r in runs if r["algorithm"] == "lanas"), key=lambda r: best_of(r)["score"])
    best = best_of(lanas_best)
    write_definition(derive_definition(space, choice_of(space, tuple(best["arch"])), "lanas_fmnist"), OUT / "best.yaml",
                     f"Best network of the LaNAS runs (seed {lanas_best['seed']}): one-shot top-1 {best['score']:.4f}, "
                     f"{best['latency_ms']:.4g} ms predicted by the ONNX Runtime table (budget {args.budget_ms} ms).\n"
                     "Build: mobilezoo.create_model('<this file>', num_classes=10); train, profile, export and bench by path.")
    write_json_atomic(OUT / "study.json", {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host_cpu": host_cpu(),
        "space": str(SPACE.relative_to(HERE.parent)), "supernet": args.supernet, "lut": args.lut, "budget_ms": args.budget_ms,
        "evaluations": length, "seeds": args.seeds, "recipe": RECIPE, "summary": summary, "rows": rows})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    x = np.arange(1, length + 1)
    for algorithm in ALGORITHMS:
        curves = np.stack([curve(r, length) for r in runs if r["algorithm"] == algorithm]) * 100
        axis.plot(x, curves.mean(0), label=f"{algorithm} (mean of {len(curves)} seeds)")
        axis.fill_between(x, curves.min(0), curves.max(0), alpha=0.2)
    axis.set(xlabel="evaluated networks", ylabel="best one-shot top-1 so far (%)",
             title=f"fmnist_small space, latency <= {args.budget_ms} ms (ORT table)")
    axis.legend()
    figure.tight_layout()
    save_png(figure, OUT / "best_so_far.png", dpi=110)
    print(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supernet", required=True)
    parser.add_argument("--lut", required=True)
    parser.add_argument("--budget-ms", type=float, required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="recompute study.json and the plot from the records")
    args = parser.parse_args()
    if args.report_only:  # nothing is searched, trained or measured: the recorded runs and trainings are read
        return report(args, SearchSpace.from_file(SPACE), read_runs(OUT / "runs.jsonl"),
                      ResultStore(OUT / "trainings").records())
    OUT.mkdir(parents=True, exist_ok=True)
    space = SearchSpace.from_file(SPACE)
    if not os.path.exists(args.lut):
        from tqdm import tqdm

        bar = tqdm(desc="measuring the space's blocks (ONNX Runtime, 1 thread)", unit="block")
        measure_space(space, args.lut, progress=lambda block: bar.update(1))
        bar.close()
    latency = latency_tables(space, LatencyTable.load(args.lut), source=args.lut)
    runs = search_phase(args, space, latency)
    trained = {} if args.skip_training else train_phase(args, space, runs)
    report(args, space, runs, trained)


if __name__ == "__main__":
    main()
