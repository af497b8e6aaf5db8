"""Pooled pre-logits features of a frozen backbone, computed once per data set."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def extract_features(backbone: nn.Module, dataset: torch.utils.data.Dataset, batch_size: int = 256,
                     device: torch.device | str = "cpu", show_progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(features [N, D], labels [N]) of ``dataset`` through ``backbone`` in eval mode (BN statistics frozen)."""
    from ..progress import progress_bar

    was_training = backbone.training
    backbone.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    features, labels = [], []
    for images, targets in progress_bar(loader, desc="features", unit="batch", disable=not show_progress):
        pooled = backbone.forward_head(backbone.forward_features(images.to(device)), pre_logits=True)
        features.append(pooled.float().cpu())
        labels.append(targets)
    backbone.train(was_training)
    return torch.cat(features), torch.cat(labels)


def weights_fingerprint(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer, to check later that none changed."""
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def changed_weights(module: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of tensors of ``module`` that differ from ``before`` (empty: nothing changed)."""
    now = module.state_dict()
    return [name for name, value in before.items() if not torch.equal(now[name], value)]


def train_epoch_on_features(module: nn.Module, features: torch.Tensor, labels: torch.Tensor, order: torch.Tensor,
                            batch_size: int, optimizer: torch.optim.Optimizer,
                            per_step: torch.optim.lr_scheduler.LRScheduler | None = None) -> None:
    """One pass of cross-entropy SGD over fixed features in ``order`` (a classifier on a frozen backbone)."""
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        loss = torch.nn.functional.cross_entropy(module(features[index]), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if per_step is not None:
            per_step.step()
