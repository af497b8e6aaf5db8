"""The DARTS search supernet (arXiv 1806.09055; the search network of UnNAS, arXiv 2003.12056).

Every cell holds every edge of the DARTS cell: node ``i`` (of 4) takes all ``i + 2`` earlier states, and each edge
is a mixed op, the softmax(alpha)-weighted sum of the 8 ops of :data:`~mobilezoo.models.darts.SEARCH_OPS` (``none``
included). The normal cells share one alpha matrix [14, 8], the reduction cells another. As in the reference, the
search network's BNs have no affine parameters and a pooling op is followed by one; the cell outputs its last 4
nodes; CIFAR layout (a 3x3 stem of 3C channels, reductions at 1/3 and 2/3 of the depth).

:meth:`DartsSupernet.genotype` derives the cell with DARTS's rule: per node, the two incoming edges whose strongest
non-``none`` op weighs most, each with that op (so a derived cell never holds ``none`` and its two inputs differ).

The supernet is a backbone like any zoo model (``forward_features`` / ``forward_head``, ``num_features``,
``num_classes=0`` for pooled features), so every pretext task's head wraps it unchanged (:mod:`mobilezoo.train.pretext`).
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError
from ..models.darts import SEARCH_OPS, STEPS, FactorizedReduce, Genotype, _relu_conv_bn, make_op

#: edges of one cell: node i takes every earlier state (2 + i of them)
EDGES = sum(2 + node for node in range(STEPS))


class MixedOp(nn.Module):
    """One edge: every op of the space, summed with the edge's op weights."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        ops = []
        for name in SEARCH_OPS:
            op = make_op(name, channels, stride, affine=False)
            if "pool" in name:  # pooled features get their own scale before they are mixed
                op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
            ops.append(op)
        self.ops = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class SearchCell(nn.Module):
    def __init__(self, c_pp: int, c_p: int, channels: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_pp, channels, affine=False) if reduction_prev
                            else _relu_conv_bn(c_pp, channels, 1, 1, 0, affine=False))
        self.preprocess1 = _relu_conv_bn(c_p, channels, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(MixedOp(channels, 2 if reduction and source < 2 else 1)
                                   for node in range(STEPS) for source in range(node + 2))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(STEPS):
            states.append(sum(self.edges[offset + j](state, weights[offset + j]) for j, state in enumerate(states)))
            offset += len(states) - 1
        return torch.cat(states[-STEPS:], dim=1)


class DartsSupernet(nn.Module):
    """stem -> search cells -> global pool -> linear; architecture parameters ``alphas_normal`` / ``alphas_reduce``."""

    def __init__(self, channels: int = 16, layers: int = 8, num_classes: int = 10, in_chans: int = 3,
                 stem_multiplier: int = 3, seed: int = 0) -> None:
        super().__init__()
        if layers < 3 or channels < 2 or channels % 2:
            raise InvalidInputError(f"a DARTS supernet needs >= 3 cells and an even width >= 2, got {layers} and {channels}")
        self.channels, self.layers, self.in_chans = channels, layers, in_chans
        stem = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_chans, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem))
        c_pp, c_p, c_curr, reduction_prev = stem, stem, channels, False
        cells = []
        for index in range(layers):
            reduction = index in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cells.append(SearchCell(c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, STEPS * c_curr
        self.cells = nn.ModuleList(cells)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = self.head_hidden_size = c_p
        self.num_classes = num_classes
        self.classifier = nn.Linear(c_p, num_classes) if num_classes > 0 else nn.Identity()
        generator = torch.Generator().manual_seed(seed)  # the reference's 1e-3 * randn: near-uniform mixtures
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(EDGES, len(SEARCH_OPS), generator=generator))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(EDGES, len(SEARCH_OPS), generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce]

    def weight_parameters(self) -> Iterator[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return (p for p in self.parameters() if id(p) not in arch)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        normal, reduce = F.softmax(self.alphas_normal, dim=-1), F.softmax(self.alphas_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return s1

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = torch.flatten(self.global_pool(x), 1)
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def op_weights(self) -> dict[str, torch.Tensor]:
        """softmax(alpha) of both cell types, [14, 8] each (rows: edges node by node; columns: SEARCH_OPS)."""
        return {"normal": F.softmax(self.alphas_normal.detach(), -1), "reduce": F.softmax(self.alphas_reduce.detach(), -1)}

    def genotype(self) -> Genotype:
        """The derived cell pair (DARTS's rule, see the module docstring)."""
        weights = self.op_weights()
        return Genotype(derive_cell(weights["normal"]), derive_cell(weights["reduce"]))


def derive_cell(weights: torch.Tensor) -> tuple:
    """Per node, the two incoming edges with the strongest non-``none`` op, each with that op (ties: lower index)."""
    none = SEARCH_OPS.index("none")
    nodes, offset = [], 0
    for node in range(STEPS):
        rows = weights[offset:offset + node + 2].clone()
        rows[:, none] = -1.0  # never picked, never counts towards an edge's strength
        strength, best = rows.max(dim=1)
        order = sorted(range(node + 2), key=lambda j: (-float(strength[j]), j))[:2]
        nodes.append(tuple((SEARCH_OPS[int(best[j])], j) for j in order))
        offset += node + 2
    return tuple(nodes)
