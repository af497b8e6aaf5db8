"""The training loop: one class that trains any zoo model on CPU or GPU, alone or under torchrun.

Determinism that ``--resume`` relies on: the data order of epoch e depends only on (seed, e); the
checkpoint written atomically after every epoch holds model, EMA, optimiser, schedule, AMP scaler and
every RNG state. An interrupted run resumed from its last checkpoint therefore ends with the same
weights as an uninterrupted one (on CPU, where kernels are deterministic).
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import CheckpointError, InvalidInputError
from ..fileio import atomic_path, ensure_writable_dir, scratch_files
from ..pretrained_cfg import PretrainedCfg
from ..seeding import seed_everything
from ..weights.loading import TRAINING_CHECKPOINT as CHECKPOINT, read_training_checkpoint
from .config import TrainConfig
from .distributed import DistInfo, init_distributed
from .methods import TrainingMethod, backbone_prefix, make_method
from .optim import ModelEMA, build_optimizer, cosine_with_warmup
from ..data.samplers import ShardedSampler, make_sampler  # noqa: F401  (ShardedSampler: public here too)

METRICS = "metrics.jsonl"
#: options a checkpoint's tensors depend on: resuming with another value cannot load it
STATE_SHAPING = ("model", "model_kwargs", "num_classes", "optimizer", "ema_decay", "task", "jigsaw_grid",
                 "jigsaw_permutations", "method", "moco")


def _device(config: TrainConfig) -> torch.device:
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"device={config.device} was asked for but no CUDA device is available; use device=cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise InvalidInputError(f"device={config.device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def _rng_state() -> dict[str, Any]:
    state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": [state[0], torch.from_numpy(state[1].copy()), *state[2:]],
            "python": random.getstate()}


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state((numpy[0], numpy[1].numpy(), *numpy[2:]))
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))


def build_data(config: TrainConfig, cfg: dict[str, Any]) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    train, evaluation = _datasets(config, cfg)
    if config.label_fraction < 1:
        from ..data.subsets import dataset_labels, labelled_fraction

        labels = dataset_labels(train)
        if labels is None:
            raise InvalidInputError(f"label_fraction needs a labelled data set; dataset={config.dataset} has no labels")
        train = torch.utils.data.Subset(train, labelled_fraction(labels, config.label_fraction, config.seed).tolist())
    if config.eval_split == "probe_fifth":  # the images the linear probe chooses its lr on (same seed, same draw)
        from ..data.subsets import validation_fifth

        validation, fit = validation_fifth(len(train), config.seed)
        train, evaluation = (torch.utils.data.Subset(train, fit.tolist()),
                             torch.utils.data.Subset(train, validation.tolist()))
    return train, evaluation


def long_tail_sets(config: TrainConfig, cfg: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(long-tailed train, balanced validation, balanced test, the split) of a ``*_lt`` data set."""
    from ..data.long_tail import long_tail_split
    from ..data.subsets import dataset_labels

    base = config.dataset.removesuffix("_lt")
    full, test = _datasets(TrainConfig.from_dict({**config.to_dict(), "dataset": base, "limit_train": 0,
                                                  "label_fraction": 1.0}), cfg)
    split = long_tail_split(dataset_labels(full), config.imbalance_ratio, config.lt_max_per_class or None,
                            config.lt_val_per_class, config.lt_seed)
    subset = torch.utils.data.Subset
    return subset(full, split.train.tolist()), subset(full, split.validation.tolist()), test, split


