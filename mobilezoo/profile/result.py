"""The result of profiling a model: plain numbers that serialise to JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


def human(count: float, unit: str = "") -> str:
    """``4228384000`` -> ``'4.23 G'``: two decimals, SI prefix."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(count) >= scale:
            return f"{count / scale:.2f} {prefix}{unit}"
    return f"{count:.0f} {unit}".rstrip()


@dataclass
class ModuleRow:
    name: str
    type: str
    params: int
    macs_without_bn: int
    batch_norm_macs: int
    elementwise_ops: int
    activations: int


@dataclass
class ProfileResult:
    """Counts for one model at one input shape (batch 1)."""

    model: str
    input_shape: tuple[int, ...]
    params: int
    params_conv_linear_weights: int
    macs: int  # fvcore total: conv + linear + pooling + batch-norm
    macs_without_bn: int  # the published convention (torchvision _ops, mobile-vision flops_m)
    batch_norm_macs: int
    elementwise_ops: int  # not part of macs
    activations: int
    effective_macs_without_bn: int | None = None  # relational layers at their mask density (None: no masked layers)
    by_operator: dict[str, int] = field(default_factory=dict)
    modules: list[ModuleRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def gmacs(self) -> float:
        """MACs without batch-norm, in billions (torchvision's ``_ops``)."""
        return self.macs_without_bn / 1e9

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProfileResult":
        data = dict(data)
        data["input_shape"] = tuple(data["input_shape"])
        data["modules"] = [ModuleRow(**row) for row in data.get("modules", [])]
        return cls(**data)
