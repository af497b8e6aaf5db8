"""Analytic parameters and multiply-adds of a design-space network, without building it.

Sampling restricted to a complexity range draws thousands of candidates; counting them from the spec is
~1000x faster than building and tracing. Conventions: ``count_params`` is every parameter (conv and linear
weights, BN scales and shifts, the classifier bias); ``count_macs`` is conv + linear multiply-adds (fvcore's
``conv`` and ``linear`` counts; BN and pooling are left out). The tests check both against fvcore.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInputError
from .netspec import NetSpec

STEM_WIDTH = 16
METRICS = ("params", "macs")


@dataclass(frozen=True)
class ComplexityRange:
    """An open interval (low, high) of params or MACs, as NDS keeps the models strictly inside its range."""

    metric: str
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InvalidInputError(f"complexity metric must be one of {', '.join(METRICS)}, got '{self.metric}'")
        if not 0 <= self.low < self.high:
            raise InvalidInputError(f"complexity range needs 0 <= low < high, got ({self.low}, {self.high})")

    def contains(self, value: float) -> bool:
        return self.low < value < self.high

    def __str__(self) -> str:
        return f"{self.metric} in ({self.low:g}, {self.high:g})"


def _conv(cin: int, cout: int, kernel: int, groups: int = 1) -> int:
    return cout * (cin // groups) * kernel * kernel


def _block_layers(spec: NetSpec, cin: int, width: int, ratio: float, groups: int) -> list[tuple[int, int, int, int, bool]]:
    """(in, out, kernel, groups, carries_stride) of each conv of one block (each followed by a BN)."""
    from ..models.anynet import bottleneck_width

    if spec.block in ("vanilla", "res_basic"):
        return [(cin, width, 3, 1, True), (width, width, 3, 1, False)]
    inner = bottleneck_width(width, ratio, groups)
    return [(cin, inner, 1, 1, False), (inner, inner, 3, groups, True), (inner, width, 1, 1, False)]


def _convs(spec: NetSpec, input_size: int, in_chans: int):
    """(in, out, kernel, groups, output side) of every conv, and the final width; a block's convs after its
    strided one run at the block's output resolution (stride-2 convs padded k // 2: ceil(side / 2))."""
    side = input_size
    convs = [(in_chans, STEM_WIDTH, 3, 1, side)]
    channels = STEM_WIDTH
    for stage, (depth, width, ratio, groups) in enumerate(zip(spec.depths, spec.widths, spec.bottleneck_ratios, spec.groups)):
        for position in range(depth):
            stride = 2 if stage > 0 and position == 0 else 1
            out_side = -(-side // stride)
            current = side
            for cin, cout, kernel, group, strided in _block_layers(spec, channels, width, ratio, groups):
                current = out_side if strided else current
                convs.append((cin, cout, kernel, group, current))
            if spec.block != "vanilla" and (stride != 1 or channels != width):
                convs.append((channels, width, 1, 1, out_side))
            side, channels = out_side, width
    return convs, channels


def count_params(spec: NetSpec, in_chans: int = 3, num_classes: int = 10) -> int:
    """All parameters of the network ``spec`` builds."""
    convs, channels = _convs(spec, 1, in_chans)
    weights = sum(_conv(cin, cout, k, g) + 2 * cout for cin, cout, k, g, _ in convs)  # + BN scale and shift
    return weights + channels * num_classes + num_classes


def count_macs(spec: NetSpec, input_size: int = 32, in_chans: int = 3, num_classes: int = 10) -> int:
    """Conv and linear multiply-adds for one ``input_size`` x ``input_size`` image."""
    convs, channels = _convs(spec, input_size, in_chans)
    return sum(_conv(cin, cout, k, g) * side * side for cin, cout, k, g, side in convs) + channels * num_classes