def _datasets(config: TrainConfig, cfg: dict[str, Any]) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    if config.dataset.endswith("_lt"):
        train, _, test, _ = long_tail_sets(config, cfg)
        return train, test
    if config.dataset == "colour_crops":
        from ..data.colour_crops import colour_crops

        return colour_crops("train", cfg, config.limit_train or None), colour_crops("eval", cfg, config.limit_eval or None)
    if config.dataset == "fashion_mnist":
        from ..data.fashion_mnist import fashion_mnist

        if config.eval_split == "val":
            return (fashion_mnist("train_without_val", cfg, config.limit_train or None),
                    fashion_mnist("val", cfg, config.limit_eval or None))
        return (fashion_mnist("train", cfg, config.limit_train or None), fashion_mnist("test", cfg, config.limit_eval or None))
    from ..data.folders import clip_folder, image_folder

    root = Path(config.data_dir)
    load = clip_folder if config.dataset == "clips" else image_folder
    return load(root / "train", cfg, config.limit_train), load(root / "val", cfg, config.limit_eval)


def data_cfg(config: TrainConfig, model_cfg: PretrainedCfg) -> PretrainedCfg:
    """The model's cfg with the preprocessing the run trains with; it becomes the trained weights' cfg."""
    if config.dataset == "colour_crops":
        from ..data.colour_crops import colour_crops_cfg

        return colour_crops_cfg(model_cfg, config.input_size)
    if config.dataset in ("fashion_mnist", "fashion_mnist_lt"):
        from ..data.fashion_mnist import fmnist_cfg

        return fmnist_cfg(model_cfg, config.input_size)
    from ..data.folders import clip_folder_cfg, folder_cfg

    if config.dataset == "clips":
        return clip_folder_cfg(model_cfg, config.input_size, config.clip_frames, Path(config.data_dir) / "train")
    return folder_cfg(model_cfg, config.input_size, Path(config.data_dir) / "train")


