"""The sample-based search algorithms by name: what ``mobilezoo search lanas --algorithm`` and the studies pick."""

from __future__ import annotations

from ..errors import InvalidInputError
from .discrete_space import CategoricalSpace
from .lanas import LaNAS
from .searchers import RandomSearch, RegularizedEvolution, Searcher

ALGORITHMS = ("lanas", "random", "evolution")


def make_searcher(algorithm: str, space: CategoricalSpace, seed: int = 0, **settings) -> Searcher:
    """A searcher by name (``lanas``, ``random``, ``evolution``) with its settings; unknown names are an error."""
    classes = {"lanas": LaNAS, "random": RandomSearch, "evolution": RegularizedEvolution}
    if algorithm not in classes:
        raise InvalidInputError(f"unknown search algorithm '{algorithm}'; use one of {', '.join(ALGORITHMS)}")
    return classes[algorithm](space, seed, **settings)
