"""Shared test helpers."""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch import nn

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
warnings.filterwarnings("ignore", category=FutureWarning)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@torch.no_grad()
def recalibrate_bn(model: nn.Module, shape: tuple[int, ...], batches: int = 2, seed: int = 0) -> nn.Module:
    """Re-estimate BN statistics on random data so a randomly initialised net outputs O(1) values.

    Without it, deep random nets output ~1e-9 and every comparison is meaningless.
    """
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    model.train()
    for _ in range(batches):
        model(torch.randn(shape, generator=generator))
    return model.eval()


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
