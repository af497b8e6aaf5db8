"""NAS-cell design spaces (NDS, arXiv 1905.13214; UnNAS, arXiv 2003.12056): cells sampled as the released configs were.

A space is its op list, its node count and how a cell's output is formed; a sample draws, per intermediate node, two
ops uniformly from the list and two inputs uniformly **with replacement** from the states before the node (both
inputs may be the same state). Networks build with ``darts_net`` (:class:`~mobilezoo.models.darts.Genotype`).

- ``darts``: the 8 DARTS ops *including* ``none``, 4 nodes, output = all 4 nodes. UnNAS's 500 released CIFAR-10
  configs (``configs/sample_based/darts/cifar10``) are such samples kept when the network they describe (CIFAR layout,
  width 16, 20 cells, 10 classes) has between 684,858 and 905,594 parameters, the band those 500 span: 17% of
  unfiltered samples land in it, and the kept ones' parameter quantiles (5/25/50/75/95%: 688k 707k 734k 781k 833k)
  match the released configs' (688k 703k 734k 778k 840k). With that band the released statistics follow: 410 of 500
  hold a ``none`` (here ~80%), 486 of 500 repeat an input within a node (here ~96%), heavier ops drawn more often
  (sep_conv_5x5 19% of edges, none 9.6%).
- ``enas``: ENAS's 5 ops (sep_conv 3x3 / 5x5, avg / max pool 3x3, identity), 5 nodes, output = the *loose ends* (the
  nodes no other node takes as input), as NDS describes the space (its Table 2). No band: a sweep compares it with
  other spaces at matched complexity through normalized EDFs.

In a sweep (``spaces: [darts, enas, resnet]``), :meth:`CellSpace.sample_network` draws an unfiltered cell pair and a
CIFAR-layout network width and depth (NDS samples w and d too; the lists here are scaled down to the CPU sweeps'
10k-400k parameter range), kept when its parameters and conv + linear MACs lie inside the sweep's ranges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from ..errors import InvalidInputError
from ..models.darts import SEARCH_OPS, DartsNetwork, Genotype, Node, make_op
from .complexity import ComplexityRange

#: network widths and depths a sweep draws with a cell pair (CIFAR layout)
NETWORK_WIDTHS = (4, 6, 8, 12, 16)
NETWORK_DEPTHS = (3, 4, 5, 6, 8)

#: the network a space's complexity band is measured on (UnNAS's sample-based CIFAR-10 configs)
REFERENCE_NETWORK = {"channels": 16, "layers": 20, "layout": "cifar", "num_classes": 10}


@dataclass(frozen=True)
class CellSpace:
    """One NAS-cell design space: ops drawn uniformly, inputs uniformly with replacement, an output rule."""

    name: str
    ops: tuple[str, ...]
    nodes: int
    output: str  # "all": every intermediate node; "loose_ends": the nodes no node takes as input
    params_band: tuple[int, int] | None = None  # keep a sample only if the reference network's params lie in it
    description: str = ""

    def draw_unfiltered(self, rng: random.Random) -> Genotype:
        """One cell pair as drawn, before any complexity band."""
        cells = [self._cell(rng) for _ in range(2)]
        concat = [self._concat(cell) for cell in cells]
        return Genotype(cells[0], cells[1], concat[0], concat[1])

    def draw(self, rng: random.Random, max_tries: int = 100_000) -> Genotype:
        """One sample of the space: drawn until the reference network's parameter count is inside the band."""
        for _ in range(max_tries):
            genotype = self.draw_unfiltered(rng)
            if self.params_band is None or self.params_band[0] <= reference_params(genotype) <= self.params_band[1]:
                return genotype
        raise InvalidInputError(f"no sample of space '{self.name}' fell in its parameter band {self.params_band} "
                                f"after {max_tries} draws")

    def sample_network(self, rng: random.Random, limits: tuple[ComplexityRange, ...] = (), input_size: int = 32,
                       in_chans: int = 3, num_classes: int = 10, max_tries: int = 100_000) -> dict:
        """A sweep's network of this space: ``darts_net`` kwargs with params and MACs inside every range of
        ``limits`` (params counted without building; MACs traced only for draws whose params fit)."""
        from ..profile.thop_style import thop_style_macs

        for _ in range(max_tries):
            genotype = self.draw_unfiltered(rng)
            kwargs = {"genotype": genotype.to_dict(), "channels": rng.choice(NETWORK_WIDTHS),
                      "layers": rng.choice(NETWORK_DEPTHS), "layout": "cifar"}
            params = network_params(genotype, kwargs["channels"], kwargs["layers"], "cifar", num_classes)
            if not all(limit.contains(params) for limit in limits if limit.metric == "params"):
                continue
            network = DartsNetwork(genotype, kwargs["channels"], kwargs["layers"], "cifar", num_classes, in_chans)
            macs = thop_style_macs(network, (in_chans, input_size, input_size), conv_fc_only=True)
            if all(limit.contains(macs) for limit in limits if limit.metric == "macs"):
                return {"model": "darts_net", "model_kwargs": kwargs, "params": params, "macs": macs,
                        "spec": {"space": self.name, **kwargs}}
        ranges = " and ".join(str(limit) for limit in limits)
        raise InvalidInputError(f"no network of space '{self.name}' with {ranges} after {max_tries} draws; widen the range")

    def _cell(self, rng: random.Random) -> tuple[Node, ...]:
        return tuple(((rng.choice(self.ops), rng.randrange(node + 2)), (rng.choice(self.ops), rng.randrange(node + 2)))
                     for node in range(self.nodes))

    def _concat(self, cell: tuple[Node, ...]) -> tuple[int, ...]:
        every = tuple(range(2, self.nodes + 2))
        if self.output == "all":
            return every
        used = {source for node in cell for _, source in node}
        return tuple(state for state in every if state not in used)  # the last node is never used: never empty


