"""The one rule for the weights every latency measurement runs with.

A freshly built network is not what ships: the FBNet blocks zero the last batch-norm of each residual branch,
biases and RandWire edge weights start at zero, and some runtimes skip work that is exactly zero (LiteRT ran a
fresh fbnetv3_a in 3.9 ms and the same graph with non-zero scales in 11.3 ms). So every latency figure uses:

1. the trained weights of the name's tag when the zoo has them (``name.tag``), else
2. synthetic weights, seeded: every batch-norm gets a scale in [0.5, 1.5] and a shift in N(0, 0.1); every
   parameter that is still all zero gets N(0, 0.02); then the batch-norm statistics are re-estimated on random
   input, so activations keep a trained-like scale and no layer is degenerate.

``model.pretrained_cfg.weights`` (and every record made from it) says which: the tag's file and sha256, or
``"synthetic, seed N"``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..models.calibration import recalibrate_bn
from ..pretrained_cfg import PretrainedCfg, WeightsSource


@torch.no_grad()
def synthetic_weights(model: nn.Module, input_shape: Sequence[int], seed: int = 0) -> nn.Module:
    """Give ``model`` seeded, trained-like weights with no all-zero tensor (in place); eval mode."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
            module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    for parameter in model.parameters():
        if not parameter.count_nonzero():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    recalibrate_bn(model, (2, *input_shape), seed=seed)
    for buffer in model.buffers():  # a BN without batches to estimate from keeps unit variance, never zero
        if buffer.is_floating_point() and not buffer.count_nonzero():
            buffer.add_(torch.randn(buffer.shape, generator=generator) * 0.02)
    cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(cfg, PretrainedCfg):  # (a timm model carries a plain dict; its caller records the weights)
        cfg.weights = WeightsSource.synthetic(seed)
    return model.eval()


def representative_model(name: str, input_shape: Sequence[int] | None = None, seed: int = 0) -> nn.Module:
    """``name`` built for a latency measurement: its tag's trained weights, else synthetic ones (see above)."""
    from ..factory import create_model
    from ..registry import names_weights

    if names_weights(name):
        return create_model(name, pretrained=True).eval()
    torch.manual_seed(seed)
    model = create_model(name).eval()
    shape = tuple(input_shape or model.pretrained_cfg.input_size)
    return synthetic_weights(model, shape, seed)


def zero_tensors(model: nn.Module) -> list[str]:
    """Names of parameters and floating-point buffers that are entirely zero (what the rule forbids)."""
    named = list(model.named_parameters()) + [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]
    return [name for name, tensor in named if tensor.numel() and not tensor.count_nonzero()]
