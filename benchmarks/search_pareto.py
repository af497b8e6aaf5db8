#!/usr/bin/env python
"""Searched vs random vs hand-designed networks at equal latency on Fashion-MNIST (issue 29): the Pareto study.

Runtime: ONNX Runtime, 1 thread, on this machine. Budgets: 0.05, 0.075 and 0.10 ms, as the space's latency table
(`lut_onnxruntime_1t.json`, built by `--build-lut` over configs/search/fmnist_small.yaml) predicts them.
Phases, each resumable (rerun the same command after a kill) and run in this order:

    bash benchmarks/search_pareto_searches.sh          # DMaskingNAS x 3 budgets + the single-path supernet
    python benchmarks/search_pareto.py nets            # LaNAS x 3, random x 10 per budget, FBNetV2 scaled -> nets/
    python benchmarks/search_pareto.py train [--workers 2] [--max-trials N]   # every net x 3 seeds on Ray
    python benchmarks/search_pareto.py latency         # measured ORT latency of every net (trained weights, seed 0)
    python benchmarks/search_pareto.py spearman        # one-shot score (both supernets) vs trained accuracy
    python benchmarks/search_pareto.py report          # study.json, study.md, pareto.png

Evidence rules: every choice (which searched network represents a budget, which FBNetV2 scaling) is made on the
validation split (the last 10,000 training images, never trained on: `eval_split: val`); the test split is read
once per training, at its end, and only the report looks at it. Searches never read the validation split.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mobilezoo.fileio import atomic_path, save_png, write_json_atomic
from mobilezoo.nas.derive import derive_definition, write_definition
from mobilezoo.nas.latency_table import LatencyTable
from mobilezoo.nas.lut_tables import latency_tables
from mobilezoo.nas.space import SearchSpace
from study_record import git_commit, machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "results" / "search_pareto"
SPACE = ROOT / "configs" / "search" / "fmnist_small.yaml"
LUT = OUT / "lut_onnxruntime_1t.json"
BUDGETS = (0.05, 0.075, 0.1)  # ms, predicted by LUT
BAND = 0.9  # every network of a budget is predicted in [BAND * budget, budget]
RANDOM_PER_BUDGET = 10
SEEDS = 3
LANAS = {"evaluations": 100, "seed": 0, "cp": 0.1, "height": 5, "batch": 20}
FBNET_WIDTHS = (0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1.0)
FBNET_RESOLUTIONS = (16, 24, 32)
RECIPE = {"dataset": "fashion_mnist", "eval_split": "val", "num_classes": 10, "epochs": 4, "batch_size": 64,
          "lr": 0.1, "momentum": 0.9, "weight_decay": 4.0e-5, "warmup_epochs": 0.3, "label_smoothing": 0.1,
          "limit_train": 10000, "limit_eval": 0}
GUMBEL_SUPERNET = OUT / "searches" / "dmasking_0.075ms" / "search.pt"  # today's Gumbel-trained supernet
UNIFORM_SUPERNET = OUT / "searches" / "supernet_uniform" / "search.pt"


def tables():
    space = SearchSpace.from_file(SPACE)
    return space, latency_tables(space, LatencyTable.load(LUT), source=str(LUT))


def tag(budget: float) -> str:
    return f"{budget:g}ms"


# --- nets --------------------------------------------------------------------------------------------------


def random_in_band(space: SearchSpace, latency, budget: float, count: int, seed: str) -> list[dict[str, int]]:
    """``count`` distinct networks drawn uniformly from the space among those predicted in [BAND x budget, budget]
    (rejection sampling: uniform draws, the first ``count`` in the band)."""
    generator = torch.Generator().manual_seed(int.from_bytes(seed.encode(), "little") % 2**62)
    names = list(space.variables())
    found: list[dict[str, int]] = []
    while len(found) < count:
        draws = {v: torch.randint(n, (20_000,), generator=generator) for v, n in space.variables().items()}
        costs = latency.exact_many(draws)
        for k in torch.nonzero((costs >= BAND * budget) & (costs <= budget)).flatten().tolist():
            choice = {v: int(draws[v][k]) for v in names}
            if choice not in found:
                found.append(choice)
            if len(found) == count:
                break
    return found


def run_lanas(budget: float) -> Path:
    out = OUT / "searches" / f"lanas_{tag(budget)}"
    best = out / "best.yaml"
    if not best.exists():
        command = [sys.executable, "-m", "mobilezoo", "search", "lanas", "--space", str(SPACE), "--supernet",
                   str(UNIFORM_SUPERNET), "--lut", str(LUT), "--budget-ms", str(budget), "--band", str(BAND),
                   "--threads", "1",
                   "--evaluations", str(LANAS["evaluations"]), "--seed", str(LANAS["seed"]), "--cp", str(LANAS["cp"]),
                   "--height", str(LANAS["height"]), "--batch", str(LANAS["batch"]),
                   "--name", f"lanas_fmnist_{tag(budget).replace('.', 'p')}", "--out", str(out)]
        if (out / "evaluations.jsonl").exists():
            command.append("--resume")
        subprocess.run(command, check=True)
    return best


def measure_fbnet(width: float, resolution: int) -> float:
    import mobilezoo
    from mobilezoo.bench.block_timing import measure_in_runtime
    from mobilezoo.bench.weights import synthetic_weights

    model = mobilezoo.create_model("fbnetv2_f1", num_classes=10, width_ratio=width).eval()
    synthetic_weights(model, (3, resolution, resolution))
    return measure_in_runtime(model, (1, 3, resolution, resolution), "onnxruntime", 1)


def phase_nets(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    space, latency = tables()
    nets_dir = OUT / "nets"
    nets_dir.mkdir(parents=True, exist_ok=True)
    nets: list[dict[str, Any]] = []

    def add(name: str, kind: str, budget: float, choice: dict[str, int] | None = None, source: Path | None = None,
            **extra: Any) -> None:
        path = nets_dir / f"{name}.yaml"
        if choice is not None:
            write_definition(derive_definition(space, choice, name, 10), path,
                             f"{kind} network of the search_pareto study, budget {budget:g} ms (predicted)")
        elif source is not None:
            shutil.copyfile(source, path)
        if path.exists():
            import yaml

            definition = yaml.safe_load(path.read_text())
            extra.setdefault("input_size", definition["input_size"])
            extra.setdefault("model", str(path.relative_to(ROOT)))
            predicted = latency.exact(choice) if choice is not None else None
            nets.append({"net": name, "kind": kind, "budget_ms": budget, "predicted_ms": predicted, **extra})
        else:
            nets.append({"net": name, "kind": kind, "budget_ms": budget, **extra})

    for budget in BUDGETS:
        search = OUT / "searches" / f"dmasking_{tag(budget)}"
        derivation = json.loads((search / "derivation.json").read_text())
        add(f"dmasking_{tag(budget)}", "dmasking", budget, derivation["choice"])
        lanas = run_lanas(budget)
        history = [json.loads(line) for line in (lanas.parent / "history.jsonl").read_text().splitlines()]
        best = max(history, key=lambda row: row["score"])
        add(f"lanas_{tag(budget)}", "lanas", budget, dict(zip(space.variables(), best["arch"])))
        for index, choice in enumerate(random_in_band(space, latency, budget, RANDOM_PER_BUDGET, f"random:{budget}")):
            add(f"random_{tag(budget)}_{index:02d}", "random", budget, choice)
    # FBNetV2-F1 scaled by width and resolution: measured, the largest that fits each budget (measured <= budget)
    grid_path = OUT / "fbnet_grid.json"
    grid = json.loads(grid_path.read_text()) if grid_path.exists() else []
    done = {(row["width_ratio"], row["input_size"]) for row in grid}
    for width in FBNET_WIDTHS:
        for resolution in FBNET_RESOLUTIONS:
            if (width, resolution) not in done:
                grid.append({"width_ratio": width, "input_size": resolution,
                             "measured_ms": round(measure_fbnet(width, resolution), 5)})
                write_json_atomic(grid_path, grid)
    for budget in BUDGETS:
        fitting = [row for row in grid if row["measured_ms"] <= budget]
        if not fitting:
            nets.append({"net": f"fbnetv2_{tag(budget)}", "kind": "fbnetv2", "budget_ms": budget, "model": None,
                         "note": f"no scaling of FBNetV2-F1 (width >= {min(FBNET_WIDTHS)}, input >= "
                                 f"{min(FBNET_RESOLUTIONS)}) runs within {budget:g} ms; fastest "
                                 f"{min(row['measured_ms'] for row in grid):.4f} ms"})
            continue
        pick = max(fitting, key=lambda row: (row["measured_ms"], row["input_size"]))
        nets.append({"net": f"fbnetv2_{tag(budget)}", "kind": "fbnetv2", "budget_ms": budget, "model": "fbnetv2_f1",
                     "model_kwargs": {"width_ratio": pick["width_ratio"]}, "input_size": pick["input_size"],
                     "predicted_ms": None, "grid_measured_ms": pick["measured_ms"]})
    write_json_atomic(OUT / "nets.json", {"budgets_ms": list(BUDGETS), "band": BAND, "nets": nets,
                                          "git_commit": git_commit(), "machine": machine()})
    print(f"{len(nets)} networks -> {OUT / 'nets.json'}")


# --- rounds 2 and 3 ----------------------------------------------------------------------------------------
# After the first report. Round 2: the interleaved re-measurement (phase remeasure) moved FBNetV2-F1's grid, so each
# budget's FBNetV2 pick (the largest measured latency within the budget) is made again on it. Round 3: the 0.10 ms
# search ran again for 45 epochs (search_pareto_searches.sh round2), a further searched candidate for that budget,
# chosen on validation like the others. The first round's networks are kept and reported as they are; each round
# trains in its own sweep folder (trainings_round2/, trainings_round3/) with the same recipe and seeds.

ROUNDS = ("", "_round2", "_round3")  # nets{round}.json, trainings{round}/
LONG_SEARCHES = {0.1: "dmasking_0.1ms_45ep"}


def all_nets() -> list[dict[str, Any]]:
    """Every network of every round, each with the folder suffix of its round ('' for the first)."""
    nets = []
    for suffix in ROUNDS:
        path = OUT / f"nets{suffix}.json"
        if path.exists():
            nets += [{**net, "round": suffix} for net in json.loads(path.read_text())["nets"]]
    return nets


def fbnet_pick(grid: list[dict[str, Any]], budget: float) -> dict[str, Any] | None:
    """FBNetV2-F1's scaling for a budget: the largest measured latency within it."""
    fitting = [row for row in grid if row["measured_ms"] <= budget]
    return max(fitting, key=lambda row: (row["measured_ms"], row["input_size"])) if fitting else None


