"""What every format implementation is given, and what it may report back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .formats import FormatSpec


@dataclass
class ExportContext:
    spec: FormatSpec
    dynamic_batch: bool
    cfg: dict[str, Any]  # the model's pretrained cfg, with the export's input size
    input_name: str = "input"
    output_name: str = "logits"
    opset: int = 20
    int8: bool = False
    calibration: torch.Tensor | None = None  # real, preprocessed samples for int8
    labels: list[str] | None = None
    threads: int = 1
    warnings: list[str] = field(default_factory=list)
