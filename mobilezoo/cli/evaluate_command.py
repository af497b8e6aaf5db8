"""``mobilezoo evaluate``: linear-probe or kNN accuracy of a frozen backbone (a zoo name or a training checkpoint)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .numbers import EPOCHS, IMAGES, Real, SEED, SIDE, function_default


def add_evaluate(verbs: Any) -> None:
    from ..evaluation.protocols import evaluate_frozen
    from ..train.decoupling import stage_two

    p = verbs.add_parser(
        "evaluate",
        help="frozen-backbone accuracy: linear probe, kNN, long-tail classifier re-balancing",
        description="Evaluate a frozen backbone: a fresh linear layer on its pooled features (--protocol linear, "
        "MoCo's protocol scaled to small data) or a weighted kNN (--protocol knn, k=200, t=0.1). The backbone stays "
        "in eval mode and is checked to be unchanged afterwards. Examples:\n"
        "  mobilezoo evaluate runs/moco_fmnist/last.pt --protocol linear --label-fraction 0.01\n"
        "  mobilezoo evaluate fbnetv2_f1.fmnist_moco --protocol knn\n"
        "  mobilezoo evaluate fbnetv2_f1 --protocol linear          (random init: the baseline)\n"
        "  mobilezoo evaluate runs/moco_fmnist/last.pt --protocol linear --release fbnetv2_f1.fmnist_moco --out weights/\n"
        "  mobilezoo evaluate runs/lt100/last.pt --protocol rebalance   (stage 2 of the long-tail recipe: joint, NCM,\n"
        "      cRT, tau-norm, LWS on the frozen stage-1 backbone; overall, per-class, many / medium / few-shot top-1)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="training checkpoint (runs/x/last.pt) or zoo name (name or name.tag)")
    p.add_argument("--protocol", choices=("linear", "knn", "rebalance"), default="linear",
                   help="linear probe, kNN, or (a stage-1 run on a *_lt data set) classifier re-balancing")
    p.add_argument("--dataset", choices=("fashion_mnist", "folder"), default="fashion_mnist")
    p.add_argument("--data-dir", default="", help="for --dataset folder: train/ and val/ with a folder per class")
    p.add_argument("--input-size", type=SIDE, default=32)
    p.add_argument("--label-fraction", type=Real(0, 1, open_low=True), default=1.0,
                   help="share of the labelled training images, class-stratified and seeded (0.01, 0.1, 1)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--epochs", type=EPOCHS, default=function_default(evaluate_frozen, "epochs"),
                   help="linear probe epochs (default %(default)s; lr /10 at 60%% and 80%%)")
    p.add_argument("--limit-train", type=IMAGES, default=0, help="first N training images only (0: all)")
    p.add_argument("--limit-eval", type=IMAGES, default=0, help="first N test images only (0: all)")
    p.add_argument("--crt-epochs", type=EPOCHS, default=function_default(stage_two, "crt_epochs"),
                   help="rebalance: cRT epochs (default %(default)s, the paper's)")
    p.add_argument("--lws-epochs", type=EPOCHS, default=function_default(stage_two, "lws_epochs"),
                   help="rebalance: LWS epochs (default %(default)s, the paper's)")
    p.add_argument("--release", metavar="NAME", help="write NAME.safetensors + NAME.json (the zoo's packaged-weights "
                   "record) into --out: linear: backbone + probe; rebalance: backbone + the re-balanced classifier "
                   "with the best validation top-1")
    p.add_argument("--out", help="folder for result.json and --release files (default: no result.json; releases here)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from ..errors import InvalidInputError
    from ..evaluation.backbones import load_backbone
    from ..evaluation.protocols import evaluate_frozen
    from ..train.config import TrainConfig
    from ..train.engine import build_data, data_cfg

    if args.release and args.protocol == "knn":
        raise InvalidInputError("--release packages a linear classifier; use --protocol linear or rebalance")
    if args.protocol == "rebalance":
        return _rebalance(args)
    loaded = load_backbone(args.source)
    config = TrainConfig.from_dict({"model": loaded.architecture, "dataset": args.dataset, "data_dir": args.data_dir,
                                    "input_size": args.input_size, "label_fraction": args.label_fraction,
                                    "seed": args.seed, "limit_train": args.limit_train, "limit_eval": args.limit_eval})
    cfg = data_cfg(config, loaded.model.pretrained_cfg)
    train_set, test_set = build_data(config, cfg)
    result = evaluate_frozen(loaded.model, args.protocol, train_set, test_set, cfg.num_classes, seed=args.seed,
                             epochs=args.epochs, show_progress=not args.json)
    record = {"source": loaded.source, "dataset": args.dataset, "label_fraction": args.label_fraction,
              "seed": args.seed, **result.to_dict()}
    if args.release:
        record["release"] = str(_release(args, loaded, cfg, result))
    _write_result(args, record)
    if args.json:
        print(json.dumps(record))
    else:
        print(f"{args.protocol} top-1 {result.top1:.2f}% on {result.test_samples} test images, "
              f"{result.train_samples} labelled training images (label fraction {args.label_fraction:g}); backbone unchanged")
    return 0


def _write_result(args: argparse.Namespace, record: dict) -> None:
    if args.out:
        from ..fileio import write_json_atomic

        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(args.out) / "result.json", record)


def _release(args: argparse.Namespace, loaded: Any, cfg: Any, result: Any) -> Path:
    from ..evaluation.protocols import attach_classifier

    model = attach_classifier(loaded.model, result.classifier)
    metrics = {"top1": round(result.top1, 2), "test_samples": result.test_samples, "protocol": "linear probe",
               "label_fraction": args.label_fraction,
               "note": "frozen backbone + linear probe on the labelled training images (mobilezoo evaluate)"}
    return _write_release(args, model, metrics, loaded.training or {}, loaded.model_kwargs,
                          f"backbone from {loaded.source}; classifier: linear probe, lr {result.details['lr']}", cfg)


def _write_release(args: argparse.Namespace, model: Any, metrics: dict, training: dict, model_kwargs: dict, notes: str,
                   cfg: Any = None) -> Path:
    """``NAME.safetensors`` (fp16) + ``NAME.json``: the record ``mobilezoo/weights/files`` packages (the same writer
    as a training's release)."""
    from ..train.config import TrainConfig
    from ..train.engine import data_cfg
    from ..weights.release import save_release

    if cfg is None:
        cfg = data_cfg(TrainConfig.from_dict({k: v for k, v in training.items() if k in TrainConfig.__dataclass_fields__}),
                       model.pretrained_cfg)
    return save_release(model, Path(args.out or "."), args.release, cfg=cfg, metrics=metrics, recipe=str(args.source),
                        recipe_config=training, model_kwargs=model_kwargs, notes=notes)


def _rebalance(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..train.decoupling import stage_two

    result = stage_two(args.source, args.crt_epochs, args.lws_epochs, args.seed, show_progress=not args.json)
    record = {"source": args.source, "train_counts": result.train_counts, "tau": result.tau.tau,
              "tau_validation_top1": result.tau.validation_top1, "validation_top1": result.validation_top1,
              "best_on_validation": result.best,
              "test": {m: r.to_dict() for m, r in result.reports.items()}}
    if args.release:
        record["release"] = str(_release_rebalanced(args, result))
    _write_result(args, record)
    if args.json:
        print(json.dumps(record))
        return 0
    first = next(iter(result.reports.values()))
    table = Table(title=f"stage 2 on {args.source}: test top-1 (%)", caption=first.thresholds)
    for column in ("classifier", "many", "medium", "few", "all", "validation"):
        table.add_column(column, justify="left" if column == "classifier" else "right")
    show = lambda v: "-" if v is None else f"{v:.2f}"
    for method, report in result.reports.items():
        name = f"{method} (tau {result.tau.tau:g})" if method == "tau_norm" else method
        table.add_row(name, show(report.many), show(report.medium), show(report.few), show(report.overall),
                      show(result.validation_top1[method]))
    Console().print(table)
    return 0


def _release_rebalanced(args: argparse.Namespace, result: Any) -> Path:
    from ..evaluation.protocols import attach_classifier
    from ..train.decoupling import as_linear

    layer = as_linear(result.rebalanced.classifiers[result.best])
    model = attach_classifier(result.model, layer)
    report = result.reports[result.best]
    metrics = {"top1": round(report.overall, 2), "test_samples": report.samples, "protocol": f"long-tail stage 2: {result.best}",
               **{g: None if v is None else round(v, 2) for g, v in (("many", report.many), ("medium", report.medium),
                                                                      ("few", report.few))},
               "groups": report.thresholds,
               "train_counts": result.train_counts,
               "note": f"classifier {result.best} picked on the balanced validation split; balanced test split"}
    return _write_release(args, model, metrics, result.config, result.config.get("model_kwargs", {}),
                          f"stage 1 {args.source}; stage-2 classifier {result.best} folded into the linear layer")
