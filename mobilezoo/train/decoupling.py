"""Decoupling representation and classifier (Kang et al., arXiv 1910.09217): stage 2 on a frozen backbone.

Stage 1 is an ordinary training (``sampler:`` instance, class, sqrt or progressive, on a ``*_lt`` data set). Stage 2
re-balances only the classifier, on features computed once by the frozen backbone in eval mode:

- ``joint``: the stage-1 classifier as trained;
- ``crt``: classifier re-training: a fresh linear layer (with bias) trained with class-balanced sampling, SGD
  momentum 0.9, weight decay 5e-4, cosine learning rate from 0.2 (the paper's 10 epochs, batch 512);
- ``tau_norm``: the joint weights divided by their norm to the power tau, the bias dropped; tau in 0, 0.1 .. 2
  picked on the balanced validation split (tau = 0: the joint weights, tau = 1: unit-norm rows);
- ``lws``: learnable weight scaling: joint W and b frozen, one scale per class (init 1) multiplies the whole output
  (Wx + b), trained with class-balanced sampling (the paper's 5 epochs, lr 0.2 cosine);
- ``ncm``: nearest class mean: features centred by the training mean and L2-normalised, class means of those,
  logits = minus the squared distance (no training).

The reference re-augments images through the frozen backbone in stage 2; here features are computed once from the
un-augmented images (the same for every method), which is what makes stage 2 take seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.samplers import ClassAwareSampler
from ..evaluation.features import train_epoch_on_features

CLASSIFIERS = ("joint", "ncm", "crt", "tau_norm", "lws")
TAUS = tuple(round(t, 1) for t in np.linspace(0, 2, 21))


# --- the classifiers ---------------------------------------------------------------------------------------------


def tau_normalised(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """w_i / ||w_i||^tau, row by row."""
    return weight / weight.norm(dim=1, keepdim=True).pow(tau)


class TauNormClassifier(nn.Module):
    """logits = f . (w_i / ||w_i||^tau); no bias."""

    def __init__(self, joint: nn.Linear, tau: float) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("weight", tau_normalised(joint.weight.detach(), tau))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.weight.T

    def as_linear(self) -> nn.Linear:
        layer = nn.Linear(self.weight.shape[1], self.weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(self.weight)
            layer.bias.zero_()
        return layer


class LWSClassifier(nn.Module):
    """logits = s (.) (W f + b) with W, b frozen and one learnable scale s_i per class."""

    def __init__(self, joint: nn.Linear) -> None:
        super().__init__()
        self.joint = joint
        for parameter in self.joint.parameters():
            parameter.requires_grad_(False)
        self.scales = nn.Parameter(torch.ones(joint.out_features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scales * self.joint(features)

    def as_linear(self) -> nn.Linear:
        layer = nn.Linear(self.joint.in_features, self.joint.out_features)
        with torch.no_grad():
            layer.weight.copy_(self.scales[:, None] * self.joint.weight)
            layer.bias.copy_(self.scales * self.joint.bias)
        return layer


class NCMClassifier(nn.Module):
    """Nearest class mean on centred, L2-normalised features; logits = -||x - mu_c||^2."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("centre", features.mean(0))
        normalised = F.normalize(features - self.centre, dim=1)
        self.register_buffer("means", torch.stack([normalised[labels == c].mean(0) for c in range(num_classes)]))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(F.normalize(features - self.centre, dim=1), self.means).pow(2)


# --- training on fixed features ----------------------------------------------------------------------------------


