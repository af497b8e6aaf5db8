"""Seeded, class-stratified subsets of a labelled training set (the 1 % / 10 % label regimes)."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InvalidInputError


def dataset_labels(dataset: torch.utils.data.Dataset) -> np.ndarray | None:
    """Labels of every item, read without loading images (None when the data set has none)."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = dataset_labels(dataset.dataset)
        return None if inner is None else inner[np.asarray(dataset.indices)]
    labels = getattr(dataset, "labels", None)
    return None if labels is None else np.asarray(labels)


def labelled_fraction(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``round(fraction * n_c)`` images of every class c (at least one), chosen by ``seed``.

    The same (labels, fraction, seed) always gives the same images; a smaller fraction's images are a subset
    of a larger one's (each class is one seeded shuffle, cut at different lengths).
    """
    if not 0 < fraction <= 1:
        raise InvalidInputError(f"label fraction must be in (0, 1], got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(len(members))]
        chosen.append(members[: max(1, int(round(fraction * len(members))))])
    return np.sort(np.concatenate(chosen))


def validation_fifth(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(validation, fit) positions of ``count`` labelled images: a seeded fifth held out to choose a learning rate.

    The linear probe validates on it, and a supervised run with ``eval_split: probe_fifth`` does too, so a probe and
    a supervised baseline tuned over one grid are chosen on the very same images.
    """
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed + 1))
    held = max(1, count // 5)
    return order[:held], order[held:]
