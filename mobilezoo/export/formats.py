"""The export formats: file suffix, the pip extra that provides them, what their runtime supports."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType

from ..errors import InvalidInputError, MissingDependencyError


@dataclass(frozen=True)
class FormatSpec:
    name: str
    suffix: str
    module: str  # mobilezoo.export.<module> implements export_artifact() and load_runner()
    requires: tuple[str, ...]  # importable packages the format needs
    extra: str | None  # pip extra that installs them
    runtime: str  # what runs the artifact for verification
    dynamic_batch: bool
    int8: bool
    directory: bool = False  # the artifact is a folder (CoreML .mlpackage)
    description: str = ""


FORMATS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec("torchscript", ".pt", "torchscript_format", (), None, "torch.jit.load", True, False,
                   description="traced TorchScript (deprecated by PyTorch; prefer ExecuTorch)"),
        FormatSpec("ptl", ".ptl", "torchscript_format", (), None, "lite interpreter", True, False,
                   description="frozen TorchScript for the PyTorch Mobile lite interpreter (deprecated)"),
        FormatSpec("onnx", ".onnx", "onnx_format", ("onnx", "onnxruntime", "onnxscript"), "onnx", "onnxruntime",
                   True, True, description="ONNX (torch.export based), checked with onnx.checker and ONNX Runtime"),
        FormatSpec("coreml", ".mlpackage", "coreml_format", ("coremltools",), "coreml", "coremltools (spec only off macOS)",
                   False, False, directory=True, description="Core ML mlprogram for iOS/macOS"),
        FormatSpec("executorch", ".pte", "executorch_format", ("executorch",), "executorch", "executorch.runtime",
                   False, True, description="ExecuTorch program, XNNPACK-delegated (Android/iOS)"),
        FormatSpec("tflite", ".tflite", "tflite_format", ("litert_torch", "ai_edge_litert"), "litert",
                   "ai_edge_litert Interpreter", False, False, description="LiteRT (TFLite) flatbuffer"),
    )
}


def get_format(name: str) -> FormatSpec:
    if name not in FORMATS:
        raise InvalidInputError(f"unknown export format '{name}'; use one of {', '.join(FORMATS)}")
    return FORMATS[name]


def require(spec: FormatSpec) -> None:
    """Raise a one-line error naming the pip extra when a format's packages are missing."""
    for package in spec.requires:
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(
                f"format '{spec.name}' needs the '{package}' package: pip install 'mobilezoo[{spec.extra}]'"
            )


def implementation(spec: FormatSpec) -> ModuleType:
    return importlib.import_module(f"mobilezoo.export.{spec.module}")
