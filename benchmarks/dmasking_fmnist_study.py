#!/usr/bin/env python
"""Searched vs random networks at matched MACs on Fashion-MNIST (issue 14's study), after the searches ran.

1. Read each search's derived network (``--search DIR``, from ``mobilezoo search dmasking ... --out DIR``).
2. For each, sample ``--random`` networks uniformly from the same space (seeded) whose MACs are within +-10% of it.
3. Train every network with the same recipe on a local Ray sweep (explicit trials, resumable), and write the table
   and an accuracy-vs-MACs plot.

    python benchmarks/dmasking_fmnist_study.py --search benchmarks/results/dmasking_fmnist/search_2M \
        --search benchmarks/results/dmasking_fmnist/search_5M [--random 5] [--workers 2]
Writes benchmarks/results/dmasking_fmnist/{nets/*.yaml,sweep.yaml,trainings/,study.json,study.md,accuracy_vs_macs.png}.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import yaml

from mobilezoo.fileio import write_json_atomic
from mobilezoo.nas.cost import mac_tables
from mobilezoo.nas.derive import derive_definition, write_definition
from mobilezoo.nas.search import DEFINITION
from mobilezoo.nas.space import SearchSpace
from mobilezoo.sweep import SweepConfig, run_sweep
from mobilezoo.sweep.store import ResultStore

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "dmasking_fmnist"
RECIPE = {"dataset": "fashion_mnist", "input_size": 32, "num_classes": 10, "epochs": 3, "batch_size": 64, "lr": 0.1,
          "momentum": 0.9, "weight_decay": 4.0e-5, "warmup_epochs": 0.3, "label_smoothing": 0.1,
          "limit_train": 10000, "limit_eval": 2000}


def matched_random(space: SearchSpace, target: float, count: int, seed: int, tolerance: float = 0.10) -> list[dict]:
    """``count`` uniform draws from the space whose MACs lie within ``tolerance`` of ``target``."""
    tables = mac_tables(space)
    rng = random.Random(seed)
    found = []
    for _ in range(2_000_000):
        choice = {v: rng.randrange(n) for v, n in space.variables().items()}
        if abs(tables.exact(choice) - target) <= tolerance * target:
            found.append(choice)
            if len(found) == count:
                return found
    raise SystemExit(f"fewer than {count} networks of the space within +-{tolerance:.0%} of {target:g} MACs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--search", action="append", required=True, help="a search's --out folder (repeatable)")
    parser.add_argument("--random", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    nets = OUT / "nets"
    nets.mkdir(parents=True, exist_ok=True)
    trials, points = [], []
    for folder in map(Path, args.search):
        meta = json.loads((folder / "search_log.jsonl").read_text().splitlines()[-1])
        config = yaml.safe_load((folder / DEFINITION).read_text())
        space = SearchSpace.from_file(HERE.parent / "configs" / "search" / "fmnist_small.yaml")
        tables = mac_tables(space)
        label = folder.name
        searched = nets / f"{label}_searched.yaml"
        searched.write_text((folder / DEFINITION).read_text())
        macs = tables.exact(meta["argmax"])
        points.append({"net": searched.stem, "search": label, "kind": "searched", "macs": macs,
                       "target": meta["target"], "input_size": config["input_size"]})
        for index, choice in enumerate(matched_random(space, macs, args.random, args.seed + len(points))):
            path = write_definition(derive_definition(space, choice, f"{label}_random{index}"),
                                    nets / f"{label}_random{index}.yaml",
                                    f"uniform draw from {space.name} within +-10% of {macs:g} MACs (seed {args.seed})")
            points.append({"net": path.stem, "search": label, "kind": "random", "macs": tables.exact(choice),
                           "target": meta["target"], "input_size": space.resolutions[choice["res"]]})
    for point in points:
        trials.append({"id": point["net"], "model": str(nets / f"{point['net']}.yaml"),
                       "recipe": {"input_size": point["input_size"]}})
    sweep = {"name": "dmasking_fmnist_study", "seed": args.seed, "recipe": RECIPE, "trials": trials}
    (OUT / "sweep.yaml").write_text(yaml.safe_dump(sweep, sort_keys=False))
    started = time.perf_counter()
    outcome = run_sweep(SweepConfig.from_dict(sweep), OUT / "trainings", workers=args.workers)
    records = ResultStore(OUT / "trainings").records()
    rows = []
    for point in points:
        record = records.get(point["net"], {})
        rows.append({**point, "top1": record.get("top1"), "status": record.get("status"),
                     "wall_seconds": record.get("wall_seconds")})
    write_json_atomic(OUT / "study.json", {"recipe": RECIPE, "rows": rows, "sweep_wall_seconds": round(time.perf_counter() - started, 1),
                                           "trained_now": outcome.ran, "workers": args.workers})
    lines = ["# Searched vs random at matched MACs (Fashion-MNIST)", "",
             f"Recipe for every network: {json.dumps(RECIPE)}; {args.random} random networks per search, uniform "
             "draws from the same space within +-10% of the searched network's MACs.", "",
             "| search | network | kind | MACs (M) | input | top-1 % |", "|---|---|---|---|---|---|"]
    for r in rows:
        top1 = f"{r['top1']:.2f}" if r["top1"] is not None else r["status"]
        lines.append(f"| {r['search']} | {r['net']} | {r['kind']} | {r['macs'] / 1e6:.3f} | {r['input_size']} | {top1} |")
    for label in dict.fromkeys(r["search"] for r in rows):
        ours = [r["top1"] for r in rows if r["search"] == label and r["kind"] == "searched" and r["top1"] is not None]
        others = sorted(r["top1"] for r in rows if r["search"] == label and r["kind"] == "random" and r["top1"] is not None)
        if ours and others:
            rank = sum(o > ours[0] for o in others)
            lines.append(f"\n{label}: searched {ours[0]:.2f}% vs random mean {sum(others) / len(others):.2f}% "
                         f"(best {others[-1]:.2f}%); {rank} of {len(others)} random networks beat it.")
    (OUT / "study.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4))
    for kind, marker in (("random", "o"), ("searched", "*")):
        chosen = [r for r in rows if r["kind"] == kind and r["top1"] is not None]
        axis.scatter([r["macs"] / 1e6 for r in chosen], [r["top1"] for r in chosen], marker=marker,
                     s=160 if kind == "searched" else 30, label=kind)
    axis.set(xlabel="MACs (M)", ylabel="top-1 (%)", title="DMaskingNAS on Fashion-MNIST: searched vs random")
    axis.legend()
    figure.tight_layout()
    figure.savefig(OUT / "accuracy_vs_macs.png", dpi=110)
    print((OUT / "study.md").read_text())


if __name__ == "__main__":
    main()
