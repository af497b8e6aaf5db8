"""MoCo v1 / v2: momentum contrast (arXiv 1911.05722; v2 arXiv 2003.04297) around any zoo backbone.

The mechanics, each where it is written below:

- two encoders of one architecture (a zoo backbone's pooled ``pre_logits`` features + a projection: v1 one linear
  layer, v2 linear-ReLU-linear with the feature width as hidden width); the key encoder starts as a copy, gets no
  gradient, and follows the query encoder by ``key = m * key + (1 - m) * query`` over parameters only, at the start of
  every step before the keys are computed (its batch-norm statistics come from its own forward passes);
- q and k L2-normalised; logits ``[q.k+, q.queue] / T`` with the positive at index 0, cross-entropy to label 0;
- a queue of K keys (a buffer, so checkpoints hold it with its pointer), enqueued after the logits with the keys of
  every rank; K must be a multiple of the global batch;
- shuffling BN, so a key cannot be matched to its query through batch statistics: under DDP the key images of all
  ranks are gathered, permuted by a permutation broadcast from rank 0, encoded shard by shard (per-rank BN) and put
  back in order; on one device the encoders' batch norms are :class:`SplitBatchNorm2d` (virtual sub-batches with
  their own statistics) and the key batch is permuted within the device before encoding.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..data.contrastive_views import TwoViews, ViewAugmentation
from ..errors import InvalidInputError


# --- batch norm over virtual sub-batches -------------------------------------------------------------------


class SplitBatchNorm2d(nn.BatchNorm2d):
    """Batch norm that, in training, normalises each of ``splits`` consecutive sub-batches with its own statistics.

    The running statistics are the mean of the sub-batches' updates. In eval mode it is a plain BatchNorm2d, so a
    trained encoder's state dict loads into the ordinary backbone unchanged.
    """

    def __init__(self, num_features: int, splits: int, **kwargs: Any) -> None:
        super().__init__(num_features, **kwargs)
        self.splits = splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if not self.training or self.splits == 1:
            return super().forward(x)
        if n % self.splits:
            raise InvalidInputError(f"split batch norm: batch {n} is not a multiple of bn_splits={self.splits}")
        # sub-batch s becomes channel block s of one wide batch norm: its statistics are that sub-batch's alone
        running_mean = self.running_mean.repeat(self.splits)
        running_var = self.running_var.repeat(self.splits)
        wide = x.view(self.splits, n // self.splits, c, h, w).transpose(0, 1).reshape(n // self.splits, self.splits * c, h, w)
        out = F.batch_norm(wide, running_mean, running_var, self.weight.repeat(self.splits), self.bias.repeat(self.splits),
                           True, self.momentum if self.momentum is not None else 0.1, self.eps)
        self.running_mean.copy_(running_mean.view(self.splits, c).mean(0))
        self.running_var.copy_(running_var.view(self.splits, c).mean(0))
        self.num_batches_tracked.add_(1)
        return out.view(n // self.splits, self.splits, c, h, w).transpose(0, 1).reshape(n, c, h, w)


def use_split_batchnorm(module: nn.Module, splits: int) -> nn.Module:
    """Replace every BatchNorm2d of ``module`` (in place) by a :class:`SplitBatchNorm2d` with the same state."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            split = SplitBatchNorm2d(child.num_features, splits, eps=child.eps, momentum=child.momentum,
                                     affine=child.affine, track_running_stats=child.track_running_stats)
            split.load_state_dict(child.state_dict())
            setattr(module, name, split.to(next(child.buffers()).device))
        else:
            use_split_batchnorm(child, splits)
    return module


# --- shuffling BN across ranks ------------------------------------------------------------------------------


