"""RandWire (Xie et al., arXiv 1904.01569): networks wired by random graph generators.

Each random stage draws its own graph, turns it into a DAG (edges from lower to higher index) and
maps every node to: sigmoid-weighted sum of inputs -> ReLU -> separable 3x3 -> BN. The wiring is
model configuration: every stage keeps its edge list in a buffer (``<stage>.wiring``), so it travels
with each checkpoint and export, and loading weights trained on other wiring fails, naming the stage.
"""


from typing import Any, List, Mapping, Sequence

import torch
from torch import nn

from ..errors import CheckpointError, InvalidInputError
from ..graphs import Graph, make_graph, to_dag
from ..registry import ModelEntry, default_cfg, register_model
from .base import ZooModel


class NodeOp(nn.Module):
    """One graph node: weighted aggregation -> ReLU -> depthwise 3x3 -> pointwise 1x1 -> BN."""

    def __init__(self, in_degree: int, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        # positive weights sigmoid(w) per in-edge; zeros start every edge at 0.5
        self.edge_weights = nn.Parameter(torch.zeros(in_degree)) if in_degree > 1 else None
        self.relu = nn.ReLU()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        if self.edge_weights is None:
            x = inputs[0]
        else:
            weights = torch.sigmoid(self.edge_weights)
            x = inputs[0] * weights[0]
            for index in range(1, len(inputs)):
                x = x + inputs[index] * weights[index]
        return self.bn(self.pointwise(self.depthwise(self.relu(x))))


class RandomStage(nn.Module):
    """A stage wired by ``graph``: input nodes (stride 2) read the stage input; outputs are averaged."""

    __jit_ignored_attributes__ = ["stage_graph"]
    # class-level types for TorchScript (an input node's empty list gives it nothing to infer from)
    predecessors: List[List[int]]
    output_nodes: List[int]

    def __init__(self, graph: Graph, in_channels: int, channels: int) -> None:
        super().__init__()
        dag = to_dag(graph)
        self.stage_graph = graph  # not `graph`: a scripted module has its own `graph`
        # plain lists of ints: TorchScript compiles the wiring loop over them
        self.predecessors = [list(p) for p in dag.predecessors]
        self.output_nodes = list(dag.outputs)
        self.nodes = nn.ModuleList(
            NodeOp(
                max(1, len(preds)),
                in_channels if not preds else channels,
                channels,
                2 if not preds else 1,
            )
            for preds in dag.predecessors
        )
        self.register_buffer("wiring", torch.tensor(graph.edges, dtype=torch.int64).reshape(-1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: List[torch.Tensor] = []
        for index, node in enumerate(self.nodes):  # index order is a topological order
            preds = self.predecessors[index]
            outputs.append(node([x]) if len(preds) == 0 else node([outputs[p] for p in preds]))
        result = outputs[self.output_nodes[0]]
        for index in self.output_nodes[1:]:
            result = result + outputs[index]
        return result / len(self.output_nodes)  # the unweighted mean of the output nodes


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int, relu_first: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU()] if relu_first else []
    layers += [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers)


class RandWire(ZooModel):
    """RandWire classifier in the small or regular regime (paper Table 1).

    Both regimes have modules ``conv1``..``conv5``: the small one a plain ``conv2`` and random ``conv3-5``,
    the regular one random ``conv2-5``.
    """

    classifier_name = "fc"
    __jit_ignored_attributes__ = ZooModel.__jit_ignored_attributes__ + ["wiring_config", "_sequence"]

    def __init__(
        self,
        graphs: Sequence[Graph],
        channels: int,
        regime: str = "small",
        num_classes: int = 1000,
        in_chans: int = 3,
        wiring_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if regime not in ("small", "regular"):
            raise InvalidInputError(f"regime must be 'small' or 'regular', got '{regime}'")
        expected = 3 if regime == "small" else 4
        if len(graphs) != expected:
            raise InvalidInputError(f"the {regime} regime has {expected} random stages, got {len(graphs)} graphs")
        self.in_chans = in_chans
        self.regime = regime
        self.wiring_config = dict(wiring_config or {})
        # plain (dense) stem convs: separable stems would give ~495M MACs instead of the paper's 583M
        self.conv1 = _conv_bn(in_chans, channels // 2, 3, 2, relu_first=False)
        sequence = ["conv1"]
        self.feature_info = [{"module": "conv1", "num_chs": channels // 2, "reduction": 2}]
        stage_in = channels // 2
        if regime == "small":
            self.conv2 = _conv_bn(channels // 2, channels, 3, 2, relu_first=True)
            sequence.append("conv2")
            self.feature_info.append({"module": "conv2", "num_chs": channels, "reduction": 4})
            stage_in, first_stage, widths = channels, 3, (channels, 2 * channels, 4 * channels)
        else:
            first_stage, widths = 2, (channels, 2 * channels, 4 * channels, 8 * channels)
        for offset, (graph, width) in enumerate(zip(graphs, widths)):
            name = f"conv{first_stage + offset}"
            setattr(self, name, RandomStage(graph, stage_in, width))
            sequence.append(name)
            self.feature_info.append({"module": name, "num_chs": width, "reduction": 2 ** (first_stage + offset)})
            stage_in = width
        self.head_conv = nn.Sequential(
            nn.ReLU(), nn.Conv2d(stage_in, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU()
        )
        sequence.append("head_conv")
        self._sequence = sequence
        self.num_features = self.head_hidden_size = 1280
        self.num_classes = num_classes
        self.fc = self.make_classifier(num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def feature_sequence(self) -> list[str]:
        return list(self._sequence)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))
        return self.head_conv(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return x if pre_logits else self.fc(self.head_dropout(x))

    def random_stages(self) -> dict[str, RandomStage]:
        return {name: m for name, m in self.named_children() if isinstance(m, RandomStage)}

    def wiring(self) -> dict[str, Any]:
        """The full wiring: generator settings plus every stage's graph (JSON-able)."""
        return {**self.wiring_config, "stages": {n: s.stage_graph.to_dict() for n, s in self.random_stages().items()}}

    def check_wiring(self, state: Mapping[str, torch.Tensor]) -> None:
        """Raise if a state dict was trained on other wiring, naming the first stage that differs."""
        for name, stage in self.random_stages().items():
            key = f"{name}.wiring"
            if key in state and not torch.equal(state[key].to(torch.int64).reshape(-1, 2), stage.wiring):
                raise CheckpointError(
                    f"checkpoint was trained with a different wiring in stage '{name}' "
                    f"({state[key].reshape(-1, 2).shape[0]} edges vs {stage.wiring.shape[0]} here); build the "
                    "model with the checkpoint's seed, or use mobilezoo.models.randwire.from_state_dict()"
                )

    def check_checkpoint(self, state: Mapping[str, torch.Tensor]) -> None:
        self.check_wiring(state)  # mobilezoo's loaders call this before any shape check

    def export_config(self) -> dict[str, Any]:
        return {"wiring": self.wiring()}  # the exported graph is exactly this wiring

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        self.check_wiring(state_dict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def stage_graphs(kind: str, params: Mapping[str, Any], regime: str, seed: int, nodes: int = 32) -> list[Graph]:
    """One independently drawn graph per random stage (seed ``f'{seed}/{stage}'``)."""
    counts = [nodes] * 3 if regime == "small" else [nodes // 2] + [nodes] * 3
    return [make_graph(kind, n, seed=f"{seed}/{index}", **params) for index, n in enumerate(counts)]


def build_randwire(
    kind: str, params: Mapping[str, Any], channels: int, regime: str, seed: int = 0, nodes: int = 32,
    num_classes: int = 1000, in_chans: int = 3,
) -> RandWire:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInputError(f"seed must be a whole number, got {seed!r}")
    graphs = stage_graphs(kind, params, regime, seed, nodes)
    config = {"kind": kind, "params": dict(params), "channels": channels, "regime": regime, "seed": seed, "nodes": nodes}
    return RandWire(graphs, channels, regime, num_classes, in_chans, wiring_config=config)


def from_state_dict(state: Mapping[str, torch.Tensor], channels: int, regime: str, num_classes: int | None = None) -> RandWire:
    """Rebuild a RandWire with exactly the wiring stored in a state dict, then load it."""
    names = sorted({k.split(".")[0] for k in state if k.endswith(".wiring")})
    graphs = []
    for name in names:
        edges = [tuple(e) for e in state[f"{name}.wiring"].tolist()]
        num_nodes = len({k.split(".")[2] for k in state if k.startswith(f"{name}.nodes.")})
        graphs.append(Graph(num_nodes, tuple(edges), "stored"))
    classes = num_classes if num_classes is not None else state["fc.weight"].shape[0]
    model = RandWire(graphs, channels, regime, classes, wiring_config={"kind": "stored", "channels": channels, "regime": regime})
    model.load_state_dict(dict(state))
    return model


# --- registry entries -------------------------------------------------------------------------------
# name -> (generator, params, C, regime, paper params (M), paper MACs (M))
_VARIANTS = {
    "randwire_ws_small": ("ws", {"k": 4, "p": 0.75}, 78, "small", 5.6, 583),
    "randwire_ws_c109": ("ws", {"k": 4, "p": 0.75}, 109, "regular", 31.9, 4000),
    "randwire_ws_c154": ("ws", {"k": 4, "p": 0.75}, 154, "regular", 61.5, 7900),
    "randwire_er_small": ("er", {"p": 0.2}, 78, "small", None, None),
    "randwire_ba_small": ("ba", {"m": 5}, 78, "small", None, None),
}


def _builder(kind: str, params: dict[str, Any], channels: int, regime: str):
    def build(num_classes: int = 1000, in_chans: int = 3, seed: int = 0, nodes: int = 32) -> RandWire:
        return build_randwire(kind, params, channels, regime, seed, nodes, num_classes, in_chans)

    return build


for _name, (_kind, _params, _c, _regime, _pm, _mm) in _VARIANTS.items():
    _published: dict[str, Any] = {"graph": _kind, "graph_params": _params, "channels": _c, "regime": _regime}
    if _pm is not None:
        _published.update(params_m=_pm, gmacs=_mm / 1e3, note="paper Tables 2-3: mean over random instances")
    register_model(
        ModelEntry(
            name=_name,
            builder=_builder(_kind, _params, _c, _regime),
            family="randwire",
            cfg=default_cfg(224, resize=256, first_conv="conv1.0", classifier="fc"),
            published=_published,
            paper="arXiv:1904.01569",
            description=f"RandWire-{_kind.upper()}{tuple(_params.values())}, C={_c}, {_regime} regime; seed= picks the graphs",
        )
    )
