"""Re-estimate batch-norm statistics for a network's current weights.

A deep random network with default BN statistics outputs values around 1e-9; comparing two runtimes
on such outputs measures nothing, so tests, export checks and benchmarks of untrained models call
:func:`recalibrate_bn` first. The EMA of training re-estimates the statistics of its averaged weights
with :func:`reestimate_bn`. Both only change BN running statistics, never weights.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn


@torch.no_grad()
def reestimate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Reset BN running statistics and re-estimate them as the plain average over ``batches``.

    BN momentum is restored afterwards; the model is left in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:  # nothing to estimate: skip the forward passes
        return model.eval()
    momenta = [m.momentum for m in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the batches
    model.train()
    for batch in batches:
        model(batch)
    for module, momentum in zip(norms, momenta):
        module.momentum = momentum
    return model.eval()


def recalibrate_bn(model: nn.Module, shape: Sequence[int], batches: int = 2, seed: int = 0) -> nn.Module:
    """Re-estimate BN statistics on ``batches`` random inputs of ``shape``; returns the model in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    return reestimate_bn(model, (torch.randn(tuple(shape), generator=generator) for _ in range(batches)))
