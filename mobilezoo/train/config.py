"""Training configuration: a YAML file plus ``key=value`` overrides from the command line.

Every key is checked here, in one place: its type (``epochs=2.5`` is refused, not rounded), its range, and
its spelling (an unknown key names the closest valid one). Each problem is a one-line error.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import InvalidInputError
from .methods import method_names

CHOICES = {
    "optimizer": ("sgd", "rmsprop", "adamw"),
    "dataset": ("fashion_mnist", "fashion_mnist_lt", "folder", "folder_lt", "clips", "colour_crops"),
    "task": ("classification", "rotation", "jigsaw", "colorization"),
    "method": method_names(),  # the registered training methods (train/methods.py)
    "sampler": ("instance", "class", "sqrt", "progressive"),
}
#: inclusive (low, high) per numeric key; None leaves that side open
RANGES: dict[str, tuple[float | None, float | None]] = {
    "epochs": (1, 10_000),
    "batch_size": (1, 65_536),
    "input_size": (8, 4096),
    "num_classes": (1, 100_000),
    "clip_frames": (1, 1024),
    "lr": (0, 100),
    "momentum": (0, 1),
    "weight_decay": (0, 1),
    "warmup_epochs": (0, 10_000),
    "label_smoothing": (0, 1),
    "ema_decay": (0, 1),
    "grad_clip": (0, None),
    "seed": (0, 2**63 - 1),
    "limit_train": (0, None),
    "limit_eval": (0, None),
    "num_workers": (0, 256),
    "threads": (0, 1024),
    "jigsaw_grid": (2, 3),
    "jigsaw_permutations": (2, 362_880),
    "label_fraction": (0, 1),
    "eval_every": (1, 10_000),
    "imbalance_ratio": (1, 1_000_000),
    "lt_max_per_class": (0, None),
    "lt_val_per_class": (1, None),
    "lt_seed": (0, 2**63 - 1),
}
#: keys whose range excludes its upper end (a decay of 1 never moves)
OPEN_ABOVE = ("momentum", "label_smoothing", "ema_decay")
OPEN_BELOW = ("lr", "label_fraction")
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def option(default: Any, help: str, factory: Any = None) -> Any:
    """A training option: its default and the one-line help ``mobilezoo train --help`` and the README show."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Every option of ``mobilezoo train`` (YAML keys or ``key=value`` overrides), with its default."""

    # what to train
    model: str = option("fbnetv2_f1", "a registered model name or a definition file (.yaml/.json)")
    model_kwargs: dict[str, Any] = option(None, "keyword arguments for create_model, e.g. {seed: 3}", dict)
    num_classes: int = option(10, "classifier size")
    input_size: int = option(32, "square input side the images are resized to")
    task: str = option("classification", "classification, or a pretext task without labels: rotation | jigsaw | "
                       "colorization (mobilezoo.train.pretext)")
    jigsaw_grid: int = option(2, "jigsaw: tiles per side (2: all 24 orders; 3: a maximal-Hamming subset)")
    jigsaw_permutations: int = option(24, "jigsaw: how many tile orders to classify")
    method: str = option("supervised", "supervised (with task) | moco: self-supervised MoCo v1/v2")
    moco: dict[str, Any] = option(None, "method=moco: {version, dim, queue_size, momentum, temperature, mlp, "
                                  "bn_splits, augmentation} (MoCoOptions)", dict)
    # data
    dataset: str = option("fashion_mnist", "fashion_mnist | fashion_mnist_lt | folder | folder_lt | clips | "
                          "colour_crops (*_lt: a long-tailed cut of the training set; test set balanced)")
    data_dir: str = option("", "folder/clips: a folder with train/ and val/ inside, each with a folder per class")
    clip_frames: int = option(16, "clips: frames per clip")
    imbalance_ratio: float = option(100.0, "*_lt: rho = images of the largest class / images of the smallest")
    lt_max_per_class: int = option(0, "*_lt: images of the largest class (0: all a class has, less validation)")
    lt_val_per_class: int = option(100, "*_lt: balanced validation images per class, from images the cut left out")
    lt_seed: int = option(0, "*_lt: which images the cut keeps (fixed while training seeds vary)")
    sampler: str = option("instance", "instance | class | sqrt | progressive: how batches draw classes "
                          "(mobilezoo.data.samplers)")
    label_fraction: float = option(1.0, "train on a seeded, class-stratified share of the labelled images (0.01: 1%)")
    limit_train: int = option(0, "use only the first N training images (0: all); for quick runs and tests")
    limit_eval: int = option(0, "evaluate on only the first N test images (0: all)")
    eval_split: str = option("test", "fashion_mnist: test, or val: train on the first 50,000 training images and "
                             "evaluate on the last 10,000 (for choosing anything); the last epoch then also reports "
                             "test_top1 once; or probe_fifth: hold out the fifth of the (label_fraction) training "
                             "images the linear probe validates on, train on the rest and evaluate on it (tune a "
                             "supervised baseline as the probe is tuned)")
    num_workers: int = option(0, "DataLoader worker processes")
    # optimisation
    epochs: int = option(10, "passes over the training set")
    batch_size: int = option(128, "images per step (per process under torchrun)")
    optimizer: str = option("sgd", "sgd | rmsprop | adamw")
    lr: float = option(0.1, "peak learning rate (cosine schedule after warm-up)")
    momentum: float = option(0.9, "SGD / RMSProp momentum")
    weight_decay: float = option(5e-5, "weight decay (never on BN parameters or biases)")
    warmup_epochs: float = option(1.0, "linear warm-up length in epochs (may be fractional)")
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy")
    ema_decay: float = option(0.0, "EMA of weights, e.g. 0.9998 (0: off; BN statistics re-estimated for the average)")
    grad_clip: float = option(0.0, "clip the total gradient norm to this (0: off)")
    amp: bool = option(True, "mixed precision (used only on CUDA)")
    channels_last: bool = option(False, "channels_last memory format")
    freeze_bn: bool = option(False, "keep BN statistics fixed while training (fine-tuning; exact DDP comparisons)")
    seed: int = option(0, "seed of weights, data order and augmentation")
    # where and how it runs
    eval_every: int = option(1, "evaluate every N epochs (the last epoch always)")
    out_dir: str = option("runs/train", "folder for last.pt, metrics.jsonl and curves.png")
    initial_checkpoint: str = option("", "start from an earlier run's last.pt (same model, method and heads) with a "
                                     "fresh optimizer and schedule (timm's --initial-checkpoint)")
    device: str = option("auto", "auto | cpu | cuda | cuda:N")
    threads: int = option(0, "torch CPU threads (0: leave as is)")

    @classmethod
    def from_file(cls, path: str | Path | None, overrides: Sequence[str] = ()) -> "TrainConfig":
        import yaml

        data: dict[str, Any] = {}
        if path:
            data = _read_yaml(Path(path))
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InvalidInputError(f"override '{item}' is not key=value (e.g. epochs=2)")
            try:
                data[key.strip()] = yaml.safe_load(value)
            except yaml.YAMLError:
                data[key.strip()] = value  # not a YAML scalar: keep the text, the type check names the key
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), list(names), n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'?" if close else f"options: {', '.join(names)}"
                raise InvalidInputError(f"unknown training option '{key}'; {hint}")
        for key, value in list(data.items()):
            if str(names[key].type) == "float" and isinstance(value, str):
                data[key] = value = _yaml_float(value)  # YAML 1.1 reads 5e-4 (no dot) as text
            _check_type(key, value, names[key].type)
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        """Ranges and choices of every key (types are checked by :meth:`from_dict`)."""
        for key, allowed in CHOICES.items():
            if getattr(self, key) not in allowed:
                raise InvalidInputError(f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        for key, (low, high) in RANGES.items():
            value = getattr(self, key)
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidInputError(f"{key} must be a finite number, got {value}")
            too_low = low is not None and (value <= low if key in OPEN_BELOW else value < low)
            too_high = high is not None and (value >= high if key in OPEN_ABOVE else value > high)
            if too_low or too_high:
                left = "(" if key in OPEN_BELOW else "["
                right = ")" if key in OPEN_ABOVE else "]"
                span = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}{right}"
                raise InvalidInputError(f"{key} must be in {span}, got {value}")
        if not DEVICE.fullmatch(self.device):
            raise InvalidInputError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if not self.model.strip():
            raise InvalidInputError("model must name a registered model or a definition file, got ''")
        if not self.out_dir.strip():
            raise InvalidInputError("out_dir must be a folder path, got ''")
        if self.dataset in ("folder", "folder_lt", "clips") and not self.data_dir:
            raise InvalidInputError(f"dataset={self.dataset} needs data_dir=<folder with train/ and val/>")
        if self.task == "colorization" and self.dataset != "colour_crops":
            raise InvalidInputError("task=colorization needs colour images: dataset=colour_crops")
        if self.dataset == "colour_crops" and self.task == "classification":
            raise InvalidInputError("dataset=colour_crops has no labels; use a pretext task (rotation, jigsaw, colorization)")
        if self.moco and self.method != "moco":
            raise InvalidInputError("moco options are set but method is not moco; add method: moco or drop the moco: block")
        if self.method == "moco":
            from .moco import MoCoOptions

            if self.task != "classification":
                raise InvalidInputError(f"method=moco is its own pretext; drop task={self.task}")
            if self.ema_decay > 0:
                raise InvalidInputError("method=moco keeps its own momentum encoder; set ema_decay: 0")
            options = MoCoOptions.from_dict(self.moco)
            if self.batch_size % options.bn_splits:
                raise InvalidInputError(f"batch_size {self.batch_size} is not a multiple of moco bn_splits="
                                        f"{options.bn_splits}; change one of them")
            if self.dataset in ("clips", "colour_crops"):
                raise InvalidInputError(f"method=moco trains on labelled image sets (its kNN monitor needs labels), "
                                        f"not dataset={self.dataset}")
        if self.eval_split not in ("test", "val", "probe_fifth"):
            raise InvalidInputError(f"eval_split must be test, val or probe_fifth, got {self.eval_split!r}")
        if self.eval_split != "test" and self.dataset != "fashion_mnist":
            raise InvalidInputError(f"eval_split={self.eval_split} carves Fashion-MNIST's training images; "
                                    f"dataset={self.dataset} has its own validation data (drop eval_split)")
        if self.warmup_epochs > self.epochs:
            raise InvalidInputError(f"warmup_epochs ({self.warmup_epochs}) must not exceed epochs ({self.epochs})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def options_help(cls) -> list[tuple[str, str, str]]:
        """(key, default, help) of every option, in the order of the class: what ``train --help`` lists."""
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            rows.append((f.name, "''" if default == "" else str(default), f.metadata["help"]))
        return rows


def _read_yaml(path: Path) -> dict[str, Any]:
    from ..fileio import read_yaml_file

    data = read_yaml_file(path, "training config")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"training config '{path}' must be a mapping of option: value, got {type(data).__name__}")
    return data


def _yaml_float(text: str) -> float | str:
    """``'5e-4'`` -> 5e-4; other text is returned unchanged for the type check to name."""
    try:
        return float(text) if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text.strip()) else text
    except ValueError:
        return text


def _check_type(key: str, value: Any, annotation: str) -> None:
    """One-line error unless ``value`` has the field's type (bool is not a number; 2.5 is not a whole number)."""
    kind = str(annotation)
    if kind == "bool":
        ok, want = isinstance(value, bool), "true or false"
    elif kind == "int":
        ok, want = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif kind == "float":
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif kind == "str":
        ok, want = isinstance(value, str), "text"
    else:  # dict[str, Any]
        ok, want = isinstance(value, dict) and all(isinstance(k, str) for k in value), "a mapping of option: value"
    if not ok:
        raise InvalidInputError(f"{key} must be {want}, got {value!r}")
