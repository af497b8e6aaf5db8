"""One typed record per exported artifact: what ``manifest.json`` says of a file.

:class:`ManifestEntry` is what :func:`mobilezoo.export` returns (``result.entry``) and what a manifest stores, as
:meth:`ManifestEntry.to_dict`; :meth:`ManifestEntry.from_dict` reads an entry back. Indexing an entry by a key
(``entry["checks"]``) reads its JSON form, so code written against the manifest file keeps working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..pretrained_cfg import WeightsSource
from .verify import Check


@dataclass(frozen=True)
class ArtifactInput:
    """The artifact's input tensor: its name in the runtime, shape (None: a dynamic batch), layout."""

    name: str
    shape: list[int | None]
    dtype: str
    batch: int | str  # an int, or "dynamic"
    layout: str  # "NCHW" or "NCTHW"

    @classmethod
    def of(cls, name: str, shape: tuple[int, ...], dynamic: bool, batch: int) -> "ArtifactInput":
        """The input of an export with per-sample ``shape`` and a dynamic or fixed ``batch``."""
        return cls(name=name, shape=[None if dynamic else batch, *shape], dtype="float32",
                   batch="dynamic" if dynamic else batch, layout="NCTHW" if len(shape) == 4 else "NCHW")


@dataclass(frozen=True)
class ArtifactOutput:
    name: str  # output names, comma-separated where a runtime names several
    num_classes: int


@dataclass
class ManifestEntry:
    """Everything recorded of one verified artifact; the field order is the JSON's key order."""

    file: str
    model: str
    format: str
    description: str
    precision: str  # "fp32" or "int8"
    status: str  # "verified", "not verified", or a format's own (Core ML off macOS: converted only)
    sha256: str
    size_bytes: int
    input: ArtifactInput
    output: ArtifactOutput
    weights: WeightsSource
    preprocessing: dict[str, Any]
    class_labels: dict[str, Any]  # {"count": n, "first": the first three labels}
    model_config: dict[str, Any]
    checks: list[Check]
    tolerance: dict[str, Any] | None  # the fp32 bar and how it widens; None for int8 (reported only)
    random_seed: int
    runtime: str
    export_info: dict[str, Any]
    export_seconds: float
    versions: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def worst_rel_error(self) -> float | None:
        """The largest relative error of any check against eager PyTorch (None: nothing was run)."""
        return max((c.max_rel for c in self.checks), default=None)

    @property
    def min_top1_agreement(self) -> float | None:
        """The lowest top-1 agreement with eager PyTorch of any check (None: nothing was run)."""
        return min((c.top1_agreement for c in self.checks), default=None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in ``manifest.json``."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(input=dataclasses.asdict(self.input), output=dataclasses.asdict(self.output),
                    weights=str(self.weights), checks=[c.to_dict() for c in self.checks])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ManifestEntry":
        """An entry read back from ``manifest.json`` (what :meth:`to_dict` wrote)."""
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        values.update(input=ArtifactInput(**data["input"]), output=ArtifactOutput(**data["output"]),
                      weights=WeightsSource.of(data["weights"]), checks=[Check(**c) for c in data["checks"]])
        return cls(**values)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)