def gather_all(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` of every rank in rank order (no gradient flows back through it)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def shuffle_across_ranks(x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's shard of the gathered batch under one permutation (drawn on rank 0, broadcast).

    Returns (shard, index that restores the original order of the gathered batch).
    """
    gathered = gather_all(x)
    world = gathered.shape[0] // x.shape[0]
    rank = dist.get_rank() if world > 1 else 0
    permutation = torch.randperm(gathered.shape[0], generator=generator).to(x.device)
    if world > 1:
        dist.broadcast(permutation, src=0)
    restore = torch.argsort(permutation)
    shard = permutation.view(world, -1)[rank]
    return gathered[shard], restore


def unshuffle_across_ranks(x: torch.Tensor, restore: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`shuffle_across_ranks`: this rank's rows of the gathered result, in the original order."""
    gathered = gather_all(x)
    world = gathered.shape[0] // x.shape[0]
    rank = dist.get_rank() if world > 1 else 0
    return gathered[restore.view(world, -1)[rank]]


# --- the model -------------------------------------------------------------------------------------------------


class ContrastiveEncoder(nn.Module):
    """A zoo backbone's pooled features followed by a projection (v1: linear; v2: MLP)."""

    def __init__(self, backbone: nn.Module, dim: int, mlp: bool) -> None:
        super().__init__()
        self.backbone = backbone
        width = backbone.head_hidden_size or backbone.num_features
        self.projection = (nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, dim)) if mlp
                           else nn.Linear(width, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True))


class MoCo(nn.Module):
    """Query encoder, momentum key encoder and the queue; ``forward(query_images, key_images)`` -> (logits, labels)."""

    def __init__(self, make_backbone: Callable[[], nn.Module], dim: int = 128, queue_size: int = 65536,
                 momentum: float = 0.999, temperature: float = 0.07, mlp: bool = False, bn_splits: int = 1) -> None:
        super().__init__()
        self.queue_size, self.momentum, self.temperature = queue_size, momentum, temperature
        self.encoder_q = ContrastiveEncoder(make_backbone(), dim, mlp)
        if bn_splits > 1:
            use_split_batchnorm(self.encoder_q, bn_splits)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for parameter in self.encoder_k.parameters():
            parameter.requires_grad_(False)
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))
        self.shuffle_generator: torch.Generator | None = None  # None: the global RNG (saved in checkpoints)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """key = m * key + (1 - m) * query, parameters only (BN running buffers of the key encoder are its own)."""
        for query, key in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            key.mul_(self.momentum).add_(query.detach(), alpha=1 - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (N, dim) at the pointer, wrapping around; N must divide K."""
        n = keys.shape[0]
        if self.queue_size % n:
            raise InvalidInputError(f"MoCo queue size K={self.queue_size} is not a multiple of the global batch {n}; "
                                    f"pick K = a multiple of {n} (e.g. {max(1, self.queue_size // n) * n})")
        pointer = int(self.queue_ptr)
        self.queue[:, pointer : pointer + n] = keys.T
        self.queue_ptr[0] = (pointer + n) % self.queue_size

    @torch.no_grad()
    def keys(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised keys of ``images`` in their order, encoded shuffled (shuffling BN)."""
        shuffled, restore = shuffle_across_ranks(images, self.shuffle_generator)
        keys = F.normalize(self.encoder_k(shuffled), dim=1)
        return unshuffle_across_ranks(keys, restore)

    def logits(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        positive = (q * k).sum(dim=1, keepdim=True)
        negative = q @ self.queue.clone().detach()
        return torch.cat([positive, negative], dim=1) / self.temperature

    def forward(self, query_images: torch.Tensor, key_images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = F.normalize(self.encoder_q(query_images), dim=1)
        if self.training:
            self.momentum_update()  # before the keys, as the reference does
        k = self.keys(key_images)
        logits = self.logits(q, k)
        if self.training:
            self.enqueue(gather_all(k))
        return logits, torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)


# --- the recipe: options and the trainer's task -----------------------------------------------------------------


VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class MoCoOptions:
    """Every knob of the recipe (``moco:`` in the training YAML); unset ones take the version's defaults."""

    version: str = "v2"
    dim: int = 128
    queue_size: int = 65536
    momentum: float = 0.999
    temperature: float = 0.2
    mlp: bool = True
    bn_splits: int = 8  # one device: virtual sub-batches for shuffling BN (ignored under DDP: per-rank BN)
    knn_k: int = 200
    knn_t: float = 0.1
    knn_bank: int = 0  # labelled training images in the kNN monitor's bank (0: all)
    augmentation: ViewAugmentation = field(default_factory=ViewAugmentation.v2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MoCoOptions":
        data = dict(data)
        version = data.pop("version", "v2")
        if version not in VERSIONS:
            raise InvalidInputError(f"moco version must be v1 or v2, got {version!r}")
        base = (cls(version="v1", temperature=0.07, mlp=False, augmentation=ViewAugmentation.v1()) if version == "v1"
                else cls())
        augmentation = ViewAugmentation.from_dict(data.pop("augmentation", {}) or {}, base.augmentation)
        known = {f for f in cls.__dataclass_fields__ if f not in ("version", "augmentation")}
        for key, value in data.items():
            if key not in known:
                raise InvalidInputError(f"unknown moco option '{key}'; options: version, augmentation, {', '.join(sorted(known))}")
            want = type(getattr(base, key))
            if want is bool and not isinstance(value, bool) or want is int and (isinstance(value, bool) or not isinstance(value, int)) \
                    or want is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InvalidInputError(f"moco {key} must be {want.__name__}, got {value!r}")
        options = replace(base, augmentation=augmentation, **{k: (float(v) if type(getattr(base, k)) is float else v)
                                                               for k, v in data.items()})
        options.validate()
        return options

    def validate(self) -> None:
        if self.dim < 1 or self.queue_size < 1 or self.bn_splits < 1 or self.knn_k < 1 or self.knn_bank < 0:
            raise InvalidInputError("moco dim, queue_size, bn_splits and knn_k must be >= 1 (knn_bank >= 0)")
        if not 0 <= self.momentum < 1:
            raise InvalidInputError(f"moco momentum must be in [0, 1), got {self.momentum}")
        if self.temperature <= 0 or self.knn_t <= 0:
            raise InvalidInputError("moco temperature and knn_t must be > 0")


class MoCoTask:
    """The trainer's task for ``method: moco``: two views in, InfoNCE out, a kNN monitor as the evaluation."""

    def __init__(self, options: MoCoOptions, input_size: int, grey: bool, distributed: bool, seed: int) -> None:
        self.options = options
        self.set_normalisation((0.0,), (1.0,))
        self.views = TwoViews(options.augmentation, input_size, grey)
        self.bn_splits = 1 if distributed else options.bn_splits  # under DDP each rank's BN is the split
        # the trainer reseeds a task's generator every epoch; MoCo's views draw from the global RNG instead, which
        # checkpoints save, so a resumed run sees the same views
        self.generator = torch.Generator().manual_seed(seed + 17)

    def set_normalisation(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        """The data's mean and std: views are augmented in [0, 1] and normalised after."""
        self.mean, self.std = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)

    def build(self, make_model: Callable[..., nn.Module]) -> MoCo:
        o = self.options
        return MoCo(lambda: make_model(num_classes=0), o.dim, o.queue_size, o.momentum, o.temperature, o.mlp, self.bn_splits)

    def prepare(self, images: torch.Tensor, labels: torch.Tensor, rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
                training: bool = True) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Two augmented views of the normalised batch (labels pass through unused: MoCo's targets are index 0)."""
        mean, std = self.mean.to(images), self.std.to(images)
        first, second = self.views((images * std + mean).clamp(0, 1))
        return ((first - mean) / std, (second - mean) / std), labels

    @staticmethod
    def loss(outputs: tuple[torch.Tensor, torch.Tensor], targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """InfoNCE: cross-entropy of the logits against the positive at index 0 (asymmetric, as in the paper)."""
        logits, labels = outputs
        return F.cross_entropy(logits, labels)

    # --- the rest of the trainer's interface (train/methods.py) ---------------------------------------

    @property
    def metric_label(self) -> str:
        return f"kNN top-1 (%), k={self.options.knn_k}"

    @staticmethod
    def backbone(model: nn.Module) -> nn.Module:
        return model.encoder_q.backbone  # the query encoder's: the one trained by gradient

    def configure(self, mean: tuple[float, ...], std: tuple[float, ...], global_batch: int, model: nn.Module) -> None:
        """Views are augmented in [0, 1], then normalised as the data is; the queue must take whole global batches."""
        self.set_normalisation(mean, std)
        if model.queue_size % global_batch:
            raise InvalidInputError(f"moco queue_size {model.queue_size} is not a multiple of the global batch "
                                    f"{global_batch}; use e.g. queue_size: {max(1, model.queue_size // global_batch) * global_batch}")

    @torch.no_grad()
    def monitor(self, trainer: Any) -> dict[str, float]:
        """MoCo's evaluation: weighted kNN top-1 of the query backbone's features, bank = labelled training images."""
        from ..evaluation.features import extract_features
        from ..evaluation.knn import knn_accuracy

        options = self.options
        bank_set = trainer.train_set
        if options.knn_bank and options.knn_bank < len(bank_set):
            bank_set = torch.utils.data.Subset(bank_set, range(options.knn_bank))
        bank, bank_labels = extract_features(trainer.backbone, bank_set, device=trainer.device)
        queries, labels = extract_features(trainer.backbone, trainer.eval_set, device=trainer.device)
        top1 = knn_accuracy(queries, labels, bank, bank_labels, trainer.config.num_classes, options.knn_k, options.knn_t)
        return {"eval_top1": top1, "eval_samples": len(labels), "knn_bank": len(bank_labels)}

    @staticmethod
    def release_problem(checkpoint: str) -> str:
        return ("a MoCo training has no classifier to release; package its backbone with a linear probe: "
                f"mobilezoo evaluate {checkpoint} --protocol linear --release NAME")
