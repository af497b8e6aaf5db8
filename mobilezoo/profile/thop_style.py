"""The MAC convention of thop (pytorch-OpCounter, 2020-05 releases), which the UnNAS trainer logged as "Flops".

Per module, on one eval-mode forward: conv ``output elements x (in / groups x k x k + bias)`` (dilation free),
batch norm 2 per input element, average pooling 1 per output element, adaptive average pooling ``(window + 1)``
per output element, linear ``in x out`` per sample (bias free); ReLU, max pooling, identity and padding 0. So it
is conv + fc MACs plus batch norm and pooling: DARTS_V2 at 224 px is 529.9 M conv + fc MACs and 538.2 M this way.
Use it to compare with numbers published from thop; the zoo's own ``macs_without_bn`` is the conv + fc + pooling
count of fvcore.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


def _count(module: nn.Module, inputs: tuple, output: torch.Tensor, conv_fc_only: bool = False) -> int:
    x = inputs[0]
    if isinstance(module, nn.Conv2d):
        bias = module.bias is not None and not conv_fc_only
        return output.numel() * (module.in_channels // module.groups * math.prod(module.kernel_size) + bias)
    if isinstance(module, nn.Linear):
        return module.in_features * output.numel()
    if conv_fc_only:
        return 0
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return 2 * x.numel()
    if isinstance(module, nn.AvgPool2d):
        return output.numel()
    if isinstance(module, nn.AdaptiveAvgPool2d):
        window = math.prod(i // o for i, o in zip(x.shape[2:], output.shape[2:]))
        return (window + 1) * output.numel()
    return 0


@torch.no_grad()
def thop_style_macs(model: nn.Module, input_shape: Sequence[int], conv_fc_only: bool = False) -> int:
    """thop's total for one input of per-sample ``input_shape`` (batch 1, eval mode: auxiliary heads do not run);
    ``conv_fc_only`` counts conv and linear multiply-adds alone (the DARTS papers' convention)."""
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += _count(module, inputs, output, conv_fc_only)

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    was_training = model.training
    model.eval()
    try:
        model(torch.randn((1, *input_shape)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
