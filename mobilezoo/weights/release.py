"""Turn a training run's final weights into a packaged release record (``weights/files/*.json``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..fileio import atomic_path, sha256_of, write_json_atomic
from ..pretrained_cfg import PretrainedCfg


def release_record(weights_path: Path, name: str, cfg: PretrainedCfg, metrics: dict[str, Any], recipe: str,
                   recipe_config: dict[str, Any], model_kwargs: dict[str, Any], notes: str = "") -> dict[str, Any]:
    """``metrics``: a training run's last record (``eval_top1``, ...) or, with ``top1`` already in it, the record's own."""
    architecture, _, tag = name.partition(".")
    if "top1" not in metrics and "test_top1" in metrics:  # eval_split val: chosen on validation, test read once
        metrics = {"top1": round(metrics["test_top1"], 2), "test_samples": metrics.get("test_samples"),
                   "val_top1": round(metrics["eval_top1"], 2), "val_samples": metrics.get("eval_samples"),
                   "epochs": metrics.get("epoch"),
                   "note": "EMA weights; top1 on the full test split, read once after the last epoch; val_top1 on the "
                           "validation split (the last 10,000 training images, never trained on)"}
    elif "top1" not in metrics:
        metrics = {"top1": round(metrics["eval_top1"], 2), "test_samples": metrics.get("eval_samples"),
                   "epochs": metrics.get("epoch"), "note": "EMA weights, full test split, measured by the training run"}
    return {
        "architecture": architecture,
        "tag": tag,
        "file": weights_path.name,
        "sha256": sha256_of(weights_path),
        "size_bytes": os.path.getsize(weights_path),
        "dataset": cfg.dataset,
        "num_classes": cfg.num_classes,
        "class_names": list(cfg.class_names) if cfg.class_names else None,
        "metrics": metrics,
        "cfg": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.preprocessing().items()},
        "model_kwargs": model_kwargs,
        "recipe": recipe,
        "recipe_config": recipe_config,
        "source": "trained with mobilezoo on this project's CPU machines",
        "license": "MIT (weights); Fashion-MNIST data MIT (Zalando Research)",
        "notes": "; ".join(filter(None, [notes, "stored as float16 safetensors; loaded into float32 models"])),
    }


def save_release(model: nn.Module, folder: str | os.PathLike, name: str, dtype: torch.dtype = torch.float16,
                 **fields: Any) -> Path:
    """``<folder>/<name>.safetensors`` (floats as ``dtype``, fp16 by default; metadata ``format: pt``) and
    ``<name>.json``, the record that packages it (``fields``: those of :func:`release_record`). Returns the weights."""
    from safetensors.torch import save_file

    tensors = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()}
    path = Path(folder) / f"{name}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={"format": "pt", "model": name})
    write_release(path, name, **fields)
    return path


def write_release(weights_path: Path, name: str, **fields: Any) -> Path:
    record = release_record(weights_path, name, **fields)
    path = weights_path.with_suffix(".json")
    write_json_atomic(path, record)
    return path