def fbnet_net(budget: float, pick: dict[str, Any]) -> dict[str, Any]:
    return {"net": f"fbnetv2_{tag(budget)}_w{pick['width_ratio']:g}_r{pick['input_size']}", "kind": "fbnetv2",
            "budget_ms": budget, "model": "fbnetv2_f1", "model_kwargs": {"width_ratio": pick["width_ratio"]},
            "input_size": pick["input_size"], "predicted_ms": None, "grid_measured_ms": pick["measured_ms"]}


def scaling(net: dict[str, Any]) -> tuple[Any, Any]:
    return net.get("model_kwargs", {}).get("width_ratio"), net.get("input_size")


def phase_nets2(args: argparse.Namespace) -> None:
    """Round 2: FBNetV2-F1 picked again on the interleaved grid; a pick not trained yet is added."""
    grid = json.loads(INTERLEAVED.read_text())["fbnet_grid"]
    first = json.loads((OUT / "nets.json").read_text())["nets"]
    nets = []
    for budget in BUDGETS:
        pick = fbnet_pick(grid, budget)
        trained = {scaling(n) for n in first if n["kind"] == "fbnetv2" and n["budget_ms"] == budget}
        if pick and (pick["width_ratio"], pick["input_size"]) not in trained:
            nets.append(fbnet_net(budget, pick))
    write_rounds_nets("_round2", nets)


