"""Optimisers (no weight decay on BN and biases), cosine schedule with linear warm-up, EMA of weights."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .config import TrainConfig


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay conv/linear weights only; BN parameters, biases and other 1-D parameters get none."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim <= 1 or name.endswith(".bias") else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    groups = parameter_groups(model, config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)
    if config.optimizer == "rmsprop":  # TF-style settings used by the FBNet/EfficientNet recipes
        return torch.optim.RMSprop(groups, lr=config.lr, alpha=0.9, eps=1e-3, momentum=config.momentum)
    return torch.optim.AdamW(groups, lr=config.lr)


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from 0, then half-period cosine to 0; stepped once per iteration."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class ModelEMA:
    """Exponential moving average of a model's parameters (evaluated instead of the raw model).

    The decay warms up as min(decay, (1 + t) / (10 + t)) so early steps do not keep the random init.
    BN running statistics are not averaged: statistics of past networks do not fit the averaged weights
    (measured here: an EMA with averaged statistics scored chance level while its weights were fine).
    :meth:`recalibrate_bn` re-estimates them on training batches before the EMA is evaluated or saved.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        source = dict(model.named_parameters())
        for name, value in self.module.named_parameters():
            value.mul_(decay).add_(source[name].detach(), alpha=1 - decay)

    def recalibrate_bn(self, batches) -> None:
        """Re-estimate BN statistics of the averaged weights on an iterable of input batches."""
        from ..models.calibration import reestimate_bn

        reestimate_bn(self.module, batches)
