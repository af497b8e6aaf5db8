"""``mobilezoo weights``: list weight entries and their local state; import hand-downloaded checkpoints."""

from __future__ import annotations

import argparse
from typing import Any


def add_weights(verbs: Any) -> None:
    p = verbs.add_parser(
        "weights",
        help="list pretrained weights and where they are; import a downloaded checkpoint",
        description="Pretrained weights: 'list' shows every weight entry and whether it is packaged, cached or "
        "missing; 'import FILE --model NAME.TAG' checks a hand-downloaded checkpoint against the model (strictly, "
        "without unpickling code) and stores it in the cache ($MOBILEZOO_HOME); 'hf-save' and 'hf-push' share a "
        "model on the Hugging Face Hub in timm's layout (load it back with create_model('hf-hub:owner/name')).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    listing = actions.add_parser("list", help="weight entries and their local state")
    listing.add_argument("pattern", nargs="?", default="*")
    listing.add_argument("--json", action="store_true", help="one JSON record per weight entry (full URLs, hashes)")
    listing.set_defaults(run=run_list)
    importing = actions.add_parser("import", help="import a downloaded checkpoint into the cache")
    importing.add_argument("file", help="checkpoint (.pth/.pt weights-only, or .safetensors)")
    importing.add_argument("--model", required=True, help="NAME.TAG the weights are for, e.g. fbnetv2_f1.mv_in1k")
    importing.set_defaults(run=run_import)
    saving = actions.add_parser("hf-save", help="write NAME[.TAG] as a Hugging Face Hub folder (timm's layout)")
    saving.add_argument("model", help="NAME or NAME.TAG (with its weights), e.g. fbnetv2_f1.fmnist")
    saving.add_argument("folder", help="where model.safetensors, config.json and README.md go")
    saving.set_defaults(run=run_hf_save)
    pushing = actions.add_parser("hf-push", help="upload NAME[.TAG] to a Hugging Face Hub repository")
    pushing.add_argument("model", help="NAME or NAME.TAG (with its weights), e.g. fbnetv2_f1.fmnist")
    pushing.add_argument("repo_id", help="owner/name on the Hub (created if missing)")
    pushing.add_argument("--private", action="store_true", help="create the repository private")
    pushing.add_argument("--token", default=None, help="a write token (default: huggingface_hub's login)")
    pushing.set_defaults(run=run_hf_push)
    p.set_defaults(run=lambda args: p.print_help() or 0)


def run_list(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from ..errors import CheckpointError
    from ..registry import get_model_entry, list_models, split_name
    from ..weights.hub import hash_policy, locate

    records = []
    for name in list_models(args.pattern, pretrained=True):
        entry = get_model_entry(name)
        tag = split_name(name)[1]
        weight = entry.weights[tag]
        try:
            local = str(locate(entry, tag, allow_download=False))
        except CheckpointError:
            local = None
        records.append({"name": name, "source": weight.source, "dataset": weight.dataset, "classes": weight.num_classes,
                        "top1": weight.metrics.get("top1"), "url": weight.url, "file": weight.file,
                        "verified_by": hash_policy(weight), "local": local})
    if args.json:
        for record in records:
            print(json.dumps(record))
        return 0
    table = Table(title="pretrained weights", caption="verified by: sha256 (published), prefix (the hash digits in "
                  "the file name, as torch.hub checks), first-use (sha256 recorded at the first download)")
    for column in ("name", "source", "dataset", "classes", "top-1", "verified by", "where"):
        table.add_column(column, overflow="fold")  # fold, never cut: users copy these URLs to download by hand
    for r in records:
        where = r["local"] or f"not downloaded: {r['url'] or r['file']}"
        table.add_row(r["name"], r["source"], r["dataset"], str(r["classes"]),
                      f"{r['top1']:.2f}" if r["top1"] else "-", r["verified_by"], where)
    Console(width=200).print(table)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from ..weights.importing import import_weights

    path = import_weights(args.file, args.model)
    print(f"imported {args.file} as {args.model}: {path}")
    return 0


def _tagged_model(name: str) -> Any:
    from ..factory import create_model
    from ..registry import split_name

    return create_model(name, pretrained=split_name(name)[1] is not None)


def run_hf_save(args: argparse.Namespace) -> int:
    from ..weights.hf_hub import save_for_hf_hub

    folder = save_for_hf_hub(_tagged_model(args.model), args.folder)
    print(f"{args.model} -> {folder} (model.safetensors, config.json, README.md)")
    return 0


def run_hf_push(args: argparse.Namespace) -> int:
    from ..weights.hf_hub import push_to_hf_hub

    info = push_to_hf_hub(_tagged_model(args.model), args.repo_id, private=args.private or None, token=args.token)
    print(f"{args.model} -> https://huggingface.co/{args.repo_id} ({getattr(info, 'commit_url', info)})")
    return 0
