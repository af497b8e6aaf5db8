"""Relational layers ("Graph Structure of Neural Networks", You et al., arXiv 2007.06559): a layer's channels are
split into the nodes of a graph, and channel groups exchange messages only along the graph's edges (and to
themselves).

A relational linear / conv layer is a dense layer whose weight is multiplied by a fixed 0/1 mask: ``mask[o, i] = 1``
when output channel o's node and input channel i's node are linked or the same node. The mask is a buffer, so a
checkpoint or an export carries its graph, as RandWire's carries its wiring. Node sizes are near-equal (the first
``channels mod n`` nodes one larger) and assigned to nodes in the reference's order (a NumPy permutation seeded with
1), so widths, masks and mask densities are the paper's.

At inference the mask is a cost, not a saving: the layer still runs a dense kernel (no mobile runtime here speeds
up this block-sparse pattern), and unfolded it adds one multiply per weight per call. :func:`fold_masks` writes
``weight * mask`` into the weights (exactly, in place) and turns the multiply off; exports fold automatically.
MACs: the profiler reports the dense count and the *effective* count (each relational layer's dense MACs times its
mask density), the paper's convention for matching networks.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, InvalidInputError
from ..graphs import Graph


def node_sizes(channels: int, nodes: int, seed: int = 1) -> np.ndarray:
    """Channels per node: near-equal sizes, permuted as the reference does (NumPy legacy RNG, seed 1)."""
    if channels < nodes:
        raise InvalidInputError(f"a relational layer needs at least one channel per node: {channels} channels < {nodes} "
                                "nodes; widen the layer or use a smaller graph")
    sizes = np.full(nodes, channels // nodes, dtype=np.int64)
    sizes[: channels % nodes] += 1
    return np.random.RandomState(seed).permutation(sizes)


def adjacency_with_self_loops(graph: Graph) -> np.ndarray:
    adjacency = np.eye(graph.num_nodes, dtype=np.float32)
    for u, v in graph.edges:
        adjacency[u, v] = adjacency[v, u] = 1.0
    return adjacency


def relational_mask(graph: Graph, in_channels: int, out_channels: int) -> torch.Tensor:
    """[out_channels, in_channels] 0/1 mask: the node adjacency (with self-loops) expanded to channel blocks."""
    adjacency = adjacency_with_self_loops(graph)
    rows = np.repeat(adjacency, node_sizes(out_channels, graph.num_nodes), axis=0)
    return torch.from_numpy(np.repeat(rows, node_sizes(in_channels, graph.num_nodes), axis=1))


class _Masked:
    """Shared behaviour of the relational layers (``mask`` buffer, ``folded`` flag): density, masked weight, folding."""

    def mask_density(self) -> float:
        return float(self.mask.mean())

    def masked_weight(self) -> torch.Tensor:
        return self.weight if self.folded else self.weight * self.mask

    @torch.no_grad()
    def fold(self) -> None:
        """Write ``weight * mask`` into the weight and stop multiplying (outputs unchanged)."""
        if not self.folded:
            self.weight.copy_(self.masked_weight())
            self.folded = True


class RelationalLinear(_Masked, nn.Linear):
    """``nn.Linear`` whose weight is masked by a relational graph."""

    def __init__(self, in_features: int, out_features: int, graph: Graph, bias: bool = False) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self.register_buffer("mask", relational_mask(graph, in_features, out_features))
        self.folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight(), self.bias)


class RelationalConv2d(_Masked, nn.Conv2d):
    """``nn.Conv2d`` (groups = 1) whose weight is masked by a relational graph, channel by channel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, graph: Graph, stride: int = 1,
                 padding: int = 0, bias: bool = False) -> None:
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        # [out, in, 1, 1]: broadcasts over the kernel (no shape test in forward, so torch.fx can trace it)
        self.register_buffer("mask", relational_mask(graph, in_channels, out_channels)[:, :, None, None].contiguous())
        self.folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.masked_weight(), self.bias)


RELATIONAL_LAYERS = (RelationalLinear, RelationalConv2d)


def relational_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    return ((name, m) for name, m in model.named_modules() if isinstance(m, RELATIONAL_LAYERS))


def fold_masks(model: nn.Module) -> nn.Module:
    """Fold every relational layer's mask into its weight, in place (exact); returns ``model``."""
    for _, layer in relational_layers(model):
        layer.fold()
    return model


@contextlib.contextmanager
def masks_folded(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, masks are folded into the weights (what an exporter should trace); restored after."""
    saved = [(layer, layer.weight.detach().clone(), layer.folded) for _, layer in relational_layers(model)]
    try:
        fold_masks(model)
        yield model
    finally:
        with torch.no_grad():
            for layer, weight, folded in saved:
                layer.weight.copy_(weight)
                layer.folded = folded


def check_masks(model: nn.Module, state: dict[str, torch.Tensor], graph: object) -> None:
    """A checkpoint's masks must be this model's graph (the weights were trained for them)."""
    for name, layer in relational_layers(model):
        key = f"{name}.mask"
        if key in state and state[key].shape == layer.mask.shape and not torch.equal(state[key].to(layer.mask), layer.mask):
            raise CheckpointError(f"the checkpoint's '{key}' is another relational graph than this model's ({graph}); "
                                  "build the model with the graph the checkpoint was trained with")
