"""A small FBNetV2-like search space: fixed stages, a choice of block per layer.

Sampled networks validate the latency table (every block of every sample is in the table, yet no
sampled network is measured to build it) and will be the space the architecture search explores.
"""

from __future__ import annotations

import random
from typing import Any

# stage: (out_channels, first stride, layers, activation suffix)
STAGES = ((16, 2, 2, ""), (24, 2, 3, ""), (40, 2, 3, "_hs"), (80, 2, 3, "_hs"), (112, 1, 2, "_hs"))
KERNELS = (3, 5)
EXPANSIONS = (1, 3, 6)
SE = ("", "_sehsig")


def candidates(layer_index: int, first_of_stage: bool, act: str) -> list[tuple[str, float]]:
    ops = [(f"ir_k{k}{se}{act}", float(e)) for k in KERNELS for e in EXPANSIONS for se in SE]
    if not first_of_stage:
        ops.append(("skip", 1.0))  # depth choice: a layer may be skipped
    return ops


def layers() -> list[tuple[int, int, bool, str]]:
    """(out_channels, stride, first_of_stage, activation suffix) per searchable layer."""
    result = []
    for channels, stride, count, act in STAGES:
        for index in range(count):
            result.append((channels, stride if index == 0 else 1, index == 0, act))
    return result


def arch_from_choices(choices: list[int], input_size: int = 128) -> dict[str, Any]:
    """An architecture definition (see fbnet_archs) from one candidate index per layer."""
    stages: list[list[tuple]] = [[("conv_k3_hs", 16, 2, 1)]]
    for (channels, stride, first, act), choice in zip(layers(), choices):
        op, expansion = candidates(0, first, act)[choice]
        row = (op, channels, stride, 1) if op == "skip" else (op, channels, stride, 1, {"e": expansion})
        if first:
            stages.append([row])
        else:
            stages[-1].append(row)
    stages.append([("ir_pool_hs", 1280, 1, 1, {"e": 6})])
    return {"input_size": input_size, "options": {"width_divisor": 8, "bias": False}, "stages": stages}


def sample(rng: random.Random, input_size: int = 128) -> dict[str, Any]:
    choices = [rng.randrange(len(candidates(0, first, act))) for _, _, first, act in layers()]
    return arch_from_choices(choices, input_size)


def all_blocks_archs(input_size: int = 128) -> list[dict[str, Any]]:
    """Networks that together contain every (layer, candidate) block once: what the table must measure."""
    count = max(len(candidates(0, first, act)) for _, _, first, act in layers())
    archs = []
    for choice in range(count):
        picks = [min(choice, len(candidates(0, first, act)) - 1) for _, _, first, act in layers()]
        archs.append(arch_from_choices(picks, input_size))
    return archs
