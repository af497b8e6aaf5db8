"""Graphs that cover the (clustering C, average path length L) plane, as the relational-graph study samples them.

The paper draws WS-flex graphs of 64 nodes over a grid of average degrees (evenly spaced in sqrt(k) between
sqrt(4) and sqrt(n - 2)), rewiring probabilities (evenly spaced in sqrt(p)) and seeds, keeps those with sparsity
k / n >= 0.125, measures C and L, and keeps one graph per cell of a grid over C in [0, 1] and L in [1, 4.5] (a
15 x 15 grid gives its 52-graph set). We do the same with a smaller candidate grid (the full 200 x 300 x 30 one
is 1.8 million graphs) and keep, per cell, the candidate nearest the cell's centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .generators import ws_flex
from .metrics import average_path_length, clustering_coefficient


@dataclass(frozen=True)
class SampledGraph:
    nodes: int
    sparsity: float
    p: float
    seed: int
    clustering: float
    path_length: float
    cell: tuple[int, int]  # (C bin, L bin)


def candidate_grid(nodes: int = 64, degrees: int = 30, probabilities: int = 30, seeds: int = 2,
                   min_sparsity: float = 0.125) -> list[tuple[float, float, int]]:
    """(sparsity, p, seed) triples of the sampling grid."""
    roots = np.linspace(math.sqrt(4), math.sqrt(nodes - 2), degrees)
    ks = roots**2
    ps = np.linspace(0.0, 1.0, probabilities) ** 2
    return [(float(k / nodes), float(p), seed) for k in ks if k / nodes >= min_sparsity for p in ps
            for seed in range(1, seeds + 1)]


def sample_relational_graphs(nodes: int = 64, c_bins: int = 15, l_bins: int = 15, l_range: tuple[float, float] = (1.0, 4.5),
                             degrees: int = 30, probabilities: int = 30, seeds: int = 2,
                             min_sparsity: float = 0.125, progress=None) -> list[SampledGraph]:
    """One graph per occupied (C, L) cell, the candidate nearest the cell's centre; sorted by cell."""
    best: dict[tuple[int, int], tuple[float, SampledGraph]] = {}
    low, high = l_range
    for sparsity, p, seed in candidate_grid(nodes, degrees, probabilities, seeds, min_sparsity):
        try:
            graph = ws_flex(nodes, sparsity * nodes, p, seed)
        except Exception:  # noqa: BLE001 - a grid point with no connected draw is simply not a candidate
            continue
        c, l = clustering_coefficient(graph), average_path_length(graph)
        if progress is not None:
            progress()
        if not low <= l <= high:
            continue
        cell = (min(int(c * c_bins), c_bins - 1), min(int((l - low) / (high - low) * l_bins), l_bins - 1))
        centre = ((cell[0] + 0.5) / c_bins, (cell[1] + 0.5) / l_bins)
        distance = (c - centre[0]) ** 2 + ((l - low) / (high - low) - centre[1]) ** 2
        if cell not in best or distance < best[cell][0]:
            best[cell] = (distance, SampledGraph(nodes, sparsity, p, seed, c, l, cell))
    return [best[cell][1] for cell in sorted(best)]
