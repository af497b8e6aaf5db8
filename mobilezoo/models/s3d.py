"""S3D and S3D-G (Xie et al., arXiv 1712.04851): separable 3D convolutions for video classification.

``s3d`` follows torchvision's layout (its state dict loads strictly): separable [1,k,k] conv + BN + ReLU
then [k,1,1] conv + BN + ReLU, BN eps 1e-3, the Inception-v1 channel table.

``s3d_g`` follows the TensorFlow reference (slim ``s3dg.py``): a full 3D first conv ([3,7,7]), separable
convs whose temporal half has a bias and no BN, BN with beta only, and feature gating
``y = sigmoid(W . avgpool(x)) * x`` after Conv2d_2c and on all four branch outputs of every Inception block.

Short clips (choice: the model adapts rather than refusing): the (2,2,2) max pool before Mixed_5b and
the final (2,7,7) average pool shrink to the feature map when it is smaller, so any clip of at least
1 frame and 32x32 pixels runs. torchvision needs T >= 14 at 224x224; there our outputs equal its outputs.
Accuracy of the published weights is only known for their training clip length.
"""


import contextlib
from typing import List, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from ..registry import ModelEntry, WeightEntry, default_cfg, register_model
from .base import ZooModel

BN_EPS, BN_MOMENTUM = 1e-3, 1e-3  # TF decay 0.999
KINETICS_MEAN, KINETICS_STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)

# Inception-v1 channel table: (branch0, (branch1 reduce, out), (branch2 reduce, out), branch3 pool proj)
INCEPTION = {
    "3b": (64, (96, 128), (16, 32), 32),
    "3c": (128, (128, 192), (32, 96), 64),
    "4b": (192, (96, 208), (16, 48), 64),
    "4c": (160, (112, 224), (24, 64), 64),
    "4d": (128, (128, 256), (24, 64), 64),
    "4e": (112, (144, 288), (32, 64), 64),
    "4f": (256, (160, 320), (32, 128), 128),
    "5b": (256, (160, 320), (32, 128), 128),
    "5c": (384, (192, 384), (48, 128), 128),
}


class BetaBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm with a learned shift only (slim's default: scale=False)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, eps=BN_EPS, momentum=BN_MOMENTUM, affine=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BatchNorm3d's own forward, spelled out without super() so TorchScript compiles it; momentum None
        # means a cumulative average (BN re-estimation uses it)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        normalised = F.batch_norm(x, self.running_mean, self.running_var, None, None,
                                  self.training or self.running_mean is None, factor, self.eps)
        return normalised + self.bias.view(1, -1, 1, 1, 1)


class ConvBNReLU3d(nn.Sequential):
    """Conv3d -> BN -> ReLU with keys ``0.*`` / ``1.*`` (torchvision's Conv3dNormActivation layout)."""

    def __init__(self, in_channels: int, out_channels: int, kernel, stride=1, padding=0, tf_style: bool = False):
        bn = BetaBatchNorm3d(out_channels) if tf_style else nn.BatchNorm3d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM)
        super().__init__(nn.Conv3d(in_channels, out_channels, kernel, stride, padding, bias=False), bn, nn.ReLU(inplace=True))


