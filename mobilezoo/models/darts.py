"""DARTS-space cell networks (DARTS, arXiv 1806.09055; UnNAS, arXiv 2003.12056): genotypes as data, one builder.

A :class:`Genotype` names a normal and a reduction cell: 4 intermediate nodes, each the sum of two ops applied to
earlier states (the two cell inputs, then the earlier nodes); the cell outputs the concatenation of its
intermediate nodes. The network stacks cells, doubling the width and halving the resolution at 1/3 and 2/3 of the
depth (the reduction cells), then pools and classifies.

- ``layout="imagenet"``: two stride-2 stems (3x3 conv C/2, 3x3 conv C; then 3x3 conv C), 14 cells by default;
- ``layout="cifar"``: one 3x3 stem of 3C channels, 20 cells by default.

The ops are the DARTS space's (every conv without bias, every BN affine): sep_conv (two ReLU-depthwise-pointwise-BN
units, the stride in the first), dil_conv (one unit, dilation 2), max / avg 3x3 pooling (average without the
padding), skip (identity, or the factorized reduce on a stride-2 edge), none (zeros: the edge is cut; a derived
DARTS cell never holds it, a sampled one may, as UnNAS's random configs do). ``auxiliary=True`` adds the
auxiliary head on the output of the cell at 2/3 of the depth, a training option: :meth:`DartsNetwork.forward_with_aux`
returns its logits, ``forward`` (what every export traces) never runs it. :func:`random_genotype` is the zoo's first
sampler (two distinct inputs, the 7 ops without ``none``), kept for the recorded rank study; the reference's
distribution is :mod:`mobilezoo.designspace.nas_cells`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import InvalidInputError
from ..registry import ModelEntry, default_cfg, register_model
from .base import ZooModel
from .blocks import drop_path
from .darts_genotypes import GENOTYPES, OPS, PUBLISHED

#: the DARTS search space's ops in the reference's order (the supernet's alpha columns)
SEARCH_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
              "dil_conv_5x5")
#: the ops a DARTS derivation picks from (every op but ``none``)
DARTS_OPS = SEARCH_OPS[1:]
STEPS = 4

Node = tuple[tuple[str, int], tuple[str, int]]


@dataclass(frozen=True)
class Genotype:
    """A normal and a reduction cell: per intermediate node two ``(op, input index)`` pairs (DARTS: 4 nodes; other
    NAS-cell spaces have 5). Inputs may repeat within a node; ``none`` may appear (a sampled cell, not a derived one)."""

    normal: tuple[Node, ...]
    reduce: tuple[Node, ...]
    normal_concat: tuple[int, ...] = (2, 3, 4, 5)
    reduce_concat: tuple[int, ...] = (2, 3, 4, 5)

    def __post_init__(self) -> None:
        if not self.normal or len(self.normal) != len(self.reduce):
            raise InvalidInputError(f"genotype: both cells need the same number of nodes (>= 1; DARTS has {STEPS}), got "
                                    f"{len(self.normal)} and {len(self.reduce)}")
        nodes = len(self.normal)
        for kind, cell, concat in (("normal", self.normal, self.normal_concat), ("reduce", self.reduce, self.reduce_concat)):
            for node_index, node in enumerate(cell):
                if len(node) != 2:
                    raise InvalidInputError(f"genotype {kind} cell node {node_index + 2}: needs two (op, input) pairs")
                for op, source in node:
                    if op not in SEARCH_OPS:
                        raise InvalidInputError(f"genotype {kind} cell node {node_index + 2}: unknown op '{op}'; "
                                                f"ops: {', '.join(SEARCH_OPS)}")
                    if not 0 <= source < node_index + 2:
                        raise InvalidInputError(f"genotype {kind} cell node {node_index + 2}: input {source} is not an "
                                                f"earlier state (0..{node_index + 1})")
            if not concat or any(not 0 <= i < nodes + 2 for i in concat):
                raise InvalidInputError(f"genotype {kind} cell: concat {concat} must list states 0..{nodes + 1}")

    @classmethod
    def parse(cls, normal: str, reduce: str) -> "Genotype":
        """From the compact form ``'s3@1 s3@0 | sk@0 s3@1 | ...'`` (see :mod:`.darts_genotypes`)."""

        def cell(text: str) -> tuple[Node, ...]:
            nodes = []
            for part in text.split("|"):
                pairs = []
                for term in part.split():
                    op, _, source = term.partition("@")
                    if op not in OPS or not source.isdigit():
                        raise InvalidInputError(f"genotype term '{term}': write op@input with op one of {', '.join(OPS)}")
                    pairs.append((OPS[op], int(source)))
                nodes.append(tuple(pairs))
            return tuple(nodes)  # type: ignore[return-value]

        return cls(cell(normal), cell(reduce))

    @classmethod
    def coerce(cls, value: Any) -> "Genotype":
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            if value not in GENOTYPES:
                raise InvalidInputError(f"unknown genotype '{value}'; known: {', '.join(GENOTYPES)}")
            normal, reduce, _ = GENOTYPES[value]
            return cls.parse(normal, reduce)
        if isinstance(value, dict) and {"normal", "reduce"} <= set(value):
            def nodes(cell: Any) -> tuple[Node, ...]:
                return tuple(tuple((str(op), int(i)) for op, i in node) for node in cell)  # type: ignore[misc]
            every = tuple(range(2, len(value["normal"]) + 2))  # default: every intermediate node
            return cls(nodes(value["normal"]), nodes(value["reduce"]),
                       tuple(value.get("normal_concat", every)), tuple(value.get("reduce_concat", every)))
        raise InvalidInputError("genotype must be a known name, a Genotype or a mapping with normal and reduce cells")

    def to_dict(self) -> dict[str, Any]:
        return {"normal": [[list(p) for p in node] for node in self.normal],
                "reduce": [[list(p) for p in node] for node in self.reduce],
                "normal_concat": list(self.normal_concat), "reduce_concat": list(self.reduce_concat)}


def random_genotype(seed: int) -> Genotype:
    """A uniformly random genotype of the DARTS space (two ops on two distinct earlier states per node)."""
    rng = random.Random(f"darts:{seed}")

    def cell() -> tuple[Node, ...]:
        nodes = []
        for index in range(STEPS):
            first, second = rng.sample(range(index + 2), 2)
            nodes.append(((rng.choice(DARTS_OPS), first), (rng.choice(DARTS_OPS), second)))
        return tuple(nodes)

    return Genotype(cell(), cell())


# --- ops ----------------------------------------------------------------------------------------------------


def _relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


def _dw_pw(c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1, affine: bool = True
           ) -> list[nn.Module]:
    return [nn.ReLU(), nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out, affine=affine)]


class Zero(nn.Module):
    """The ``none`` op: zeros of the output's shape (strided like the edge), so a node's sum ignores the edge."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class FactorizedReduce(nn.Module):
    """Halve the resolution with two stride-2 1x1 convs on offset grids, concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise InvalidInputError(f"a factorized reduce needs an even width, got {c_out}")
        self.relu = nn.ReLU()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # the grid offset by one pixel (odd sizes too)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(name: str, channels: int, stride: int, affine: bool = True) -> nn.Module:
    """A DARTS-space op at ``channels`` (same in and out); ``affine=False``: BN without scale and shift, as the
    search supernet builds them."""
    if name == "sep_conv_3x3" or name == "sep_conv_5x5":
        k = 3 if name.endswith("3x3") else 5
        return nn.Sequential(*_dw_pw(channels, channels, k, stride, k // 2, affine=affine),
                             *_dw_pw(channels, channels, k, 1, k // 2, affine=affine))
    if name == "dil_conv_3x3" or name == "dil_conv_5x5":
        k = 3 if name.endswith("3x3") else 5
        return nn.Sequential(*_dw_pw(channels, channels, k, stride, k - 1, dilation=2, affine=affine))
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)
    if name == "none":
        return Zero(stride)
    raise InvalidInputError(f"unknown DARTS op '{name}'; ops: {', '.join(SEARCH_OPS)}")


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, c_pp: int, c_p: int, channels: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.channels, self.reduction = channels, reduction
        self.preprocess0 = FactorizedReduce(c_pp, channels) if reduction_prev else _relu_conv_bn(c_pp, channels, 1, 1, 0)
        self.preprocess1 = _relu_conv_bn(c_p, channels, 1, 1, 0)
        nodes, concat = (genotype.reduce, genotype.reduce_concat) if reduction else (genotype.normal, genotype.normal_concat)
        self.ops = nn.ModuleList(make_op(op, channels, 2 if reduction and source < 2 else 1)
                                 for node in nodes for op, source in node)
        self.sources = [source for node in nodes for _, source in node]
        # DARTS's drop path: every op but the identity may be dropped, at one rate in every cell
        self.droppable = [not isinstance(op, nn.Identity) for op in self.ops]
        self.drop_path_rate = 0.0
        self.concat = list(concat)
        self.multiplier = len(concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        first = states[1]
        for index, op in enumerate(self.ops):  # ops come in pairs: a node is the sum of its two
            out = op(states[self.sources[index]])
            if self.droppable[index]:
                out = drop_path(out, self.drop_path_rate, self.training)
            if index % 2 == 0:
                first = out
            else:
                states.append(first + out)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The DARTS auxiliary classifier (ImageNet: pool 5/2, no BN after the 2x2 conv; CIFAR: pool 5/3, BN)."""

    def __init__(self, channels: int, num_classes: int, layout: str) -> None:
        super().__init__()
        imagenet = layout == "imagenet"
        layers: list[nn.Module] = [nn.ReLU(inplace=True), nn.AvgPool2d(5, 2 if imagenet else 3, 0, count_include_pad=False),
                                   nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
                                   nn.Conv2d(128, 768, 2, bias=False)]
        if not imagenet:
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class DartsNetwork(ZooModel):
    """stem(s) -> cells (reductions at 1/3 and 2/3 of the depth) -> global pool -> linear."""

    classifier_name = "classifier"

    def __init__(self, genotype: Genotype | str | dict = "darts_v2", channels: int = 48, layers: int = 14,
                 layout: str = "imagenet", num_classes: int = 1000, in_chans: int = 3, auxiliary: bool = False) -> None:
        super().__init__()
        if layout not in ("imagenet", "cifar"):
            raise InvalidInputError(f"layout must be imagenet or cifar, got '{layout}'")
        if layers < 3 or channels < 2 or channels % 2:
            raise InvalidInputError(f"a DARTS network needs >= 3 cells and an even width >= 2, got {layers} and {channels}")
        self.genotype = Genotype.coerce(genotype)
        self.channels, self.layers, self.layout, self.in_chans = channels, layers, layout, in_chans
        c = channels
        if layout == "imagenet":
            self.stem0 = nn.Sequential(nn.Conv2d(in_chans, c // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                                       nn.ReLU(inplace=True), nn.Conv2d(c // 2, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
            c_pp, c_p, reduction_prev, reduction_base = c, c, True, 8
        else:
            self.stem0 = nn.Sequential(nn.Conv2d(in_chans, 3 * c, 3, 1, 1, bias=False), nn.BatchNorm2d(3 * c))
            self.stem1 = None
            c_pp, c_p, reduction_prev, reduction_base = 3 * c, 3 * c, False, 1
        self.reduction_layers = (layers // 3, 2 * layers // 3)
        cells, c_curr, aux_channels = [], c, c_p
        self.feature_info = []
        reduction_factor = reduction_base
        for index in range(layers):
            reduction = index in self.reduction_layers
            if reduction:
                c_curr *= 2
                reduction_factor *= 2
            cell = Cell(self.genotype, c_pp, c_p, c_curr, reduction, reduction_prev)
            cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
            if index == 2 * layers // 3:
                aux_channels = c_p
            if index + 1 in self.reduction_layers or index == layers - 1:
                self.feature_info.append({"module": f"cells.{index}", "num_chs": c_p, "reduction": reduction_factor})
        self.cells = nn.ModuleList(cells)
        self.aux_head = AuxiliaryHead(aux_channels, num_classes, layout) if auxiliary and num_classes > 0 else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.num_features = self.head_hidden_size = c_p
        self.num_classes = num_classes
        self.classifier = self.make_classifier(num_classes)

    def feature_sequence(self) -> list[str]:
        return ["stem0", *(["stem1"] if self.stem1 is not None else []), *(f"cells.{i}" for i in range(self.layers))]

    def _run_cells(self, x: torch.Tensor, aux_at: int) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        aux_input = s1
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if index == aux_at:
                aux_input = s1
        return s1, aux_input

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._run_cells(x, -1)[0]

    def feature_taps(self, x: torch.Tensor, sequence: list[str], taps: list[bool]) -> list[torch.Tensor]:
        """Cells take the two previous states, so the feature extractor runs them here."""
        wanted = {name for name, tap in zip(sequence, taps) if tap}
        s0 = self.stem0(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        outputs = [s for name, s in (("stem0", s0), ("stem1", s1)) if name in wanted and name in sequence]
        for index, cell in enumerate(self.cells):
            if f"cells.{index}" not in sequence:
                break
            s0, s1 = s1, cell(s0, s1)
            if f"cells.{index}" in wanted:
                outputs.append(s1)
        return outputs

    def checkpoint_stages(self) -> list[str]:
        """The cells only: the ImageNet stem1's in-place ReLU rewrites stem0's output (as the reference's does), which a
        recomputed stem0 could not allow."""
        return [f"cells.{i}" for i in range(self.layers)]

    def set_drop_path_rate(self, rate: float) -> None:
        """DARTS's drop path: every cell drops its non-identity ops at the one ``rate`` (the reference raises it
        over the epochs; set it again each epoch to do the same)."""
        super().set_drop_path_rate(rate)  # checks the rate
        for cell in self.cells:
            cell.drop_path_rate = float(rate)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = torch.flatten(self.global_pooling(x), 1)
        return x if pre_logits else self.classifier(self.head_dropout(x))

    @torch.jit.unused
    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, auxiliary logits or None): what a training with ``aux_weight`` uses."""
        features, aux_input = self._run_cells(x, 2 * self.layers // 3)
        aux = self.aux_head(aux_input) if self.aux_head is not None else None
        return self.forward_head(features), aux

    def export_config(self) -> dict[str, Any]:
        return {"genotype": self.genotype.to_dict(), "channels": self.channels, "layers": self.layers,
                "layout": self.layout}


def build_darts(genotype: Genotype | str | dict = "darts_v2", channels: int = 48, layers: int = 14, layout: str = "imagenet",
                num_classes: int = 1000, in_chans: int = 3, auxiliary: bool = False) -> DartsNetwork:
    return DartsNetwork(genotype, channels, layers, layout, num_classes, in_chans, auxiliary)


def _named_builder(name: str, width: int):
    def build(channels: int = width, layers: int = 14, layout: str = "imagenet", num_classes: int = 1000,
              in_chans: int = 3, auxiliary: bool = False) -> DartsNetwork:
        return DartsNetwork(name, channels, layers, layout, num_classes, in_chans, auxiliary)

    return build


register_model(ModelEntry(
    name="darts_net", builder=build_darts, family="darts", cfg=default_cfg(224, classifier="classifier", first_conv="stem0.0"),
    paper="arXiv:1806.09055",
    description="DARTS-space cell network: pass genotype (a name, or {normal, reduce} cells), channels, layers, layout"))
for _name, (_normal, _reduce, _width) in GENOTYPES.items():
    register_model(ModelEntry(
        name=_name, builder=_named_builder(_name, _width), family="darts",
        cfg=default_cfg(224, resize=256, classifier="classifier", first_conv="stem0.0"),
        published={k: v for k, v in PUBLISHED[_name].items()},
        paper="arXiv:1806.09055" if _name.startswith("darts") else "arXiv:2003.12056",
        description=f"DARTS-space network, genotype {_name}, ImageNet mobile setting (C {_width}, 14 cells)"))
