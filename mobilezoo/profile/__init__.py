"""Parameter, multiply-add and activation profiling (fvcore), with a per-module table."""

from __future__ import annotations

from typing import Sequence

from torch import nn

from ..inputs import resolve_input_shape
from .counting import ELEMENTWISE_NOTE, count_params, profile_model
from .result import ModuleRow, ProfileResult, human


def profile(
    model_or_name: nn.Module | str,
    input_size: str | int | Sequence[int] | None = None,
    depth: int | None = None,
    **create_kwargs,
) -> ProfileResult:
    """Profile a model (or a registered name) at its native input size or ``input_size``.

    ``input_size`` accepts ``224``, ``(160, 128)`` or a full per-sample shape (C,H,W or C,T,H,W).
    """
    from ..factory import create_model

    name = model_or_name if isinstance(model_or_name, str) else type(model_or_name).__name__
    model = create_model(model_or_name, **create_kwargs) if isinstance(model_or_name, str) else model_or_name
    return profile_model(model, resolve_input_shape(model, input_size, name), name=name, depth=depth)


__all__ = ["ELEMENTWISE_NOTE", "ModuleRow", "ProfileResult", "count_params", "human", "profile", "profile_model"]