def phase_nets3(args: argparse.Namespace) -> None:
    """Round 3: the network of each longer search."""
    space, latency = tables()
    nets = []
    for budget, name in LONG_SEARCHES.items():
        derivation = json.loads((OUT / "searches" / name / "derivation.json").read_text())
        path = OUT / "nets" / f"{name}.yaml"
        write_definition(derive_definition(space, derivation["choice"], name, 10), path,
                         f"dmasking network of the search_pareto study, budget {budget:g} ms (predicted), 45-epoch search")
        nets.append({"net": name, "kind": "dmasking", "budget_ms": budget, "predicted_ms": latency.exact(derivation["choice"]),
                     "input_size": space.resolutions[derivation["choice"]["res"]], "model": str(path.relative_to(ROOT))})
    write_rounds_nets("_round3", nets)


def write_rounds_nets(suffix: str, nets: list[dict[str, Any]]) -> None:
    path = OUT / f"nets{suffix}.json"
    if path.exists():  # a round's networks are fixed once written: its sweep folder's fingerprint depends on them
        print(f"{path.name} exists; kept")
        return
    write_json_atomic(path, {"budgets_ms": list(BUDGETS), "band": BAND, "nets": nets, "git_commit": git_commit(),
                             "machine": machine()})
    print(json.dumps(nets, indent=1))


