"""Training configuration: a YAML file plus ``key=value`` overrides from the command line."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import InvalidInputError


@dataclass
class TrainConfig:
    model: str = "fbnetv2_f1"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    dataset: str = "fashion_mnist"  # fashion_mnist | folder | clips
    data_dir: str = ""  # for folder/clips: train/ and val/ inside, each with a folder per class
    clip_frames: int = 16  # for dataset=clips: frames per clip
    input_size: int = 32
    num_classes: int = 10
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd | rmsprop | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-5
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    ema_decay: float = 0.0  # 0 disables the EMA of weights
    grad_clip: float = 0.0  # 0 disables clipping (max total grad norm)
    amp: bool = True  # mixed precision, used only on CUDA
    channels_last: bool = False
    freeze_bn: bool = False  # keep BN statistics fixed while training (fine-tuning; exact DDP comparisons)
    seed: int = 0
    limit_train: int = 0  # use only the first N training samples (0: all)
    limit_eval: int = 0
    num_workers: int = 0
    out_dir: str = "runs/train"
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads (0: leave as is)

    @classmethod
    def from_file(cls, path: str | Path | None, overrides: Sequence[str] = ()) -> "TrainConfig":
        import yaml

        data: dict[str, Any] = {}
        if path:
            path = Path(path)
            if not path.is_file():
                raise InvalidInputError(f"training config '{path}' does not exist")
            data = yaml.safe_load(path.read_text()) or {}
        for item in overrides:
            if "=" not in item:
                raise InvalidInputError(f"override '{item}' is not key=value")
            key, value = item.split("=", 1)
            data[key.strip()] = yaml.safe_load(value)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = [k for k in data if k not in names]
        if unknown:
            raise InvalidInputError(f"unknown training option '{unknown[0]}'; options: {', '.join(names)}")
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        if self.optimizer not in ("sgd", "rmsprop", "adamw"):
            raise InvalidInputError(f"optimizer must be sgd, rmsprop or adamw, got '{self.optimizer}'")
        if self.dataset not in ("fashion_mnist", "folder", "clips"):
            raise InvalidInputError(f"dataset must be fashion_mnist, folder or clips, got '{self.dataset}'")
        for name in ("epochs", "batch_size", "input_size", "num_classes"):
            if int(getattr(self, name)) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise InvalidInputError(f"ema_decay must be in [0, 1), got {self.ema_decay}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
