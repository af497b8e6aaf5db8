"""Weighted k-nearest-neighbour classification on features (the InstDisc / MoCo monitor).

Cosine similarity to every bank feature; the k most similar vote for their class with weight exp(sim / t).
Defaults k = 200, t = 0.1, as the MoCo CIFAR demo and InstDisc use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


@torch.no_grad()
def knn_predict(queries: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor, num_classes: int,
                k: int = 200, t: float = 0.1, chunk: int = 1024) -> torch.Tensor:
    """Class scores [Nq, num_classes] of each query from its k most cosine-similar bank features."""
    bank = F.normalize(bank.float(), dim=1)
    k = min(k, bank.shape[0])
    scores = []
    for start in range(0, queries.shape[0], chunk):
        similarity = F.normalize(queries[start : start + chunk].float(), dim=1) @ bank.T
        top, index = similarity.topk(k, dim=1)
        votes = torch.zeros(top.shape[0], num_classes, dtype=top.dtype)
        votes.scatter_add_(1, bank_labels[index], (top / t).exp())
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(queries: torch.Tensor, labels: torch.Tensor, bank: torch.Tensor, bank_labels: torch.Tensor,
                 num_classes: int, k: int = 200, t: float = 0.1) -> float:
    """Top-1 (%) of the weighted kNN classifier."""
    predicted = knn_predict(queries, bank, bank_labels, num_classes, k, t).argmax(1)
    return 100.0 * (predicted == labels).float().mean().item()