# --- train -------------------------------------------------------------------------------------------------


def sweep_config(suffix: str = ""):
    from mobilezoo.sweep import SweepConfig

    nets = [n for n in json.loads((OUT / f"nets{suffix}.json").read_text())["nets"] if n.get("model")]
    trials = []
    for seed in range(SEEDS):  # seed-major order: a partial run has every net once before any twice
        for net in nets:
            trials.append({"id": f"{net['net']}-s{seed}", "model": net["model"], "seed": seed,
                           "model_kwargs": net.get("model_kwargs", {}), "recipe": {"input_size": net["input_size"]}})
    return SweepConfig.from_dict({"name": f"search_pareto{suffix}", "seed": 0, "recipe": RECIPE, "trials": trials,
                                  "threads_per_trial": 1, "keep_checkpoints": True})


def phase_train(args: argparse.Namespace) -> None:
    from mobilezoo.sweep import run_sweep

    for suffix in ROUNDS:
        if not (OUT / f"nets{suffix}.json").exists():
            continue
        outcome = run_sweep(sweep_config(suffix), OUT / f"trainings{suffix}", workers=args.workers,
                            max_trials=args.max_trials)
        print(f"trainings{suffix}: ran {outcome.ran} trainings ({outcome.ok} ok, {outcome.failed} failed) in "
              f"{outcome.wall_seconds:.0f} s; {outcome.skipped} were already recorded")


# --- latency -----------------------------------------------------------------------------------------------


def build_trained(net: dict[str, Any], trial_id: str) -> torch.nn.Module:
    import mobilezoo

    model = mobilezoo.create_model(str(ROOT / net["model"]) if net["model"].endswith(".yaml") else net["model"],
                                   num_classes=10, **net.get("model_kwargs", {}))
    checkpoint = OUT / f"trainings{net.get('round', '')}" / "trials" / trial_id / "last.pt"
    state = torch.load(checkpoint, weights_only=True, map_location="cpu")
    weights = state.get("ema") or state["model"]
    model.load_state_dict(weights)
    return model.eval()


def phase_latency(args: argparse.Namespace) -> None:
    from mobilezoo.bench.block_timing import measure_in_runtime

    torch.set_num_threads(1)
    path = OUT / "latency.json"
    measured = json.loads(path.read_text()) if path.exists() else {}
    nets = [n for n in json.loads((OUT / "nets.json").read_text())["nets"] if n.get("model")]
    for net in nets:
        if net["net"] in measured:
            continue
        model = build_trained(net, f"{net['net']}-s0")
        size = net["input_size"]
        measured[net["net"]] = round(measure_in_runtime(model, (1, 3, size, size), "onnxruntime", 1), 5)
        write_json_atomic(path, measured)
        print(net["net"], measured[net["net"]], "ms", flush=True)


INTERLEAVED = OUT / "latency_interleaved.json"
PASSES = 9


