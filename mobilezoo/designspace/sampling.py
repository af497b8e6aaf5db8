"""One entry point for a sweep's design spaces: the AnyNet-style spaces (:mod:`.spaces`) and the NAS-cell spaces
(:mod:`.nas_cells`) both yield a network to train, its params and MACs, and a spec to record."""

from __future__ import annotations

import difflib
import random
from typing import Any, Sequence

from ..errors import InvalidInputError
from .complexity import ComplexityRange, count_macs, count_params
from .nas_cells import SPACES as CELL_SPACES
from .spaces import SPACES as ANYNET_SPACES


def space_names() -> list[str]:
    return [*ANYNET_SPACES, *CELL_SPACES]


def check_space(name: str) -> str:
    if name not in ANYNET_SPACES and name not in CELL_SPACES:
        close = difflib.get_close_matches(str(name), space_names(), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(space_names())}"
        raise InvalidInputError(f"unknown design space '{name}'; {hint}")
    return name


def sample_network(name: str, rng: random.Random, limits: Sequence[ComplexityRange] = (), input_size: int = 32,
                   in_chans: int = 3, num_classes: int = 10) -> dict[str, Any]:
    """``{model, model_kwargs, params, macs, spec}`` of one draw of space ``name`` inside ``limits``."""
    check_space(name)
    if name in CELL_SPACES:
        return CELL_SPACES[name].sample_network(rng, tuple(limits), input_size, in_chans, num_classes)
    spec = ANYNET_SPACES[name].sample(rng, limits, input_size, in_chans, num_classes)
    return {"model": "anynet_cifar", "model_kwargs": spec.model_kwargs(), "spec": spec.to_dict(),
            "params": count_params(spec, in_chans, num_classes), "macs": count_macs(spec, input_size, in_chans, num_classes)}
