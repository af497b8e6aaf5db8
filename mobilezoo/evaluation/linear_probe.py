"""Linear probe on a frozen backbone (MoCo's ``main_lincls`` protocol, scaled to small data).

As the reference: the backbone stays frozen in eval mode (BN statistics fixed), only a fresh linear layer
(weights N(0, 0.01), bias 0) is trained, by SGD with momentum 0.9 and no weight decay, batch 256, the learning
rate divided by 10 at 60 % and 80 % of the epochs. Scaled: the features are computed once, from the
un-augmented images (the reference re-augments every epoch through the frozen network), and the learning rate
is picked from ``LR_GRID`` (half-decade steps from 0.001 to the reference's 30) on a validation fifth of the
labelled training images, then the layer is retrained on all of them. The same rule applies to every backbone
compared. Why the grid reaches so low: without the reference's per-epoch augmentation nothing regularises the
layer but its learning rate times its epochs, and on few labels a small rate (an early-stopped layer) wins; a
grid starting at 0.1, then at 0.01, had most picks at its lower edge.

One addition: features are standardised per dimension with the labelled training images' mean and std before
the layer (MAE's parameter-free BatchNorm before its linear probe), then folded into the layer. Without it a
learning-rate grid cannot serve backbones whose feature scales differ by orders of magnitude (a randomly
initialised FBNetV2-F1's pooled features are ~1e-9, a trained one's ~1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from ..data.subsets import validation_fifth
from .features import train_epoch_on_features

LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class ProbeResult:
    top1: float  # on the test features, %
    lr: float  # the learning rate picked on the validation split
    validation_top1: dict[float, float]  # lr -> validation top-1 (%)
    train_samples: int
    epochs: int
    classifier: nn.Linear = field(repr=False)


def train_linear(features: torch.Tensor, labels: torch.Tensor, num_classes: int, lr: float, epochs: int = 100,
                 batch_size: int = 256, seed: int = 0) -> nn.Linear:
    """A linear classifier on fixed features by the protocol's SGD (deterministic for a seed)."""
    generator = torch.Generator().manual_seed(seed)
    layer = nn.Linear(features.shape[1], num_classes)
    with torch.no_grad():
        layer.weight.normal_(0, 0.01, generator=generator)
        layer.bias.zero_()
    optimizer = torch.optim.SGD(layer.parameters(), lr=lr, momentum=0.9, weight_decay=0.0)
    milestones = [int(0.6 * epochs), int(0.8 * epochs)]
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    for _ in range(epochs):
        train_epoch_on_features(layer, features, labels, torch.randperm(len(labels), generator=generator), batch_size,
                                optimizer)
        schedule.step()
    return layer


@torch.no_grad()
def accuracy(layer: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * (layer(features).argmax(1) == labels).float().mean().item()


def standardiser(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension (mean, std) of ``features``; a dead dimension's std is floored, not divided by zero."""
    mean, std = features.mean(0), features.std(0)
    return mean, std.clamp_min(float(std.max()) * 1e-6 + 1e-30)


def fold_standardisation(layer: nn.Linear, mean: torch.Tensor, std: torch.Tensor) -> nn.Linear:
    """A layer on raw features equal to ``layer`` on (features - mean) / std."""
    folded = nn.Linear(layer.in_features, layer.out_features)
    with torch.no_grad():
        folded.weight.copy_(layer.weight / std)
        folded.bias.copy_(layer.bias - (layer.weight / std) @ mean)
    return folded


def linear_probe(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                 test_labels: torch.Tensor, num_classes: int, lrs: Sequence[float] = LR_GRID, epochs: int = 100,
                 seed: int = 0) -> ProbeResult:
    """Pick the lr on a validation fifth of the training features, retrain on all, report test top-1.

    The returned classifier takes the raw features (the standardisation is folded into it).
    """
    mean, std = standardiser(train_features)
    raw_test = test_features
    train_features, test_features = (train_features - mean) / std, (test_features - mean) / std
    validation, fit = validation_fifth(len(train_labels), seed)
    scores = {}
    for lr in lrs:
        layer = train_linear(train_features[fit], train_labels[fit], num_classes, lr, epochs, seed=seed)
        score = accuracy(layer, train_features[validation], train_labels[validation])
        scores[float(lr)] = score if torch.isfinite(layer.weight).all() else float("nan")
    finite = {lr: s for lr, s in scores.items() if s == s}
    best = max(finite, key=lambda lr: (finite[lr], -lr)) if finite else min(lrs)
    layer = fold_standardisation(train_linear(train_features, train_labels, num_classes, best, epochs, seed=seed), mean, std)
    return ProbeResult(accuracy(layer, raw_test, test_labels), best, scores, len(train_labels), epochs, layer)