def phase_remeasure(args: argparse.Namespace) -> None:
    """Every study network (trained weights, seed 0) and every FBNetV2 grid point, measured again with the rounds
    interleaved across networks (:func:`measure_interleaved`). The first pass (``latency``) took each network's
    rounds back to back; re-timing a few networks later moved them by up to 1.6x (0.155 -> 0.096 ms), so a burst
    on this shared VM had covered all rounds of some networks. Both records are kept; the report uses this one."""
    from mobilezoo.bench.block_timing import measure_interleaved, runtime_runner
    from mobilezoo.bench.weights import synthetic_weights

    import mobilezoo

    torch.set_num_threads(1)
    runs = {}
    for net in all_nets():
        if net.get("model") and net["kind"] != "fbnetv2":
            size = net["input_size"]
            x = torch.randn((1, 3, size, size), generator=torch.Generator().manual_seed(0))
            runs[net["net"]] = runtime_runner("onnxruntime", build_trained(net, f"{net['net']}-s0"), x, 1)
    for width in FBNET_WIDTHS:
        for size in FBNET_RESOLUTIONS:
            model = mobilezoo.create_model("fbnetv2_f1", num_classes=10, width_ratio=width).eval()
            synthetic_weights(model, (3, size, size))
            x = torch.randn((1, 3, size, size), generator=torch.Generator().manual_seed(0))
            runs[f"fbnetv2_w{width:g}_r{size}"] = runtime_runner("onnxruntime", model, x, 1)
    started = time.perf_counter()
    measured = measure_interleaved(runs, passes=PASSES)
    nets = {name: round(ms, 5) for name, ms in measured.items() if not name.startswith("fbnetv2_w")}
    grid = [{"width_ratio": width, "input_size": size, "measured_ms": round(measured[f"fbnetv2_w{width:g}_r{size}"], 5)}
            for width in FBNET_WIDTHS for size in FBNET_RESOLUTIONS]
    if INTERLEAVED.exists():  # an earlier interleaved run is kept beside the new one, named by its date
        earlier = json.loads(INTERLEAVED.read_text())
        write_json_atomic(OUT / f"latency_interleaved_{earlier['machine']['date'][:16].replace(':', '')}.json", earlier)
    write_json_atomic(INTERLEAVED, {"protocol": f"ONNX Runtime 1 thread; {PASSES} passes, each one round of 40 calls "
                                                f"of every network in turn; a network's latency is its lowest round "
                                                f"median", "nets": nets, "fbnet_grid": grid,
                                    "seconds": round(time.perf_counter() - started, 1), "git_commit": git_commit(),
                                    "machine": machine()})
    print(json.dumps(nets, indent=1))


# --- spearman ----------------------------------------------------------------------------------------------


def trained_by_net() -> dict[str, dict[str, list[float]]]:
    by_net: dict[str, dict[str, list[float]]] = {}
    lines = [line for suffix in ROUNDS if (OUT / f"trainings{suffix}" / "results.jsonl").exists()
             for line in (OUT / f"trainings{suffix}" / "results.jsonl").read_text().splitlines()]
    for line in lines:
        record = json.loads(line)
        if record.get("status") != "ok":
            continue
        net = record["id"].rsplit("-s", 1)[0]
        entry = by_net.setdefault(net, {"val": [], "test": []})
        entry["val"].append(record["top1"])
        entry["test"].append(record["test_top1"])
    return by_net


def phase_spearman(args: argparse.Namespace) -> None:
    from scipy import stats

    from mobilezoo.nas.oneshot import OneShotEvaluator

    torch.set_num_threads(args.threads)
    space, _ = tables()
    trained = trained_by_net()
    nets = [n for n in json.loads((OUT / "nets.json").read_text())["nets"]
            if n["kind"] != "fbnetv2" and n["net"] in trained and len(trained[n["net"]]["val"]) == SEEDS]
    import yaml

    result: dict[str, Any] = {"networks": len(nets), "git_commit": git_commit(), "machine": machine()}
    rows = []
    for label, supernet in (("uniform single-path", UNIFORM_SUPERNET), ("gumbel (dmasking 0.075 ms search)", GUMBEL_SUPERNET)):
        evaluator = OneShotEvaluator.from_search(supernet, space, eval_images=1000)
        scores, accuracy = [], []
        for net in nets:
            definition = yaml.safe_load((ROOT / net["model"]).read_text())
            arch = arch_of(space, definition)
            scores.append(evaluator(space, arch))
            accuracy.append(float(np.mean(trained[net["net"]]["val"])))
        rho, p = stats.spearmanr(scores, accuracy)
        rng = np.random.default_rng(0)
        boot = []
        for _ in range(2000):
            pick = rng.integers(0, len(nets), len(nets))
            boot.append(stats.spearmanr(np.array(scores)[pick], np.array(accuracy)[pick])[0])
        low, high = np.nanpercentile(boot, [2.5, 97.5])
        result[label] = {"spearman": round(float(rho), 4), "p": float(p), "ci95": [round(float(low), 4), round(float(high), 4)]}
        for net, score in zip(nets, scores):
            rows.append({"supernet": label, "net": net["net"], "oneshot_top1": score,
                         "val_top1_mean": float(np.mean(trained[net["net"]]["val"]))})
    result["rows"] = rows
    write_json_atomic(OUT / "spearman.json", result)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


