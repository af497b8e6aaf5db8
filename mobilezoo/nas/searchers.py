"""Sample-based architecture search behind one small interface, and the two baselines LaNAS is measured against.

A :class:`Searcher` proposes an architecture (``ask``), receives its score (``tell``) and keeps the history.
It never proposes the same architecture twice (the scores here are deterministic: a table lookup or a one-shot
evaluation, so a repeat would waste a sample) and only proposes feasible ones. :func:`run_search` drives any
searcher against an objective for a number of evaluations.

Baselines, with the hyper-parameters of the NAS-Bench-201 papers' runs (xautodl ``R_EA`` / ``RANDOM``):

- :class:`RandomSearch`: uniform sampling without replacement;
- :class:`RegularizedEvolution` (aging evolution, Real et al. 2019): a population of 10 random architectures;
  then repeatedly draw 3 members with replacement, mutate the best one (one variable to a different option),
  evaluate the child, add it and discard the oldest member.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass, field
from typing import Callable

from ..errors import InvalidInputError
from .discrete_space import Arch, CategoricalSpace


@dataclass(frozen=True)
class Evaluation:
    arch: Arch
    score: float


@dataclass
class SearchResult:
    algorithm: str
    seed: int
    history: list[Evaluation] = field(default_factory=list)

    @property
    def best(self) -> Evaluation:
        return max(self.history, key=lambda e: e.score)

    def best_so_far(self) -> list[float]:
        values, top = [], float("-inf")
        for evaluation in self.history:
            top = max(top, evaluation.score)
            values.append(top)
        return values

    def evaluations_to_reach(self, target: float) -> int | None:
        """How many evaluations until a score >= ``target`` was seen (None: never)."""
        for index, evaluation in enumerate(self.history):
            if evaluation.score >= target:
                return index + 1
        return None


class Searcher:
    """Base class: ``ask`` -> architecture (None when no unseen feasible one is left), ``tell`` its score."""

    algorithm = "searcher"

    def __init__(self, space: CategoricalSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)
        self.history: list[Evaluation] = []
        self.seen: set[Arch] = set()
        self._pending: Arch | None = None
        self._pool: list[Arch] | None = None  # feasible architectures, for enumerable spaces

    # --- helpers for subclasses ---------------------------------------------------------------------

    def feasible_pool(self) -> list[Arch]:
        """Every feasible architecture (enumerable spaces only), in a fixed order; computed once."""
        if self._pool is None:
            self._pool = [a for a in self.space.enumerate() if self.space.is_feasible(a)]
        return self._pool

    def random_unseen(self, accept: Callable[[Arch], bool] | None = None) -> Arch | None:
        """A uniformly random feasible architecture not proposed yet (and passing ``accept``), or None."""
        if self.space.enumerable:
            pool = [a for a in self.feasible_pool() if a not in self.seen and (accept is None or accept(a))]
            return self.rng.choice(pool) if pool else None
        return self.space.sample_feasible(self.rng, lambda a: a not in self.seen and (accept is None or accept(a)))

    # --- the interface -------------------------------------------------------------------------------

    def propose(self) -> Arch | None:
        raise NotImplementedError

    def observe(self, arch: Arch, score: float) -> None:
        """Subclass hook after a score is recorded."""

    def ask(self) -> Arch | None:
        if self._pending is not None:
            raise InvalidInputError(f"{self.algorithm}: tell() the score of {self._pending} before asking again")
        arch = self.propose()
        if arch is not None:
            if arch in self.seen:
                raise RuntimeError(f"{self.algorithm} proposed {arch} twice")  # a bug, not bad input
            self.seen.add(arch)
            self._pending = arch
        return arch

    def tell(self, arch: Arch, score: float) -> None:
        if arch != self._pending:
            raise InvalidInputError(f"{self.algorithm}: told the score of {arch}, but the pending proposal is {self._pending}")
        self._pending = None
        self.history.append(Evaluation(arch, float(score)))
        self.observe(arch, float(score))


def run_search(searcher: Searcher, objective: Callable[[Arch], float], evaluations: int,
               stop_at: float | None = None, progress: Callable[[Evaluation], None] | None = None) -> SearchResult:
    """Ask/evaluate/tell ``evaluations`` times (fewer if the space runs out, or once ``stop_at`` is reached)."""
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise InvalidInputError(f"the evaluation budget must be a whole number >= 1, got {evaluations!r}")
    for _ in range(evaluations):
        arch = searcher.ask()
        if arch is None:
            break
        searcher.tell(arch, objective(arch))
        if progress is not None:
            progress(searcher.history[-1])
        if stop_at is not None and searcher.history[-1].score >= stop_at:
            break
    return SearchResult(searcher.algorithm, searcher.seed, list(searcher.history))


class RandomSearch(Searcher):
    """Uniform random sampling without replacement."""

    algorithm = "random"

    def __init__(self, space: CategoricalSpace, seed: int = 0) -> None:
        super().__init__(space, seed)
        self._order: list[Arch] | None = None  # a listable space: one seeded shuffle, walked in order

    def propose(self) -> Arch | None:
        if not self.space.enumerable:
            return self.random_unseen()
        if self._order is None:
            self._order = [a for a in self.feasible_pool() if a not in self.seen]
            self.rng.shuffle(self._order)
        while self._order:
            arch = self._order.pop()
            if arch not in self.seen:
                return arch
        return None


class RegularizedEvolution(Searcher):
    """Aging evolution: tournament of ``sample_size`` drawn with replacement, one mutation, oldest member dies."""

    algorithm = "evolution"

    def __init__(self, space: CategoricalSpace, seed: int = 0, population_size: int = 10, sample_size: int = 3,
                 mutation_tries: int = 100) -> None:
        super().__init__(space, seed)
        if population_size < 1 or not 1 <= sample_size:
            raise InvalidInputError(f"evolution needs population_size >= 1 and sample_size >= 1, got "
                                    f"{population_size} and {sample_size}")
        self.population_size = population_size
        self.sample_size = sample_size
        self.mutation_tries = mutation_tries
        self.population: collections.deque[Evaluation] = collections.deque()

    def propose(self) -> Arch | None:
        if len(self.history) < self.population_size:
            return self.random_unseen()
        contenders = [self.rng.choice(self.population) for _ in range(self.sample_size)]
        parent = max(contenders, key=lambda e: e.score).arch
        child = parent
        for _ in range(self.mutation_tries):
            # mutate the parent; when every one-step child was seen, keep walking from the last child
            child = self.space.mutate(child if child in self.seen and self.rng.random() < 0.5 else parent, self.rng)
            if child not in self.seen and self.space.is_feasible(child):
                return child
        return self.random_unseen()  # the neighbourhood is exhausted (the original would re-evaluate a child
        # it has seen; with deterministic scores that only spends a sample, so we never propose one twice)

    def observe(self, arch: Arch, score: float) -> None:
        self.population.append(Evaluation(arch, score))
        if len(self.population) > self.population_size:
            self.population.popleft()  # aging: the oldest member dies, whatever its score

