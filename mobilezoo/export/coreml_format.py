"""Core ML (.mlpackage, mlprogram) with named inputs/outputs, class labels and preprocessing inside.

Image models take an RGB image: pixel scaling and mean/std normalisation are part of the model.
Video models take a float tensor (C, T, H, W already normalised). Off macOS Core ML cannot predict:
the artifact is converted, reloaded and its spec and op inventory are checked, and the manifest says
"converted, not run (prediction needs macOS)".
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .format_base import ExportContext, ExportFormat

NOT_RUN = "converted, not run (prediction needs macOS)"


@contextlib.contextmanager
def _quiet():
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


class _Normalised(nn.Module):
    """Puts (x - mean) / std inside the model, so the app feeds plain RGB pixels scaled to [0, 1]."""

    def __init__(self, model: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


def _export(model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
    with _quiet():
        import coremltools as ct

        video = example.ndim == 5
        if video:
            traced = torch.jit.trace(model, example, check_trace=False)
            inputs = [ct.TensorType(name=ctx.input_name, shape=tuple(example.shape))]
        else:
            wrapped = _Normalised(model, ctx.cfg["mean"], ctx.cfg["std"]).eval()
            pixels = torch.rand(example.shape)
            traced = torch.jit.trace(wrapped, pixels, check_trace=False)
            layout = ct.colorlayout.GRAYSCALE if example.shape[1] == 1 else ct.colorlayout.RGB
            inputs = [ct.ImageType(name="image", shape=tuple(example.shape), scale=1 / 255.0, color_layout=layout)]
        classifier = ct.ClassifierConfig(list(ctx.labels)) if ctx.labels else None
        converted = ct.convert(traced, inputs=inputs, classifier_config=classifier, convert_to="mlprogram",
                               minimum_deployment_target=ct.target.iOS16)
        converted.short_description = f"{ctx.cfg.get('architecture', 'model')} exported by mobilezoo"
        for key in ("architecture", "resize", "crop_pct", "interpolation"):
            if ctx.cfg.get(key) is not None:
                converted.user_defined_metadata[f"mobilezoo.{key}"] = str(ctx.cfg[key])
        converted.save(str(path))
        reloaded = ct.models.MLModel(str(path), skip_model_load=True)  # proves the package reads back
    spec = reloaded.get_spec()
    program = spec.mlProgram
    ops = Counter(op.type for f in program.functions.values() for b in f.block_specializations.values() for op in b.operations)
    ctx.warnings.append(NOT_RUN if sys.platform != "darwin" else "numeric check on macOS is not implemented yet: not run")
    ctx.warnings.append("Core ML computes in float16 by default (Neural Engine); expect ~1e-3 relative differences")
    return {
        "status": NOT_RUN,
        "inputs": [{"name": i.name, "type": i.type.WhichOneof("Type")} for i in spec.description.input],
        "outputs": [{"name": o.name, "type": o.type.WhichOneof("Type")} for o in spec.description.output],
        "predicted_feature": spec.description.predictedFeatureName,
        "op_inventory": dict(sorted(ops.items())),
        "preprocessing_in_model": not video,
        "minimum_deployment_target": "iOS16",
    }


class CoreMLFormat(ExportFormat):
    """A Core ML mlprogram package; off macOS it is converted and its spec checked, not run."""

    name, suffix, runtime, runtime_name = "coreml", ".mlpackage", "coremltools (spec only off macOS)", "coreml"
    description = "Core ML mlprogram for iOS/macOS"
    requires, extra, runtime_package = ("coremltools",), "coreml", "coremltools"
    directory = True
    runs_here = False
    caveat = "converted and spec-checked; prediction needs macOS"
    family_caveats = {"s3d": "tensor input (no image preprocessing for clips)"}

    def input_name(self, shape: tuple[int, ...]) -> str:
        return "image" if len(shape) == 3 else "input"

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        return _export(model, example, path, ctx)

    def load_runner(self, path: Path, ctx: ExportContext) -> None:
        return None  # prediction needs macOS; the spec checks in export are all that runs here
