"""``mobilezoo search dmasking|supernet|lanas|darts``: DMaskingNAS (FBNetV2) for a FLOP or latency budget; LaNAS and
its baselines on a tabular benchmark or on a DMaskingNAS space scored by its trained supernet under a latency budget;
DARTS with a label or pretext objective (UnNAS's search phase)."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from .numbers import Count, EPOCHS, Real, SEED, THREADS_OR_DEFAULT, library_default


def add_search(verbs: Any) -> None:
    p = verbs.add_parser(
        "search",
        help="architecture search: DMaskingNAS (FBNetV2), LaNAS or DARTS (UnNAS) -> a definition file",
        description="Architecture search. 'dmasking' trains a masked supernet over a search space "
        "(configs/search/*.yaml) on Fashion-MNIST, with the FBNet loss CE * alpha * max(1, cost / target) ** beta, and writes "
        "the network it found (by default the most probable one that spends the budget) as an FBNet definition file "
        "that create_model, train, profile, export and bench read. "
        "'lanas' (or a baseline: random search, regularized evolution) samples networks: on a tabular benchmark "
        "(nasbench201) it looks scores up; on a search space it scores them with a trained dmasking supernet "
        "(one-shot) and keeps only those the latency table puts within --budget-ms. 'darts' searches DARTS cells with "
        "labels or a pretext task (rotation, jigsaw, colorization: UnNAS) and writes a darts definition file.",
    )
    from ..nas.search import SearchConfig

    D = functools.partial(library_default, SearchConfig)  # the library's defaults, shown and used as they are
    methods = p.add_subparsers(dest="method", metavar="METHOD", parser_class=type(p))
    d = methods.add_parser("dmasking", help="channel/resolution-masking DNAS (arXiv 2004.05565)")
    d.add_argument("--config", required=True, help="search space YAML, e.g. configs/search/fmnist_small.yaml")
    budget = d.add_mutually_exclusive_group(required=True)
    budget.add_argument("--target-mflops", type=Real(0, 1e9, open_low=True), help="budget in M multiply-adds (mobile-vision's 'flops')")
    budget.add_argument("--target-ms", type=Real(0, 1e6, open_low=True), help="latency budget in ms (with --cost latency)")
    d.add_argument("--cost", choices=("macs", "latency"), default=D("cost"), help="what the budget limits (default %(default)s)")
    d.add_argument("--lut", default=D("lut"), help="latency table for --cost latency (one runtime, e.g. benchmarks/results/lut_onnxruntime_1t.json)")
    d.add_argument("--build-lut", action="store_true", help="measure the space's blocks missing from --lut first")
    d.add_argument("--epochs", type=EPOCHS, default=D("epochs"))
    d.add_argument("--warmup-epochs", type=Count(0, 10_000), default=D("warmup_epochs"), help="weights-only epochs first (default %(default)s)")
    d.add_argument("--batch-size", type=Count(1, 65_536), default=D("batch_size"))
    d.add_argument("--limit-train", type=Count(1, 10**7), default=D("limit_train"), help="Fashion-MNIST training images (default %(default)s)")
    d.add_argument("--arch-lr", type=Real(0, 100, open_low=True), default=D("arch_lr"), help="Adam learning rate of the architecture (default %(default)s)")
    d.add_argument("--temperature", type=Real(0, 1000, open_low=True), default=D("temperature"),
                   help="initial Gumbel-softmax temperature (default %(default)s; low values sample near one-hot networks, "
                   "which makes the supernet a better one-shot evaluator for `search lanas`)")
    d.add_argument("--temperature-decay", type=Real(0, 10), default=D("temperature_decay"),
                   help="the temperature is multiplied by exp(-decay) every epoch (default %(default)s, the paper's for 90 "
                   "epochs; a shorter search that should end as sharp takes a larger one)")
    d.add_argument("--seed", type=SEED, default=D("seed"))
    d.add_argument("--threads", type=THREADS_OR_DEFAULT, default=D("threads"), help="torch threads (default: leave as is)")
    d.add_argument("--name", default=D("name"), help="name written into the derived definition")
    d.add_argument("--out", required=True, help="folder: search.pt, search_log.jsonl, derived.yaml, probabilities.png")
    d.add_argument("--derive", choices=("budget", "argmax"), default=D("derivation"),
                   help="which network to write: budget (default) = the most probable one whose cost is within "
                   "[--band x target, target], drawn from the final distribution; argmax = each choice's argmax")
    d.add_argument("--band", type=Real(0, 1, open_low=True), default=D("band"),
                   help="--derive budget: the lowest share of the target the network should spend (default %(default)s)")
    d.add_argument("--resume", action="store_true", help="continue from --out/search.pt")
    d.set_defaults(run=run_dmasking)
    add_supernet(methods)
    add_lanas(methods)
    add_darts(methods)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_dmasking(args: argparse.Namespace) -> int:
    from ..errors import InvalidInputError
    from ..nas.search import DMaskingSearch, SearchConfig

    if args.cost == "latency" and args.target_ms is None:
        raise InvalidInputError("--cost latency takes its budget as --target-ms")
    if args.cost == "macs" and args.target_mflops is None:
        raise InvalidInputError("--cost macs takes its budget as --target-mflops")
    target = args.target_mflops * 1e6 if args.cost == "macs" else args.target_ms
    config = SearchConfig(space=args.config, target=target, cost=args.cost, lut=args.lut or "", epochs=args.epochs,
                          warmup_epochs=args.warmup_epochs, batch_size=args.batch_size, limit_train=args.limit_train,
                          arch_lr=args.arch_lr, temperature=args.temperature,
                          temperature_decay=args.temperature_decay, seed=args.seed, threads=args.threads,
                          name=args.name, derivation=args.derive, band=args.band)
    if args.build_lut:
        _build_lut(config.space, config.lut, config.num_classes)
    search = DMaskingSearch(config, args.out)
    path = search.run(resume=args.resume)
    print(f"derived network: {path}  (mobilezoo profile {path}; mobilezoo train ... model={path})")
    return 0


def add_supernet(methods: Any) -> None:
    p = methods.add_parser("supernet", help="train a search space's supernet single-path (uniform) for one-shot LaNAS")
    p.description = ("Train the masked supernet of a search space the way one-shot LaNAS does: each batch trains one "
                     "network of the space drawn uniformly (single path), so every network inherits weights trained "
                     "as itself. Writes --out/search.pt for `search lanas --supernet`.")
    p.add_argument("--config", required=True, help="search space YAML, e.g. configs/search/fmnist_small.yaml")
    p.add_argument("--epochs", type=EPOCHS, default=10)
    p.add_argument("--batch-size", type=Count(1, 65_536), default=64)
    p.add_argument("--limit-train", type=Count(1, 50_000), default=2000,
                   help="Fashion-MNIST training images (default 2000; one-shot scoring uses the images after them)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--threads", type=THREADS_OR_DEFAULT, default=0, help="torch threads (default: leave as is)")
    p.add_argument("--out", required=True, help="folder: search.pt, search_log.jsonl")
    p.add_argument("--resume", action="store_true", help="continue from --out/search.pt")
    p.set_defaults(run=run_supernet)


def run_supernet(args: argparse.Namespace) -> int:
    from ..nas.search import DMaskingSearch, SearchConfig

    # every image trains the weights; the architecture parameters are never trained
    config = SearchConfig(space=args.config, target=0.0, sampling="uniform", epochs=args.epochs, warmup_epochs=0,
                          batch_size=args.batch_size, limit_train=args.limit_train, seed=args.seed,
                          threads=args.threads, name="supernet")
    path = DMaskingSearch(config, args.out).run(resume=args.resume)
    if path is not None:
        print(f"single-path supernet: {path}  (mobilezoo search lanas --space {args.config} --supernet {path} ...)")
    return 0


def _build_lut(space_path: str, lut: str | None, num_classes: int = 10) -> None:
    from ..errors import InvalidInputError
    from ..nas.lut_tables import measure_space
    from ..nas.space import SearchSpace
    from ..progress import progress_bar

    if not lut:
        raise InvalidInputError("--build-lut needs --lut FILE to write")
    bar = progress_bar(total=0, desc="measuring the space's blocks", unit="block")
    measure_space(SearchSpace.from_file(space_path), lut, num_classes, progress=lambda block: bar.update(1))
    bar.close()


def add_lanas(methods: Any) -> None:
    from ..nas.algorithms import ALGORITHMS

    p = methods.add_parser("lanas", help="LaNAS tree search (arXiv 1906.06832), or a baseline, by samples")
    p.add_argument("--space", required=True,
                   help="a tabular benchmark (nasbench201, synthetic) or a search space YAML, e.g. configs/search/fmnist_small.yaml")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="lanas", help="default lanas")
    p.add_argument("--evaluations", type=Count(1, 10**7), default=100, help="how many networks to score (default 100)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--cp", type=Real(0, 1e6), default=0.1, help="LaNAS exploration constant for scores in [0, 1] (default 0.1)")
    p.add_argument("--height", type=Count(1, 12), default=5, help="LaNAS tree height (default 5: 16 leaves)")
    p.add_argument("--batch", type=Count(1, 10**6), default=20, help="LaNAS: samples between tree rebuilds (default 20)")
    p.add_argument("--supernet", help="search space: the search.pt of a `mobilezoo search dmasking` over it")
    p.add_argument("--lut", help="search space: latency table of the space's blocks (one runtime)")
    p.add_argument("--budget-ms", type=Real(0, 1e6, open_low=True), help="search space: latency budget (ms, predicted by --lut)")
    p.add_argument("--band", type=Real(0, 0.999), default=0.0,
                   help="search space: only networks predicted at or above this share of --budget-ms (default 0: any "
                   "network within the budget; 0.9 compares at matched latency)")
    p.add_argument("--build-lut", action="store_true", help="measure the space's blocks missing from --lut first (ONNX Runtime)")
    p.add_argument("--eval-images", type=Count(1, 60_000), default=1000, help="held-out images that score a network (default 1000)")
    p.add_argument("--threads", type=THREADS_OR_DEFAULT, default=0, help="torch threads (default: leave as is)")
    p.add_argument("--name", default="lanas_searched", help="name written into the best network's definition")
    p.add_argument("--out", help="folder: evaluations.jsonl (appended as each network is scored), history.jsonl and "
                   "best.yaml (required for a search space)")
    p.add_argument("--resume", action="store_true",
                   help="search space: continue the search logged in --out exactly where it stopped")
    p.set_defaults(run=run_lanas)


def _settings(args: argparse.Namespace) -> dict:
    return {"cp": args.cp, "height": args.height, "batch": args.batch} if args.algorithm == "lanas" else {}


def run_lanas(args: argparse.Namespace) -> int:
    import os

    from ..errors import InvalidInputError
    from ..nas.algorithms import make_searcher
    from ..nas.searchers import run_search
    from ..nas.tabular import TABULAR, tabular_benchmark

    if args.space in TABULAR or not (args.space.endswith((".yaml", ".yml")) or os.path.exists(args.space)):
        if args.resume:
            raise InvalidInputError("--resume continues a search of a space file (logged in --out); a tabular "
                                    "benchmark's search looks scores up and needs none")
        bench = tabular_benchmark(args.space)  # an unknown name is a one-line error listing the known ones
        searcher = make_searcher(args.algorithm, bench.space, args.seed, **_settings(args))
        result = run_search(searcher, bench.score, args.evaluations, stop_at=bench.best_score)
        best = result.best
        found = result.evaluations_to_reach(bench.best_score)
        print(f"{args.algorithm} on {bench.space.name}: best {best.score:g} ({best.arch}) after {len(result.history)} "
              f"evaluations; table optimum {bench.best_score:g} " + (f"found at evaluation {found}" if found else "not found"))
        return 0
    for option in ("supernet", "lut", "budget_ms", "out"):
        if getattr(args, option) is None:
            raise InvalidInputError(f"searching space '{args.space}' needs --{option.replace('_', '-')} "
                                    "(--supernet search.pt --lut TABLE --budget-ms MS --out DIR)")
    return _search_space(args)


def _search_space(args: argparse.Namespace) -> int:
    import os

    import torch

    from ..nas.latency_table import LatencyTable
    from ..nas.lut_tables import latency_tables
    from ..nas.oneshot import OneShotEvaluator, budget_space, search_space_file
    from ..nas.algorithms import make_searcher
    from ..nas.space import SearchSpace
    from ..progress import progress_bar

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.build_lut:
        _build_lut(args.space, args.lut)
    space = SearchSpace.from_file(args.space)
    latency = latency_tables(space, LatencyTable.load(args.lut), source=args.lut)
    candidates = budget_space(space, latency, args.budget_ms, args.band)
    evaluator = OneShotEvaluator.from_search(args.supernet, space, eval_images=args.eval_images)
    searcher = make_searcher(args.algorithm, candidates, args.seed, **_settings(args))
    bar = progress_bar(total=args.evaluations, desc=f"{args.algorithm}: one-shot evaluations", unit="net")
    best = [0.0]

    def progress(evaluation: Any) -> None:
        best[0] = max(best[0], evaluation.score)
        bar.set_postfix(best=f"{best[0]:.4f}", refresh=False)
        bar.update(1)

    settings = {**_settings(args), "space_file": os.path.abspath(args.space), "supernet": os.path.abspath(args.supernet),
                "eval_images": args.eval_images, **({"band": args.band} if args.band else {})}
    result = search_space_file(space, searcher, lambda arch: evaluator(space, arch), latency, args.evaluations,
                               args.out, args.name, args.budget_ms, progress, resume=args.resume, settings=settings,
                               num_classes=evaluator.net.classifier.out_channels)
    bar.close()
    print(f"best: one-shot top-1 {result.best.score:.4f}, predicted {result.best_latency_ms:.4g} ms "
          f"(budget {args.budget_ms:g}) -> {result.definition}  (mobilezoo train ... model={result.definition})")
    return 0


def add_darts(methods: Any) -> None:
    from ..nas.darts_search import DartsSearchConfig
    from ..train.pretext import TASKS

    D = functools.partial(library_default, DartsSearchConfig)  # the library's defaults, shown and used as they are

    p = methods.add_parser("darts", help="DARTS cell search with labels or a pretext task (UnNAS, arXiv 2003.12056)")
    p.description = ("First-order DARTS over the DARTS cell space (8 ops incl. none, 4 nodes) with the objective of "
                     "--task: classification uses the labels, rotation / jigsaw / colorization none (UnNAS's search "
                     "phase). The training images are cut in halves: one trains the weights, the other the "
                     "architecture. Writes --out/derived.yaml, a darts definition file create_model, train, export "
                     "and bench read. Defaults per task are the reference's (batch 64, lr 0.1, arch lr 3e-4 for "
                     "classification and colorization; 32, 0.05, 1.5e-4 for rotation and jigsaw).")
    p.add_argument("--task", choices=TASKS, default=D("task"), help="the search objective (default %(default)s)")
    p.add_argument("--dataset", choices=("fashion_mnist", "colour_crops"), default=None,
                   help="training images (default fashion_mnist; colour_crops for colorization, which needs colour)")
    p.add_argument("--input-size", type=Count(8, 512), default=D("input_size"), help="input size in pixels (default %(default)s)")
    p.add_argument("--channels", type=Count(2, 1024), default=D("channels"), help="supernet width C (default %(default)s; the reference 16)")
    p.add_argument("--layers", type=Count(3, 64), default=D("layers"), help="supernet cells (default %(default)s; the reference 8)")
    p.add_argument("--epochs", type=EPOCHS, default=D("epochs"))
    p.add_argument("--arch-epochs", type=Count(0, 10_000), default=D("arch_epochs"), help="weights-only epochs first (default %(default)s)")
    p.add_argument("--batch-size", type=Count(1, 65_536), default=D("batch_size"), help="default: the task's")
    p.add_argument("--lr", type=Real(0, 100), default=D("lr"), help="weight learning rate (default: the task's)")
    p.add_argument("--arch-lr", type=Real(0, 100), default=D("arch_lr"), help="architecture learning rate (default: the task's)")
    p.add_argument("--limit-train", type=Count(2, 10**7), default=D("limit_train"), help="training images, cut in halves (default %(default)s)")
    p.add_argument("--seed", type=SEED, default=D("seed"))
    p.add_argument("--threads", type=THREADS_OR_DEFAULT, default=D("threads"), help="torch threads (default: leave as is)")
    p.add_argument("--name", default=D("name"), help="name written into the derived definition")
    p.add_argument("--out", required=True, help="folder: search.pt, search_log.jsonl, derived.yaml, genotype.json")
    p.add_argument("--resume", action="store_true", help="continue from --out/search.pt")
    p.set_defaults(run=run_darts)


def run_darts(args: argparse.Namespace) -> int:
    from ..nas.darts_search import DartsSearch, DartsSearchConfig

    dataset = args.dataset or ("colour_crops" if args.task == "colorization" else "fashion_mnist")
    config = DartsSearchConfig(task=args.task, dataset=dataset, input_size=args.input_size, channels=args.channels,
                               layers=args.layers, epochs=args.epochs, arch_epochs=args.arch_epochs,
                               batch_size=args.batch_size, lr=args.lr, arch_lr=args.arch_lr,
                               limit_train=args.limit_train, seed=args.seed, threads=args.threads, name=args.name)
    path = DartsSearch(config, args.out).run(resume=args.resume)
    if path is not None:
        print(f"derived cell: {path}  (mobilezoo train ... model={path}; channels/layers in the file set the network)")
    return 0
