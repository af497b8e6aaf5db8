"""Comparing design spaces by their error distributions (NDS, arXiv 1905.13214, Sec. 4).

- Error EDF: F(e) = (1/n) sum_i 1[e_i < e].
- Complexity-normalized EDF: F^(e) = sum_i w_i 1[e_i < e] with weights that make every space's complexity
  distribution uniform over a shared range: equal-width bins over (low, high), w = 1 / hist[bin] / num_bins,
  models outside the open range dropped, every bin required to be non-empty.
- KS test between two spaces' (unweighted) errors: D = sup_e |F1(e) - F2(e)|.
- Random-search efficiency: the minimum error of k models drawn with the normalized weights, repeated
  floor(n / k) times, as mean and standard deviation against k.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import InvalidInputError


def edf(errors: Sequence[float], weights: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(errors sorted ascending, cumulative share of models up to each): the (weighted) EDF's steps."""
    values = np.asarray(errors, float)
    if values.size == 0:
        raise InvalidInputError("an EDF needs at least one error")
    w = np.full(values.size, 1.0 / values.size) if weights is None else np.asarray(weights, float)
    if w.shape != values.shape:
        raise InvalidInputError(f"{values.size} errors but {w.size} weights")
    order = np.argsort(values, kind="stable")
    return values[order], np.cumsum(w[order])


def edf_at(errors: Sequence[float], threshold: float, weights: Sequence[float] | None = None) -> float:
    """F(threshold): the (weighted) share of models with error strictly below ``threshold``."""
    values = np.asarray(errors, float)
    w = np.full(values.size, 1.0 / values.size) if weights is None else np.asarray(weights, float)
    return float(w[values < threshold].sum())


@dataclass(frozen=True)
class Normalized:
    """The models kept inside the range (``kept``: indices into the input) and their weights (summing to 1)."""

    kept: np.ndarray
    weights: np.ndarray
    edges: np.ndarray


def normalized_weights(complexities: Sequence[float], num_bins: int, low: float, high: float) -> Normalized:
    """NDS's normalization weights over equal-width complexity bins on the open range (low, high)."""
    if num_bins < 1:
        raise InvalidInputError(f"num_bins must be >= 1, got {num_bins}")
    if not low < high:
        raise InvalidInputError(f"complexity range needs low < high, got ({low}, {high})")
    c = np.asarray(complexities, float)
    kept = np.flatnonzero((c > low) & (c < high))
    hist, edges = np.histogram(c[kept], bins=num_bins, range=(low, high))
    empty = np.flatnonzero(hist == 0)
    if empty.size:
        b = int(empty[0])
        raise InvalidInputError(f"complexity bin {b} [{edges[b]:.6g}, {edges[b + 1]:.6g}) holds no model "
                                f"({empty.size} of {num_bins} bins are empty); use fewer bins or a narrower range")
    bins = np.clip(np.digitize(c[kept], edges) - 1, 0, num_bins - 1)
    return Normalized(kept, 1.0 / hist[bins] / num_bins, edges)


@dataclass(frozen=True)
class KSResult:
    statistic: float
    pvalue: float
    n1: int
    n2: int


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """sup_e |F_a(e) - F_b(e)| over every observed error (both EDFs are right-continuous steps)."""
    x, y = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    points = np.concatenate([x, y])
    fa = np.searchsorted(x, points, side="right") / x.size
    fb = np.searchsorted(y, points, side="right") / y.size
    return float(np.max(np.abs(fa - fb)))


def ks_test(a: Sequence[float], b: Sequence[float]) -> KSResult:
    """Two-sample KS test: our statistic; the p-value from scipy's distribution of D (exact for small samples)."""
    from scipy import stats

    if len(a) < 1 or len(b) < 1:
        raise InvalidInputError(f"a KS test needs errors in both samples, got {len(a)} and {len(b)}")
    statistic = ks_statistic(a, b)
    return KSResult(statistic, float(stats.ks_2samp(a, b).pvalue), len(a), len(b))


@dataclass(frozen=True)
class SearchEfficiency:
    k: int
    mean: float
    std: float
    repeats: int


def random_search_efficiency(errors: Sequence[float], weights: Sequence[float] | None = None, ks: Sequence[int] | None = None,
                             seed: int = 0, min_repeats: int = 1) -> list[SearchEfficiency]:
    """Min error of k draws (with replacement, by ``weights``), repeated floor(n / k) times, for k = 1, 2, 4 ... n."""
    values = [float(e) for e in errors]
    n = len(values)
    if n == 0:
        raise InvalidInputError("random-search efficiency needs at least one error")
    w = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, float)
    cumulative = list(np.cumsum(w))
    ks = list(ks) if ks is not None else [2**i for i in range(int(np.log2(n)) + 1)]
    rng = random.Random(seed)
    result = []
    for k in ks:
        repeats = max(min_repeats, n // k)
        minima = [min(rng.choices(values, cum_weights=cumulative, k=k)) for _ in range(repeats)]
        result.append(SearchEfficiency(k, float(np.mean(minima)), float(np.std(minima)), repeats))
    return result
