"""``mobilezoo search dmasking``: search an FBNet-style network for a FLOP or latency budget (FBNetV2's method)."""

from __future__ import annotations

import argparse
from typing import Any


def add_search(verbs: Any) -> None:
    p = verbs.add_parser(
        "search",
        help="architecture search: DMaskingNAS (FBNetV2) for a FLOP or latency budget -> a definition file",
        description="Architecture search. 'dmasking' trains a masked supernet over a search space "
        "(configs/search/*.yaml) on Fashion-MNIST, with the FBNet loss CE * alpha * max(1, cost / target) ** beta, and writes "
        "the argmax network as an FBNet definition file that create_model, train, profile, export and bench read.",
    )
    methods = p.add_subparsers(dest="method", metavar="METHOD", parser_class=type(p))
    d = methods.add_parser("dmasking", help="channel/resolution-masking DNAS (arXiv 2004.05565)")
    d.add_argument("--config", required=True, help="search space YAML, e.g. configs/search/fmnist_small.yaml")
    budget = d.add_mutually_exclusive_group(required=True)
    budget.add_argument("--target-mflops", type=float, help="budget in M multiply-adds (mobile-vision's 'flops')")
    budget.add_argument("--target-ms", type=float, help="latency budget in ms (with --cost latency)")
    d.add_argument("--cost", choices=("macs", "latency"), default="macs", help="what the budget limits (default macs)")
    d.add_argument("--lut", help="latency table for --cost latency (one runtime, e.g. benchmarks/results/lut_onnxruntime_1t.json)")
    d.add_argument("--build-lut", action="store_true", help="measure the space's blocks missing from --lut first")
    d.add_argument("--epochs", type=int, default=10)
    d.add_argument("--warmup-epochs", type=int, default=2, help="weights-only epochs first (default 2)")
    d.add_argument("--batch-size", type=int, default=64)
    d.add_argument("--limit-train", type=int, default=2000, help="Fashion-MNIST training images (default 2000)")
    d.add_argument("--arch-lr", type=float, default=0.01, help="Adam learning rate of the architecture (default 0.01)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=0, help="torch threads (default: leave as is)")
    d.add_argument("--name", default="searched", help="name written into the derived definition")
    d.add_argument("--out", required=True, help="folder: search.pt, search_log.jsonl, derived.yaml, probabilities.png")
    d.add_argument("--resume", action="store_true", help="continue from --out/search.pt")
    d.set_defaults(run=run_dmasking)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_dmasking(args: argparse.Namespace) -> int:
    from ..errors import InvalidInputError
    from ..inputs import MAX_THREADS, check_count
    from ..nas.search import DMaskingSearch, SearchConfig

    for name in ("epochs", "batch_size", "limit_train"):
        check_count(getattr(args, name), f"--{name.replace('_', '-')}", 1, 10**7)
    check_count(args.threads, "--threads", 0, MAX_THREADS)
    if args.cost == "latency" and args.target_ms is None:
        raise InvalidInputError("--cost latency takes its budget as --target-ms")
    if args.cost == "macs" and args.target_mflops is None:
        raise InvalidInputError("--cost macs takes its budget as --target-mflops")
    target = args.target_mflops * 1e6 if args.cost == "macs" else args.target_ms
    config = SearchConfig(space=args.config, target=target, cost=args.cost, lut=args.lut or "", epochs=args.epochs,
                          warmup_epochs=args.warmup_epochs, batch_size=args.batch_size, limit_train=args.limit_train,
                          arch_lr=args.arch_lr, seed=args.seed, threads=args.threads, name=args.name)
    if args.build_lut:
        _build_lut(config)
    search = DMaskingSearch(config, args.out)
    path = search.run(resume=args.resume)
    print(f"derived network: {path}  (mobilezoo profile {path}; mobilezoo train ... model={path})")
    return 0


def _build_lut(config: Any) -> None:
    import os

    from ..bench.runtimes import host_cpu
    from ..errors import InvalidInputError
    from ..nas.latency_table import LatencyTable
    from ..nas.lut_tables import space_blocks
    from ..nas.space import SearchSpace
    from ..progress import progress_bar

    if not config.lut:
        raise InvalidInputError("--build-lut needs --lut FILE to write")
    space = SearchSpace.from_file(config.space)
    table = LatencyTable.load(config.lut) if os.path.exists(config.lut) else LatencyTable(host_cpu=host_cpu())
    blocks = [b for b in space_blocks(space, config.num_classes) if b.key not in table.entries]
    bar = progress_bar(total=len(blocks), desc=f"measuring {len(blocks)} blocks ({table.runtime})", unit="block")
    table.add(blocks, progress=lambda block: bar.update(1))
    bar.close()
    table.save(config.lut)