def arch_of(space: SearchSpace, definition: dict[str, Any]) -> tuple[int, ...]:
    """The option indices of a derived definition (inverse of derive_definition)."""
    choice: dict[str, int] = {"res": space.resolutions.index(definition["input_size"])}
    rows = [row for stage in definition["stages"][1:-1] for row in stage]
    width = space.stem_channels
    for slot, row in zip(space.slots, rows):
        op, out = row[0], row[1]
        choice[f"op{slot.name[3:]}"] = slot.ops.index(op)
        choice[slot.out_var] = slot.out_options.index(out)
        if op == "skip":
            choice[slot.mid_var] = 0 if slot.mid_var not in choice else choice[slot.mid_var]
        else:
            mid = round(row[4]["e"] * width)
            choice[slot.mid_var] = slot.mid_options.index(mid)
        width = out
    return tuple(choice.get(v, 0) for v in space.variables())


# --- report ------------------------------------------------------------------------------------------------


def welch(a: list[float], b: list[float]) -> dict[str, float]:
    from scipy import stats

    t, p_two = stats.ttest_ind(a, b, equal_var=False)
    p_greater = p_two / 2 if t > 0 else 1 - p_two / 2
    u, p_mw = stats.mannwhitneyu(a, b, alternative="greater")
    rng = np.random.default_rng(0)
    diffs = [np.mean(rng.choice(a, len(a))) - np.mean(rng.choice(b, len(b))) for _ in range(10_000)]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {"difference": round(float(np.mean(a) - np.mean(b)), 3), "welch_t": round(float(t), 3),
            "welch_p_greater": float(p_greater), "mannwhitney_p_greater": float(p_mw),
            "bootstrap_ci95": [round(float(low), 3), round(float(high), 3)]}


def phase_report(args: argparse.Namespace) -> None:
    meta = json.loads((OUT / "nets.json").read_text())
    trained = trained_by_net()
    first_pass = json.loads((OUT / "latency.json").read_text()) if (OUT / "latency.json").exists() else {}
    interleaved = json.loads(INTERLEAVED.read_text()) if INTERLEAVED.exists() else {"nets": {}, "fbnet_grid": []}
    grid = {(row["width_ratio"], row["input_size"]): row["measured_ms"] for row in interleaved["fbnet_grid"]}
    rows = []
    for net in all_nets():
        scores = trained.get(net["net"])
        first = first_pass.get(net["net"], net.get("grid_measured_ms") if net["round"] == "" else None)
        rows.append({**net, "seeds": len(scores["val"]) if scores else 0,
                     "val_mean": float(np.mean(scores["val"])) if scores else None,
                     "val_std": float(np.std(scores["val"], ddof=1)) if scores and len(scores["val"]) > 1 else None,
                     "test": scores["test"] if scores else [],
                     "test_mean": float(np.mean(scores["test"])) if scores else None,
                     "test_std": float(np.std(scores["test"], ddof=1)) if scores and len(scores["test"]) > 1 else None,
                     "measured_ms": interleaved["nets"].get(net["net"], grid.get(scaling(net))),
                     "measured_first_pass_ms": first})
    budgets = []
    for budget in meta["budgets_ms"]:
        here = [r for r in rows if r["budget_ms"] == budget]
        searched = [r for r in here if r["kind"] in ("dmasking", "lanas") and r["seeds"] == SEEDS]
        random_nets = [r for r in here if r["kind"] == "random" and r["seeds"] == SEEDS]
        # FBNetV2's scaling for the budget: the latest round's pick (round 2 re-picked it on the interleaved grid)
        fbnet = max((r for r in here if r["kind"] == "fbnetv2" and r.get("model")), key=lambda r: r["round"],
                    default=None)
        entry: dict[str, Any] = {"budget_ms": budget, "random_networks": len(random_nets)}
        if searched and len(random_nets) >= 2:
            chosen = max(searched, key=lambda r: r["val_mean"])  # chosen on validation, reported on test
            random_means = [r["test_mean"] for r in random_nets]
            entry.update(chosen=chosen["net"], chosen_on="validation mean over seeds",
                         searched_test=chosen["test"], random_test_means=random_means,
                         vs_random=welch(chosen["test"], random_means),
                         each_searched={r["net"]: welch(r["test"], random_means) for r in searched})
            entry["chosen_measured_ms"] = chosen["measured_ms"]
            if fbnet and fbnet.get("seeds") == SEEDS:
                entry["vs_fbnetv2"] = {**welch(chosen["test"], fbnet["test"]), "fbnetv2": fbnet["net"],
                                       "fbnetv2_measured_ms": fbnet["measured_ms"],
                                       "searched_at_or_below_its_latency": chosen["measured_ms"] <= fbnet["measured_ms"]}
        budgets.append(entry)
    study = {"command": "see the module docstring of benchmarks/search_pareto.py", "recipe": RECIPE, "seeds": SEEDS,
             "band": BAND, "lanas": LANAS, "rows": rows, "budgets": budgets, "convergence": convergence(),
             "git_commit": git_commit(), "machine": machine(), "nets_commit": meta.get("git_commit")}
    write_json_atomic(OUT / "study.json", study)
    plot(rows)
    with atomic_path(OUT / "study.md") as temporary:  # refuses a target that is not a regular file
        temporary.write_text(markdown(rows, budgets, study["convergence"]))
    print(json.dumps(budgets, indent=1))


