"""Tabular search spaces: every architecture's score is known, so a search's evaluation is a lookup.

- ``nasbench201``: the NAS-Bench-201 cell space (6 edges x 5 ops = 15,625 cells) with the clean ("baseline")
  test accuracy shipped in the ``analog-nasbench`` wheel, as a fraction in [0, 1] (the scale of LaNAS's Cp = 0.1) (``pip install analog-nasbench``; optional). What that
  table documents and what we infer is written in the README (section "Searching with LaNAS").
- ``synthetic``: a small seeded table whose score is a linear function of the one-hot encoding plus a planted
  optimum: a known answer for tests and for checking the algorithms quickly.

The analog-nasbench file is a pickle. It is read with an unpickler that admits only the two plain record classes
the file holds (mapped to inert local classes, the package itself is never imported), so a tampered file cannot
run code; anything else in it is an error.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError
from ..fileio import check_regular_file
from .discrete_space import Arch, CategoricalSpace

#: NAS-Bench-201's op list in its documented order (xautodl ``NAS_BENCH_201``); see NB201_INDEX_TO_OP
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: the cell's edges in NAS-Bench-201's string order: (to <- from)
NB201_EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


@dataclass(frozen=True)
class TabularBenchmark:
    """A space and the score of each of its architectures (higher is better)."""

    space: CategoricalSpace
    scores: dict[Arch, float]
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.scores) != self.space.size:
            raise InvalidInputError(f"table '{self.space.name}' scores {len(self.scores)} of {self.space.size} architectures")

    def score(self, arch: Arch) -> float:
        return self.scores[arch]

    @property
    def best_score(self) -> float:
        return max(self.scores.values())

    @property
    def optima(self) -> list[Arch]:
        top = self.best_score
        return sorted(a for a, s in self.scores.items() if s == top)


# --- NAS-Bench-201 via analog-nasbench ----------------------------------------------------------------------


class _Record:
    """Stands in for analog-nasbench's record classes: attributes only, no behaviour."""


class _TableUnpickler(pickle.Unpickler):
    ALLOWED = {("analognasbench.data", "Architecture"), ("analognasbench.data", "DriftMeasurement")}

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        if (module, name) in self.ALLOWED:
            return _Record
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the benchmark file")


def _analog_nasbench_file() -> str:
    import importlib.metadata as metadata

    try:
        dist = metadata.distribution("analog-nasbench")
    except metadata.PackageNotFoundError:
        raise MissingDependencyError("the NAS-Bench-201 table needs analog-nasbench: pip install 'analog-nasbench==0.1.3' "
                                     "(or pip install 'mobilezoo[nasbench]')") from None
    return str(dist.locate_file("analognasbench/data.anb"))


#: the shipped table is 5.6 MB; a file far larger is not it (and must not be read into memory)
MAX_TABLE_BYTES = 64 * 2**20


def _accuracy(key: object, record: object) -> tuple[tuple[int, ...], float]:
    """One cell's (architecture, clean test accuracy as a fraction), each checked: a tampered table is an error
    naming the cell and the field, never a NaN or a 1e400 that a search would then chase."""
    if not isinstance(key, tuple) or len(key) != len(NB201_EDGES) or not all(
            isinstance(i, int) and 0 <= i < len(NB201_OPS) for i in key):
        raise ValueError(f"key {str(key)[:60]} is not a cell (6 op indices in 0..4)")
    value = getattr(record, "baseline_accuracy", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"cell {key} has no numeric baseline_accuracy ({type(value).__name__})")
    if not np.isfinite(value) or not 0.0 <= value <= 100.0:
        raise ValueError(f"cell {key} has baseline_accuracy {value!r}, not a percentage in [0, 100]")
    return key, float(value) / 100


def read_nasbench201(path: str) -> dict[tuple[int, ...], float]:
    """Read analog-nasbench's table at ``path``: a regular file of plausible size, only its two record classes,
    every accuracy a finite percentage; a one-line error naming the file (and the cell and field) otherwise."""
    fix = "reinstall it: pip install --force-reinstall 'analog-nasbench==0.1.3'"
    try:
        size = check_regular_file(path, "NAS-Bench-201 table").stat().st_size
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}; {fix}") from None
    if size > MAX_TABLE_BYTES:
        raise InvalidInputError(f"NAS-Bench-201 table '{path}' is {size:,} bytes, more than the {MAX_TABLE_BYTES:,} "
                                f"the real one could be; {fix}")
    try:
        with open(path, "rb") as handle:  # whole (size checked): a forged length in the stream then cannot
            raw = handle.read(MAX_TABLE_BYTES + 1)  # make the unpickler ask the file for gigabytes
        data = _TableUnpickler(io.BytesIO(raw)).load()
        if not isinstance(data, dict):
            raise ValueError(f"its top level is a {type(data).__name__}, not a table of cells")
        return dict(_accuracy(key, record) for key, record in data.items())
    except (OSError, pickle.UnpicklingError, AttributeError, TypeError, ValueError, EOFError, MemoryError,
            OverflowError, RecursionError) as exc:  # a forged length or nesting in the pickle stream included
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InvalidInputError(f"'{path}' is not a readable analog-nasbench table ({type(exc).__name__}: {reason}); "
                                f"{fix}") from None


def load_nasbench201() -> TabularBenchmark:
    """The 15,625 NAS-Bench-201 cells with analog-nasbench's clean test accuracy (a fraction: % / 100)."""
    path = _analog_nasbench_file()
    scores = read_nasbench201(path)
    space = CategoricalSpace("nasbench201", NB201_EDGES, (len(NB201_OPS),) * len(NB201_EDGES))
    if set(scores) != set(space.enumerate()):
        raise InvalidInputError(f"'{path}' does not hold the 15,625 NAS-Bench-201 cells; reinstall analog-nasbench")
    return TabularBenchmark(space, scores, "NAS-Bench-201 cells, clean test accuracy (fraction) from analog-nasbench 0.1.3")


# --- a synthetic table with a known answer ------------------------------------------------------------------


def synthetic_table(variables: int = 4, options: int = 4, seed: int = 0, noise: float = 0.0) -> TabularBenchmark:
    """Score = w . onehot(arch) (+ seeded noise), w ~ N(0, 1): the optimum is each variable's best option."""
    space = CategoricalSpace(f"synthetic{variables}x{options}", tuple(f"v{i}" for i in range(variables)),
                             (options,) * variables)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=space.dims)
    archs = list(space.enumerate())
    values = space.encode(archs) @ weights + noise * rng.normal(size=len(archs))
    return TabularBenchmark(space, {a: float(v) for a, v in zip(archs, values)},
                            f"synthetic linear table, {variables} variables x {options} options, seed {seed}")


TABULAR: dict[str, Callable[[], TabularBenchmark]] = {"nasbench201": load_nasbench201, "synthetic": synthetic_table}


def tabular_benchmark(name: str) -> TabularBenchmark:
    """A tabular space by name; an unknown name is a one-line error listing the known ones."""
    if name not in TABULAR:
        raise InvalidInputError(f"unknown tabular space '{name}'; known: {', '.join(TABULAR)} "
                                "(or give a DMaskingNAS space YAML, e.g. configs/search/fmnist_small.yaml)")
    return TABULAR[name]()
