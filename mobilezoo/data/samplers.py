"""Training samplers: instance-, class- and square-root-balanced, progressively balanced (arXiv 1910.09217).

Class j is drawn with probability p_j = n_j^q / sum_i n_i^q: q = 1 instance-balanced (an ordinary shuffle),
q = 0 class-balanced, q = 1/2 square-root; progressively balanced moves linearly from q = 1 to q = 0 over the
epochs, p_j(e) = (1 - e / (E - 1)) p_j^IB + e / (E - 1) p_j^CB (the reference code's ``linspace(0, 1, epochs)``).
A drawn class contributes one of its images, uniformly. Every epoch has as many draws as the data set has images.

Each epoch's order is a function of (seed, epoch) only, so resumed runs see the same data; under DDP every rank
computes the same epoch and takes ``order[rank::world]`` (equal shards, the remainder dropped).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from ..errors import InvalidInputError

SAMPLERS = ("instance", "class", "sqrt", "progressive")
EXPONENT = {"instance": 1.0, "sqrt": 0.5, "class": 0.0}


def class_probabilities(counts: Sequence[int], q: float) -> np.ndarray:
    """p_j = n_j^q / sum_i n_i^q (classes with no image get 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.where(counts > 0, np.power(counts, q, where=counts > 0, out=np.zeros_like(counts)), 0.0)
    return weights / weights.sum()


def progressive_probabilities(counts: Sequence[int], epoch: int, epochs: int) -> np.ndarray:
    mix = epoch / (epochs - 1) if epochs > 1 else 1.0
    return (1 - mix) * class_probabilities(counts, 1.0) + mix * class_probabilities(counts, 0.0)


class ShardedSampler(torch.utils.data.Sampler[int]):
    """Shuffled indices from a (seed, epoch) generator, split across ranks as ``order[rank::world]``.

    Shards have equal length (the tail that does not divide is dropped), so the union of the ranks'
    k-th batches is exactly the single-process k-th batch of ``world`` times the size.
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        self.size, self.seed, self.rank, self.world, self.shuffle = size, seed, rank, world, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)

    def _order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.size)
        return torch.randperm(self.size, generator=self._generator())

    def __iter__(self) -> Iterator[int]:
        order = self._order()
        usable = self.size - self.size % self.world
        return iter(order[:usable][self.rank :: self.world].tolist())

    def __len__(self) -> int:
        return self.size // self.world


class ClassAwareSampler(ShardedSampler):
    """Draws a class by p_j (``kind``: class, sqrt or progressive), then one of its images uniformly."""

    def __init__(self, labels: Sequence[int], kind: str, seed: int, epochs: int = 1, rank: int = 0, world: int = 1) -> None:
        if kind not in ("class", "sqrt", "progressive"):
            raise InvalidInputError(f"sampler must be one of {', '.join(SAMPLERS)}, got {kind!r}")
        labels = np.asarray(labels)
        super().__init__(len(labels), seed, rank, world)
        self.kind, self.epochs = kind, epochs
        self.classes = int(labels.max()) + 1
        self.members = [torch.from_numpy(np.flatnonzero(labels == c)) for c in range(self.classes)]
        self.counts = [len(m) for m in self.members]

    def probabilities(self, epoch: int | None = None) -> np.ndarray:
        epoch = self.epoch if epoch is None else epoch
        if self.kind == "progressive":
            return progressive_probabilities(self.counts, epoch, self.epochs)
        return class_probabilities(self.counts, EXPONENT[self.kind])

    def _order(self) -> torch.Tensor:
        generator = self._generator()
        p = torch.from_numpy(self.probabilities())
        drawn = torch.multinomial(p, self.size, replacement=True, generator=generator)
        order = torch.empty(self.size, dtype=torch.long)
        for c in range(self.classes):
            where = (drawn == c).nonzero().flatten()
            if len(where):
                picks = torch.randint(self.counts[c], (len(where),), generator=generator)
                order[where] = self.members[c][picks]
        return order


def make_sampler(kind: str, labels: Sequence[int] | None, size: int, seed: int, epochs: int, rank: int = 0,
                 world: int = 1) -> ShardedSampler:
    """The training sampler named ``kind`` (``instance`` needs no labels)."""
    if kind == "instance":
        return ShardedSampler(size, seed, rank, world)
    if labels is None:
        raise InvalidInputError(f"sampler={kind} balances classes: it needs a labelled data set")
    return ClassAwareSampler(labels, kind, seed, epochs, rank, world)
