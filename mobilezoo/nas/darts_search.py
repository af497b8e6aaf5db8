"""DARTS search with a pretext objective: UnNAS's search phase (arXiv 2003.12056), first-order DARTS (arXiv 1806.09055).

The training images are cut in two halves (the reference's ``PORTION 0.5``). Every step first updates the
architecture (Adam, betas (0.5, 0.999), on a batch of the second half) once the weights-only epochs are over
(``arch_epochs``, the reference's ``ARCH_EPOCH 1``), then the weights (SGD, cosine per epoch, gradients clipped at 5,
on a batch of the first half): first order, no unrolled step, as the reference trains. The objective is the task's
loss, labels or none: classification, rotation, jigsaw or colorization (:mod:`mobilezoo.train.pretext`, whose heads
wrap the supernet as they wrap any backbone). Per-task defaults are the reference's search-phase configs
(``configs/search_based/search_phase/*``): batch 64, lr 0.1, arch lr 3e-4 for classification and colorization;
batch 32, lr 0.05, arch lr 1.5e-4 for rotation and jigsaw.

Every epoch ends with a checkpoint (``search.pt``) and a JSON line (losses, the task's accuracy on its batches, the
derived genotype, the op weights); ``resume`` continues from the checkpoint. The result, ``derived.yaml``, is a
``family: darts`` definition file: ``create_model``, ``train``, ``profile``, ``export`` and ``bench`` take its path.
Fashion-MNIST searches read only the first 50,000 training images (never the validation split).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..errors import InvalidInputError
from ..seeding import seed_everything
from ..fileio import atomic_path, ensure_writable_dir, write_json_atomic
from ..train.pretext import TASKS, make_task
from .darts_supernet import DartsSupernet
from .resumable import CHECKPOINT, ResumableEpochs, read_search_checkpoint

DEFINITION = "derived.yaml"
DATASETS = ("fashion_mnist", "colour_crops")
#: the reference's search-phase settings per task: (batch size, weight lr, architecture lr)
TASK_DEFAULTS = {"classification": (64, 0.1, 3e-4), "colorization": (64, 0.1, 3e-4),
                 "rotation": (32, 0.05, 1.5e-4), "jigsaw": (32, 0.05, 1.5e-4)}


@dataclass(frozen=True)
class DartsSearchConfig:
    task: str = "classification"
    dataset: str = "fashion_mnist"  # colour_crops for colorization (it needs colour)
    input_size: int = 16
    channels: int = 8  # the reference searches at width 16 and 8 cells; smaller here for a CPU
    layers: int = 5
    epochs: int = 10
    arch_epochs: int = 1  # weights-only epochs before the architecture is updated
    batch_size: int = 0  # 0: the task's reference value (TASK_DEFAULTS)
    lr: float = 0.0  # 0: the task's
    arch_lr: float = 0.0  # 0: the task's
    momentum: float = 0.9
    weight_decay: float = 3e-5
    arch_weight_decay: float = 1e-3
    limit_train: int = 2000  # images, cut in two halves (weights / architecture)
    seed: int = 0
    threads: int = 0
    name: str = "darts_searched"

    def resolved(self) -> "DartsSearchConfig":
        """The config with the task's reference defaults filled in, checked."""
        if self.task not in TASKS:
            raise InvalidInputError(f"unknown task '{self.task}'; tasks: {', '.join(TASKS)}")
        if self.dataset not in DATASETS:
            raise InvalidInputError(f"dataset must be one of {', '.join(DATASETS)}, got '{self.dataset}'")
        if self.task == "colorization" and self.dataset != "colour_crops":
            raise InvalidInputError("colorization needs colour images: pass --dataset colour_crops")
        if self.task == "jigsaw" and self.input_size % 2:
            raise InvalidInputError(f"jigsaw cuts the image into 2 x 2 cells: use an even --input-size, got {self.input_size}")
        batch, lr, arch_lr = TASK_DEFAULTS[self.task]
        config = dataclasses.replace(self, batch_size=self.batch_size or batch, lr=self.lr or lr,
                                     arch_lr=self.arch_lr or arch_lr)
        if config.limit_train // 2 < config.batch_size:
            raise InvalidInputError(f"limit_train {config.limit_train} leaves fewer than batch_size {config.batch_size} "
                                    "images in a half; raise limit_train or lower batch_size")
        return config


