"""The CIFAR-style design spaces of NDS (arXiv 1905.13214, Sec. 3 and Table 1), as samplers.

A network is stem -> 3 stages -> head; each stage draws its depth d, width w and, for bottleneck blocks, its
bottleneck ratio b and group count g independently from the space's value lists. "a, b, n" in the paper is n
values roughly evenly spaced in log space from a to b, so a uniform draw from a list is a log-uniform draw:

| space     | block          | d        | w           | b       | g        |
|-----------|----------------|----------|-------------|---------|----------|
| vanilla   | vanilla        | 1,24,9   | 16,256,12   | -       | -        |
| resnet    | res_basic      | 1,24,9   | 16,256,12   | -       | -        |
| resnext_a | res_bottleneck | 1,16,5   | 64,1024,5   | 1,4,3   | 1,4,3    |
| resnext_b | res_bottleneck | 1,16,5   | 64,1024,5   | 1,4,3   | 1,16,5   |
"""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass
from typing import Sequence

from ..errors import InvalidInputError
from .complexity import ComplexityRange, count_macs, count_params
from .netspec import NetSpec

STAGES = 3


def log_spaced_ints(low: int, high: int, count: int) -> tuple[int, ...]:
    """``count`` distinct whole numbers from ``low`` to ``high``, evenly spaced in log space (rounded, then made
    strictly increasing: 1, 24, 9 gives 1 2 3 4 5 7 11 16 24)."""
    values: list[int] = []
    for index in range(count):
        exact = low * (high / low) ** (index / (count - 1)) if count > 1 else low
        values.append(max(round(exact), values[-1] + 1) if values else round(exact))
    return tuple(values)


@dataclass(frozen=True)
class DesignSpace:
    """A design space: a block type and the value list of each per-stage parameter."""

    name: str
    block: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bottleneck_ratios: tuple[float, ...] = (1.0,)
    groups: tuple[int, ...] = (1,)
    description: str = ""

    @property
    def size(self) -> int:
        """Number of distinct networks: (d * w * b * g) ** stages."""
        return (len(self.depths) * len(self.widths) * len(self.bottleneck_ratios) * len(self.groups)) ** STAGES

    def draw(self, rng: random.Random) -> NetSpec:
        """One network, every per-stage value drawn uniformly from its list (log-uniform over the range)."""
        pick = lambda values: tuple(rng.choice(values) for _ in range(STAGES))  # noqa: E731
        depths, widths = pick(self.depths), pick(self.widths)
        return NetSpec(self.block, depths, widths, pick(self.bottleneck_ratios), pick(self.groups))

    def sample(self, rng: random.Random, limits: Sequence[ComplexityRange] = (), input_size: int = 32,
               in_chans: int = 3, num_classes: int = 10, max_tries: int = 100_000) -> NetSpec:
        """A draw whose complexity lies inside every range of ``limits`` (rejection sampling, as NDS restricts
        its pools to a complexity range)."""
        for _ in range(max_tries):
            spec = self.draw(rng)
            measures = {"params": lambda: count_params(spec, in_chans, num_classes),
                        "macs": lambda: count_macs(spec, input_size, in_chans, num_classes)}
            if all(limit.contains(measures[limit.metric]()) for limit in limits):
                return spec
        ranges = " and ".join(str(limit) for limit in limits)
        raise InvalidInputError(f"no network of space '{self.name}' with {ranges} after {max_tries} draws; widen the range")

    def contains(self, spec: NetSpec) -> bool:
        """True when every per-stage value of ``spec`` is in this space's lists."""
        return (spec.block == self.block and len(spec.depths) == STAGES
                and all(d in self.depths for d in spec.depths) and all(w in self.widths for w in spec.widths)
                and all(b in self.bottleneck_ratios for b in spec.bottleneck_ratios)
                and all(g in self.groups for g in spec.groups))


_DEPTH_WIDE = log_spaced_ints(1, 24, 9)
_WIDTH_WIDE = log_spaced_ints(16, 256, 12)
SPACES: dict[str, DesignSpace] = {
    space.name: space
    for space in (
        DesignSpace("vanilla", "vanilla", _DEPTH_WIDE, _WIDTH_WIDE,
                    description="two 3x3 conv-BN-ReLU per block, no shortcut"),
        DesignSpace("resnet", "res_basic", _DEPTH_WIDE, _WIDTH_WIDE, description="ResNet basic blocks"),
        DesignSpace("resnext_a", "res_bottleneck", log_spaced_ints(1, 16, 5), log_spaced_ints(64, 1024, 5),
                    tuple(float(b) for b in log_spaced_ints(1, 4, 3)), log_spaced_ints(1, 4, 3),
                    description="bottleneck blocks with groups 1-4"),
        DesignSpace("resnext_b", "res_bottleneck", log_spaced_ints(1, 16, 5), log_spaced_ints(64, 1024, 5),
                    tuple(float(b) for b in log_spaced_ints(1, 4, 3)), log_spaced_ints(1, 16, 5),
                    description="bottleneck blocks with groups 1-16"),
    )
}


def get_space(name: str) -> DesignSpace:
    if name not in SPACES:
        close = difflib.get_close_matches(str(name), list(SPACES), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(SPACES)}"
        raise InvalidInputError(f"unknown design space '{name}'; {hint}")
    return SPACES[name]

