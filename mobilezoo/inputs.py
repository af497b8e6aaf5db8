"""Parse and check model input sizes given by users (CLI strings or tuples)."""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

import torch

from .errors import InvalidInputError

#: upper limits on sizes a user can ask for: far above any phone model's needs, far below what exhausts memory
MAX_SIDE, MAX_FRAMES, MAX_CHANNELS = 4096, 1024, 4096
MAX_ELEMENTS = 2**28  # per sample: 1 GiB of float32
MAX_BATCH, MAX_THREADS, MAX_ITERS = 1024, 256, 1_000_000


def check_count(value: Any, label: str, low: int = 1, high: int | None = None) -> int:
    """``value`` as a whole number in [low, high]; a one-line error naming ``label`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{label} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f">= {low}"
        raise InvalidInputError(f"{label} must be {span}, got {value}")
    return value


def parse_input_size(value: str | int | Sequence[int] | None, default: Sequence[int]) -> tuple[int, ...]:
    """Turn a user's input size into a full per-sample shape like ``default`` (C,H,W or C,T,H,W).

    Accepted: ``224`` (square spatial size), ``160x128`` (H x W), ``3,224,224`` (C,H,W; for video
    T,H,W), ``3,16,224,224`` (C,T,H,W). Separators may be ``x``, ``,`` or spaces.
    """
    default = tuple(int(d) for d in default)
    if value is None:
        return default
    if isinstance(value, str):
        parts = [p for p in re.split(r"[x,\s]+", value.strip().lower()) if p]
        numbers = []
        for part in parts:
            if not re.fullmatch(r"[+-]?\d+", part):
                raise InvalidInputError(
                    f"input size '{value}' is not a number; give e.g. 224, 160x128 or 3,224,224"
                )
            numbers.append(int(part))
    elif isinstance(value, int) and not isinstance(value, bool):
        numbers = [value]
    else:
        numbers = [int(v) for v in value]
    if not numbers:
        raise InvalidInputError("input size is empty; give e.g. 224, 160x128 or 3,224,224")
    bad = [n for n in numbers if n <= 0]
    if bad:
        raise InvalidInputError(f"input size must be positive, got {bad[0]} in '{value}'")
    video = len(default) == 4
    if len(numbers) == 1:
        shape = default[:-2] + (numbers[0], numbers[0])
    elif len(numbers) == 2:
        shape = default[:-2] + tuple(numbers)
    elif len(numbers) == 3:
        shape = (default[0], *numbers) if video else tuple(numbers)
    elif len(numbers) == 4 and video:
        shape = tuple(numbers)
    else:
        raise InvalidInputError(
            f"input size '{value}' has {len(numbers)} numbers; this model takes at most {len(default)} "
            f"({'C,T,H,W' if video else 'C,H,W'})"
        )
    limits = [("channels", MAX_CHANNELS)] + ([("frames", MAX_FRAMES)] if video else []) + [("height", MAX_SIDE), ("width", MAX_SIDE)]
    for size, (what, limit) in zip(shape, limits):
        if size > limit:
            raise InvalidInputError(f"input size '{value}': {what} {size} is over the limit of {limit}")
    if math.prod(shape) > MAX_ELEMENTS:
        raise InvalidInputError(f"input size '{value}' has {math.prod(shape):,} values per sample, over the limit of "
                                f"{MAX_ELEMENTS:,}; give a smaller size")
    return shape


def check_channels(shape: Sequence[int], expected: int, model_name: str) -> None:
    if shape[0] != expected:
        raise InvalidInputError(
            f"model '{model_name}' takes {expected} input channels, got {shape[0]}; "
            f"use {expected} channels or build it with in_chans={shape[0]}"
        )


def example_input(shape: Sequence[int], batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A reproducible random input batch of per-sample ``shape``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *shape), generator=generator)


def model_input_size(model: Any) -> tuple[int, ...]:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return tuple(cfg.get("input_size", (3, 224, 224)))


def resolve_input_shape(model: Any, value: str | int | Sequence[int] | None, name: str) -> tuple[int, ...]:
    """The per-sample input shape for ``model``: its native size, or ``value`` parsed and checked against it."""
    shape = parse_input_size(value, model_input_size(model))
    check_channels(shape, getattr(model, "in_chans", shape[0]), name)
    return shape
