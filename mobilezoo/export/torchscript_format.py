"""TorchScript (.pt) and lite-interpreter (.ptl) exports.

``optimize_for_mobile`` needs XNNPACK, which these torch wheels are built without; the lite artifact
is therefore a frozen trace saved for the lite interpreter (freezing also folds BN, which avoids a
known optimize_for_mobile mis-compilation of bias-free conv + BN).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .format_base import ExportContext, ExportFormat, Runner

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


def _traced_lite(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    frozen = torch.jit.freeze(_trace(model, example).eval())
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


def _runner(module: Any) -> Runner:
    def run(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(x).detach().numpy()

    return run


class TorchScriptFormat(ExportFormat):
    """Traced TorchScript, run with ``torch.jit.load``."""

    name, suffix, runtime, runtime_name = "torchscript", ".pt", "torch.jit.load", "torchscript"
    description = "traced TorchScript (deprecated by PyTorch; prefer ExecuTorch)"
    dynamic_batch = True
    caveat = "deprecated by PyTorch"

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        _trace(model, example).save(str(path))
        ctx.warnings.append("TorchScript is deprecated by PyTorch; ExecuTorch (.pte) is its successor on phones")
        return {"method": "torch.jit.trace"}

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner:
        return _runner(torch.jit.load(str(path), map_location="cpu"))

    def apply_threads(self, threads: int) -> int:
        torch.set_num_threads(threads)
        return torch.get_num_threads()


class LiteInterpreterFormat(TorchScriptFormat):
    """A frozen trace for the PyTorch Mobile lite interpreter."""

    name, suffix, runtime, runtime_name = "ptl", ".ptl", "lite interpreter", "ptl"
    description = "frozen TorchScript for the PyTorch Mobile lite interpreter (deprecated)"
    caveat = "optimize_for_mobile needs XNNPACK, absent in these torch builds: frozen trace instead"

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        return _traced_lite(model, example, path, ctx)

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner:
        from torch.jit.mobile import _load_for_lite_interpreter

        return _runner(_load_for_lite_interpreter(str(path)))