def _balanced_training(module: nn.Module, parameters: list[nn.Parameter], features: torch.Tensor, labels: torch.Tensor,
                       epochs: int, lr: float, batch_size: int, weight_decay: float, seed: int) -> nn.Module:
    """SGD (momentum 0.9), cosine from ``lr`` to 0 per step, class-balanced draws, epoch = len(features) draws."""
    sampler = ClassAwareSampler(labels.numpy(), "class", seed)
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps = epochs * max(1, math.ceil(len(labels) / batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        train_epoch_on_features(module, features, labels, torch.tensor(list(sampler)), batch_size, optimizer, schedule)
    return module


def train_crt(features: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int = 10, lr: float = 0.2,
              batch_size: int = 512, weight_decay: float = 5e-4, seed: int = 0) -> nn.Linear:
    """A fresh linear classifier (PyTorch's default init, with bias) trained class-balanced on frozen features."""
    torch.manual_seed(seed)
    layer = nn.Linear(features.shape[1], num_classes)
    return _balanced_training(layer, list(layer.parameters()), features, labels, epochs, lr, batch_size, weight_decay, seed)


def train_lws(joint: nn.Linear, features: torch.Tensor, labels: torch.Tensor, epochs: int = 5, lr: float = 0.2,
              batch_size: int = 512, weight_decay: float = 5e-4, seed: int = 0) -> LWSClassifier:
    lws = LWSClassifier(joint)
    return _balanced_training(lws, [lws.scales], features, labels, epochs, lr, batch_size, weight_decay, seed)


@dataclass
class TauChoice:
    tau: float
    validation_top1: dict[float, float]  # tau -> top-1 on the validation split (%)


@torch.no_grad()
def pick_tau(joint: nn.Linear, features: torch.Tensor, labels: torch.Tensor, taus: Sequence[float] = TAUS) -> TauChoice:
    """The tau with the best validation top-1 (ties: the smallest tau)."""
    scores = {}
    for tau in taus:
        predicted = (features @ tau_normalised(joint.weight, tau).T).argmax(1)
        scores[float(tau)] = 100.0 * (predicted == labels).float().mean().item()
    best = max(scores, key=lambda t: (scores[t], -t))
    return TauChoice(best, scores)


# --- stage 2 as one call ----------------------------------------------------------------------------------------


@dataclass
class Rebalanced:
    classifiers: dict[str, nn.Module]  # method -> classifier on features
    tau: TauChoice


def rebalance_classifiers(joint: nn.Linear, train_features: torch.Tensor, train_labels: torch.Tensor,
                          validation_features: torch.Tensor, validation_labels: torch.Tensor, num_classes: int,
                          crt_epochs: int = 10, lws_epochs: int = 5, seed: int = 0) -> Rebalanced:
    """Every stage-2 classifier of the paper from one set of frozen features."""
    joint = joint.eval()
    tau = pick_tau(joint, validation_features, validation_labels)
    lws_joint = nn.Linear(joint.in_features, joint.out_features)
    lws_joint.load_state_dict(joint.state_dict())
    classifiers: dict[str, nn.Module] = {
        "joint": joint,
        "ncm": NCMClassifier(train_features, train_labels, num_classes),
        "crt": train_crt(train_features, train_labels, num_classes, crt_epochs, seed=seed),
        "tau_norm": TauNormClassifier(joint, tau.tau),
        "lws": train_lws(lws_joint, train_features, train_labels, lws_epochs, seed=seed),
    }
    return Rebalanced(classifiers, tau)


def as_linear(classifier: nn.Module) -> nn.Linear | None:
    """The classifier as one linear layer on the features (None for NCM, whose normalisation is not linear)."""
    if isinstance(classifier, nn.Linear):
        return classifier
    return classifier.as_linear() if hasattr(classifier, "as_linear") else None


# --- the recipe's second stage on a stage-1 checkpoint ------------------------------------------------------------


@dataclass
class StageTwo:
    """Every classifier's long-tail report on the test set, and what is needed to package one."""

    reports: dict  # method -> LongTailReport (test set)
    validation_top1: dict[str, float]  # method -> overall top-1 on the balanced validation split
    tau: TauChoice
    train_counts: list[int]
    model: nn.Module  # the stage-1 model (backbone + joint classifier)
    rebalanced: Rebalanced
    config: dict
    best: str  # the linear classifier with the best validation top-1 (the one to package)


def stage_two(checkpoint: str, crt_epochs: int = 10, lws_epochs: int = 5, seed: int = 0,
              show_progress: bool = False) -> StageTwo:
    """Load a stage-1 run on a ``*_lt`` data set, freeze it, and fit and evaluate every stage-2 classifier."""
    from ..errors import InvalidInputError
    from ..evaluation.features import changed_weights, extract_features, weights_fingerprint
    from ..evaluation.long_tail import long_tail_report
    from ..evaluation.protocols import classifier_as_linear
    from ..factory import create_model
    from .config import TrainConfig
    from ..weights.loading import read_training_checkpoint
    from .engine import data_cfg, long_tail_sets

    state = read_training_checkpoint(checkpoint)
    config = TrainConfig.from_dict({k: v for k, v in state["config"].items() if k in TrainConfig.__dataclass_fields__})
    if not config.dataset.endswith("_lt") or config.method != "supervised" or config.task != "classification":
        raise InvalidInputError(f"classifier re-balancing needs a supervised stage-1 run on a long-tailed data set "
                                f"(dataset: fashion_mnist_lt or folder_lt); '{checkpoint}' trained on {config.dataset}")
    model = create_model(config.model, num_classes=config.num_classes, **config.model_kwargs)
    weights = state["ema"] if state.get("ema") is not None else state["model"]  # what the run evaluated
    model.load_state_dict(weights)
    model.eval()
    cfg = data_cfg(config, model.pretrained_cfg)
    train_set, validation_set, test_set, split = long_tail_sets(config, cfg)
    before = weights_fingerprint(model)
    sets = {name: extract_features(model, data, show_progress=show_progress)
            for name, data in (("train", train_set), ("validation", validation_set), ("test", test_set))}
    joint = classifier_as_linear(model.get_classifier())
    rebalanced = rebalance_classifiers(joint, *sets["train"], *sets["validation"], config.num_classes, crt_epochs,
                                       lws_epochs, seed)
    changed = changed_weights(model, before)
    if changed:
        raise RuntimeError(f"stage 2 changed {len(changed)} stage-1 tensors (e.g. {changed[0]}); it must not")
    reports, validation_top1 = {}, {}
    with torch.no_grad():
        for method, classifier in rebalanced.classifiers.items():
            classifier.eval()
            reports[method] = long_tail_report(classifier(sets["test"][0]).argmax(1), sets["test"][1], split.counts)
            predicted = classifier(sets["validation"][0]).argmax(1)
            validation_top1[method] = 100.0 * (predicted == sets["validation"][1]).float().mean().item()
    linear_methods = [m for m in CLASSIFIERS if m != "ncm"]
    best = max(linear_methods, key=lambda m: validation_top1[m])
    return StageTwo(reports, validation_top1, rebalanced.tau, split.counts, model, rebalanced, config.to_dict(), best)