class Trainer:
    """Train ``config.model`` on ``config.dataset``; ``fit()`` runs (or resumes) every epoch."""

    def __init__(self, config: TrainConfig, show_progress: bool = True) -> None:
        from ..factory import create_model

        self.config = config
        self.out_dir = ensure_writable_dir(config.out_dir, "out_dir")  # before any work: fail in a second, not an epoch
        self.device = _device(config)
        self.dist: DistInfo = init_distributed(self.device.type)
        self._process_before = seed_everything(config.seed, config.threads)  # restored on leaving `with Trainer(...)`
        self.task: TrainingMethod = make_method(config, self.dist.enabled)
        self.model = self.task.build(lambda **options: create_model(config.model, **{**config.model_kwargs, **options}))
        self.cfg = data_cfg(config, self.backbone.pretrained_cfg)
        self.task.configure(self.cfg.mean, self.cfg.std, config.batch_size * self.dist.world_size, self.model)
        self.model.pretrained_cfg = self.cfg
        self.model.to(self.device)
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.train_set, self.eval_set = build_data(config, self.cfg)
        from ..data.subsets import dataset_labels

        self.train_labels = dataset_labels(self.train_set)
        self.class_counts: list[int] | None = None
        self.sampler = make_sampler(config.sampler, self.train_labels, len(self.train_set), config.seed, config.epochs,
                                    self.dist.rank, self.dist.world_size)
        if self.train_labels is not None and self.dist.is_main and config.task == "classification":
            self.class_counts = np.bincount(self.train_labels, minlength=config.num_classes).tolist()
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        if self.steps_per_epoch < 1:
            raise InvalidInputError(f"batch_size {config.batch_size} is larger than the {len(self.sampler)} training samples per rank")
        self.net: nn.Module = self.model
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_optimizer(self.model, config)
        total = config.epochs * self.steps_per_epoch
        self.scheduler = cosine_with_warmup(self.optimizer, int(config.warmup_epochs * self.steps_per_epoch), total)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.ema = ModelEMA(self.model, config.ema_decay) if config.ema_decay > 0 else None
        mean, std = (torch.tensor(self.cfg.mean).view(1, -1, 1, 1), torch.tensor(self.cfg.std).view(1, -1, 1, 1))
        self.to_rgb = lambda images: images * std.to(images) + mean.to(images)  # normalised -> [0, 1] colour
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.show_progress = show_progress and self.dist.is_main

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc: object) -> None:
        """Give back the random generators and thread count the trainer found (``with Trainer(config) as t``)."""
        self._process_before.restore()

    @property
    def backbone(self) -> nn.Module:
        """The zoo model inside whatever the method wraps it in (pretext heads, MoCo's query encoder)."""
        return self.task.backbone(self.model)

    # --- checkpoints ----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema else None,
            "ema_updates": self.ema.updates if self.ema else 0,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "history": self.history,
            "config": self.config.to_dict(),
            "rng": _rng_state(),
            "backbone_prefix": backbone_prefix(self.model, self.backbone),  # where evaluation finds the backbone
        }

    def save_checkpoint(self) -> Path:
        path = self.out_dir / CHECKPOINT
        if self.dist.is_main:
            with atomic_path(path) as temporary:
                torch.save(self.state(), temporary)
        return path

    def load_checkpoint(self, path: Path) -> None:
        """Restore everything :meth:`state` saved; a checkpoint of another run is a one-line error."""
        try:  # the safe reader: weights only, no compressed records (zip bombs), regular files only (no FIFO hang)
            state = read_training_checkpoint(path)
        except CheckpointError as exc:
            raise CheckpointError(f"cannot resume: {exc}; or delete it to start over") from None
        if not {"optimizer", "epoch", "config"} <= set(state):
            raise CheckpointError(f"'{path}' is not a mobilezoo training checkpoint; delete it to start over")
        saved = state["config"] if isinstance(state["config"], dict) else {}
        for key, before, now in self._differences(saved, STATE_SHAPING):
            raise CheckpointError(f"'{path}' was trained with {key}={before!r}, this run has {key}={now!r}; "
                                  f"resume with {key}={before!r} or use another out_dir")
        try:
            self.model.load_state_dict(state["model"])
            if self.ema and state.get("ema") is not None:
                self.ema.module.load_state_dict(state["ema"])
                self.ema.updates = int(state.get("ema_updates", 0))
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
            self.epoch = int(state["epoch"])
            self.history = list(state["history"])
            _set_rng_state(state["rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise CheckpointError(f"'{path}' does not fit this run ({reason}); use another out_dir") from None

    def _differences(self, saved: dict[str, Any], keys: Iterable[str]) -> Iterator[tuple[str, Any, Any]]:
        """(key, saved value, this run's value) for each of ``keys`` where a saved config differs from this run's."""
        for key in keys:
            before, now = saved.get(key), getattr(self.config, key)
            if key == "ema_decay":
                before, now = bool(before), bool(now)  # only whether an EMA exists changes the checkpoint
            if before != now:
                yield key, before, now

    def load_initial_weights(self, path: str | Path) -> None:
        """The model (and EMA) weights of another run's checkpoint; optimizer, schedule and epoch stay fresh."""
        state = read_training_checkpoint(path)
        keys = [k for k in STATE_SHAPING if k not in ("optimizer", "ema_decay")]  # both may start fresh here
        for key, before, now in self._differences(state["config"], keys):
            raise CheckpointError(f"initial_checkpoint '{path}' was trained with {key}={before!r}, this run has "
                                  f"{key}={now!r}; set {key}: {before!r} or start from another checkpoint")
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise CheckpointError(f"initial_checkpoint '{path}' does not fit this model ({reason})") from None
        if self.ema:
            self.ema.module.load_state_dict(state["ema"] if state.get("ema") is not None else self.model.state_dict())

    def _refuse_silent_restart(self) -> None:
        """``--resume`` without ``last.pt`` is a fresh start only when no epoch was ever finished here."""
        metrics = self.out_dir / METRICS
        finished = metrics.read_text().count("\n") if metrics.is_file() else 0
        if not finished:
            return
        leftovers = scratch_files(self.out_dir, CHECKPOINT)
        where = (f"a checkpoint a kill left behind is at '{leftovers[-1]}': move it to '{self.out_dir / CHECKPOINT}' "
                 "and resume" if leftovers else "no checkpoint was found")
        raise CheckpointError(f"'{self.out_dir}' records {finished} finished epoch(s) but has no {CHECKPOINT}; {where}, "
                              "or rerun without --resume to start over")

    # --- loops ----------------------------------------------------------------------------------

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.sampler.set_epoch(self.epoch)
        loader = torch.utils.data.DataLoader(self.train_set, batch_size=self.config.batch_size, sampler=self.sampler,
                                             drop_last=True, num_workers=self.config.num_workers)
        for images, labels in loader:
            images = images.to(self.device, non_blocking=True)
            if self.config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, labels.to(self.device, non_blocking=True)

    def _bn_batches(self, count: int = 50) -> Iterator[torch.Tensor]:
        """Fixed training batches (seeded, independent of the epoch) for EMA BN re-estimation."""
        generator = torch.Generator().manual_seed(self.config.seed + 7)
        order = torch.randperm(len(self.train_set), generator=generator)[: count * self.config.batch_size].tolist()
        for start in range(0, len(order), self.config.batch_size):
            images = torch.stack([self.train_set[i][0] for i in order[start : start + self.config.batch_size]])
            yield self.task.prepare(images.to(self.device), torch.zeros(len(images), dtype=torch.long), self.to_rgb)[0]

    def train_epoch(self) -> dict[str, float]:
        from ..progress import progress_bar

        self.net.train()
        self.task.generator.manual_seed(self.config.seed + 17 + self.epoch)  # jigsaw shuffles: a function of the epoch
        if self.config.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        total_loss, seen, started = 0.0, 0, time.perf_counter()
        bar = progress_bar(self._batches(), total=self.steps_per_epoch, desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
                           unit="step", disable=not self.show_progress)
        for images, labels in bar:
            inputs, targets = self.task.prepare(images, labels, self.to_rgb)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                outputs = self.net(*inputs) if isinstance(inputs, tuple) else self.net(inputs)  # MoCo: two views
                loss = self.task.loss(outputs, targets, self.config.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if self.config.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            if self.ema:
                self.ema.update(self.model)
            if not math.isfinite(loss.item()):
                raise InvalidInputError(f"training diverged (loss {loss.item()}) at epoch {self.epoch + 1}; lower lr")
            total_loss += loss.item() * len(targets)
            seen += len(targets)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.4g}", refresh=False)
        return {"train_loss": total_loss / max(1, seen), "train_seconds": time.perf_counter() - started,
                "lr": self.scheduler.get_last_lr()[0]}

    @torch.no_grad()
    def evaluate(self, model: nn.Module | None = None, dataset: torch.utils.data.Dataset | None = None) -> dict[str, float]:
        own = self.task.monitor(self)  # a method with its own evaluation (MoCo: kNN top-1 as eval_top1)
        if own is not None:
            return own
        model = model or (self.ema.module if self.ema else self.model)
        model.eval()
        loader = torch.utils.data.DataLoader(self.eval_set if dataset is None else dataset, batch_size=256, shuffle=False)
        correct, loss, count, samples = 0, 0.0, 0, 0
        self.task.generator.manual_seed(self.config.seed + 1)  # the same jigsaw shuffles at every evaluation
        for images, labels in loader:
            inputs, targets = self.task.prepare(images.to(self.device), labels.to(self.device), self.to_rgb,
                                                training=False)
            logits = model(inputs).float()
            right, total = self.task.correct(logits, targets)
            loss += nn.functional.cross_entropy(logits, targets).item() * total
            correct, count, samples = correct + right, count + total, samples + len(images)
        # eval_top1: classification top-1, or the pretext task's accuracy (rotation, permutation, ab bin per pixel)
        return {"eval_top1": 100.0 * correct / max(1, count), "eval_loss": loss / max(1, count), "eval_samples": samples}

    def test_once(self) -> dict[str, float]:
        """The finished run on the test split (``eval_split: val``): reported, never used to choose anything."""
        from ..data.fashion_mnist import fashion_mnist

        result = self.evaluate(dataset=fashion_mnist("test", self.cfg, self.config.limit_eval or None))
        return {"test_top1": result["eval_top1"], "test_loss": result["eval_loss"], "test_samples": result["eval_samples"]}

    def fit(self, resume: bool = False, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train to ``config.epochs``; with ``resume`` continue from ``out_dir/last.pt`` when it exists.

        ``stop_after`` ends this call after that many epochs (a time-sliced run; resume later).
        """
        checkpoint = self.out_dir / CHECKPOINT
        if resume and checkpoint.exists():
            self.load_checkpoint(checkpoint)
        elif resume:
            self._refuse_silent_restart()
        if self.epoch == 0 and self.config.initial_checkpoint:  # a resumed run has these weights in last.pt already
            self.load_initial_weights(self.config.initial_checkpoint)
        stop_at = self.config.epochs if stop_after is None else min(self.config.epochs, self.epoch + stop_after)
        if self.class_counts is not None:  # recorded with every run: what the classes' shares were
            from ..fileio import write_json_atomic

            write_json_atomic(self.out_dir / "class_counts.json",
                              {"dataset": self.config.dataset, "train_counts": self.class_counts,
                               "imbalance_ratio": self.config.imbalance_ratio if self.config.dataset.endswith("_lt") else None,
                               "sampler": self.config.sampler, "eval_samples": len(self.eval_set)})
        while self.epoch < stop_at:
            record = {"epoch": self.epoch + 1, **self.train_epoch()}
            last = self.epoch + 1 == self.config.epochs
            if last or (self.epoch + 1) % self.config.eval_every == 0:  # the final epoch is always evaluated
                if self.ema:
                    self.ema.recalibrate_bn(self._bn_batches())
                record.update(self.evaluate())
                if last and self.config.eval_split == "val":
                    record.update(self.test_once())
            self.epoch += 1
            self.history.append(record)
            self.save_checkpoint()  # first: the metrics never list an epoch the checkpoint lacks
            if self.dist.is_main:
                self._write_metrics()
                print(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in record.items()}), flush=True)
        if self.dist.is_main and self.history:
            self._plot()
        return self.history

    # --- outputs --------------------------------------------------------------------------------

    def _write_metrics(self) -> None:
        with atomic_path(self.out_dir / METRICS) as temporary:
            temporary.write_text("".join(json.dumps(r) + "\n" for r in self.history))

    def _plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [r["epoch"] for r in self.history]
        evaluated = [r for r in self.history if "eval_top1" in r]  # eval_every > 1 skips some epochs
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        left.plot(epochs, [r["train_loss"] for r in self.history], marker="o", label="train loss")
        if all("eval_loss" in r for r in evaluated):
            left.plot([r["epoch"] for r in evaluated], [r["eval_loss"] for r in evaluated], marker="o", label="eval loss")
        left.set_xlabel("epoch")
        left.legend()
        right.plot([r["epoch"] for r in evaluated], [r["eval_top1"] for r in evaluated], marker="o", color="tab:green")
        right.set_xlabel("epoch")
        right.set_ylabel(self.task.metric_label)
        figure.suptitle(f"{self.config.model} on {self.config.dataset}")
        figure.tight_layout()
        with atomic_path(self.out_dir / "curves.png") as temporary:
            figure.savefig(temporary, dpi=100)
        plt.close(figure)

    def final_weights(self) -> nn.Module:
        return self.ema.module if self.ema else self.model

    def save_release(self, name: str, recipe: str = "", dtype: torch.dtype = torch.float16) -> Path:
        """Write ``<name>.safetensors`` (fp16 by default) and ``<name>.json``: the record that packages it."""
        from ..weights.release import save_release

        problem = self.task.release_problem(str(self.out_dir / CHECKPOINT))
        if problem:
            raise InvalidInputError(problem)
        return save_release(self.final_weights(), self.out_dir, name, dtype, cfg=self.cfg,
                            metrics=self.history[-1] if self.history else {}, recipe=recipe,
                            recipe_config=self.config.to_dict(), model_kwargs=dict(self.config.model_kwargs))
