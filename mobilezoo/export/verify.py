"""Compare an artifact's outputs with eager PyTorch, per input, and decide pass or fail.

The bar is ``FP32_RTOL`` relative error. Some deep networks cannot meet it on any runtime: eager PyTorch's
own fp32 result is that far from the exact (fp64) one, and an artifact that sums in a different order is
as far off again. For those, and only after a check misses the plain bar, the tolerance widens to
``FP64_SLACK`` times eager's measured fp32 error against fp64 on the same input; the check records both.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch

#: fp32 artifacts must agree with eager to this relative error (max |diff| / max |eager|)
FP32_RTOL = 1e-4
#: an artifact may be this many times further from eager than eager fp32 is from eager fp64
FP64_SLACK = 4.0


@dataclass
class Check:
    name: str  # e.g. "random batch 3", "real batch 1"
    batch: int
    max_abs: float
    max_rel: float
    top1_agreement: float
    passed: bool | None  # None: reported only (int8 has no tolerance)
    tolerance: float | None = None  # the relative bar this check was held to
    eager_fp32_vs_fp64: float | None = None  # measured only when the plain bar was missed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # read as the manifest's JSON reads (``check["max_rel"]``): code written against the dict form keeps working
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


def compare(reference: torch.Tensor, output: np.ndarray) -> tuple[float, float, float]:
    """(max abs error, relative error to max |reference|, share of rows with the same arg-max)."""
    output = torch.as_tensor(np.asarray(output), dtype=torch.float32).reshape(reference.shape)
    diff = (output - reference).abs().max().item()
    scale = max(reference.abs().max().item(), 1e-12)
    agreement = (output.argmax(-1) == reference.argmax(-1)).float().mean().item()
    return diff, diff / scale, agreement


def eager_fp32_error(model: torch.nn.Module, x: torch.Tensor, reference: torch.Tensor,
                     model64: torch.nn.Module | None = None) -> float | None:
    """Relative error of eager fp32 against the same model in fp64 on ``x``; None if it will not run in fp64."""
    try:
        model64 = model64 if model64 is not None else copy.deepcopy(model).double()
        with torch.no_grad():
            exact = model64(x.double())
    except (RuntimeError, TypeError, NotImplementedError):
        return None
    scale = max(exact.abs().max().item(), 1e-300)
    return (reference.double() - exact).abs().max().item() / scale


def fp32_bar(model: torch.nn.Module, x: torch.Tensor, reference: torch.Tensor, tolerance: float = FP32_RTOL,
             model64: torch.nn.Module | None = None) -> tuple[float, float | None]:
    """The relative error an fp32 artifact is held to on ``x``, and eager's fp32-vs-fp64 error behind it.

    ``tolerance`` unless eager's own fp32 result is so far from fp64 that an artifact summing in another order
    cannot meet it; then ``FP64_SLACK`` times that error. One rule for the export and for anyone re-checking
    an artifact by hand (the tests do).
    """
    fp32_error = eager_fp32_error(model, x, reference, model64)
    if fp32_error is None:
        return tolerance, None
    return max(tolerance, FP64_SLACK * fp32_error), fp32_error


def run_checks(
    model: torch.nn.Module,
    run: Callable[[torch.Tensor], np.ndarray],
    inputs: list[tuple[str, torch.Tensor]],
    tolerance: float | None = FP32_RTOL,
) -> list[Check]:
    checks = []
    model64 = None
    for name, x in inputs:
        with torch.no_grad():
            reference = model(x)
        max_abs, max_rel, agreement = compare(reference, run(x))
        if tolerance is None:
            checks.append(Check(name, int(x.shape[0]), max_abs, max_rel, agreement, None))
            continue
        bar, fp32_error = tolerance, None
        if max_rel >= tolerance:
            if model64 is None:
                model64 = copy.deepcopy(model).double()
            bar, fp32_error = fp32_bar(model, x, reference, tolerance, model64)
        checks.append(Check(name, int(x.shape[0]), max_abs, max_rel, agreement, bool(max_rel < bar), bar, fp32_error))
    return checks