def _mean_std(mean: float | None, std: float | None) -> str:
    return "-" if mean is None else f"{mean:.2f} ± {std or 0:.2f}"


def markdown(rows: list[dict[str, Any]], budgets: list[dict[str, Any]], converged: dict[str, Any]) -> str:
    """The tables of study.md, generated from study.json's numbers."""
    lines = ["# search_pareto: tables (generated by `python benchmarks/search_pareto.py report`)", ""]
    for entry in budgets:
        budget = entry["budget_ms"]
        lines += [f"## Budget {budget:g} ms (ONNX Runtime, 1 thread)", "",
                  "| network | kind | round | predicted ms | measured ms (first pass) | val top-1 (mean ± s.d.) "
                  "| test top-1 (mean ± s.d.) |", "|---|---|---|---|---|---|---|"]
        for r in sorted((r for r in rows if r["budget_ms"] == budget), key=lambda r: (r["kind"] != "dmasking",
                                                                                        r["kind"] != "lanas", r["net"])):
            predicted = f"{r['predicted_ms']:.4f}" if r.get("predicted_ms") else "-"
            measured = f"{r['measured_ms']:.4f}" if r.get("measured_ms") else "-"
            if r.get("measured_first_pass_ms"):
                measured += f" ({r['measured_first_pass_ms']:.4f})"
            round_ = {"": 1, "_round2": 2, "_round3": 3}[r["round"]]
            lines.append(f"| {r['net']} | {r['kind']} | {round_} | {predicted} | {measured} "
                         f"| {_mean_std(r['val_mean'], r['val_std'])} | {_mean_std(r['test_mean'], r['test_std'])} |"
                         if r.get("model") else f"| {r['net']} | {r['kind']} | {round_} | - | - | {r.get('note', '')} | |")
        if "vs_random" in entry:
            v = entry["vs_random"]
            random_means = entry["random_test_means"]
            lines += ["", f"Chosen on validation: **{entry['chosen']}**. Test: {np.mean(entry['searched_test']):.2f} "
                          f"(n = {len(entry['searched_test'])} seeds) vs the {len(random_means)} random networks' "
                          f"seed means {np.mean(random_means):.2f} ± {np.std(random_means, ddof=1):.2f}: difference "
                          f"{v['difference']:+.2f} points, bootstrap 95% CI [{v['bootstrap_ci95'][0]:+.2f}, "
                          f"{v['bootstrap_ci95'][1]:+.2f}], Welch one-sided p = {v['welch_p_greater']:.3g}, "
                          f"Mann-Whitney one-sided p = {v['mannwhitney_p_greater']:.3g}."]
            if "vs_fbnetv2" in entry:
                f = entry["vs_fbnetv2"]
                lines.append(f"Against FBNetV2-F1 scaled to this latency ({f['fbnetv2']}, measured "
                             f"{f['fbnetv2_measured_ms']:.4f} ms; the searched network {entry['chosen_measured_ms']:.4f} "
                             f"ms; 3 seeds each): {f['difference']:+.2f} points, Welch one-sided p = "
                             f"{f['welch_p_greater']:.3g}.")
            for net, w in entry["each_searched"].items():
                lines.append(f"- {net} vs random: {w['difference']:+.2f} points, Welch p = {w['welch_p_greater']:.3g}, "
                             f"Mann-Whitney p = {w['mannwhitney_p_greater']:.3g}")
        lines.append("")
    lines += ["## DMaskingNAS convergence", "", "| budget | epochs | final tau | mean max prob. (first search epoch -> last) "
              "| argmax unchanged since epoch | argmax ms | derived ms | minutes |", "|---|---|---|---|---|---|---|---|"]
    for budget, c in converged.items():
        sharp = c["mean_max_probability_by_epoch"]
        lines.append(f"| {budget} | {c['epochs']} | {c['final_temperature']:.2f} | {sharp[0]:.2f} -> {sharp[-1]:.2f} "
                     f"| {c['argmax_unchanged_since_epoch']} | {c['argmax_ms']:.4f} | {c['derived_ms']:.4f} "
                     f"| {c['search_minutes']} |")
    return "\n".join(lines) + "\n"


