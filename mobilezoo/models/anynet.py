"""AnyNet-CIFAR: the stem -> 3 stages -> head networks of "On Network Design Spaces" (arXiv 1905.13214).

One family, four block types, so every network of the design spaces in :mod:`mobilezoo.designspace` is an
ordinary zoo model (``create_model("anynet_cifar", block=..., depths=..., widths=...)``) that profiles,
exports and trains like the others:

- ``vanilla``: two 3x3 conv-BN-ReLU, no shortcut (the first conv carries the stride and the width change);
- ``res_basic``: the ResNet basic block, 3x3 conv-BN-ReLU, 3x3 conv-BN, plus the shortcut, then ReLU;
- ``res_bottleneck``: 1x1 reduce to ``width / bottleneck_ratio`` channels, grouped 3x3 (``groups``, carries the
  stride), 1x1 expand, plus the shortcut, then ReLU (ResNeXt's template C).

The shortcut is the identity unless the shape changes, then a 1x1 conv-BN projection. The stem is one 3x3
conv-BN-ReLU at full resolution (``stem_width`` channels); stage 1 keeps the resolution, stages 2 and 3 halve it.
"""

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from ..errors import InvalidInputError
from ..registry import ModelEntry, default_cfg, register_model
from .base import ZooModel
from .blocks import drop_path

BLOCKS = ("vanilla", "res_basic", "res_bottleneck")
STEM_WIDTH = 16


def bottleneck_width(width: int, ratio: float, groups: int) -> int:
    """Inner width of a bottleneck block: ``width / ratio`` rounded to a multiple of ``groups`` (at least one group)."""
    return max(groups, int(round(width / ratio / groups)) * groups)


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out_channels))


class VanillaBlock(nn.Module):
    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        self.a = _conv_bn(in_channels, width, 3, stride)
        self.b = _conv_bn(width, width, 3)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.b(self.relu(self.a(x))))


class _Residual(nn.Module):
    """A residual block: ``relu(branch(x) + shortcut(x))``; subclasses build ``self.branch``."""

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        self.proj = _conv_bn(in_channels, width, 1, stride) if stride != 1 or in_channels != width else None
        self.relu = nn.ReLU(inplace=True)
        self.drop_path_rate = 0.0  # stochastic depth on the residual branch (create_model(drop_path_rate=...))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(drop_path(self.branch(x), self.drop_path_rate, self.training) + shortcut)


class ResBasicBlock(_Residual):
    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__(in_channels, width, stride)
        self.branch = nn.Sequential(_conv_bn(in_channels, width, 3, stride), nn.ReLU(inplace=True), _conv_bn(width, width, 3))


class ResBottleneckBlock(_Residual):
    def __init__(self, in_channels: int, width: int, stride: int, ratio: float, groups: int) -> None:
        super().__init__(in_channels, width, stride)
        inner = bottleneck_width(width, ratio, groups)
        self.branch = nn.Sequential(
            _conv_bn(in_channels, inner, 1), nn.ReLU(inplace=True),
            _conv_bn(inner, inner, 3, stride, groups), nn.ReLU(inplace=True),
            _conv_bn(inner, width, 1),
        )


def _per_stage(values: Sequence | float | int, name: str, stages: int) -> list:
    items = list(values) if isinstance(values, (list, tuple)) else [values] * stages
    if len(items) != stages:
        raise InvalidInputError(f"{name} needs one value per stage ({stages}), got {len(items)}: {items}")
    return items


class AnyNetCifar(ZooModel):
    """stem -> stages (one block type, per-stage depth, width, bottleneck ratio, groups) -> pool -> linear."""

    classifier_name = "fc"

    def __init__(
        self,
        block: str = "res_basic",
        depths: Sequence[int] = (3, 3, 3),
        widths: Sequence[int] = (16, 32, 64),
        bottleneck_ratios: Sequence[float] | float = 1.0,
        groups: Sequence[int] | int = 1,
        num_classes: int = 10,
        in_chans: int = 3,
        stem_width: int = STEM_WIDTH,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise InvalidInputError(f"unknown block '{block}'; use one of {', '.join(BLOCKS)}")
        stages = len(depths)
        widths = _per_stage(widths, "widths", stages)
        ratios = _per_stage(bottleneck_ratios, "bottleneck_ratios", stages)
        group_counts = _per_stage(groups, "groups", stages)
        for name, values in (("depths", depths), ("widths", widths), ("groups", group_counts)):
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
                raise InvalidInputError(f"{name} must be whole numbers >= 1, got {list(values)}")
        if any(not isinstance(r, (int, float)) or isinstance(r, bool) or r <= 0 for r in ratios):
            raise InvalidInputError(f"bottleneck_ratios must be numbers > 0, got {ratios}")
        self.block, self.in_chans = block, in_chans
        self.depths, self.widths, self.ratios, self.group_counts = list(depths), widths, ratios, group_counts
        self.stem = nn.Sequential(_conv_bn(in_chans, stem_width, 3), nn.ReLU(inplace=True))
        self.feature_info = [{"module": "stem", "num_chs": stem_width, "reduction": 1}]
        channels, stages_ = stem_width, {}
        for index, (depth, width, ratio, group) in enumerate(zip(depths, widths, ratios, group_counts)):
            blocks = []
            for position in range(depth):
                stride = 2 if index > 0 and position == 0 else 1
                if block == "vanilla":
                    blocks.append(VanillaBlock(channels, width, stride))
                elif block == "res_basic":
                    blocks.append(ResBasicBlock(channels, width, stride))
                else:
                    blocks.append(ResBottleneckBlock(channels, width, stride, ratio, group))
                channels = width
            stages_[f"s{index + 1}"] = nn.Sequential(*blocks)
            self.feature_info.append({"module": f"stages.s{index + 1}", "num_chs": width, "reduction": 2 ** index})
        self.stages = nn.Sequential(OrderedDict(stages_))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = self.head_hidden_size = channels
        self.num_classes = num_classes
        self.fc = self.make_classifier(num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def feature_sequence(self) -> list[str]:
        return ["stem", *(f"stages.{name}" for name in self.stages._modules)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(self.head_dropout(x))

    def export_config(self) -> dict:
        return {"block": self.block, "depths": self.depths, "widths": self.widths,
                "bottleneck_ratios": self.ratios, "groups": self.group_counts}


def build_anynet_cifar(num_classes: int = 10, in_chans: int = 3, **spec) -> AnyNetCifar:
    return AnyNetCifar(num_classes=num_classes, in_chans=in_chans, **spec)


register_model(
    ModelEntry(
        name="anynet_cifar",
        builder=build_anynet_cifar,
        family="anynet",
        cfg=default_cfg(32, num_classes=10, mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
                        first_conv="stem.0.0", classifier="fc"),
        published={"params": 272_474, "note": "default spec = ResNet-20 widths (16, 32, 64) x 3 basic blocks"},
        paper="arXiv:1905.13214",
        aliases=("nds_anynet",),
        description="Design-space network (NDS): stem -> 3 stages of vanilla / basic / bottleneck blocks -> head; "
                    "pass block, depths, widths, bottleneck_ratios, groups",
    )
)
