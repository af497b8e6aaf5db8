"""Shared test helpers."""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from torch import nn

# the suite never downloads: weight lookups fail fast and clearly (hub tests opt out, serving on loopback only)
os.environ.setdefault("MOBILEZOO_OFFLINE", "1")

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
warnings.filterwarnings("ignore", category=FutureWarning)

from mobilezoo.models.calibration import recalibrate_bn  # noqa: E402,F401  (re-exported for tests)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
