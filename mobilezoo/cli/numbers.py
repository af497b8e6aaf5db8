"""argparse types for numeric options: each option's range is checked when the command line is parsed.

A value out of range, not finite, or not a number is one line naming the option, its range and what was given,
exit code 2, before any work starts (``--height 100`` once grew a 7 GB tree; ``--arch-lr nan`` a NaN search).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
from typing import Any

from ..inputs import MAX_BATCH, MAX_ITERS, MAX_SIDE, MAX_THREADS

SEED_MAX = 2**63 - 1


class Count:
    """A whole number in ``[low, high]``."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.__name__ = "count"  # argparse names the type in some messages

    def __call__(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number between {self.low} and {self.high}, "
                                             f"got {text!r}") from None
        if not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f"must be between {self.low} and {self.high}, got {value}")
        return value


class Real:
    """A finite number in ``[low, high]``; ``open_low`` excludes ``low`` itself (a learning rate of 0)."""

    def __init__(self, low: float, high: float, open_low: bool = False) -> None:
        self.low, self.high, self.open_low = low, high, open_low
        self.__name__ = "number"

    def span(self) -> str:
        return f"{'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"

    def __call__(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number in {self.span()}, got {text!r}") from None
        too_low = value <= self.low if self.open_low else value < self.low
        if not math.isfinite(value) or too_low or value > self.high:
            raise argparse.ArgumentTypeError(f"must be a finite number in {self.span()}, got {text}")
        return value


THREADS = Count(1, MAX_THREADS)
THREADS_OR_DEFAULT = Count(0, MAX_THREADS)  # 0: leave torch's own setting
SEED = Count(0, SEED_MAX)
BATCH = Count(1, MAX_BATCH)
ITERATIONS = Count(1, MAX_ITERS)
EPOCHS = Count(1, 10_000)
IMAGES = Count(0, 10**9)  # a limit on images; 0: all
SIDE = Count(8, MAX_SIDE)
WARMUP = Count(0, MAX_ITERS)


def library_default(config: type, field: str) -> Any:
    """The default a library config dataclass gives ``field``: the CLI shows and uses the same one, never a copy."""
    for item in dataclasses.fields(config):
        if item.name == field:
            return item.default
    raise KeyError(f"{config.__name__} has no field '{field}'")


def function_default(function: Any, parameter: str) -> Any:
    """The default a library function gives ``parameter``: the CLI shows and uses the same one."""
    default = inspect.signature(function).parameters[parameter].default
    if default is inspect.Parameter.empty:
        raise KeyError(f"{function.__name__}'s {parameter} has no default")
    return default
