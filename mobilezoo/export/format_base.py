"""One export format = one class with this small interface, so a new runtime touches one file.

A format says what it writes (suffix, file or folder), what it needs (packages, the pip extra), what runs
its artifacts (for verification and ``mobilezoo bench``), how that runtime takes a thread count, and what
it cannot do (model families it cannot run, caveats). It implements two steps: :meth:`ExportFormat.export`
writes the artifact, :meth:`ExportFormat.load_runner` opens it for running.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
import torch
from torch import nn

from ..errors import MissingDependencyError

Runner = Callable[[torch.Tensor], np.ndarray]


class ExportFormat:
    """Base class of the export formats (see :mod:`mobilezoo.export.formats` for the registry)."""

    name: ClassVar[str]
    suffix: ClassVar[str]
    description: ClassVar[str]
    #: importable packages the format needs, and the pip extra that installs them
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    #: what runs the artifact (prose), its name for ``mobilezoo bench --runtime``, and its distribution
    runtime: ClassVar[str]
    runtime_name: ClassVar[str]
    runtime_package: ClassVar[str] = "torch"
    dynamic_batch: ClassVar[bool] = False
    int8: ClassVar[bool] = False
    directory: ClassVar[bool] = False  # the artifact is a folder (Core ML's .mlpackage)
    runs_here: ClassVar[bool] = True  # False: artifacts can be checked but not run on this OS (Core ML off macOS)
    #: shown in the README's support table
    caveat: ClassVar[str] = ""
    #: model family -> why this format cannot work for it here (refused before any file is written)
    unsupported_families: ClassVar[Mapping[str, str]] = {}
    #: model family -> a note for a pair that works with a caveat
    family_caveats: ClassVar[Mapping[str, str]] = {}

    def require(self) -> None:
        """A one-line error naming the pip extra when a package the format needs is missing."""
        for package in self.requires:
            if importlib.util.find_spec(package) is None:
                raise MissingDependencyError(
                    f"format '{self.name}' needs the '{package}' package: pip install 'mobilezoo[{self.extra}]'"
                )

    def input_name(self, shape: tuple[int, ...]) -> str:
        """The artifact's input name (Core ML calls an image input ``image``)."""
        return "input"

    def export(self, model: nn.Module, example: torch.Tensor, path: Path, ctx: ExportContext) -> dict[str, Any]:
        """Write the artifact of ``model`` traced/exported with ``example`` to ``path``; return facts for the manifest."""
        raise NotImplementedError

    def load_runner(self, path: Path, ctx: ExportContext) -> Runner | None:
        """A callable running the artifact on a batch (None where this machine cannot run it)."""
        raise NotImplementedError

    def apply_threads(self, threads: int) -> int:
        """Apply a thread count to the runtime for what follows; return the count it really uses.

        Runtimes that take it when an artifact is opened (ONNX Runtime, LiteRT) read ``ctx.threads`` there.
        """
        return threads

    def __repr__(self) -> str:
        return f"<export format {self.name} ({self.suffix})>"


@dataclass
class ExportContext:
    """What a format is given for one export, and what it may report back (``warnings``)."""

    spec: ExportFormat
    dynamic_batch: bool
    cfg: Any  # the model's PretrainedCfg at the export's input size
    input_name: str = "input"
    output_name: str = "logits"
    opset: int = 20
    int8: bool = False
    calibration: torch.Tensor | None = None  # real, preprocessed samples for int8
    labels: list[str] | None = None
    threads: int = 1
    warnings: list[str] = field(default_factory=list)
