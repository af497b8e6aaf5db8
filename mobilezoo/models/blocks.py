"""Building blocks shared by every model family.

Attribute names (``conv``, ``bn``, ``se``) follow the mobile-vision layout, so state-dict keys of the
families that use these blocks match the public checkpoints without renaming.
"""


import math

import torch
from torch import nn

from ..errors import ArchDefError

ACTIVATIONS = ("relu", "hswish", "hsigmoid", "sigmoid", "identity")


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor`` the way mobile-vision does.

    Rounds half away from zero (not Python's banker's rounding), never returns less than
    ``min_value`` (default ``divisor``), and adds one ``divisor`` when rounding lost more than 5%.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(math.floor(value / divisor + 0.5)) * divisor)
    if rounded < 0.95 * value:
        rounded += divisor
    return int(rounded)


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (``relu``, ``hswish``, ``hsigmoid``, ...)."""
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hswish":
        return nn.Hardswish()  # x * relu6(x + 3) / 6, exported as one op by ONNX/CoreML
    if name == "hsigmoid":
        return nn.Hardsigmoid()  # relu6(x + 3) / 6
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "identity":
        return nn.Identity()
    raise ArchDefError(f"unknown activation '{name}'; use one of {', '.join(ACTIVATIONS)}")


class ConvBNAct(nn.Module):
    """Conv2d -> optional BatchNorm -> optional activation, with keys ``conv.*`` and ``bn.*``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        bias: bool = False,
        use_bn: bool = True,
        act: str = "relu",
        padding: int | None = None,
    ) -> None:
        super().__init__()
        padding = kernel_size // 2 if padding is None else padding
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels) if use_bn else None
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.act(x)


class SqueezeExcite(nn.Module):
    """Squeeze-excite: global pool -> 1x1 conv -> act -> 1x1 conv -> gate -> channel scaling.

    Keys are ``se.0.conv.*`` and ``se.1.*`` as in mobile-vision.
    """

    def __init__(self, channels: int, squeeze_channels: int, act: str = "relu", gate: str = "hsigmoid"):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.se = nn.Sequential(
            ConvBNAct(channels, squeeze_channels, 1, bias=True, use_bn=False, act=act),
            nn.Conv2d(squeeze_channels, channels, 1, bias=True),
            make_activation(gate),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.se(self.avg_pool(x))


class ChannelShuffle(nn.Module):
    """Interleave channels across ``groups`` so grouped 1x1 convs see every group (ShuffleNet)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.size(0), x.size(1), x.size(2), x.size(3)
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth (Huang et al. 2016), as timm applies it: in training, zero a residual branch for a random
    ``rate`` share of the samples and scale the kept ones by ``1 / (1 - rate)``; the identity otherwise."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    shape = [x.shape[0]] + [1] * (x.dim() - 1)  # one draw per sample, broadcast over the rest
    return x * torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep) / keep
