"""Long-tailed training sets cut from balanced ones (the CIFAR-LT construction, Cao et al. 2019; Cui et al. 2019).

Class c of C keeps ``floor(n_max * rho ** (-c / (C - 1)))`` training images (exponential profile, imbalance ratio
rho = n_max / n_min), picked by a seeded shuffle of that class; the test set stays balanced; a balanced validation
split of ``val_per_class`` images per class is taken from the training images no class kept (the decoupling paper
picks tau on such a split). Works on any data set whose labels are known (Fashion-MNIST, image folders).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError


def long_tail_counts(n_max: int, num_classes: int, rho: float) -> list[int]:
    """Training images per class: ``floor(n_max * rho ** (-c / (C - 1)))`` for c = 0 .. C-1."""
    if num_classes < 2 or rho < 1 or n_max < 1:
        raise InvalidInputError(f"a long tail needs >= 2 classes, imbalance ratio >= 1 and n_max >= 1 "
                                f"(got {num_classes}, {rho}, {n_max})")
    # the exponent in exact arithmetic where it is whole: rho ** -(c / (C-1)) without a 0.999... under floor
    return [int(math.floor(n_max * rho ** (-c / (num_classes - 1)) + 1e-9)) for c in range(num_classes)]


@dataclass(frozen=True)
class LongTailSplit:
    train: np.ndarray  # indices into the balanced training set, sorted
    validation: np.ndarray  # balanced: val_per_class of each class, none of them in train
    counts: list[int]  # training images per class (class order)


def long_tail_split(labels: np.ndarray, rho: float, n_max: int | None = None, val_per_class: int = 100,
                    seed: int = 0) -> LongTailSplit:
    """Cut a long-tailed training split and a balanced validation split from balanced ``labels``."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    available = min(int((labels == c).sum()) for c in classes)
    n_max = available - val_per_class if n_max is None else n_max
    if n_max + val_per_class > available:
        raise InvalidInputError(f"a head class of {n_max} images plus {val_per_class} for validation needs "
                                f"{n_max + val_per_class} images per class; the data has {available}: lower lt_max_per_class")
    counts = long_tail_counts(n_max, len(classes), rho)
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for c, count in zip(classes, counts):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(len(members))]
        train.append(members[:count])
        validation.append(members[len(members) - val_per_class :])  # from the far end: never the kept images
    return LongTailSplit(np.sort(np.concatenate(train)), np.sort(np.concatenate(validation)), counts)


@dataclass(frozen=True)
class ShotSplit:
    """Many / medium / few-shot classes by training count, with the thresholds used."""

    many_above: float
    few_below: float
    rule: str

    def group(self, count: int) -> str:
        return "many" if count > self.many_above else "few" if count < self.few_below else "medium"


#: ImageNet-LT (the paper's data): counts 5 .. 1280, many > 100, few < 20
IMAGENET_LT = {"n_min": 5, "n_max": 1280, "many_above": 100, "few_below": 20}


def scaled_shot_split(counts: list[int]) -> ShotSplit:
    """The paper's thresholds moved to this data set: each keeps its place on the log-count axis between the
    smallest and the largest class (ImageNet-LT: 20 and 100 between 5 and 1280)."""
    low, high = math.log(min(counts)), math.log(max(counts))
    ref_low, ref_high = math.log(IMAGENET_LT["n_min"]), math.log(IMAGENET_LT["n_max"])

    def place(threshold: float) -> float:
        position = (math.log(threshold) - ref_low) / (ref_high - ref_low)
        return math.exp(low + position * (high - low))

    many, few = place(IMAGENET_LT["many_above"]), place(IMAGENET_LT["few_below"])
    rule = (f"many > {many:.0f}, few < {few:.0f} training images: ImageNet-LT's 100 and 20 kept at their place on the "
            f"log-count axis (5..1280 there, {min(counts)}..{max(counts)} here)")
    return ShotSplit(many, few, rule)
