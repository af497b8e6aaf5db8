"""Relational-graph networks ("Graph Structure of Neural Networks", arXiv 2007.06559): an MLP and ResNets whose
layers are :mod:`.relational` layers over one WS-flex graph of 64 nodes, widened until their effective MACs match
the dense network's.

- ``relgraph_mlp``: flatten -> dense stem (``stem_width`` = 512) + BN + ReLU -> 3 relational linear layers
  (``width``) + BN + ReLU -> linear classifier. The paper's CIFAR-10 MLP; 2,364,416 MACs at the complete graph.
- ``relgraph_resnet34`` / ``relgraph_resnet50``: torchvision's ResNet-34 / -50 (7x7 stem and max-pool, stride on
  the 3x3, fc) with every 3x3 / 1x1 conv of every block relational; stem and fc dense. Projection shortcuts are
  relational in ResNet-34 and dense in ResNet-50, as in the reference code (graph2nn makes the projection
  relational only for its ``group*`` transforms; the published ResNet-50 width, 412, matches the MACs only so).
- Widths: ``match_width`` scales the first stage's width (the others keep their ratios) to the smallest value
  whose effective MACs are >= the dense network's: MLP 512 -> 1522, ResNet-34 64 -> 165, ResNet-50 256 -> 412 for
  the paper's best graphs, registered as ``relgraph_{mlp,resnet34,resnet50}_best``.

A graph is a :class:`RelationalGraph` (nodes, sparsity = k / n, rewiring p, seed; sparsity 1 is the complete
graph). Its clustering C and average path length L are the coordinates of the paper's analysis.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Iterator, List, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInputError
from ..graphs import Graph, ws_flex
from ..graphs.metrics import average_path_length, clustering_coefficient
from ..registry import ModelEntry, default_cfg, register_model
from .base import TorchvisionResNetLayout, ZooModel
from .blocks import drop_path
from .relational import (RelationalConv2d, RelationalLinear, adjacency_with_self_loops, check_masks, masks_folded,
                         node_sizes)

NODES = 64


@dataclass(frozen=True)
class RelationalGraph:
    """A WS-flex relational graph: ``nodes`` nodes, average degree ``sparsity * nodes``, rewiring ``p``, ``seed``."""

    nodes: int = NODES
    sparsity: float = 1.0
    p: float = 0.0
    seed: int = 1

    @property
    def complete(self) -> bool:
        return self.sparsity * self.nodes >= self.nodes - 1

    def build(self) -> Graph:
        return _build_graph(self)

    def measures(self) -> tuple[float, float]:
        """(clustering C, average path length L)."""
        graph = self.build()
        return clustering_coefficient(graph), average_path_length(graph)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def coerce(cls, value: "RelationalGraph | dict | None") -> "RelationalGraph":
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"nodes", "sparsity", "p", "seed"}
            if unknown:
                raise InvalidInputError(f"graph: unknown field '{sorted(unknown)[0]}'; fields: nodes, sparsity, p, seed")
            return cls(**value)
        raise InvalidInputError(f"graph must be a mapping with nodes, sparsity, p, seed; got {value!r}")


@lru_cache(maxsize=256)
def _build_graph(spec: RelationalGraph) -> Graph:
    n = spec.nodes
    if spec.complete:
        return Graph(n, tuple((u, v) for u in range(n) for v in range(u + 1, n)), "complete", {}, spec.seed)
    return ws_flex(n, spec.sparsity * n, spec.p, spec.seed)


#: the paper's best graphs (graph2nn configs/baselines/*/best), with their published (C, L)
BEST_GRAPHS = {
    "mlp": (RelationalGraph(NODES, 0.128001, 0.128063, 4), (0.448, 2.479)),
    "resnet34": (RelationalGraph(NODES, 0.138784, 0.245008, 3), (0.367, 2.287)),
    "resnet50": (RelationalGraph(NODES, 0.316271, 0.073388, 8), (0.636, 1.814)),
}


# --- effective MACs, analytically ------------------------------------------------------------------------------


def mask_density(graph: RelationalGraph, in_channels: int, out_channels: int) -> float:
    """Share of ones in the relational mask of an ``in -> out`` layer (1 for the complete graph)."""
    if graph.complete:
        return 1.0
    adjacency = adjacency_with_self_loops(graph.build())
    out_sizes, in_sizes = node_sizes(out_channels, graph.nodes), node_sizes(in_channels, graph.nodes)
    return float(out_sizes @ adjacency @ in_sizes) / (in_channels * out_channels)


def mlp_macs(graph: RelationalGraph, width: int, inputs: int = 3072, stem_width: int = 512, layers: int = 3,
             num_classes: int = 10) -> float:
    """Effective MACs of ``relgraph_mlp`` (linear layers only, the paper's count)."""
    total = inputs * stem_width + width * num_classes
    c_in = stem_width
    for _ in range(layers):
        total += mask_density(graph, c_in, width) * c_in * width
        c_in = width
    return total


RESNET_DEPTHS = {34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}
RESNET_WIDTHS = {34: (64, 128, 256, 512), 50: (256, 512, 1024, 2048)}
STEM_WIDTH = 64


def _resnet_layers(depth: int, widths: Sequence[int], side: int = 224) -> Iterator[tuple[str, int, int, int, int]]:
    """(kind, in, out, kernel, output side) of every conv in the stages; kind = 'rel' or 'proj'."""
    block, depths = RESNET_DEPTHS[depth]
    c_in, s = STEM_WIDTH, side // 4  # stem stride 2, max-pool stride 2
    for stage, (count, width) in enumerate(zip(depths, widths)):
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            s_out = s // stride
            if block == "basic":
                yield "rel", c_in, width, 3, s_out
                yield "rel", width, width, 3, s_out
            else:
                inner = round(width / 4)
                yield "rel", c_in, inner, 1, s
                yield "rel", inner, inner, 3, s_out
                yield "rel", inner, width, 1, s_out
            if stride != 1 or c_in != width:
                yield "proj", c_in, width, 1, s_out
            c_in, s = width, s_out


def resnet_macs(graph: RelationalGraph, depth: int, widths: Sequence[int], num_classes: int = 1000, side: int = 224) -> float:
    """Effective conv + fc MACs of a relational ResNet (the published baseline convention)."""
    relational_proj = depth == 34
    stem = 3 * STEM_WIDTH * 49 * (side // 2) ** 2
    total = stem + widths[-1] * num_classes
    for kind, c_in, c_out, kernel, s in _resnet_layers(depth, widths, side):
        density = mask_density(graph, c_in, c_out) if kind == "rel" or relational_proj else 1.0
        total += density * c_in * c_out * kernel * kernel * s * s
    return total


def match_width(macs_of: Callable[[int], float], target: float, start: int, limit: int = 16_384) -> int:
    """The smallest width >= ``start`` whose effective MACs reach ``target`` (never below it, as the paper)."""
    width = start
    while macs_of(width) < target:
        width += 1
        if width > limit:
            raise InvalidInputError(f"no width up to {limit} reaches {target:,.0f} MACs; use a denser graph")
    # a sparse graph only widens: step back while a smaller width still reaches the target
    while width > NODES and macs_of(width - 1) >= target:
        width -= 1
    return width


def scaled_widths(base: Sequence[int], first: int) -> list[int]:
    """Stage widths with the first set to ``first`` and the others keeping their ratio to it."""
    return [first if i == 0 else int(round(first * w / base[0])) for i, w in enumerate(base)]


class _RelationalNetwork:
    """What every relational network does for the tools: exports trace folded masks; a checkpoint must carry this
    network's graph (``graph_spec``)."""

    @contextlib.contextmanager
    def export_view(self, example: torch.Tensor) -> Iterator[nn.Module]:
        with masks_folded(self):
            yield self

    def check_checkpoint(self, state: dict[str, torch.Tensor]) -> None:
        check_masks(self, state, self.graph_spec)


# --- the MLP ------------------------------------------------------------------------------------------------


class RelGraphMLP(_RelationalNetwork, ZooModel):
    """flatten -> dense stem -> relational layers -> classifier."""

    classifier_name = "fc"

    def __init__(self, graph: RelationalGraph | dict | None = None, width: int | str = 512, stem_width: int = 512,
                 layers: int = 3, num_classes: int = 10, in_chans: int = 3, input_size: int = 32) -> None:
        super().__init__()
        self.graph_spec = RelationalGraph.coerce(graph)
        inputs = in_chans * input_size * input_size
        if width == "match":  # widen until the effective MACs reach the dense network's
            dense = RelationalGraph(self.graph_spec.nodes)
            target = mlp_macs(dense, stem_width, inputs, stem_width, layers, num_classes)
            width = match_width(lambda w: mlp_macs(self.graph_spec, w, inputs, stem_width, layers, num_classes), target,
                                stem_width)
        graph = self.graph_spec.build()
        self.in_chans, self.input_size, self.width, self.stem_width, self.layers = in_chans, input_size, int(width), stem_width, layers
        self.fixed_input_size = (input_size, input_size)  # the flattening fixes it
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(inputs, stem_width), nn.BatchNorm1d(stem_width), nn.ReLU(inplace=True))
        body, c_in = OrderedDict(), stem_width
        for index in range(layers):
            body[f"layer{index + 1}"] = nn.Sequential(RelationalLinear(c_in, self.width, graph),
                                                      nn.BatchNorm1d(self.width), nn.ReLU(inplace=True))
            c_in = self.width
        self.body = nn.Sequential(body)
        self.feature_info = [{"module": f"body.layer{i + 1}", "num_chs": self.width, "reduction": 1} for i in range(layers)]
        self.num_features = self.head_hidden_size = self.width
        self.num_classes = num_classes
        self.global_pool = "avg"
        self.fc = self.make_classifier(num_classes)

    def feature_sequence(self) -> list[str]:
        return ["stem", *(f"body.{name}" for name in self.body._modules)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's features as a 1x1 map ([B, C, 1, 1]), the shape timm's contract gives unpooled features."""
        return self.body(self.stem(x))[:, :, None, None]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "" and self.num_classes == 0:
            return x  # pass-through (timm's reset_classifier(0, '')): the 1x1 map
        x = torch.flatten(x, 1)  # "pooling" a 1x1 map
        return x if pre_logits else self.fc(self.head_dropout(x))

    def feature_taps(self, x: torch.Tensor, sequence: List[str], taps: List[bool]) -> List[torch.Tensor]:
        """Each level as a 1x1 map ([B, C, 1, 1]), as forward_features gives its output: timm's NCHW levels."""
        return [level[:, :, None, None] for level in super().feature_taps(x, sequence, taps)]

    def feature_map_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        return (1, 1)  # the vector of features, as a 1x1 map

    def export_config(self) -> dict:
        return {"graph": self.graph_spec.to_dict(), "width": self.width, "stem_width": self.stem_width,
                "layers": self.layers, "input_size": self.input_size}



# --- the ResNets --------------------------------------------------------------------------------------------


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels)


class RelBasicBlock(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int, graph: Graph, relational_proj: bool) -> None:
        super().__init__()
        self.conv1 = RelationalConv2d(c_in, width, 3, graph, stride, 1)
        self.bn1 = _bn(width)
        self.conv2 = RelationalConv2d(width, width, 3, graph, 1, 1)
        self.bn2 = _bn(width)
        self.relu = nn.ReLU(inplace=True)
        self.drop_path_rate = 0.0  # stochastic depth on the residual branch (create_model(drop_path_rate=...))
        self.downsample = _projection(c_in, width, stride, graph, relational_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(drop_path(self.bn2(self.conv2(y)), self.drop_path_rate, self.training) + shortcut)


class RelBottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int, graph: Graph, relational_proj: bool) -> None:
        super().__init__()
        inner = round(width / 4)
        self.conv1 = RelationalConv2d(c_in, inner, 1, graph)
        self.bn1 = _bn(inner)
        self.conv2 = RelationalConv2d(inner, inner, 3, graph, stride, 1)
        self.bn2 = _bn(inner)
        self.conv3 = RelationalConv2d(inner, width, 1, graph)
        self.bn3 = _bn(width)
        self.relu = nn.ReLU(inplace=True)
        self.drop_path_rate = 0.0  # stochastic depth on the residual branch (create_model(drop_path_rate=...))
        self.downsample = _projection(c_in, width, stride, graph, relational_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(drop_path(self.bn3(self.conv3(y)), self.drop_path_rate, self.training) + shortcut)


def _projection(c_in: int, width: int, stride: int, graph: Graph, relational: bool) -> nn.Module | None:
    if stride == 1 and c_in == width:
        return None
    conv = RelationalConv2d(c_in, width, 1, graph, stride) if relational else nn.Conv2d(c_in, width, 1, stride, bias=False)
    return nn.Sequential(conv, _bn(width))


class RelGraphResNet(_RelationalNetwork, TorchvisionResNetLayout):
    """torchvision's ResNet layout (``conv1 bn1 relu maxpool layer1..4 avgpool fc``) with relational blocks."""


    def __init__(self, depth: int = 34, graph: RelationalGraph | dict | None = None,
                 widths: Sequence[int] | str | None = None, num_classes: int = 1000, in_chans: int = 3) -> None:
        super().__init__()
        if depth not in RESNET_DEPTHS:
            raise InvalidInputError(f"relational ResNets come in depths {sorted(RESNET_DEPTHS)}, not {depth}")
        self.depth, self.graph_spec, self.in_chans = depth, RelationalGraph.coerce(graph), in_chans
        base = RESNET_WIDTHS[depth]
        if widths is None:
            widths = list(base)
        elif widths == "match":
            target = resnet_macs(RelationalGraph(self.graph_spec.nodes), depth, base, num_classes)
            first = match_width(lambda w: resnet_macs(self.graph_spec, depth, scaled_widths(base, w), num_classes), target,
                                base[0])
            widths = scaled_widths(base, first)
        widths = [int(w) for w in widths]
        smallest = NODES if depth == 34 else 4 * NODES  # a bottleneck's inner width is a quarter of its width
        if len(widths) != 4 or min(widths) < smallest:
            raise InvalidInputError(f"widths must be 4 stage widths >= {smallest} (one channel per node in every "
                                    f"relational layer), got {widths}")
        self.widths = widths
        graph = self.graph_spec.build()
        block_name, depths = RESNET_DEPTHS[depth]
        block = RelBasicBlock if block_name == "basic" else RelBottleneck
        self.conv1 = nn.Conv2d(in_chans, STEM_WIDTH, 7, 2, 3, bias=False)
        self.bn1 = _bn(STEM_WIDTH)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in = STEM_WIDTH
        self.feature_info = [{"module": "relu", "num_chs": STEM_WIDTH, "reduction": 2}]
        for stage, (count, width) in enumerate(zip(depths, widths)):
            blocks = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(block(c_in, width, stride, graph, relational_proj=depth == 34))
                c_in = width
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
            self.feature_info.append({"module": f"layer{stage + 1}", "num_chs": width, "reduction": 4 * 2 ** stage})
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = self.head_hidden_size = c_in
        self.num_classes = num_classes
        self.fc = self.make_classifier(num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # He init on the layer's real fan-out (its mask density)
                density = float(module.mask.mean()) if isinstance(module, RelationalConv2d) else 1.0
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1] * density
                nn.init.normal_(module.weight, 0.0, float(np.sqrt(2.0 / fan_out)))


    def export_config(self) -> dict:
        return {"depth": self.depth, "graph": self.graph_spec.to_dict(), "widths": self.widths}



# --- registry -----------------------------------------------------------------------------------------------


def _mlp_builder(graph: Any = None, width: int | str = 512, stem_width: int = 512, layers: int = 3, num_classes: int = 10,
                 in_chans: int = 3, input_size: int = 32) -> RelGraphMLP:
    return RelGraphMLP(graph, width, stem_width, layers, num_classes, in_chans, input_size)


def _best_mlp(width: int | str = 1522, num_classes: int = 10, in_chans: int = 3, input_size: int = 32) -> RelGraphMLP:
    return RelGraphMLP(BEST_GRAPHS["mlp"][0], width, 512, 3, num_classes, in_chans, input_size)


def _resnet_builder(depth: int, best: bool = False) -> Callable[..., RelGraphResNet]:
    published = {34: 165, 50: 412}

    def build(graph: Any = None, widths: Sequence[int] | str | None = None, num_classes: int = 1000,
              in_chans: int = 3) -> RelGraphResNet:
        if best:
            graph = BEST_GRAPHS[f"resnet{depth}"][0]
            widths = widths or scaled_widths(RESNET_WIDTHS[depth], published[depth])
        return RelGraphResNet(depth, graph, widths, num_classes, in_chans)

    return build


CIFAR = {"mean": (0.4914, 0.4822, 0.4465), "std": (0.2470, 0.2435, 0.2616)}
for _name, _builder, _cfg, _published, _description in (
    ("relgraph_mlp", _mlp_builder, default_cfg(32, num_classes=10, classifier="fc", first_conv="stem.1", pool_size=(1, 1), fixed_input_size=True, **CIFAR),
     {"macs": 2_364_416, "note": "complete graph = the dense 512-d 5-layer MLP (conv + linear MACs)"},
     "5-layer relational MLP (stem, 3 relational layers, head); pass graph={sparsity, p, seed}, width (or 'match')"),
    ("relgraph_mlp_best", _best_mlp, default_cfg(32, num_classes=10, classifier="fc", first_conv="stem.1", pool_size=(1, 1), fixed_input_size=True, **CIFAR),
     {"macs": 2_364_416, "width": 1522, "C": 0.448, "L": 2.479, "cifar10_top1_err": 32.05},
     "the paper's best MLP graph (C 0.448, L 2.479), width 1522: effective MACs of the dense 512-d MLP"),
    ("relgraph_resnet34", _resnet_builder(34), default_cfg(224, classifier="fc", first_conv="conv1"),
     {"macs": 3_663_761_408}, "relational ResNet-34; pass graph, widths (or 'match')"),
    ("relgraph_resnet34_best", _resnet_builder(34, True), default_cfg(224, classifier="fc", first_conv="conv1"),
     {"macs": 3_663_761_408, "widths": [165, 330, 660, 1320], "C": 0.367, "L": 2.287, "imagenet_top1_err": 24.57},
     "the paper's best ResNet-34 graph (C 0.367, L 2.287), stage widths 165-1320"),
    ("relgraph_resnet50", _resnet_builder(50), default_cfg(224, classifier="fc", first_conv="conv1"),
     {"macs": 4_089_184_256}, "relational ResNet-50 (projections dense, as the reference); pass graph, widths"),
    ("relgraph_resnet50_best", _resnet_builder(50, True), default_cfg(224, classifier="fc", first_conv="conv1"),
     {"macs": 4_089_184_256, "widths": [412, 824, 1648, 3296], "C": 0.636, "L": 1.814, "imagenet_top1_err": 22.42},
     "the paper's best ResNet-50 graph (C 0.636, L 1.814), stage widths 412-3296"),
):
    register_model(ModelEntry(name=_name, builder=_builder, family="relgraph", cfg=_cfg, published=_published,
                              paper="arXiv:2007.06559", description=_description))
