"""Re-estimate batch-norm statistics, so randomly initialised networks produce O(1) outputs.

A deep random network with default BN statistics outputs values around 1e-9; comparing two runtimes
on such outputs measures nothing. Tests, export checks and benchmarks of untrained models call this
first. It only changes BN running statistics, never weights.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


@torch.no_grad()
def recalibrate_bn(model: nn.Module, shape: Sequence[int], batches: int = 2, seed: int = 0) -> nn.Module:
    """Reset BN running stats and re-estimate them on ``batches`` random inputs of ``shape``; returns eval model."""
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    model.train()
    for _ in range(batches):
        model(torch.randn(tuple(shape), generator=generator))
    model.train(was_training)
    return model.eval()
