"""TorchScript (.pt) and lite-interpreter (.ptl) exports.

``optimize_for_mobile`` needs XNNPACK, which these torch wheels are built without; the lite artifact
is therefore a frozen trace saved for the lite interpreter (freezing also folds BN, which avoids a
known optimize_for_mobile mis-compilation of bias-free conv + BN).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .context import ExportContext

NO_XNNPACK = (
    "optimize_for_mobile was not applied: these torch builds lack XNNPACK "
    "(INTERNAL ASSERT 'XNNPACK is not enabled'); the .ptl is a frozen trace instead"
)


def _trace(model: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(model, example, check_trace=False)


def _xnnpack_available() -> bool:
    return bool(getattr(torch.backends, "xnnpack", None) and torch.backends.xnnpack.enabled)


def export_artifact(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    traced = _trace(model, example)
    if ctx.spec.name == "torchscript":
        traced.save(str(path))
        ctx.warnings.append("TorchScript is deprecated by PyTorch; ExecuTorch (.pte) is its successor on phones")
        return {"method": "torch.jit.trace"}
    frozen = torch.jit.freeze(traced.eval())
    if _xnnpack_available():
        from torch.utils.mobile_optimizer import optimize_for_mobile

        frozen = optimize_for_mobile(frozen)
        method = "trace + freeze + optimize_for_mobile"
    else:
        ctx.warnings.append(NO_XNNPACK)
        method = "trace + freeze (no optimize_for_mobile)"
    frozen._save_for_lite_interpreter(str(path))
    ctx.warnings.append("the lite interpreter is deprecated by PyTorch in favour of ExecuTorch")
    return {"method": method}


def load_runner(path: Path, ctx: ExportContext) -> Callable[[torch.Tensor], np.ndarray]:
    if ctx.spec.name == "torchscript":
        module = torch.jit.load(str(path), map_location="cpu")
    else:
        from torch.jit.mobile import _load_for_lite_interpreter

        module = _load_for_lite_interpreter(str(path))

    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(x).detach().numpy()

    return run
