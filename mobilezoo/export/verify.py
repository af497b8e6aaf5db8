"""Compare an artifact's outputs with eager PyTorch, per input, and decide pass or fail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch

#: fp32 artifacts must agree with eager to this relative error (max |diff| / max |eager|)
FP32_RTOL = 1e-4


@dataclass
class Check:
    name: str  # e.g. "random batch 3", "real batch 1"
    batch: int
    max_abs: float
    max_rel: float
    top1_agreement: float
    passed: bool | None  # None: reported only (int8 has no tolerance)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(reference: torch.Tensor, output: np.ndarray) -> tuple[float, float, float]:
    """(max abs error, relative error to max |reference|, share of rows with the same arg-max)."""
    output = torch.as_tensor(np.asarray(output), dtype=torch.float32).reshape(reference.shape)
    diff = (output - reference).abs().max().item()
    scale = max(reference.abs().max().item(), 1e-12)
    agreement = (output.argmax(-1) == reference.argmax(-1)).float().mean().item()
    return diff, diff / scale, agreement


def run_checks(
    model: torch.nn.Module,
    run: Callable[[torch.Tensor], np.ndarray],
    inputs: list[tuple[str, torch.Tensor]],
    tolerance: float | None = FP32_RTOL,
) -> list[Check]:
    checks = []
    for name, x in inputs:
        with torch.no_grad():
            reference = model(x)
        max_abs, max_rel, agreement = compare(reference, run(x))
        passed = None if tolerance is None else bool(max_rel < tolerance)
        checks.append(Check(name, int(x.shape[0]), max_abs, max_rel, agreement, passed))
    return checks
