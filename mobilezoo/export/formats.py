"""The export formats, by name: one :class:`~mobilezoo.export.format_base.ExportFormat` class per format.

torchscript (.pt), ptl (.ptl), onnx (.onnx), coreml (.mlpackage), executorch (.pte), tflite (.tflite). Each
class lives in its own module and holds everything about its format: suffix, packages, runtime, threads,
caveats and the model families it cannot run.
"""

from __future__ import annotations

from ..errors import InvalidInputError
from .coreml_format import CoreMLFormat
from .executorch_format import ExecuTorchFormat
from .format_base import ExportFormat
from .onnx_format import OnnxFormat
from .tflite_format import TFLiteFormat
from .torchscript_format import LiteInterpreterFormat, TorchScriptFormat

FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (TorchScriptFormat(), LiteInterpreterFormat(), OnnxFormat(), CoreMLFormat(), ExecuTorchFormat(),
                TFLiteFormat())
}
#: ``mobilezoo bench --runtime`` names: eager PyTorch, then the runtime of each format that runs here
RUNTIMES: dict[str, ExportFormat | None] = {
    "eager": None, **{fmt.runtime_name: fmt for fmt in FORMATS.values() if fmt.runs_here}
}


def get_format(name: str) -> ExportFormat:
    if name not in FORMATS:
        raise InvalidInputError(f"unknown export format '{name}'; use one of {', '.join(FORMATS)}")
    return FORMATS[name]


def require(fmt: ExportFormat) -> None:
    """A one-line error naming the pip extra when a package the format needs is missing."""
    fmt.require()
