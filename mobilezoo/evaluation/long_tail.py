"""Accuracy on long-tailed data: overall, per class, and the many / medium / few-shot class groups."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import torch

from ..data.long_tail import ShotSplit, scaled_shot_split


@dataclass
class LongTailReport:
    overall: float  # top-1 over all test images, %
    per_class: list[float]  # top-1 of each class, %
    many: float | None  # mean per-class top-1 of each group, % (None: the group is empty)
    medium: float | None
    few: float | None
    groups: dict[str, list[int]]  # class indices of each group
    thresholds: str  # how the groups were cut
    samples: int = 0  # test images

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def long_tail_report(predictions: torch.Tensor, labels: torch.Tensor, train_counts: Sequence[int],
                     split: ShotSplit | None = None) -> LongTailReport:
    """Overall and per-class top-1, and the group means (the paper averages per-class accuracy in each group)."""
    split = split or scaled_shot_split(list(train_counts))
    per_class = []
    for c in range(len(train_counts)):
        members = labels == c
        per_class.append(100.0 * (predictions[members] == c).float().mean().item() if members.any() else float("nan"))
    groups: dict[str, list[int]] = {"many": [], "medium": [], "few": []}
    for c, count in enumerate(train_counts):
        groups[split.group(count)].append(c)

    def mean(classes: list[int]) -> float | None:
        return sum(per_class[c] for c in classes) / len(classes) if classes else None

    overall = 100.0 * (predictions == labels).float().mean().item()
    return LongTailReport(overall, per_class, mean(groups["many"]), mean(groups["medium"]), mean(groups["few"]),
                          groups, split.rule, int(labels.numel()))