def search_data(config: DartsSearchConfig) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset, Any]:
    """(weight half, architecture half, the data's cfg): the config's training images cut in two, seeded."""
    from ..registry import default_cfg

    base = default_cfg(config.input_size, num_classes=10)
    if config.dataset == "fashion_mnist":
        from ..data.fashion_mnist import fashion_mnist, fmnist_cfg

        cfg = fmnist_cfg(base, config.input_size)
        data = fashion_mnist("train_without_val", cfg, config.limit_train)
    else:
        from ..data.colour_crops import colour_crops, colour_crops_cfg

        cfg = colour_crops_cfg(base, config.input_size)
        data = colour_crops("train", cfg, config.limit_train)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed)).tolist()
    half = len(order) // 2
    return torch.utils.data.Subset(data, order[:half]), torch.utils.data.Subset(data, order[half:]), cfg


class DartsSearch(ResumableEpochs):
    """One search: ``run()`` trains (or resumes) to ``config.epochs`` and writes the derived definition."""

    PRINTED = ("epoch", "lr", "loss", "accuracy", "arch_loss")

    def __init__(self, config: DartsSearchConfig, out_dir: str | Path) -> None:
        self.config = config = config.resolved()
        self.out = ensure_writable_dir(out_dir, "--out")
        self._process_before = seed_everything(config.seed, config.threads)
        self.weight_set, self.arch_set, cfg = search_data(config)
        mean, std = torch.tensor(cfg.mean).view(1, -1, 1, 1), torch.tensor(cfg.std).view(1, -1, 1, 1)
        self.to_rgb: Callable[[torch.Tensor], torch.Tensor] = lambda images: images * std + mean
        self.task = make_task(config.task, num_classes=10, jigsaw_grid=2, jigsaw_permutations=24, seed=config.seed)
        self.model = self.task.build(lambda num_classes=10, in_chans=3: DartsSupernet(
            config.channels, config.layers, num_classes, in_chans, seed=config.seed))
        self.supernet: DartsSupernet = getattr(self.model, "trunk", self.model)
        arch = {id(p) for p in self.supernet.arch_parameters()}
        self.weight_opt = torch.optim.SGD([p for p in self.model.parameters() if id(p) not in arch], lr=config.lr,
                                          momentum=config.momentum, weight_decay=config.weight_decay)
        self.arch_opt = torch.optim.Adam(self.supernet.arch_parameters(), lr=config.arch_lr, betas=(0.5, 0.999),
                                         weight_decay=config.arch_weight_decay)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []

    # --- state ------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "weight_opt": self.weight_opt.state_dict(),
                "arch_opt": self.arch_opt.state_dict(), "epoch": self.epoch, "rng": torch.get_rng_state(),
                "task_rng": self.task.generator.get_state(),
                "config": json.dumps(dataclasses.asdict(self.config)), "history": json.dumps(self.history)}

    def load(self) -> None:
        state, recorded = read_search_checkpoint(self.out / CHECKPOINT, ("model", "weight_opt", "arch_opt"), "darts")
        self.refuse_other_settings(recorded, ("epochs", "threads", "name"))
        self.model.load_state_dict(state["model"])
        self.weight_opt.load_state_dict(state["weight_opt"])
        self.arch_opt.load_state_dict(state["arch_opt"])
        self.epoch = int(state["epoch"])
        torch.set_rng_state(state["rng"])
        self.task.generator.set_state(state["task_rng"])
        self.history = json.loads(state["history"])

    # --- one epoch --------------------------------------------------------------------------------

    def learning_rate(self) -> float:
        """Cosine over the epochs, set once per epoch (the reference's ``ITER_LR: False``)."""
        return 0.5 * self.config.lr * (1 + math.cos(math.pi * self.epoch / self.config.epochs))

    def _step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        inputs, targets = self.task.prepare(images, labels, self.to_rgb)
        logits = self.model(inputs)
        right, total = self.task.correct(logits.detach(), targets)
        return self.task.loss(logits, targets), right, total

    def run_epoch(self, show_progress: bool = True) -> dict[str, Any]:
        from ..progress import progress_bar

        config = self.config
        lr = self.learning_rate()
        for group in self.weight_opt.param_groups:
            group["lr"] = lr
        search_arch = self.epoch >= config.arch_epochs
        generator = torch.Generator().manual_seed(config.seed * 1000 + self.epoch)

        def batches(dataset: torch.utils.data.Dataset) -> torch.utils.data.DataLoader:
            return torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True,
                                               generator=generator)

        archs = iter(batches(self.arch_set))
        sums = {"loss": 0.0, "right": 0, "total": 0, "arch_loss": 0.0, "arch_right": 0, "arch_total": 0}
        steps = arch_steps = 0
        started = time.perf_counter()
        self.model.train()
        bar = progress_bar(batches(self.weight_set), desc=f"darts search epoch {self.epoch + 1}/{config.epochs} "
                           f"({config.task})", unit="batch", disable=not show_progress)
        for images, labels in bar:
            if search_arch:
                try:
                    arch_images, arch_labels = next(archs)
                except StopIteration:
                    archs = iter(batches(self.arch_set))
                    arch_images, arch_labels = next(archs)
                loss, right, total = self._step(arch_images, arch_labels)
                self.arch_opt.zero_grad(set_to_none=True)
                loss.backward()
                self.arch_opt.step()
                sums["arch_loss"] += loss.item()
                sums["arch_right"] += right
                sums["arch_total"] += total
                arch_steps += 1
            loss, right, total = self._step(images, labels)
            self.weight_opt.zero_grad(set_to_none=True)  # also drops the weight gradients of the architecture step
            loss.backward()
            nn.utils.clip_grad_norm_(self.weight_opt.param_groups[0]["params"], 5.0)
            self.weight_opt.step()
            sums["loss"] += loss.item()
            sums["right"] += right
            sums["total"] += total
            steps += 1
            bar.set_postfix(loss=f"{sums['loss'] / steps:.3f}", refresh=False)
        bar.close()
        self.epoch += 1
        weights = self.supernet.op_weights()
        record = {"epoch": self.epoch, "lr": round(lr, 6), "searched_architecture": search_arch,
                  "loss": sums["loss"] / steps, "accuracy": 100.0 * sums["right"] / max(1, sums["total"]),
                  "arch_loss": sums["arch_loss"] / arch_steps if arch_steps else None,
                  "arch_accuracy": 100.0 * sums["arch_right"] / sums["arch_total"] if arch_steps else None,
                  "genotype": self.supernet.genotype().to_dict(),
                  "op_weights": {k: [[round(float(w), 5) for w in row] for row in v] for k, v in weights.items()},
                  "seconds": round(time.perf_counter() - started, 2)}
        self.history.append(record)
        return record

    # --- the whole search -------------------------------------------------------------------------

    def finish(self) -> Path:
        """``derived.yaml``: the derived genotype in a DARTS network for this search's input and classes."""
        import yaml

        config = self.config
        definition = {"family": "darts", "name": config.name, "input_size": config.input_size, "num_classes": 10,
                      "layout": "cifar", "channels": config.channels, "layers": config.layers,
                      "genotype": self.supernet.genotype().to_dict()}
        header = (f"# Found by `mobilezoo search darts --task {config.task}` ({config.epochs} epochs, seed {config.seed}, "
                  f"{config.dataset} {config.input_size}px, supernet width {config.channels}, {config.layers} cells).\n"
                  "# Build: mobilezoo.create_model('<this file>'); train, profile, export and bench by path "
                  "(channels / layers: the evaluation network's, change them freely).\n")
        path = self.out / DEFINITION
        with atomic_path(path) as temporary:
            temporary.write_text(header + yaml.safe_dump(definition, sort_keys=False, default_flow_style=None))
        write_json_atomic(self.out / "genotype.json", {"task": config.task, "seed": config.seed, "epochs": self.epoch,
                                                       "genotype": definition["genotype"]})
        return path
