"""A search space of categorical choices, as the sample-based searches (LaNAS, random search, evolution) see it.

An architecture is a tuple of option indices, one per choice variable: the six edges of a NAS-Bench-201 cell (five
ops each), or the ``res`` / ``out*`` / ``mid*`` / ``op*`` variables of a DMaskingNAS space. The space supplies what
the searches need and nothing else: a one-hot encoding (the input of LaNAS's linear models), uniform sampling, a
one-variable mutation (evolution), enumeration when the space is small enough to list, and an optional
feasibility predicate (a hard budget, e.g. latency from the lookup table) that every proposal must satisfy.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from ..errors import InvalidInputError

Arch = tuple[int, ...]

#: spaces up to this many architectures can be listed (routing the whole space through the LaNAS tree)
ENUMERABLE = 200_000


@dataclass(frozen=True)
class CategoricalSpace:
    """``names[i]`` takes one of ``sizes[i]`` options; ``feasible`` (optional) rejects architectures over a budget."""

    name: str
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    feasible: Callable[[Arch], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if len(self.names) != len(self.sizes) or not self.sizes or min(self.sizes) < 1:
            raise InvalidInputError(f"space '{self.name}': needs one option count >= 1 per variable")

    @property
    def size(self) -> int:
        return math.prod(self.sizes)

    @property
    def dims(self) -> int:
        return sum(self.sizes)

    def encode(self, archs: Arch | list[Arch] | np.ndarray) -> np.ndarray:
        """One-hot encoding: [dims] for one architecture, [n, dims] for several."""
        array = np.asarray(archs, dtype=np.int64)
        single = array.ndim == 1
        array = array.reshape(-1, len(self.sizes))
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        out = np.zeros((len(array), self.dims), dtype=np.float64)
        out[np.arange(len(array))[:, None], array + offsets] = 1.0
        return out[0] if single else out

    def is_feasible(self, arch: Arch) -> bool:
        return self.feasible is None or bool(self.feasible(arch))

    def sample(self, rng: random.Random) -> Arch:
        """A uniformly random architecture (not checked against ``feasible``; see :meth:`sample_feasible`)."""
        return tuple(rng.randrange(n) for n in self.sizes)

    def sample_feasible(self, rng: random.Random, accept: Callable[[Arch], bool] | None = None,
                        tries: int = 20_000) -> Arch | None:
        """Rejection sampling: a uniform architecture that is feasible and passes ``accept``; None after ``tries``."""
        for _ in range(tries):
            arch = self.sample(rng)
            if self.is_feasible(arch) and (accept is None or accept(arch)):
                return arch
        return None

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """``arch`` with one variable (drawn uniformly among those with a choice) set to a different option."""
        free = [i for i, n in enumerate(self.sizes) if n > 1]
        if not free:
            return arch
        index = rng.choice(free)
        option = rng.randrange(self.sizes[index] - 1)
        option += option >= arch[index]  # any option but the current one, uniformly
        return arch[:index] + (option,) + arch[index + 1:]

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture (feasible or not), in lexicographic order."""
        if self.size > ENUMERABLE:
            raise InvalidInputError(f"space '{self.name}' holds {self.size:.3g} architectures, too many to list "
                                    f"(limit {ENUMERABLE:,}); sample it instead")
        return itertools.product(*(range(n) for n in self.sizes))

    @property
    def enumerable(self) -> bool:
        return self.size <= ENUMERABLE

    def check(self, arch: Arch) -> Arch:
        arch = tuple(int(a) for a in arch)
        if len(arch) != len(self.sizes) or any(not 0 <= a < n for a, n in zip(arch, self.sizes)):
            raise InvalidInputError(f"{arch} is not an architecture of space '{self.name}' (sizes {self.sizes})")
        return arch
