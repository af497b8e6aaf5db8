"""Where a backbone to evaluate comes from: a zoo name (random init or a weight tag) or a training checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import CheckpointError
from ..pretrained_cfg import WeightsSource


@dataclass
class LoadedBackbone:
    model: nn.Module  # a zoo model (its classifier is replaced by the protocol)
    source: str  # what was loaded, for the record
    architecture: str
    model_kwargs: dict[str, Any]
    training: dict[str, Any] | None  # the training config of a checkpoint


def load_backbone(source: str, pretrained: bool = True) -> LoadedBackbone:
    """``source``: a training checkpoint (``runs/x/last.pt``: supervised, pretext or MoCo, whose query encoder's
    backbone is taken), or a zoo name (``fbnetv2_f1`` random init, ``fbnetv2_f1.fmnist_moco`` with weights)."""
    from ..factory import create_model

    path = Path(source)
    if path.suffix in (".pt", ".pth") and path.is_file():
        return _from_checkpoint(path)
    model = create_model(source, pretrained=pretrained and "." in source)
    architecture = source.partition(".")[0]
    return LoadedBackbone(model, f"{source} ({model.pretrained_cfg.weights})", architecture, {}, None)


def _from_checkpoint(path: Path) -> LoadedBackbone:
    from ..factory import create_model

    from ..weights.loading import read_training_checkpoint

    state = read_training_checkpoint(path)
    config = state["config"]
    weights = state["model"]
    prefix = state.get("backbone_prefix")  # the training method records where its backbone sits
    if not isinstance(prefix, str):
        prefix = _legacy_prefix(config)
    backbone_state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    kwargs = dict(config.get("model_kwargs") or {})
    try:
        model = create_model(config["model"], num_classes=0, **kwargs)
    except TypeError as exc:  # a tampered or foreign config: keyword arguments the builder does not take
        raise CheckpointError(f"'{path}' records model_kwargs {kwargs} that {config['model']} does not take "
                              f"({str(exc).splitlines()[0][:120]}); pass a run's own last.pt") from None
    model.reset_classifier(0)
    own = model.state_dict()
    backbone_state = {k: v for k, v in backbone_state.items() if k in own}  # drop the training head
    missing = sorted(set(own) - set(backbone_state))
    if missing:
        raise CheckpointError(f"'{path}' lacks {len(missing)} backbone tensors of {config['model']} (e.g. {missing[0]})")
    try:
        model.load_state_dict(backbone_state)
    except RuntimeError as exc:
        detail = next((line.strip() for line in str(exc).splitlines() if "size mismatch" in line), str(exc).splitlines()[0])
        raise CheckpointError(f"'{path}' does not fit {config['model']} ({detail[:200]}); pass a run's own last.pt") from None
    shown = _portable(path)  # records name the checkpoint relative to the working folder, not this machine's root
    model.pretrained_cfg = model.pretrained_cfg.replace(weights=WeightsSource.training_run(shown, state.get("epoch")))
    return LoadedBackbone(model, f"{shown} (epoch {state.get('epoch')}, {config.get('method', 'supervised')})",
                          config["model"], kwargs, config)


def _portable(path: Any) -> str:
    """``path`` relative to the working folder when it lies inside it (as the commands that made it name it)."""
    import os

    relative = os.path.relpath(os.fspath(path))
    return relative if not relative.startswith("..") else os.fspath(path)


def _legacy_prefix(config: dict[str, Any]) -> str:
    """Checkpoints written before the prefix was recorded (the methods' layouts then)."""
    if config.get("method") == "moco":
        return "encoder_q.backbone."
    return "trunk." if config.get("task", "classification") in ("jigsaw", "colorization") else ""
