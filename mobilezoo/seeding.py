"""The process-wide state a run sets: the torch, numpy and Python random generators and torch's thread count.

One place sets it (:func:`seed_everything`) and gives back what was there before, so a caller can restore it:
``with seeded(0, threads=1): ...`` for a block, or ``with Trainer(config) as trainer: trainer.fit()`` (searches
too) for a run.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch


@dataclass
class ProcessState:
    """What :func:`seed_everything` changes, captured so that :meth:`restore` puts it back."""

    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] | None
    numpy_rng: Any
    python_rng: Any
    threads: int

    @classmethod
    def capture(cls) -> "ProcessState":
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
        return cls(torch.get_rng_state(), cuda, np.random.get_state(), random.getstate(), torch.get_num_threads())

    def restore(self) -> None:
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        np.random.set_state(self.numpy_rng)
        random.setstate(self.python_rng)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)


def seed_everything(seed: int, threads: int | None = None) -> ProcessState:
    """Seed torch (CPU and CUDA), numpy and ``random`` with ``seed``; set torch's threads when ``threads`` is given
    (0 or None: leave them). Returns the state before, for :meth:`ProcessState.restore`."""
    before = ProcessState.capture()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return before


@contextlib.contextmanager
def seeded(seed: int, threads: int | None = None) -> Iterator[None]:
    """Run the block seeded (and with ``threads``), then restore the generators and thread count it found."""
    before = seed_everything(seed, threads)
    try:
        yield
    finally:
        before.restore()