class TemporalConvReLU(nn.Sequential):
    """TF style temporal half of a separable conv: [k,1,1] conv with bias -> ReLU (no BN)."""

    def __init__(self, channels: int, k: int, stride: int) -> None:
        super().__init__(nn.Conv3d(channels, channels, (k, 1, 1), (stride, 1, 1), (k // 2, 0, 0), bias=True), nn.ReLU(inplace=True))


class SepConv3d(nn.Sequential):
    """Separable 3D conv: spatial [1,k,k] then temporal [k,1,1] (S3D's replacement for a k^3 conv)."""

    def __init__(self, in_channels: int, out_channels: int, k: int, stride: int = 1, tf_style: bool = False):
        spatial = ConvBNReLU3d(in_channels, out_channels, (1, k, k), (1, stride, stride), (0, k // 2, k // 2), tf_style)
        temporal = (
            TemporalConvReLU(out_channels, k, stride)
            if tf_style
            else ConvBNReLU3d(out_channels, out_channels, (k, 1, 1), (stride, 1, 1), (k // 2, 0, 0))
        )
        super().__init__(spatial, temporal)


def shrunk_windows(sizes: List[int], kernel: List[int], stride: List[int]) -> Tuple[List[int], List[int]]:
    """A pooling window and stride no larger than the map (short or small clips)."""
    return ([min(k, n) for k, n in zip(kernel, sizes)], [min(s, n) for s, n in zip(stride, sizes)])


def shrinking_max_pool3d(x: torch.Tensor, kernel: List[int], stride: List[int], padding: List[int]) -> torch.Tensor:
    """max_pool3d whose window shrinks to the map when the map is smaller."""
    window, step = shrunk_windows([x.size(2), x.size(3), x.size(4)], kernel, stride)
    return F.max_pool3d(x, window, step, padding)


def head_avg_pool3d(x: torch.Tensor, window: List[int]) -> torch.Tensor:
    """The head's average pool with its window shrunk to the map."""
    return F.avg_pool3d(x, shrunk_windows([x.size(2), x.size(3), x.size(4)], window, [1, 1, 1])[0], stride=1)


# torch.fx keeps these size-dependent functions as single calls instead of tracing into them
torch.fx.wrap("shrinking_max_pool3d")
torch.fx.wrap("head_avg_pool3d")


class ShrinkingMaxPool3d(nn.Module):
    """Max pool whose window shrinks to the input when the input is smaller (short clips); otherwise as
    nn.MaxPool3d, so long clips give torchvision's result exactly.

    ``fixed`` holds windows computed ahead of tracing (see :meth:`S3D.static_shapes`): exporters need
    constants, not sizes read from the traced tensor.
    """

    __jit_ignored_attributes__ = ["fixed"]

    def __init__(self, kernel_size: int, stride: int, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = [kernel_size] * 3
        self.stride = [stride] * 3
        self.padding = [padding] * 3
        self.fixed = None  # (kernel, stride) while an exporter traces; Python-only (ignored by TorchScript)

    def windows(self, x: torch.Tensor) -> Tuple[List[int], List[int]]:
        return shrunk_windows([x.size(2), x.size(3), x.size(4)], self.kernel_size, self.stride)

    @torch.jit.unused
    def _fixed_forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel, stride = self.fixed
        return F.max_pool3d(x, kernel, stride, self.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():
            if self.fixed is not None:  # set only while an exporter traces
                return self._fixed_forward(x)
        return shrinking_max_pool3d(x, self.kernel_size, self.stride, self.padding)


class FeatureGating(nn.Module):
    """S3D-G self-gating: scale each channel by sigmoid(W . spatiotemporal mean), W a CxC 1x1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Conv3d(channels, channels, 1, bias=False)  # no bias, as in the TF reference

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3, 4), keepdim=True)))


class SepInception(nn.Module):
    """Inception block with separable 3x3x3 convs; S3D-G gates every branch output before the concat."""

    def __init__(self, in_channels: int, spec: tuple, gating: bool, tf_style: bool) -> None:
        super().__init__()
        b0, (b1r, b1), (b2r, b2), b3 = spec
        self.branch0 = ConvBNReLU3d(in_channels, b0, 1, tf_style=tf_style)
        self.branch1 = nn.Sequential(ConvBNReLU3d(in_channels, b1r, 1, tf_style=tf_style), SepConv3d(b1r, b1, 3, tf_style=tf_style))
        self.branch2 = nn.Sequential(ConvBNReLU3d(in_channels, b2r, 1, tf_style=tf_style), SepConv3d(b2r, b2, 3, tf_style=tf_style))
        self.branch3 = nn.Sequential(nn.MaxPool3d(3, 1, 1), ConvBNReLU3d(in_channels, b3, 1, tf_style=tf_style))
        self.gates = nn.ModuleList(FeatureGating(c) for c in (b0, b1, b2, b3)) if gating else None
        self.out_channels = b0 + b1 + b2 + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)]
        if self.gates is not None:
            gated: List[torch.Tensor] = []
            for index, gate in enumerate(self.gates):
                gated.append(gate(branches[index]))
            branches = gated
        return torch.cat(branches, 1)


class S3D(ZooModel):
    """S3D (``gating=False``, torchvision layout) or S3D-G (``gating=True``, TF layout)."""

    classifier_name = "classifier.1"
    __jit_ignored_attributes__ = ZooModel.__jit_ignored_attributes__ + ["_head_window"]
    HEAD_WINDOW = (2, 7, 7)  # the published average pool before the classifier

    def __init__(self, num_classes: int = 400, gating: bool = False, dropout: float = 0.2, in_chans: int = 3,
                 first_temporal_kernel: int = 3) -> None:
        super().__init__()
        self.in_chans = in_chans
        tf_style = gating
        if tf_style:  # full 3D conv, stride 2 in time and space
            k = first_temporal_kernel
            stem: nn.Module = ConvBNReLU3d(in_chans, 64, (k, 7, 7), 2, (k // 2, 3, 3), tf_style=True)
        else:
            stem = SepConv3d(in_chans, 64, 7, 2)
        layers: list[nn.Module] = [
            stem,
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            ConvBNReLU3d(64, 64, 1, tf_style=tf_style),
            SepConv3d(64, 192, 3, tf_style=tf_style),
        ]
        if gating:
            layers.append(FeatureGating(192))  # after Conv2d_2c_3x3 (gating_startat)
        layers.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        channels = 192
        self.feature_info = []
        for name, spec in INCEPTION.items():
            if name == "4b":
                layers.append(nn.MaxPool3d(3, 2, 1))
            if name == "5b":
                layers.append(ShrinkingMaxPool3d(2, 2, 0))
            block = SepInception(channels, spec, gating, tf_style)
            layers.append(block)
            channels = block.out_channels
            if name in ("3c", "4f", "5c"):
                self.feature_info.append({"module": f"features.{len(layers) - 1}", "num_chs": channels,
                                          "reduction": {"3c": 8, "4f": 16, "5c": 32}[name]})
        self.features = nn.Sequential(*layers)
        self.num_features = self.head_hidden_size = channels
        self.num_classes = num_classes
        self.classifier = nn.Sequential(nn.Dropout(dropout), self.make_classifier(num_classes))
        self.drop_rate = dropout
        self.gating = gating
        self._head_window = None  # Optional[List[int]], fixed by static_shapes while an exporter traces

    def make_classifier(self, num_classes: int) -> nn.Module:
        return nn.Conv3d(self.num_features, num_classes, 1, bias=True) if num_classes > 0 else nn.Identity()

    def feature_sequence(self) -> list[str]:
        return [f"features.{i}" for i in range(len(self.features))]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    @classmethod
    def head_window(cls, features: torch.Tensor) -> List[int]:
        """The (2, 7, 7) average-pool window as published, shrunk to the map for short or small clips."""
        return shrunk_windows(list(features.shape[2:]), list(cls.HEAD_WINDOW), [1, 1, 1])[0]

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():
            if self._head_window is not None:  # set only while an exporter traces
                return F.avg_pool3d(x, self._head_window, stride=1)
        return head_avg_pool3d(x, [2, 7, 7])

    @contextlib.contextmanager
    def static_shapes(self, example: torch.Tensor):
        """Fix every shape-dependent pooling window for ``example``'s size while exporting.

        Tracing exporters (Core ML, TorchScript) would otherwise record the window as a function of
        the input's size, which some converters cannot handle.
        """
        pools = [m for m in self.modules() if isinstance(m, ShrinkingMaxPool3d)]
        windows: dict[int, tuple] = {}
        hooks = [p.register_forward_pre_hook(lambda m, a: windows.__setitem__(id(m), m.windows(a[0]))) for p in pools]
        with torch.no_grad():
            features = self.forward_features(example)
        for hook in hooks:
            hook.remove()
        for pool in pools:
            pool.fixed = windows[id(pool)]
        self._head_window = self.head_window(features)
        try:
            yield self
        finally:
            for pool in pools:
                pool.fixed = None
            self._head_window = None

    def set_drop_rate(self, rate: float) -> None:
        """S3D keeps its dropout in the classifier (``classifier.0``), as upstream: the rate goes there."""
        super().set_drop_rate(rate)
        self.classifier[0].p = self.drop_rate

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.global_pool == "avg"
        if pooled:
            x = self._pool(x)
        if not pre_logits:
            x = self.classifier(x)  # a 1x1x1 conv: it also runs on an unpooled map (global_pool='')
        return x.mean(dim=[2, 3, 4]) if pooled else x


_VIDEO_CFG = dict(resize_mode="square", antialias=False, mean=KINETICS_MEAN, std=KINETICS_STD, first_conv="features.0", classifier="classifier.1",
                  min_temporal_size=1, fixed_input_size=False, num_classes=400, dataset="Kinetics-400")


def _s3d(num_classes: int = 400, in_chans: int = 3, dropout: float = 0.2) -> S3D:
    return S3D(num_classes, gating=False, dropout=dropout, in_chans=in_chans)


def _s3d_g(num_classes: int = 400, in_chans: int = 3, dropout: float = 0.2, first_temporal_kernel: int = 3) -> S3D:
    return S3D(num_classes, gating=True, dropout=dropout, in_chans=in_chans, first_temporal_kernel=first_temporal_kernel)


register_model(
    ModelEntry(
        name="s3d",
        builder=_s3d,
        family="s3d",
        cfg=default_cfg((3, 16, 224, 224), resize=256, **_VIDEO_CFG),
        published={"params": 8_320_048, "gmacs": 17.979, "macs_input": "1x3x16x224x224",
                   "macs_convention": "fvcore, without batch-norm (torchvision _ops)"},
        paper="arXiv:1712.04851",
        aliases=("S3D",),
        weights={"tv_k400": WeightEntry(
            tag="tv_k400", url="https://download.pytorch.org/models/s3d-d76dad2f.pth", dataset="Kinetics-400",
            num_classes=400, metrics={"top1": 68.368, "top5": 88.050}, source="torchvision",
            license="BSD-3-Clause (torchvision)",
            recipe="https://github.com/pytorch/vision/tree/main/references/video_classification#s3d",
            notes="clip-level accuracy: frame_rate 15, clips_per_video 1, clip_len 128",
        )},
        description="S3D video classifier (separable 3D Inception), torchvision layout",
    )
)
register_model(
    ModelEntry(
        name="s3d_g",
        builder=_s3d_g,
        family="s3d",
        cfg=default_cfg((3, 16, 224, 224), resize=256, **_VIDEO_CFG),
        published={"params": 9_518_848, "paper_top1_k400": 74.7, "note": "params as the TF reference builds it, 400 classes"},
        paper="arXiv:1712.04851",
        aliases=("S3D-G", "s3dg"),
        description="S3D-G: S3D with feature gating, TF reference layout",
    )
)