def convergence() -> dict[str, Any]:
    """How settled each DMaskingNAS search ended: the mean over choices of the most likely option's probability,
    the epoch after which the argmax never changed, and the derivation (argmax cost vs the derived network's)."""
    found = {}
    searches = [(tag(budget), f"dmasking_{tag(budget)}") for budget in BUDGETS]
    searches += [(name.removeprefix("dmasking_"), name) for name in LONG_SEARCHES.values()]
    for label, name in searches:
        folder = OUT / "searches" / name
        if not (folder / "derivation.json").exists():
            continue
        log = [json.loads(line) for line in (folder / "search_log.jsonl").read_text().splitlines()]
        sharpness = [round(float(np.mean([max(v) for v in r["probabilities"].values() if len(v) > 1])), 4) for r in log]
        stable_from = len(log)
        while stable_from > 1 and log[stable_from - 2]["argmax"] == log[-1]["argmax"]:
            stable_from -= 1
        derivation = json.loads((folder / "derivation.json").read_text())
        found[label] = {"epochs": len(log), "mean_max_probability_by_epoch": sharpness,
                              "argmax_unchanged_since_epoch": stable_from,
                              "final_temperature": log[-1]["temperature"],
                              "expected_ms_last_epoch": round(log[-1]["expected_cost"], 5),
                              "argmax_ms": round(derivation["argmax_cost"], 5), "derived_ms": round(derivation["cost"], 5),
                              "derivation_rule": derivation["rule"],
                              "search_minutes": round(sum(r["seconds"] for r in log) / 60, 1)}
    return found


def plot(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 5))
    styles = {"random": ("tab:gray", "o", "random (matched latency)"), "dmasking": ("tab:red", "*", "DMaskingNAS"),
              "lanas": ("tab:blue", "D", "LaNAS (one-shot)"), "fbnetv2": ("tab:green", "s", "FBNetV2-F1 scaled")}
    for kind, (color, marker, label) in styles.items():
        points = [r for r in rows if r["kind"] == kind and r.get("test_mean") is not None and r.get("measured_ms")]
        if points:
            axis.errorbar([r["measured_ms"] for r in points], [r["test_mean"] for r in points],
                          yerr=[r["test_std"] or 0 for r in points], fmt=marker, color=color, label=label,
                          markersize=9 if marker == "*" else 6, alpha=0.8 if kind == "random" else 1, capsize=2)
    for kind in ("dmasking", "lanas", "random", "fbnetv2"):  # each kind's front: best test mean at or below a latency
        points = sorted((r["measured_ms"], r["test_mean"]) for r in rows
                        if r["kind"] == kind and r.get("test_mean") is not None and r.get("measured_ms"))
        front, best = [], -1.0
        for x, y in points:
            if y > best:
                front.append((x, y))
                best = y
        if len(front) > 1:
            axis.step(*zip(*front), where="post", color=styles[kind][0], alpha=0.5)
    axis.set_xlabel("measured latency, ONNX Runtime 1 thread (ms)")
    axis.set_ylabel("Fashion-MNIST test top-1 (%), mean ± s.d. of 3 seeds")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    save_png(figure, OUT / "pareto.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("nets", "nets2", "nets3", "train", "latency", "remeasure", "spearman", "report"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-trials", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    {"nets": phase_nets, "nets2": phase_nets2, "nets3": phase_nets3, "train": phase_train, "latency": phase_latency, "remeasure": phase_remeasure,
     "spearman": phase_spearman,
     "report": phase_report}[args.phase](args)
    print(f"{args.phase}: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
