"""Exact channel padding: widen every inner conv and batch-norm to a multiple of ``multiple`` channels.

Why: ONNX Runtime's CPU kernels run convolutions in a blocked layout (NCHWc, 8 or 16 channels per block) only
when the channel counts divide the block; the 2020 DMaskingNAS networks (``width_divisor=1``: 43, 87, 113 ...
channels) fall back to slower kernels and ran 2.1x slower than FBNetV2 at equal MACs (issue 12's per-op profile).

Exactness: every added channel carries exactly zero. Its conv weights and bias are zero, its batch-norm has
scale 0, shift 0, mean 0 and variance 1, so it outputs 0; ReLU and hard-swish map 0 to 0; the convs that read it
have zero weights for it; a residual adds 0 + 0. The network input and the classifier's outputs keep their sizes.
Channel shuffles (grouped 1x1 convs) would mix padded and real channels, so such networks are left as they are.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..models.blocks import ChannelShuffle


PAD_MULTIPLE = 8  # ONNX Runtime's NCHWc block on AVX2; AVX-512 machines use 16, which 8 does not always reach


def _round_up(channels: int, multiple: int) -> int:
    return -(-channels // multiple) * multiple


def needs_padding(model: nn.Module, multiple: int = 8) -> bool:
    """True when some inner conv has a channel count ``multiple`` does not divide, and padding is exact here."""
    if any(isinstance(m, ChannelShuffle) for m in model.modules()):
        return False
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return any(c.out_channels % multiple for c in convs[:-1]) or any(c.in_channels % multiple for c in convs[1:])


@torch.no_grad()
def _padded_conv(conv: nn.Conv2d, in_channels: int, out_channels: int) -> nn.Conv2d:
    depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
    groups = out_channels if depthwise else conv.groups
    wider = nn.Conv2d(in_channels, out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, groups,
                      conv.bias is not None, conv.padding_mode)
    wider.weight.zero_()
    wider.weight[: conv.out_channels, : conv.weight.shape[1]] = conv.weight
    if conv.bias is not None:
        wider.bias.zero_()
        wider.bias[: conv.out_channels] = conv.bias
    return wider


@torch.no_grad()
def _padded_norm(norm: nn.BatchNorm2d, channels: int) -> nn.BatchNorm2d:
    wider = nn.BatchNorm2d(channels, norm.eps, norm.momentum, norm.affine, norm.track_running_stats)
    count = norm.num_features
    if norm.affine:
        wider.weight.zero_()
        wider.bias.zero_()
        wider.weight[:count] = norm.weight
        wider.bias[:count] = norm.bias
    wider.running_mean[:count] = norm.running_mean
    wider.running_var[:count] = norm.running_var
    return wider


def pad_channels(model: nn.Module, multiple: int = 8, example: torch.Tensor | None = None) -> nn.Module:
    """An eval-mode copy of ``model`` whose inner channel counts are multiples of ``multiple``; same outputs.

    The padding assumes each conv feeds the next through elementwise ops and residual adds; where channels are
    concatenated (DARTS cells) that does not hold. With ``example`` the padded copy is run against the model and,
    unless it runs and gives the same outputs, the model is returned as it is.
    """
    if not needs_padding(model, multiple):
        return model
    padded = _widened(model, multiple)
    if example is not None and not _same_outputs(model, padded, example):
        return model
    return padded


@torch.no_grad()
def _same_outputs(model: nn.Module, padded: nn.Module, example: torch.Tensor) -> bool:
    was_training = model.training
    model.eval()
    try:
        return torch.allclose(padded(example), model(example), rtol=1e-4, atol=1e-5)
    except RuntimeError:  # shapes that no longer fit: a structure the padding does not cover
        return False
    finally:
        model.train(was_training)


def _widened(model: nn.Module, multiple: int) -> nn.Module:
    padded = copy.deepcopy(model)
    convs = [(name, m) for name, m in padded.named_modules() if isinstance(m, nn.Conv2d)]
    first, last = convs[0][1], convs[-1][1]
    for name, module in list(padded.named_modules()):
        parent_name, _, attr = name.rpartition(".")
        parent = padded.get_submodule(parent_name) if parent_name else padded
        if isinstance(module, nn.Conv2d):
            depthwise = module.groups == module.in_channels == module.out_channels and module.groups > 1
            out_channels = module.out_channels if module is last else _round_up(module.out_channels, multiple)
            in_channels = module.in_channels if module is first else _round_up(module.in_channels, multiple)
            setattr(parent, attr, _padded_conv(module, out_channels if depthwise else in_channels, out_channels))
        elif isinstance(module, nn.BatchNorm2d):
            setattr(parent, attr, _padded_norm(module, _round_up(module.num_features, multiple)))
    return padded.eval()  # after the swaps: new modules start in training mode
