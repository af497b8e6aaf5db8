"""``mobilezoo train``: train a zoo model from a YAML recipe (single process, or many under torchrun)."""

from __future__ import annotations

import argparse
from typing import Any


def options_epilog() -> str:
    """Every training option with its default and meaning, from the one typed place that defines them."""
    import textwrap

    from ..train.config import TrainConfig

    lines = ["training options (YAML keys, or key=value after the flags; default in brackets):"]
    for key, default, text in TrainConfig.options_help():
        head = f"  {key} [{default}]"
        body = textwrap.wrap(text, 118 - 30) or [""]
        lines.append(f"{head:<30}{body[0]}" if len(head) < 30 else f"{head}\n{'':<30}{body[0]}")
        lines.extend(f"{'':<30}{more}" for more in body[1:])
    return "\n".join(lines)


def add_train(verbs: Any) -> None:
    p = verbs.add_parser(
        "train",
        help="train a model from configs/train/*.yaml (CPU, GPU, torchrun DDP)",
        description="Train a zoo model. Options come from --config and key=value overrides, e.g.\n"
        "  mobilezoo train --config configs/train/fbnetv2_f1_fmnist.yaml epochs=2 lr=0.05\n"
        "Many GPUs/CPUs: torchrun --nproc_per_node N -m mobilezoo train --config ...",
        epilog=options_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="YAML recipe (configs/train/); key=value overrides follow")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="options that override the recipe (listed below)")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    p.add_argument("--release", metavar="NAME", help="also write NAME.safetensors (fp16) + NAME.json at the end")
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from ..train.config import TrainConfig
    from ..train.distributed import shutdown
    from ..train.engine import Trainer

    config = TrainConfig.from_file(args.config, args.overrides)
    trainer = Trainer(config)
    try:
        history = trainer.fit(resume=args.resume)
        if args.release and trainer.dist.is_main:
            path = trainer.save_release(args.release, recipe=args.config or "")
            print(f"released {path}")
        if trainer.dist.is_main and history:
            print(f"final eval top-1 {history[-1]['eval_top1']:.2f}% after {history[-1]['epoch']} epochs; "
                  f"checkpoint {config.out_dir}/last.pt, metrics {config.out_dir}/metrics.jsonl, curves {config.out_dir}/curves.png")
    finally:
        shutdown()
    return 0