SPACES: dict[str, CellSpace] = {
    "darts": CellSpace("darts", SEARCH_OPS, 4, "all", params_band=(684_858, 905_594),
                       description="DARTS ops incl. none, 4 nodes, all nodes out; UnNAS's released complexity band"),
    "enas": CellSpace("enas", ("sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3", "skip_connect"), 5,
                      "loose_ends", description="ENAS ops, 5 nodes, loose ends out (NDS)"),
}


def get_cell_space(name: str) -> CellSpace:
    if name not in SPACES:
        raise InvalidInputError(f"unknown NAS-cell space '{name}'; spaces: {', '.join(SPACES)}")
    return SPACES[name]


# --- parameters without building the network ---------------------------------------------------------------


@lru_cache(maxsize=None)
def _op_params(op: str, channels: int, stride: int) -> int:
    return sum(p.numel() for p in make_op(op, channels, stride).parameters())


@lru_cache(maxsize=None)
def _skeleton(nodes: int, multipliers: tuple[int, int], channels: int, layers: int, layout: str, num_classes: int
              ) -> tuple[int, tuple[tuple[int, bool], ...]]:
    """Parameters of everything but the ops (stems, preprocessing, classifier) and each cell's (width, reduction)."""
    empty = tuple(((("none", 0), ("none", 0)),) * nodes)
    normal, reduce = (tuple(range(2, 2 + m)) for m in multipliers)
    network = DartsNetwork(Genotype(empty, empty, normal, reduce), channels, layers, layout, num_classes)
    base = sum(p.numel() for p in network.parameters())
    return base, tuple((cell.channels, cell.reduction) for cell in network.cells)


def network_params(genotype: Genotype, channels: int, layers: int, layout: str = "cifar", num_classes: int = 10) -> int:
    """Parameters of ``darts_net(genotype, channels, layers, layout, num_classes)``, from cached op counts (a
    rejection sampler needs thousands; building each network takes ~0.1 s)."""
    base, cells = _skeleton(len(genotype.normal), (len(genotype.normal_concat), len(genotype.reduce_concat)),
                            channels, layers, layout, num_classes)
    total = base
    for width, reduction in cells:
        nodes = genotype.reduce if reduction else genotype.normal
        total += sum(_op_params(op, width, 2 if reduction and source < 2 else 1) for node in nodes for op, source in node)
    return total


reference_params: Callable[[Genotype], int] = lambda genotype: network_params(genotype, **REFERENCE_NETWORK)  # noqa: E731
