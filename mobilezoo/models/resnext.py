"""ResNeXt (Xie et al., arXiv 1611.05431): aggregated residual transformations.

Bottleneck template C with cardinality ``groups`` and ``width_per_group`` channels per group. The
module names follow torchvision's ResNet (``conv1``, ``layer1.0.conv2``, ``fc``, ...), so torchvision
state dicts load strictly. Stride sits on the grouped 3x3 conv ("ResNet v1.5"), as in torchvision.
"""


import torch
from torch import nn

from ..registry import ModelEntry, WeightEntry, default_cfg, register_model
from .base import TorchvisionResNetLayout
from .blocks import drop_path

EXPANSION = 4


class Bottleneck(nn.Module):
    """1x1 reduce -> grouped 3x3 (carries the stride) -> 1x1 expand, plus a shortcut."""

    def __init__(self, in_channels: int, planes: int, stride: int, groups: int, width_per_group: int):
        super().__init__()
        width = int(planes * width_per_group / 64) * groups
        out_channels = planes * EXPANSION
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.drop_path_rate = 0.0  # stochastic depth on the residual branch (create_model(drop_path_rate=...))
        self.downsample = None
        if stride != 1 or in_channels != out_channels:  # projection only when the shape changes
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(drop_path(y, self.drop_path_rate, self.training) + shortcut)  # the last ReLU comes after the addition


class ResNeXt(TorchvisionResNetLayout):
    """ResNeXt classifier; ``depths`` gives the bottleneck count of each of the four stages."""


    def __init__(
        self,
        depths: tuple[int, int, int, int],
        groups: int,
        width_per_group: int,
        num_classes: int = 1000,
        in_chans: int = 3,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        self.in_chans = in_chans
        self.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = 64
        self.feature_info = [{"module": "relu", "num_chs": 64, "reduction": 2}]
        for index, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths)):
            stride = 1 if index == 0 else 2
            blocks = []
            for block_index in range(depth):
                blocks.append(Bottleneck(channels, planes, stride if block_index == 0 else 1, groups, width_per_group))
                channels = planes * EXPANSION
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
            self.feature_info.append(
                {"module": f"layer{index + 1}", "num_chs": channels, "reduction": 4 * 2**index}
            )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = self.head_hidden_size = channels
        self.num_classes = num_classes
        self.fc = self.make_classifier(num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:  # each residual branch starts as zero, so every block starts as identity
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    nn.init.zeros_(module.bn3.weight)



# --- registry entries -------------------------------------------------------------------------------
# Figures: params and ``_ops`` (GMACs without BN at 224) from torchvision's weight metadata; the tests
# measure both on our implementation.

_TV = "https://download.pytorch.org/models/"
_TV_LICENSE = "BSD-3-Clause (torchvision)"


def _tv_weights(tag: str, file: str, top1: float, top5: float, resize: int, recipe: str) -> WeightEntry:
    return WeightEntry(
        tag=tag,
        url=_TV + file,
        sha256=None,  # torchvision publishes only the 8-hex prefix that is in the file name
        metrics={"top1": top1, "top5": top5},
        source="torchvision",
        license=_TV_LICENSE,
        recipe=recipe,
        cfg={"resize": resize, "crop_pct": round(224 / resize, 4)},
    )


_VARIANTS = {
    # name: (depths, groups, width_per_group, params, GMACs w/o BN, weights)
    "resnext50_32x4d": ((3, 4, 6, 3), 32, 4, 25_028_904, 4.23, (
        _tv_weights("tv_in1k", "resnext50_32x4d-7cdf4587.pth", 77.618, 93.698, 256,
                    "https://github.com/pytorch/vision/tree/main/references/classification#resnext"),
        _tv_weights("tv2_in1k", "resnext50_32x4d-1a0047aa.pth", 81.198, 95.340, 232,
                    "https://github.com/pytorch/vision/issues/3995#new-recipe"),
    )),
    "resnext101_32x8d": ((3, 4, 23, 3), 32, 8, 88_791_336, 16.41, (
        _tv_weights("tv_in1k", "resnext101_32x8d-8ba56ff5.pth", 79.312, 94.526, 256,
                    "https://github.com/pytorch/vision/tree/main/references/classification#resnext"),
        _tv_weights("tv2_in1k", "resnext101_32x8d-110c445d.pth", 82.834, 96.228, 232,
                    "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres"),
    )),
    "resnext101_64x4d": ((3, 4, 23, 3), 64, 4, 83_455_272, 15.46, (
        _tv_weights("tv_in1k", "resnext101_64x4d-173b62eb.pth", 83.246, 96.454, 232,
                    "https://github.com/pytorch/vision/pull/5935"),
    )),
}


def _make_builder(depths: tuple[int, int, int, int], groups: int, width: int):
    def build(num_classes: int = 1000, in_chans: int = 3, zero_init_residual: bool = False) -> ResNeXt:
        return ResNeXt(depths, groups, width, num_classes, in_chans, zero_init_residual)

    return build


for _name, (_depths, _groups, _width, _params, _gmacs, _weights) in _VARIANTS.items():
    register_model(
        ModelEntry(
            name=_name,
            builder=_make_builder(_depths, _groups, _width),
            family="resnext",
            cfg=default_cfg(224, resize=256, first_conv="conv1", classifier="fc"),
            published={"params": _params, "gmacs": _gmacs, "macs_convention": "fvcore, without batch-norm"},
            paper="arXiv:1611.05431",
            aliases=(_name.replace("_", "-"),),
            weights={w.tag: w for w in _weights},
            description=f"ResNeXt, {_groups} groups x {_width}d, torchvision layout",
        )
    )
